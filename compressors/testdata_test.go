package compressors

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
)

// historicalDir holds files written by old joblib releases. CI copies
// shared/ beside the clone, so it is two levels up from this package.
var historicalDir = filepath.Join("..", "..", "shared", "joblib-testdata")

// historicalCodec is what each historical file holds, by name. The
// "_compressed_" files of 0.10 and 0.11 are named .gz whatever they hold.
var historicalCodec = map[string]string{
	"joblib_0.10.0_compressed_pickle_py27_np16.gz":                         Gzip,
	"joblib_0.10.0_compressed_pickle_py27_np17.gz":                         Zlib,
	"joblib_0.10.0_compressed_pickle_py33_np18.gz":                         Zlib,
	"joblib_0.10.0_compressed_pickle_py34_np19.gz":                         Zlib,
	"joblib_0.10.0_compressed_pickle_py35_np19.gz":                         Zlib,
	"joblib_0.11.0_compressed_pickle_py36_np111.gz":                        Gzip,
	"joblib_0.8.4_compressed_pickle_py27_np17.gz":                          ZF,
	"joblib_0.9.2_compressed_pickle_py27_np16.gz":                          ZF,
	"joblib_0.9.2_compressed_pickle_py27_np17.gz":                          ZF,
	"joblib_0.9.2_compressed_pickle_py34_np19.gz":                          ZF,
	"joblib_0.9.2_compressed_pickle_py35_np19.gz":                          ZF,
	"joblib_0.9.4.dev0_compressed_cache_size_pickle_py35_np19.gz":          ZF,
	"joblib_0.9.4.dev0_compressed_cache_size_pickle_py35_np19.gz_01.npy.z": ZF,
	"joblib_0.9.4.dev0_compressed_cache_size_pickle_py35_np19.gz_02.npy.z": ZF,
	"joblib_0.9.4.dev0_compressed_cache_size_pickle_py35_np19.gz_03.npy.z": ZF,
}

// wantHistorical returns the codec a historical file holds, and false for
// a file the table does not know.
func wantHistorical(name string) (string, bool) {
	if c, ok := historicalCodec[name]; ok {
		return c, true
	}
	for ext, c := range map[string]string{".pkl.bz2": BZ2, ".pkl.gzip": Gzip, ".pkl.lzma": LZMA, ".pkl.xz": XZ, ".pkl.lz4": LZ4} {
		if strings.HasSuffix(name, ext) {
			return c, true
		}
	}
	if strings.HasSuffix(name, ".pkl") || strings.HasSuffix(name, ".npy") || name == "README.md" {
		return "", true
	}
	return "", false
}

// historicalFiles lists the historical files, skipping the test when the
// folder is missing outside CI.
func historicalFiles(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(historicalDir)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no historical test data: %v", err)
		}
		t.Fatalf("CI is set but the historical test data is missing: %v", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) < 30 {
		t.Fatalf("only %d files in %s", len(names), historicalDir)
	}
	return names
}

// pyDigestScript decodes each file the way joblib does (detection
// included) and prints the detected kind and the SHA-256 of the result.
const pyDigestScript = `
import hashlib, io, json, os, sys
from joblib import numpy_pickle_utils as npu
from joblib import numpy_pickle_compat as compat
from joblib import compressor as jc

out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        kind = npu._detect_compressor(f)
        f.seek(0)
        if kind == "compat":
            data = compat.read_zfile(f)
        elif kind == "not-compressed":
            data = f.read()
        else:
            with jc._COMPRESSORS[kind].decompressor_file(f) as g:
                data = g.read()
    out[os.path.basename(path)] = {"kind": kind, "sha256": hashlib.sha256(data).hexdigest(), "len": len(data)}
print(json.dumps(out))
`

func TestHistoricalDetect(t *testing.T) {
	names := historicalFiles(t)
	var pyWant map[string]struct {
		Kind   string
		Sha256 string
		Len    int
	}
	if p, _ := pyenv.Find(); p != "" || os.Getenv("CI") != "" {
		var paths []string
		for _, n := range names {
			paths = append(paths, filepath.Join(historicalDir, n))
		}
		if err := json.Unmarshal(pyenv.Run(t, pyDigestScript, paths...), &pyWant); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, known := wantHistorical(name)
			if !known {
				t.Fatalf("file not in the table: add it to historicalCodec")
			}
			blob, err := os.ReadFile(filepath.Join(historicalDir, name))
			if err != nil {
				t.Fatal(err)
			}
			c, ok, err := Detect(bufio.NewReader(bytes.NewReader(blob)))
			if err != nil {
				t.Fatal(err)
			}
			if got := map[bool]string{true: c.Name}[ok]; got != want {
				t.Fatalf("Detect: %q, want %q", got, want)
			}
			r, got, err := NewReader(bytes.NewReader(blob), MaxOutput(1<<20))
			if err != nil || got != want {
				t.Fatalf("NewReader: codec %q, err %v", got, err)
			}
			data, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if want == ZF {
				_, declared, err := ReadZF(bytes.NewReader(blob), 0)
				if err != nil || declared != int64(len(data)) {
					t.Fatalf("ReadZF: declared %d, decoded %d, err %v", declared, len(data), err)
				}
			}
			if pyWant == nil {
				return
			}
			py, ok := pyWant[name]
			if !ok {
				t.Fatal("python did not report this file")
			}
			wantKind := map[string]string{"": "not-compressed", ZF: "compat"}[want]
			if wantKind == "" {
				wantKind = want
			}
			if py.Kind != wantKind {
				t.Errorf("joblib detects %q, want %q", py.Kind, wantKind)
			}
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != py.Sha256 {
				t.Errorf("decoded %d bytes differ from joblib's %d", len(data), py.Len)
			}
		})
	}
}

// TestHistoricalTruncated cuts each compressed historical file at many
// lengths: every cut must fail cleanly.
func TestHistoricalTruncated(t *testing.T) {
	for _, name := range historicalFiles(t) {
		want, _ := wantHistorical(name)
		if want == "" {
			continue
		}
		blob, err := os.ReadFile(filepath.Join(historicalDir, name))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := Lookup(want)
		for _, n := range cuts(len(blob)) {
			_, err := readAll(c, blob[:n])
			checkBadInput(t, name+" cut", err)
			if n >= len(c.Magic) {
				_, _, err := readDetect(blob[:n], MaxOutput(1<<20))
				checkBadInput(t, name+" cut, NewReader", err)
			}
		}
	}
}

func TestReadZFHeaders(t *testing.T) {
	var body bytes.Buffer
	w, err := NewZFWriter(&body, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "hello")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	enc := body.Bytes()
	if want := "ZF0x5                "; string(enc[:21]) != want {
		t.Fatalf("header %q, want %q", enc[:21], want)
	}
	zstream := enc[21:]
	for _, tc := range []struct {
		name, header string
		wantErr      error
	}{
		{"joblib 0.9", "ZF0x5                ", nil},
		{"joblib 0.8.4 wider", "ZF0x5                 ", nil},
		{"python 2 long", "ZF0x5L               ", nil},
		{"upper case", "ZF0X5                ", nil},
		{"one space", "ZF0x5 ", nil},
		{"no 0x", "ZF5                  ", ErrCorrupt},
		{"no digits", "ZF0x                 ", ErrCorrupt},
		{"bad digit", "ZF0x5g               ", ErrCorrupt},
		{"too long", "ZF0x5" + strings.Repeat(" ", 60), ErrCorrupt},
		{"overflow", "ZF0x1ffffffffffffffff ", ErrTooLarge},
		{"above int64", "ZF0xffffffffffffffff ", ErrTooLarge},
		{"declared longer", "ZF0x6                ", io.ErrUnexpectedEOF},
		{"declared shorter", "ZF0x4                ", ErrCorrupt},
		{"not zf", "ZX0x5                ", ErrFormat},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			in := append([]byte(tc.header), zstream...)
			r, n, err := ReadZF(bytes.NewReader(in), 0)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(r)
			}
			if tc.wantErr == nil {
				if err != nil || string(got) != "hello" || n != 5 {
					t.Fatalf("got %q, %d, %v", got, n, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, _, err := ReadZF(bytes.NewReader(enc), 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("maxOutput below the declared length: %v", err)
	}
	if _, err := NewZFWriter(io.Discard, 3, -1); err == nil {
		t.Fatal("negative size accepted")
	}
	zw, _ := NewZFWriter(io.Discard, 3, 2)
	if _, err := zw.Write([]byte("abc")); err == nil {
		t.Fatal("write past the size accepted")
	}
	if err := zw.Close(); err == nil {
		t.Fatal("short z-file closed without error")
	}
}
