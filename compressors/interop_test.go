package compressors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
)

// interopPayloads are written to disk for Python to compare against.
func interopPayloads() []input {
	return []input{
		{"small", inputs()[1].data},
		{"float64_128KiB", floatBytes(16 << 10)},
		{"random_64KiB", randomBytes(64<<10, 2)},
		{"empty", nil},
	}
}

func writePayloads(t *testing.T, dir string) []input {
	t.Helper()
	ps := interopPayloads()
	for _, p := range ps {
		if err := os.WriteFile(filepath.Join(dir, p.name+".raw"), p.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ps
}

// interopCase is one file for the other side to read.
type interopCase struct {
	File    string `json:"file"`
	Codec   string `json:"codec"`
	Payload string `json:"payload"`
	Result  string `json:"result,omitempty"`
}

// pyReadScript reads Go-written files with Python's own modules and with
// joblib's file objects, and reports "ok" or the failure per case.
const pyReadScript = `
import bz2, gzip, json, lzma, os, sys, zlib
import lz4.frame
from joblib import compressor as jc
from joblib import numpy_pickle_compat as compat

d = sys.argv[1]
cases = json.load(open(os.path.join(d, "manifest.json")))

def joblib_read(name, path):
    with open(path, "rb") as f:
        with jc._COMPRESSORS[name].decompressor_file(f) as g:
            return g.read()

def decode(name, path):
    blob = open(path, "rb").read()
    if name in ("zlib", "gzip"):
        # One stream and nothing after it, or joblib would loop forever.
        dec = zlib.decompressobj(15 if name == "zlib" else 31)
        got = dec.decompress(blob)
        assert dec.eof and not dec.unused_data, "not exactly one stream"
        other = zlib.decompress(blob) if name == "zlib" else gzip.decompress(blob)
        assert other == got, "module disagrees"
    elif name == "bz2":
        got = bz2.decompress(blob)
    elif name == "lzma":
        got = lzma.decompress(blob, format=lzma.FORMAT_ALONE)
    elif name == "xz":
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        got = dec.decompress(blob)
        assert dec.eof and dec.check == lzma.CHECK_CRC64, "check %d" % dec.check
    elif name == "lz4":
        got = lz4.frame.decompress(blob)
    elif name == "zf":
        with open(path, "rb") as f:
            return compat.read_zfile(f)
    else:
        raise ValueError("no Python reader for " + name)
    assert joblib_read(name, path) == got, "joblib's file object disagrees"
    return got

for c in cases:
    raw = open(os.path.join(d, c["payload"] + ".raw"), "rb").read()
    try:
        got = decode(c["codec"], os.path.join(d, c["file"]))
        c["result"] = "ok" if got == raw else "mismatch: %d bytes, want %d" % (len(got), len(raw))
    except Exception as e:
        c["result"] = "error: %r" % e
print(json.dumps(cases))
`

// interopLevels are the levels tried per codec in both directions.
func interopLevels(name string) []int {
	if name == LZ4 {
		return []int{0, 9}
	}
	return []int{1, 3, 9}
}

func TestInteropGoWritesPythonReads(t *testing.T) {
	pyenv.Python(t)
	dir := t.TempDir()
	payloads := writePayloads(t, dir)
	var cases []interopCase
	for _, name := range []string{Zlib, Gzip, BZ2, LZMA, XZ, LZ4, ZF} {
		c, _ := Lookup(name)
		for _, level := range interopLevels(name) {
			for _, p := range payloads {
				file := fmt.Sprintf("%s_%d_%s.bin", name, level, p.name)
				if err := os.WriteFile(filepath.Join(dir, file), compress(t, c, level, p.data), 0o644); err != nil {
					t.Fatal(err)
				}
				cases = append(cases, interopCase{File: file, Codec: name, Payload: p.name})
			}
		}
	}
	manifest, _ := json.Marshal(cases)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	var results []interopCase
	if err := json.Unmarshal(pyenv.Run(t, pyReadScript, dir), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != len(cases) {
		t.Fatalf("python reported %d cases, want %d", len(results), len(cases))
	}
	for _, r := range results {
		if r.Result != "ok" {
			t.Errorf("%s: %s", r.File, r.Result)
		}
	}
}

// pyWriteScript writes every payload with Python's modules and joblib's
// file objects, in many variants, and lists what it wrote.
const pyWriteScript = `
import bz2, gzip, io, json, lzma, os, sys, zlib
import lz4.frame
from joblib import compressor as jc
from joblib import numpy_pickle_compat as compat

d = sys.argv[1]
payloads = sys.argv[2:]
out = []

def joblib_write(name, raw, level):
    buf = io.BytesIO()
    with jc._COMPRESSORS[name].compressor_file(buf, compresslevel=level) as f:
        f.write(raw)
    return buf.getvalue()

def zf(raw, level):
    buf = io.BytesIO()
    compat.write_zfile(buf, raw, level)
    return buf.getvalue()

for p in payloads:
    raw = open(os.path.join(d, p + ".raw"), "rb").read()
    variants = []
    for lv in (1, 3, 9):
        variants += [
            ("zlib", "zlib_%d" % lv, zlib.compress(raw, lv)),
            ("zlib", "joblib_zlib_%d" % lv, joblib_write("zlib", raw, lv)),
            ("gzip", "gzip_%d" % lv, gzip.compress(raw, lv, mtime=0)),
            ("gzip", "joblib_gzip_%d" % lv, joblib_write("gzip", raw, lv)),
            ("bz2", "bz2_%d" % lv, bz2.compress(raw, lv)),
            ("bz2", "joblib_bz2_%d" % lv, joblib_write("bz2", raw, lv)),
            ("lzma", "lzma_%d" % lv, lzma.compress(raw, format=lzma.FORMAT_ALONE, preset=lv)),
            ("lzma", "joblib_lzma_%d" % lv, joblib_write("lzma", raw, lv)),
            ("xz", "xz_%d" % lv, lzma.compress(raw, format=lzma.FORMAT_XZ, preset=lv)),
            ("xz", "joblib_xz_%d" % lv, joblib_write("xz", raw, lv)),
            ("zf", "zf_%d" % lv, zf(raw, lv)),
        ]
    for check in ("CHECK_NONE", "CHECK_CRC32", "CHECK_SHA256"):
        variants.append(("xz", "xz_" + check, lzma.compress(raw, format=lzma.FORMAT_XZ, check=getattr(lzma, check))))
    variants.append(("xz", "xz_extreme", lzma.compress(raw, format=lzma.FORMAT_XZ, preset=6 | lzma.PRESET_EXTREME)))
    # Several members or streams in one file: the modules read them all.
    variants += [
        ("gzip", "gzip_two_members", gzip.compress(raw[:len(raw)//2], mtime=0) + gzip.compress(raw[len(raw)//2:], mtime=0)),
        ("bz2", "bz2_two_streams", bz2.compress(raw[:len(raw)//2]) + bz2.compress(raw[len(raw)//2:])),
        ("xz", "xz_two_streams_padded", lzma.compress(raw[:len(raw)//2]) + b"\0" * 8 + lzma.compress(raw[len(raw)//2:])),
        ("lz4", "lz4_two_frames", lz4.frame.compress(raw[:len(raw)//2]) + lz4.frame.compress(raw[len(raw)//2:])),
    ]
    for lv in (0, 3, 9, 16):
        variants.append(("lz4", "lz4_%d" % lv, lz4.frame.compress(raw, compression_level=lv)))
        variants.append(("lz4", "joblib_lz4_%d" % lv, joblib_write("lz4", raw, lv)))
    for bs in (lz4.frame.BLOCKSIZE_MAX64KB, lz4.frame.BLOCKSIZE_MAX256KB, lz4.frame.BLOCKSIZE_MAX1MB, lz4.frame.BLOCKSIZE_MAX4MB):
        for linked in (True, False):
            variants.append(("lz4", "lz4_bs%d_linked%d" % (bs, linked), lz4.frame.compress(raw, block_size=bs, block_linked=linked, store_size=False)))
    variants.append(("lz4", "lz4_checksums_size", lz4.frame.compress(raw, content_checksum=True, block_checksum=True, store_size=True)))
    for codec, name, blob in variants:
        f = "%s_%s.bin" % (name, p)
        open(os.path.join(d, f), "wb").write(blob)
        out.append({"file": f, "codec": codec, "payload": p})
print(json.dumps(out))
`

func TestInteropPythonWritesGoReads(t *testing.T) {
	pyenv.Python(t)
	dir := t.TempDir()
	payloads := writePayloads(t, dir)
	args := []string{dir}
	want := map[string][]byte{}
	for _, p := range payloads {
		args = append(args, p.name)
		want[p.name] = p.data
	}
	var cases []interopCase
	if err := json.Unmarshal(pyenv.Run(t, pyWriteScript, args...), &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Fatalf("python wrote only %d cases", len(cases))
	}
	for _, c := range cases {
		blob, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		r, name, err := NewReader(bytes.NewReader(blob), MaxOutput(int64(len(want[c.Payload]))))
		if err != nil {
			t.Errorf("%s: %v", c.File, err)
			continue
		}
		if name != c.Codec {
			t.Errorf("%s: detected %q, want %q", c.File, name, c.Codec)
		}
		dst := make([]byte, len(want[c.Payload]))
		if _, err := io.ReadFull(r, dst); err != nil {
			t.Errorf("%s: %v", c.File, err)
			continue
		}
		if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("%s: after the data: %d, %v; want 0, EOF", c.File, n, err)
		}
		if !bytes.Equal(dst, want[c.Payload]) {
			t.Errorf("%s: decoded bytes differ", c.File)
		}
		r.Close()
	}
}
