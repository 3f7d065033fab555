package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
	"github.com/jlstore/jlstore/store"
)

var benchCmd = &command{
	name:     "bench",
	synopsis: "[--size SIZE] [--codecs LIST] [--runs N] [--python] [--dir DIR] [FILE]",
	summary:  "Time a memory-mapped Open against a streaming Load for each codec.",
	help: `The data is FILE's object graph, or with --size a model-like dict of float64
and int32 arrays of about SIZE bytes made from a fixed seed. It is dumped
once per codec into a temporary folder (--dir), then each file is opened
(store.Open, which maps an uncompressed file and decompresses the others)
and loaded (store.Load, which streams every array into memory) --runs times;
the table shows the fastest run of each. The files are freshly written, so
the page cache is warm. With --python the same files are loaded by Python's
joblib, in memory and with mmap_mode="r", when a python3 with joblib is
found ($JLSTORE_PYTHON, /usr/bin/python3, python3).

bz2, lzma and xz compress at a few MB/s or less, so they run only when
named: --codecs all, or --codecs none,xz.

examples:
  jlstore bench model.pkl
  jlstore bench --size 1GiB --codecs none,lz4,zlib --python`,
	run: runBench,
}

type benchRow struct {
	codec      string
	level      int
	path       string
	fileSize   int64
	dump       time.Duration
	open, load time.Duration
	py         *pyTimes
	err        error
}

type pyTimes struct {
	Load float64 `json:"load"`
	Mmap float64 `json:"mmap"`
	Err  string  `json:"error"`
}

func runBench(c *cli, args []string) error {
	fs := c.flags()
	var size byteSize
	fs.Var(&size, "size", "benchmark generated data of about `SIZE` bytes (e.g. 1GiB) instead of a file")
	codecList := fs.String("codecs", "", "comma-separated `LIST` of codecs, or all; none means uncompressed (default: "+strings.Join(defaultBenchCodecs(), ",")+")")
	runs := fs.Int("runs", 3, "time each step `N` times and keep the fastest")
	withPy := fs.Bool("python", false, "also time Python's joblib.load on the same files")
	dir := fs.String("dir", "", "write the files into `DIR` (default: a temporary folder, removed afterwards)")
	var lim limits
	lim.register(fs)
	pos, err := c.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	if (len(pos) == 1) == (size > 0) {
		return usagef("give either FILE or --size")
	}
	if *runs < 1 {
		return usagef("--runs must be at least 1")
	}
	codecs := defaultBenchCodecs()
	if *codecList == "all" {
		codecs = append([]string{"none"}, writableCodecs()...)
	} else if *codecList != "" {
		codecs = strings.Split(*codecList, ",")
		for _, name := range codecs {
			if name != "none" && !slices.Contains(writableCodecs(), name) {
				return usagef("--codecs: unknown codec %q (have none, %s)", name, strings.Join(writableCodecs(), ", "))
			}
		}
	}
	var py string
	if *withPy {
		if py = findPython(); py == "" {
			return fmt.Errorf("--python: no python3 that imports joblib ($JLSTORE_PYTHON, /usr/bin/python3, python3)")
		}
	}

	var data any
	source := ""
	if size > 0 {
		data = benchData(int64(size))
		source = fmt.Sprintf("generated data, %s", formatBytes(int64(size)))
	} else {
		v, err := store.Load(pos[0], lim.options()...)
		if err != nil {
			return err
		}
		data, source = v, pos[0]
	}
	folder := *dir
	if folder == "" {
		if folder, err = os.MkdirTemp("", "jlstore-bench-*"); err != nil {
			return err
		}
		defer os.RemoveAll(folder)
	} else if err := os.MkdirAll(folder, 0o755); err != nil {
		return err
	}

	var arrayBytes int64
	rows := make([]*benchRow, 0, len(codecs))
	for _, name := range codecs {
		rows = append(rows, &benchRow{codec: name, level: -1})
	}
	work := int64(size)
	if work == 0 {
		work = arrayBytesOf(data)
	}
	bar := c.steps(int64(len(rows)*(2**runs+1)), work, "benchmarking")
	defer bar.finish()
	for _, r := range rows {
		ext, opts := ".pkl", []store.DumpOption{store.Compress("", 0)}
		if r.codec != "none" {
			cd, _ := compressors.Lookup(r.codec)
			ext = ".pkl" + cd.Ext
			r.level = cd.DefaultLevel
			opts = []store.DumpOption{store.Compress(r.codec, -1)}
		}
		r.path = filepath.Join(folder, "bench"+ext)
		t0 := time.Now()
		if err := store.Dump(r.path, data, opts...); err != nil {
			return err
		}
		r.dump = time.Since(t0)
		bar.add(1)
		r.fileSize = fileSize(r.path)
		r.open, r.load = time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		for i := 0; i < *runs && r.err == nil; i++ {
			runtime.GC()
			t0 = time.Now()
			f, err := store.Open(r.path, lim.options()...)
			if err != nil {
				r.err = err
				break
			}
			r.open = min(r.open, time.Since(t0))
			if arrayBytes == 0 {
				for _, a := range f.Arrays() {
					arrayBytes += a.NBytes
				}
			}
			f.Close()
			bar.add(1)
			runtime.GC()
			t0 = time.Now()
			v, err := store.Load(r.path, lim.options()...)
			if err != nil {
				r.err = err
				break
			}
			r.load = min(r.load, time.Since(t0))
			runtime.KeepAlive(v)
			v = nil
			bar.add(1)
		}
	}
	if py != "" {
		if err := pythonTimes(py, rows, *runs); err != nil {
			return err
		}
	}
	bar.finish()

	fmt.Fprintf(c.stdout, "data: %s; %s of arrays; fastest of %d runs; page cache warm\n", source, formatBytes(arrayBytes), *runs)
	fmt.Fprintf(c.stdout, "go %s, %s/%s, %d CPUs\n\n", strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "codec\tlevel\tfile\tratio\tdump\topen\tload\tload rate\t"
	if py != "" {
		head += "py load\tpy mmap\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		level := "-"
		if r.level >= 0 {
			level = fmt.Sprint(r.level)
		}
		ratio := float64(arrayBytes) / float64(max(r.fileSize, 1))
		line := fmt.Sprintf("%s\t%s\t%s\t%.2f\t%s\t", r.codec, level, formatBytes(r.fileSize), ratio, dur(r.dump))
		if r.err != nil {
			line += "error\terror\t-\t"
		} else {
			line += fmt.Sprintf("%s\t%s\t%s/s\t", dur(r.open), dur(r.load), formatBytes(int64(float64(arrayBytes)/max(r.load.Seconds(), 1e-9))))
		}
		if py != "" {
			switch {
			case r.py == nil || r.py.Err != "":
				line += "-\t-\t"
			case r.py.Mmap > 0:
				line += fmt.Sprintf("%s\t%s\t", dur(secs(r.py.Load)), dur(secs(r.py.Mmap)))
			default:
				line += fmt.Sprintf("%s\t-\t", dur(secs(r.py.Load)))
			}
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(c.stdout, "%s: %s\n", r.codec, errorLine(r.err))
		}
	}
	fmt.Fprintln(c.stdout, "\nopen: store.Open (maps an uncompressed file; others are decompressed into memory, as joblib does)")
	fmt.Fprintln(c.stdout, "load: store.Load (every array streamed into memory)")
	return nil
}

// slowCodecs write at a few MB/s or less (lzma and xz well under one):
// bench leaves them out unless asked.
var slowCodecs = []string{"bz2", "lzma", "xz"}

func defaultBenchCodecs() []string {
	out := []string{"none"}
	for _, c := range writableCodecs() {
		if !slices.Contains(slowCodecs, c) {
			out = append(out, c)
		}
	}
	return out
}

// arrayBytesOf sums the bytes of the arrays in a loaded graph, for the
// progress bar.
func arrayBytesOf(v any) int64 {
	var n int64
	var walk func(v any, depth int)
	seen := map[any]bool{}
	walk = func(v any, depth int) {
		if depth > 64 {
			return
		}
		switch x := v.(type) {
		case *ndarray.Array:
			if !seen[x] {
				seen[x] = true
				n += int64(len(x.Data))
			}
		case *pickle.List:
			if !seen[x] {
				seen[x] = true
				for _, it := range x.Items {
					walk(it, depth+1)
				}
			}
		case pickle.Tuple:
			for _, it := range x {
				walk(it, depth+1)
			}
		case *pickle.Dict:
			if !seen[x] {
				seen[x] = true
				for _, it := range x.Values() {
					walk(it, depth+1)
				}
			}
		case *pickle.Object:
			if !seen[x] {
				seen[x] = true
				walk(x.Args, depth+1)
				walk(x.State, depth+1)
				for _, it := range x.ListItems {
					walk(it, depth+1)
				}
				for _, it := range x.DictItems {
					walk(it.Value, depth+1)
				}
			}
		}
	}
	walk(v, 0)
	return n
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// dur renders a duration with three significant digits.
func dur(d time.Duration) string {
	switch {
	case d == time.Duration(math.MaxInt64):
		return "-"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3gs", d.Seconds())
}

// benchData makes a model-like dict of about size bytes: a float64 weight
// matrix of normal values (which compresses poorly, as trained weights
// do) and int32 counts of small values (which compress well).
func benchData(size int64) map[string]any {
	rng := rand.New(rand.NewPCG(1, 2))
	const cols = 256
	wBytes := size * 7 / 8
	rows := max(1, int(wBytes/(8*cols)))
	w := make([]float64, rows*cols)
	for i := range w {
		w[i] = rng.NormFloat64()
	}
	weights, _ := ndarray.FromFloat64s([]int{rows, cols}, w)
	n := max(1, int((size-int64(len(w))*8)/4))
	counts := make([]int32, n)
	for i := range counts {
		counts[i] = int32(rng.IntN(16))
	}
	cnt, _ := ndarray.FromInt32s([]int{n}, counts)
	return map[string]any{
		"weights": weights,
		"counts":  cnt,
		"bias":    []float64{0.5, -0.25, 0.125},
		"name":    "jlstore bench",
	}
}

// findPython returns a python3 that imports joblib, or "".
func findPython() string {
	cands := []string{}
	if p := os.Getenv("JLSTORE_PYTHON"); p != "" {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range cands {
		if exec.Command(p, "-c", "import joblib, numpy").Run() == nil {
			return p
		}
	}
	return ""
}

const pyBench = `
import json, sys, time, gc
import joblib
runs = int(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    res = {"load": 0.0, "mmap": 0.0, "error": ""}
    try:
        best = float("inf")
        for _ in range(runs):
            gc.collect()
            t = time.perf_counter()
            v = joblib.load(path)
            best = min(best, time.perf_counter() - t)
            del v
        res["load"] = best
        if path.endswith(".pkl"):
            best = float("inf")
            for _ in range(runs):
                gc.collect()
                t = time.perf_counter()
                v = joblib.load(path, mmap_mode="r")
                best = min(best, time.perf_counter() - t)
                del v
            res["mmap"] = best
    except Exception as e:
        res["error"] = repr(e)
    out[path] = res
json.dump(out, sys.stdout)
`

// pythonTimes times Python's joblib.load on every row's file.
func pythonTimes(py string, rows []*benchRow, runs int) error {
	args := []string{"-c", pyBench, fmt.Sprint(runs)}
	for _, r := range rows {
		if r.err == nil {
			args = append(args, r.path)
		}
	}
	cmd := exec.Command(py, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("--python: %s: %v: %s", py, err, oneLine(stderr.String()))
	}
	var res map[string]*pyTimes
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return fmt.Errorf("--python: %v", err)
	}
	for _, r := range rows {
		r.py = res[r.path]
	}
	return nil
}
