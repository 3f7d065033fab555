package compressors

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
)

// benchSize is the uncompressed size of every benchmark input.
const benchSize = 8 << 20

// benchData returns the inputs, made once.
var benchData = sync.OnceValue(func() []input {
	return []input{
		{"random_8MiB", randomBytes(benchSize, 3)},
		{"float64_8MiB", floatBytes(benchSize / 8)},
	}
})

// benchLevels are the levels benchmarked per codec: fastest, default and
// strongest that joblib users pick.
var benchLevels = []struct {
	codec  string
	levels []int
}{
	{Zlib, []int{1, 3, 9}},
	{Gzip, []int{1, 3, 9}},
	{BZ2, []int{1, 9}},
	{LZMA, []int{1, 6}},
	{XZ, []int{1, 6}},
	{LZ4, []int{0, 9}},
	{Zstd, []int{1, 3, 19}},
}

var benchEnc sync.Map // "codec/level/data" -> []byte

func benchEncoded(b testing.TB, c Codec, level int, in input) []byte {
	key := fmt.Sprintf("%s/%d/%s", c.Name, level, in.name)
	if v, ok := benchEnc.Load(key); ok {
		return v.([]byte)
	}
	enc := compress(b, c, level, in.data)
	benchEnc.Store(key, enc)
	return enc
}

// BenchmarkDecompress decodes through NewReader into a preallocated
// buffer, as a loader does. MB/s counts decoded bytes.
func BenchmarkDecompress(b *testing.B) {
	for _, bl := range benchLevels {
		c, _ := Lookup(bl.codec)
		for _, level := range bl.levels {
			for _, in := range benchData() {
				b.Run(fmt.Sprintf("codec=%s/level=%d/data=%s", c.Name, level, in.name), func(b *testing.B) {
					enc := benchEncoded(b, c, level, in)
					dst := make([]byte, len(in.data))
					b.SetBytes(int64(len(in.data)))
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						r, _, err := NewReader(bytes.NewReader(enc))
						if err != nil {
							b.Fatal(err)
						}
						if _, err := io.ReadFull(r, dst); err != nil {
							b.Fatal(err)
						}
						r.Close()
					}
					b.ReportMetric(float64(len(enc))/float64(len(in.data)), "ratio")
				})
			}
		}
	}
}

// BenchmarkCompress encodes into io.Discard. MB/s counts input bytes.
func BenchmarkCompress(b *testing.B) {
	for _, bl := range benchLevels {
		c, _ := Lookup(bl.codec)
		for _, level := range bl.levels {
			for _, in := range benchData() {
				b.Run(fmt.Sprintf("codec=%s/level=%d/data=%s", c.Name, level, in.name), func(b *testing.B) {
					b.SetBytes(int64(len(in.data)))
					b.ReportAllocs()
					for b.Loop() {
						w, err := c.NewWriter(io.Discard, level)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := w.Write(in.data); err != nil {
							b.Fatal(err)
						}
						if err := w.Close(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

//go:embed testdata/pybench.py
var pyBenchScript string

// BenchmarkPython times Python's own compressors (testdata/pybench.py) on
// the same inputs and levels, and reports them under the same names as
// BenchmarkDecompress and BenchmarkCompress, with op= in front, so that
// the figures line up. Python runs once; ns/op and MB/s are its best time.
func BenchmarkPython(b *testing.B) {
	pyenv.Python(b)
	dir := b.TempDir()
	for _, in := range benchData() {
		if err := os.WriteFile(filepath.Join(dir, in.name+".raw"), in.data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, bl := range benchLevels {
		c, _ := Lookup(bl.codec)
		if c.Name == Zstd {
			continue // no zstd module in Debian's Python
		}
		for _, level := range bl.levels {
			for _, in := range benchData() {
				file := fmt.Sprintf("%s_%d_%s.bin", c.Name, level, in.name)
				if err := os.WriteFile(filepath.Join(dir, file), benchEncoded(b, c, level, in), 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	var results []struct {
		Codec, Data, Op string
		Level           int
		Ns, Bytes       float64
	}
	if err := json.Unmarshal(pyenv.Run(b, pyBenchScript, dir), &results); err != nil {
		b.Fatal(err)
	}
	for _, r := range results {
		b.Run(fmt.Sprintf("op=%s/codec=%s/level=%d/data=%s", r.Op, r.Codec, r.Level, r.Data), func(b *testing.B) {
			b.ReportMetric(r.Ns, "ns/op")
			b.ReportMetric(r.Bytes/r.Ns*1e3, "MB/s")
		})
	}
}

// largeSize is the uncompressed size of the BenchmarkDecompressLarge
// inputs: big enough that per-reader setup vanishes.
const largeSize = 64 << 20

// largeData returns the inputs, made once.
var largeData = sync.OnceValue(func() []input {
	return []input{
		{"uniform_float64_64MiB", uniformFloats(largeSize / 8)},
		{"smooth_float64_64MiB", floatBytes(largeSize / 8)},
	}
})

// uniformFloats returns n little-endian float64 values drawn uniformly
// from [0, 1), like numpy.random.rand: the mantissas are noise, the
// exponents are not, so deflate codes them with Huffman tables.
func uniformFloats(n int) []byte {
	b := make([]byte, 8*n)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range n {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(r.Float64()))
	}
	return b
}

// pyLargeScript compresses each file named on the command line as
// joblib's defaults and python-lz4's do: zlib and gzip at level 3 into
// <file>.zlib and <file>.gzip, lz4 with 64 KiB linked blocks and no
// checksums into <file>.lz4.
const pyLargeScript = `
import gzip, sys, zlib, lz4.frame
for p in sys.argv[1:]:
    raw = open(p, "rb").read()
    open(p + ".zlib", "wb").write(zlib.compress(raw, 3))
    open(p + ".gzip", "wb").write(gzip.compress(raw, 3, mtime=0))
    open(p + ".lz4", "wb").write(lz4.frame.compress(raw))
`

// pyLarge returns the large inputs compressed by Python, keyed by
// codec/data, or nil without Python.
func pyLarge(b *testing.B) map[string][]byte {
	if p, _ := pyenv.Find(); p == "" {
		return nil
	}
	dir := b.TempDir()
	var paths []string
	for _, in := range largeData() {
		p := filepath.Join(dir, in.name)
		if err := os.WriteFile(p, in.data, 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	pyenv.Run(b, pyLargeScript, paths...)
	out := map[string][]byte{}
	for i, in := range largeData() {
		for _, c := range []string{Zlib, Gzip, LZ4} {
			enc, err := os.ReadFile(paths[i] + "." + c)
			if err != nil {
				b.Fatal(err)
			}
			out[c+"/"+in.name] = enc
		}
	}
	return out
}

// pySlowScript compresses each file named on the command line with bz2
// and xz at joblib's level 3 into <file>.bz2 and <file>.xz.
const pySlowScript = `
import bz2, lzma, sys
for p in sys.argv[1:]:
    raw = open(p, "rb").read()
    open(p + ".bz2", "wb").write(bz2.compress(raw, 3))
    open(p + ".xz", "wb").write(lzma.compress(raw, preset=3))
`

var (
	pySlowOnce sync.Once
	pySlowEnc  map[string][]byte
)

// pySlow returns the large inputs compressed by Python with bz2 and xz,
// keyed by codec/data, compressing them (about a minute) on first use.
func pySlow(b *testing.B) map[string][]byte {
	pySlowOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jlstore-bench")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		var paths []string
		for _, in := range largeData() {
			p := filepath.Join(dir, in.name)
			if err := os.WriteFile(p, in.data, 0o644); err != nil {
				b.Fatal(err)
			}
			paths = append(paths, p)
		}
		pyenv.Run(b, pySlowScript, paths...)
		pySlowEnc = map[string][]byte{}
		for i, in := range largeData() {
			for _, c := range []string{BZ2, XZ} {
				enc, err := os.ReadFile(paths[i] + "." + c)
				if err != nil {
					b.Fatal(err)
				}
				pySlowEnc[c+"/"+in.name] = enc
			}
		}
	})
	return pySlowEnc
}

// BenchmarkDecompressLarge decodes 64 MiB through NewReader into one
// preallocated buffer. writer=python is Python's zlib and gzip at
// joblib's level 3, python-lz4's default frame (64 KiB linked blocks),
// and bz2 and xz at joblib's level 3 (compressed on first use of those
// sub-benchmarks); writer=go is ours at the default level (lz4: 256 KiB
// independent blocks; deflate stores uniform floats at this level). Run
// it with and without -tags jlstore_cgo to compare the bz2 and xz
// decoders of libbz2 and liblzma with the Go ones.
func BenchmarkDecompressLarge(b *testing.B) {
	type bcase struct {
		name string
		enc  func() []byte
		data []byte
	}
	var cases []bcase
	py := pyLarge(b)
	for _, name := range []string{Zlib, Gzip, LZ4} {
		c, _ := Lookup(name)
		for _, in := range largeData() {
			if enc, ok := py[name+"/"+in.name]; ok {
				cases = append(cases, bcase{fmt.Sprintf("codec=%s/writer=python/data=%s", name, in.name), func() []byte { return enc }, in.data})
			}
			cases = append(cases, bcase{fmt.Sprintf("codec=%s/writer=go/data=%s", name, in.name), func() []byte { return benchEncoded(b, c, -1, in) }, in.data})
		}
	}
	if py != nil {
		for _, name := range []string{BZ2, XZ} {
			for _, in := range largeData() {
				cases = append(cases, bcase{fmt.Sprintf("codec=%s/writer=python/data=%s", name, in.name), func() []byte { return pySlow(b)[name+"/"+in.name] }, in.data})
			}
		}
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			enc := bc.enc()
			dst := make([]byte, len(bc.data))
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				r, _, err := NewReader(bytes.NewReader(enc))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, dst); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			if !bytes.Equal(dst, bc.data) {
				b.Fatal("decoded bytes differ")
			}
		})
	}
}
