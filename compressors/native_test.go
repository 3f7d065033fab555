//go:build jlstore_cgo && cgo

package compressors

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/jlstore/jlstore/internal/pyenv"
)

// nativeCodecs are the codecs that the jlstore_cgo build decodes in C.
var nativeCodecs = []string{BZ2, LZMA, XZ}

// decodeWith decodes enc, followed by tail, with the codec's reader and
// lim, and returns the decoded bytes, the error and what the bufio.Reader
// holds after the stream.
func decodeWith(name string, enc, tail []byte, lim limits) ([]byte, error, []byte) {
	c := mustLookup(name)
	br := bufio.NewReader(bytes.NewReader(slices2(enc, tail)))
	r, err := c.newReaderLimit(br, lim)
	var out []byte
	if err == nil {
		out, err = io.ReadAll(limit(r, name, lim.maxOutput))
		r.Close()
	}
	rest, _ := io.ReadAll(br)
	return out, err, rest
}

// errKind names the kind of a decoding error, "" for nil.
func errKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, ErrTooLarge):
		return "TooLarge"
	case errors.Is(err, ErrUnsupported):
		return "Unsupported"
	case errors.Is(err, ErrCorrupt):
		return "Corrupt"
	}
	return "unclassified: " + err.Error()
}

// differ compares the C and Go decoders on enc (and tail): the same bytes
// and the same bytes left when both succeed, clean errors of the same
// kind when both fail. A C failure where Go succeeds is returned as
// "lenient": xz's LZMA2 chunk sizes, which liblzma checks and
// ulikunitz/xz does not, and fields of bz2 block headers that libbz2
// checks and compress/bzip2 does not (the data's CRCs still hold); a Go
// failure where C succeeds as "randomised": bz2's deprecated randomised
// blocks. Anything else fails the test.
func differ(t *testing.T, what, name string, enc, tail []byte, lim limits) string {
	t.Helper()
	goLim := lim
	goLim.pureGo = true
	want, werr, wrest := decodeWith(name, enc, tail, goLim)
	got, gerr, grest := decodeWith(name, enc, tail, lim)
	wk, gk := errKind(werr), errKind(gerr)
	switch {
	case len(wk) > 12 && wk[:12] == "unclassified", len(gk) > 12 && gk[:12] == "unclassified":
		t.Fatalf("%s: Go %s, C %s", what, wk, gk)
	case werr == nil && gerr == nil:
		if !bytes.Equal(got, want) || !bytes.Equal(grest, wrest) {
			t.Fatalf("%s: C decodes %d bytes and leaves %d, Go %d and %d", what, len(got), len(grest), len(want), len(wrest))
		}
		return "both ok"
	case werr != nil && gerr != nil:
		// What each handed out before failing may differ: both hand
		// out a block's bytes before its CRC fails.
		if wk != gk {
			return "both fail, Go " + wk + ", C " + gk
		}
		return "both fail"
	case werr == nil && (name == XZ || name == BZ2) && gk == "Corrupt":
		return "lenient"
	case gerr == nil && name == BZ2 && strings.Contains(werr.Error(), "randomized"):
		// Blocks of bzip2 0.9.0's randomised mode: libbz2 (and Python)
		// read them, compress/bzip2 refuses them.
		return "randomised"
	}
	t.Fatalf("%s: Go %v (%d bytes), C %v (%d bytes)", what, werr, len(want), gerr, len(got))
	return ""
}

func TestNativeInUse(t *testing.T) {
	if nativeBZ2 == nil || nativeLZMA == nil || nativeLZMA2 == nil {
		t.Fatal("the jlstore_cgo build has no C decoders")
	}
	r, _, err := NewReader(bytes.NewReader(compress(t, mustLookup(BZ2), -1, []byte("x"))))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*decodeReader).dec.(*libBZ2); !ok {
		t.Fatalf("bz2 decodes with %T", r.(*decodeReader).dec)
	}
}

// nativeBases are valid streams of each codec to compare and damage.
func nativeBases(t *testing.T) map[string][][]byte {
	small := inputs()[1].data
	floats := floatBytes(5000)
	out := map[string][][]byte{}
	for _, name := range nativeCodecs {
		c := mustLookup(name)
		for _, data := range [][]byte{nil, small, floats} {
			out[name] = append(out[name], compress(t, c, 1, data))
		}
	}
	out[BZ2] = append(out[BZ2], slices2(compress(t, mustLookup(BZ2), 1, small), compress(t, mustLookup(BZ2), 9, floats)))
	out[XZ] = append(out[XZ],
		slices2(xzWrite(t, small, xz.WriterConfig{CheckSum: xz.SHA256}), make([]byte, 4), xzWrite(t, floats, xz.WriterConfig{BlockSize: 8192, CheckSum: xz.CRC32})),
		xzWrite(t, floats, xz.WriterConfig{CheckSum: xz.None}))
	return out
}

// TestNativeDifferential compares the C decoders with the Go ones on
// valid streams followed by other bytes, on every cut of them, on
// changed bytes, and under limits.
func TestNativeDifferential(t *testing.T) {
	tails := [][]byte{nil, []byte("\x80\x04\x95 next"), make([]byte, 8), []byte("BZh9"), []byte("BZ"), xzMagic}
	for name, bases := range nativeBases(t) {
		t.Run("codec="+name, func(t *testing.T) {
			counts := map[string]int{}
			for i, enc := range bases {
				for j, tail := range tails {
					counts[differ(t, fmt.Sprintf("base %d, tail %d", i, j), name, enc, tail, limits{})]++
				}
				for _, n := range cuts(len(enc)) {
					counts[differ(t, fmt.Sprintf("base %d cut at %d", i, n), name, enc[:n], nil, limits{})]++
				}
				for k := 0; k < len(enc); k += 1 + len(enc)/200 {
					for _, flip := range []byte{0x01, 0x80, 0xff} {
						b := bytes.Clone(enc)
						b[k] ^= flip
						counts[differ(t, fmt.Sprintf("base %d, byte %d ^ %#x", i, k, flip), name, b, nil, limits{})]++
					}
				}
				counts[differ(t, fmt.Sprintf("base %d, MaxOutput 100", i), name, enc, nil, limits{maxOutput: 100})]++
				counts[differ(t, fmt.Sprintf("base %d, MaxWindow 4 KiB", i), name, enc, nil, limits{maxWindow: 4096})]++
			}
			t.Logf("%v", counts)
		})
	}
}

// TestNativePython: the C and Go decoders agree on the bz2, lzma and xz
// files Python writes (every level, check and multi-stream variant of
// the interop suite).
func TestNativePython(t *testing.T) {
	pyenv.Python(t)
	dir := t.TempDir()
	args := []string{dir}
	for _, p := range writePayloads(t, dir) {
		args = append(args, p.name)
	}
	var cases []interopCase
	if err := json.Unmarshal(pyenv.Run(t, pyWriteScript, args...), &cases); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cases {
		if c.Codec != BZ2 && c.Codec != LZMA && c.Codec != XZ {
			continue
		}
		blob, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		// Followed by other bytes, a stream is an error ("data after end
		// of stream"), and the bytes stay in place.
		if r := differ(t, c.File, c.Codec, blob, []byte("next"), limits{}); r != "both fail" {
			t.Errorf("%s, then other bytes: %s", c.File, r)
		}
		if r := differ(t, c.File, c.Codec, blob, nil, limits{}); r != "both ok" {
			t.Errorf("%s: %s", c.File, r)
		}
		n++
	}
	if n < 40 {
		t.Fatalf("only %d bz2, lzma and xz files from Python", n)
	}
}

// FuzzNative compares the C and Go decoders on arbitrary input.
func FuzzNative(f *testing.F) {
	for _, name := range nativeCodecs {
		c := mustLookup(name)
		for _, data := range [][]byte{nil, inputs()[1].data, floatBytes(2000)} {
			f.Add(name, compress(f, c, 1, data))
		}
	}
	f.Fuzz(func(t *testing.T, name string, in []byte) {
		if name != BZ2 && name != LZMA && name != XZ {
			return
		}
		differ(t, "fuzz", name, in, nil, limits{maxOutput: fuzzLimit})
	})
}

// TestNativeFree: Close frees the C decoders, and so does the garbage
// collector when a reader is dropped without Close.
func TestNativeFree(t *testing.T) {
	live := nativeLive.Load()
	encs := map[string][]byte{}
	for _, name := range nativeCodecs {
		encs[name] = compress(t, mustLookup(name), 1, floatBytes(1000))
	}
	for range 10 {
		for name, enc := range encs {
			r, _, err := NewReader(bytes.NewReader(enc))
			if err != nil {
				t.Fatal(name, err)
			}
			io.CopyN(io.Discard, r, 100)
			r.Close()
			r.Close()
		}
	}
	if n := nativeLive.Load(); n != live {
		t.Fatalf("%d C decoders live after Close, %d before", n, live)
	}
	for range 10 {
		for _, enc := range encs {
			r, _, _ := NewReader(bytes.NewReader(enc))
			io.CopyN(io.Discard, r, 100)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for nativeLive.Load() != live && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := nativeLive.Load(); n != live {
		t.Fatalf("%d C decoders live after the readers were dropped, %d before", n, live)
	}
}
