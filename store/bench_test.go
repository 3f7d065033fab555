package store

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

var benchBig = flag.Bool("jlstore.big", false, "benchmark large sizes too (2 GiB mapped, 256 MiB per codec)")

// benchFile returns a joblib file holding {"x": float64 array of n bytes},
// made once into a cache folder. kind "random" is incompressible, "smooth"
// compresses well.
func benchFile(b *testing.B, n int64, kind, ext string) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "jlstore-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s_%d%s", kind, n, ext))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	x := make([]float64, n/8)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		if kind == "random" {
			x[i] = r.NormFloat64()
		} else {
			x[i] = math.Round(1000*math.Sin(float64(i)/1000)) / 1000
		}
	}
	cols := 1024
	if len(x) < cols {
		cols = len(x)
	}
	a, err := ndarray.FromFloat64s([]int{len(x) / cols, cols}, x)
	if err != nil {
		b.Fatal(err)
	}
	if err := Dump(path, map[string]any{"x": a}); err != nil {
		b.Fatal(err)
	}
	return path
}

func sizeName(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// BenchmarkOpen: the time to a usable mat.Dense over a mapped file. It is
// flat in the file size: only metadata is read.
func BenchmarkOpen(b *testing.B) {
	sizes := []int64{4 << 10, 16 << 20, 256 << 20}
	if *benchBig {
		sizes = append(sizes, 2<<30)
	}
	for _, n := range sizes {
		path := benchFile(b, n, "random", ".pkl")
		b.Run("size="+sizeName(n), func(b *testing.B) {
			b.SetBytes(n)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				f, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				x, _ := f.Root().(*pickle.Dict).Get("x")
				if _, err := x.(*ndarray.Array).Dense(ndarray.NoCopy()); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// BenchmarkOpenSum: Open, then read every element (page cache warm).
func BenchmarkOpenSum(b *testing.B) {
	for _, n := range []int64{16 << 20, 256 << 20} {
		path := benchFile(b, n, "random", ".pkl")
		b.Run("size="+sizeName(n), func(b *testing.B) {
			b.SetBytes(n)
			for i := 0; i < b.N; i++ {
				f, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				x, _ := f.Root().(*pickle.Dict).Get("x")
				v, err := x.(*ndarray.Array).Float64s(ndarray.NoCopy())
				if err != nil {
					b.Fatal(err)
				}
				s := 0.0
				for _, e := range v {
					s += e
				}
				sink = s
				f.Close()
			}
		})
	}
}

var sink float64

var benchCodecs = []string{".pkl", ".z", ".gz", ".bz2", ".lzma", ".xz", ".lz4", ".zst"}

// BenchmarkLoad: streaming Load into memory, per codec, on compressible
// data (random data is in BenchmarkLoadRandom).
func BenchmarkLoad(b *testing.B) {
	n := int64(16 << 20)
	if *benchBig {
		n = 256 << 20
	}
	for _, ext := range benchCodecs {
		path := benchFile(b, n, "smooth", ext)
		b.Run("codec="+codecName(ext)+"/size="+sizeName(n), func(b *testing.B) {
			b.SetBytes(n)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Load(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadRandom: streaming Load of incompressible data.
func BenchmarkLoadRandom(b *testing.B) {
	for _, n := range []int64{16 << 20, 256 << 20} {
		path := benchFile(b, n, "random", ".pkl")
		b.Run("codec=none/size="+sizeName(n), func(b *testing.B) {
			b.SetBytes(n)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Load(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDump: Dump per codec, to a file in the temp folder.
func BenchmarkDump(b *testing.B) {
	n := int64(16 << 20)
	x := make([]float64, n/8)
	for i := range x {
		x[i] = math.Round(1000*math.Sin(float64(i)/1000)) / 1000
	}
	a, err := ndarray.FromFloat64s([]int{len(x) / 1024, 1024}, x)
	if err != nil {
		b.Fatal(err)
	}
	v := map[string]any{"x": a}
	dir := b.TempDir()
	for _, ext := range benchCodecs {
		for _, mode := range syncModes {
			if ext != ".pkl" && len(mode.opts) > 0 {
				continue // the codec, not the fsync, sets the pace
			}
			b.Run("codec="+codecName(ext)+"/size="+sizeName(n)+"/"+mode.name, func(b *testing.B) {
				b.SetBytes(n)
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := Dump(filepath.Join(dir, "d"+ext), v, mode.opts...); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func codecName(ext string) string {
	switch ext {
	case ".pkl":
		return "none"
	case ".z":
		return "zlib"
	case ".gz":
		return "gzip"
	case ".zst":
		return "zstd"
	}
	return ext[1:]
}
