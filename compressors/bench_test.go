package compressors

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
)

// benchSize is the uncompressed size of every benchmark input.
const benchSize = 8 << 20

var (
	benchOnce   sync.Once
	benchInputs []input
)

func benchData() []input {
	benchOnce.Do(func() {
		benchInputs = []input{
			{"random_8MiB", randomBytes(benchSize, 3)},
			{"float64_8MiB", floatBytes(benchSize / 8)},
		}
	})
	return benchInputs
}

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
