package ndarray

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlstore/jlstore/internal/pread"
	"github.com/jlstore/jlstore/internal/pyenv"
	"github.com/jlstore/jlstore/mmap"
	"github.com/jlstore/jlstore/pickle"
)

var benchBig = flag.Bool("bench.big", false, "benchmark .npy files of 256 MiB and 1 GiB too (default: 64 MiB only)")

func benchSizes() []int {
	if *benchBig {
		return []int{64 << 20, 256 << 20, 1 << 30}
	}
	return []int{64 << 20}
}

func sizeName(n int) string {
	if n >= 1<<30 {
		return strconv.Itoa(n>>30) + "GiB"
	}
	return strconv.Itoa(n>>20) + "MiB"
}

var benchFiles struct {
	sync.Mutex
	dir   string
	paths map[int]string
}

// benchNpy returns a float64 .npy file of n data bytes, written once per
// test binary. It was just written, so it is in the page cache.
func benchNpy(b *testing.B, n int) string {
	benchFiles.Lock()
	defer benchFiles.Unlock()
	if p, ok := benchFiles.paths[n]; ok {
		return p
	}
	if benchFiles.dir == "" {
		d, err := os.MkdirTemp("", "ndarray-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchFiles.dir, benchFiles.paths = d, map[int]string{}
	}
	v := make([]float64, n/8)
	for i := range v {
		v[i] = float64(i)
	}
	a, err := FromFloat64s(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(benchFiles.dir, sizeName(n)+".npy")
	if err := SaveNpy(p, a); err != nil {
		b.Fatal(err)
	}
	benchFiles.paths[n] = p
	return p
}

// BenchmarkLoadNpy reads a float64 .npy file from the page cache:
// mode=stream copies it into aligned heap memory (LoadNpy), mode=mmap maps
// it (OpenNpy, whose cost does not grow with the file), mode=mmap-touch
// maps it and reads one byte per page.
func BenchmarkLoadNpy(b *testing.B) {
	for _, n := range benchSizes() {
		path := benchNpy(b, n)
		b.Run("size="+sizeName(n)+"/cache=warm/mode=stream", func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				a, err := LoadNpy(path)
				if err != nil {
					b.Fatal(err)
				}
				_ = a
			}
		})
		b.Run("size="+sizeName(n)+"/cache=warm/mode=mmap", func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				a, err := OpenNpy(path, mmap.ReadOnly)
				if err != nil {
					b.Fatal(err)
				}
				a.Close()
			}
		})
		b.Run("size="+sizeName(n)+"/cache=warm/mode=mmap-touch", func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			var sum byte
			for b.Loop() {
				a, err := OpenNpy(path, mmap.ReadOnly)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < len(a.Data); i += 4096 {
					sum += a.Data[i]
				}
				a.Close()
			}
			_ = sum
		})
	}
}

// The fresh-process benchmarks run each load (or first touch) in a new
// process, as a one-off load runs: the memory is new to the process, and
// the huge page advice of one configuration cannot leak into the next
// (the kernel keeps it on the address range). The child measures itself
// and prints the nanoseconds; ns/op includes starting the process, so
// read ns/load.

// TestHelperProcess is the child of the fresh-process benchmarks; it does
// nothing in a normal test run.
func TestHelperProcess(t *testing.T) {
	what := os.Getenv("NDARRAY_HELPER")
	if what == "" {
		t.Skip("helper process for benchmarks")
	}
	adviseHugePages = os.Getenv("NDARRAY_HUGE") == "true"
	pread.Parallel = os.Getenv("NDARRAY_PARALLEL") == "true"
	n, _ := strconv.Atoi(os.Getenv("NDARRAY_SIZE"))
	start := time.Now()
	switch what {
	case "load":
		if _, err := LoadNpy(os.Getenv("NDARRAY_PATH")); err != nil {
			t.Fatal(err)
		}
	case "touch":
		buf := AlignedBytes(n, DefaultAlign)
		for j := 0; j < n; j += 4096 {
			buf[j] = 1
		}
	}
	fmt.Printf("HELPER_NS %d\n", time.Since(start).Nanoseconds())
}

func runHelper(b *testing.B, env ...string) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("helper: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "HELPER_NS "); ok {
			ns, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			return ns
		}
	}
	b.Fatalf("helper printed %q", out)
	return 0
}

// BenchmarkLoadNpyFresh loads a .npy file from the page cache in a fresh
// process: parallel=true reads with several goroutines, huge=true advises
// huge pages for the new buffer (both are the defaults).
func BenchmarkLoadNpyFresh(b *testing.B) {
	for _, n := range benchSizes() {
		path := benchNpy(b, n)
		for _, cfg := range []struct{ huge, par bool }{{true, true}, {true, false}, {false, true}, {false, false}} {
			b.Run(fmt.Sprintf("size=%s/cache=warm/mode=stream/huge=%v/parallel=%v", sizeName(n), cfg.huge, cfg.par), func(b *testing.B) {
				var total float64
				for i := 0; i < b.N; i++ {
					total += runHelper(b, "NDARRAY_HELPER=load", "NDARRAY_PATH="+path,
						fmt.Sprintf("NDARRAY_HUGE=%v", cfg.huge), fmt.Sprintf("NDARRAY_PARALLEL=%v", cfg.par))
				}
				mean := total / float64(b.N)
				b.ReportMetric(mean, "ns/load")
				b.ReportMetric(float64(n)/mean*1e3, "MB/s")
			})
		}
	}
}

// BenchmarkFirstTouch writes one byte per 4 KiB page of a new buffer in a
// fresh process, with and without the huge page advice: the cost of first
// touch that any load into new memory pays.
func BenchmarkFirstTouch(b *testing.B) {
	for _, n := range []int{64 << 20, 256 << 20} {
		for _, huge := range []bool{true, false} {
			b.Run(fmt.Sprintf("size=%s/huge=%v", sizeName(n), huge), func(b *testing.B) {
				var total float64
				for i := 0; i < b.N; i++ {
					total += runHelper(b, "NDARRAY_HELPER=touch", fmt.Sprintf("NDARRAY_SIZE=%d", n), fmt.Sprintf("NDARRAY_HUGE=%v", huge))
				}
				mean := total / float64(b.N)
				b.ReportMetric(mean, "ns/touch")
				b.ReportMetric(float64(n)/mean*1e3, "MB/s")
			})
		}
	}
}

const numpyLoadScript = `
import sys, time
import numpy as np
path, reps, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mm = 'r' if mode == 'mmap' else None
a = np.load(path, mmap_mode=mm)
del a
ts = []
for _ in range(reps):
    t = time.perf_counter()
    a = np.load(path, mmap_mode=mm)
    ts.append(time.perf_counter() - t)
    del a
print(min(ts), sum(ts) / len(ts))
`

// BenchmarkNumpyLoad times numpy's np.load on the same files, inside
// Python (interpreter start-up excluded), and reports it as numpy-ns/op
// and numpy-MB/s next to Go's figures: compare them with BenchmarkLoadNpy.
func BenchmarkNumpyLoad(b *testing.B) {
	for _, n := range benchSizes() {
		path := benchNpy(b, n)
		for _, mode := range []string{"stream", "mmap"} {
			b.Run("size="+sizeName(n)+"/cache=warm/mode="+mode, func(b *testing.B) {
				pyenv.Python(b)
				out := strings.Fields(string(pyenv.Run(b, numpyLoadScript, path, strconv.Itoa(max(b.N, 3)), mode)))
				if len(out) != 2 {
					b.Fatalf("script printed %q", out)
				}
				mean, err := strconv.ParseFloat(out[1], 64)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(mean*1e9, "numpy-ns/op")
				b.ReportMetric(float64(n)/mean/1e6, "numpy-MB/s")
			})
		}
	}
}

// BenchmarkPickleArray decodes and encodes a 64 MiB float64 array pickle
// (protocol 5, in-band bytearray).
func BenchmarkPickleArray(b *testing.B) {
	n := 64 << 20
	a, _ := New(Float64, []int{n / 8}, OrderC)
	var buf bytes.Buffer
	if err := pickle.NewEncoder(&buf, pickle.Protocol(5)).Encode(a); err != nil {
		b.Fatal(err)
	}
	p := buf.Bytes()
	reg := NewRegistry()
	b.Run(fmt.Sprintf("size=%s/op=decode", sizeName(n)), func(b *testing.B) {
		b.SetBytes(int64(n))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pickle.NewDecoderBytes(p, pickle.WithRegistry(reg)).Decode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("size=%s/op=encode", sizeName(n)), func(b *testing.B) {
		b.SetBytes(int64(n))
		b.ReportAllocs()
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if err := pickle.NewEncoder(&out, pickle.Protocol(5)).Encode(a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
