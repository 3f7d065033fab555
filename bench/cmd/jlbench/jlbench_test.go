package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/bench"
	"github.com/jlstore/jlstore/internal/pyenv"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/store"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"16MiB", 16 << 20, true},
		{"1GiB", 1 << 30, true},
		{"256M", 256 << 20, true},
		{"8192", 8192, true},
		{"100", 0, false}, // not whole rows of 1024 float64
		{"-1MiB", 0, false},
		{"lots", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestChecksAgree(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"sum 1.234567e+03", "sum 1.234568e+03", true},
		{"sum 1.234567e+03", "sum 1.244567e+03", false},
		{"<f8 2x1024", "<f8 2x1024", true},
		{"<f8 2x1024", "<f8 1x2048", false},
		{"sum 1e0", "<f8 1x1", false},
	} {
		if got := checksAgree(tc.a, tc.b); got != tc.want {
			t.Errorf("checksAgree(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
	if m := median(nil); !math.IsNaN(m) {
		t.Errorf("median(nil) = %v", m)
	}
}

// tinyFiles writes a small joblib file, a .npy file and a zlib joblib file
// of the same array.
func tinyFiles(t *testing.T) (pkl, npy, z string, want string, s float64) {
	t.Helper()
	dir := t.TempDir()
	x := make([]float64, 4*cols)
	for i := range x {
		x[i] = float64(i%7) - 3
		s += x[i]
	}
	a, err := ndarray.FromFloat64s([]int{4, cols}, x)
	if err != nil {
		t.Fatal(err)
	}
	pkl, npy, z = filepath.Join(dir, "x.pkl"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "x.pkl.z")
	if err := store.Dump(pkl, map[string]any{"x": a}); err != nil {
		t.Fatal(err)
	}
	if err := store.Dump(z, map[string]any{"x": a}); err != nil {
		t.Fatal(err)
	}
	if err := ndarray.SaveNpy(npy, a); err != nil {
		t.Fatal(err)
	}
	return pkl, npy, z, "<f8 4x1024", s
}

// TestGoOps runs every Go operation once on tiny files and checks what it
// reports.
func TestGoOps(t *testing.T) {
	pkl, npy, z, shape, s := tinyFiles(t)
	out := filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		op   string
		args []string
		want string
	}{
		{"open", []string{pkl}, shape},
		{"open-sum", []string{pkl}, sumCheck(s)},
		{"load", []string{pkl}, shape},
		{"load", []string{z}, shape},
		{"npy-load", []string{npy}, shape},
		{"npy-open", []string{npy}, shape},
		{"npy-open-sum", []string{npy}, sumCheck(s)},
		{"npyio", []string{npy}, shape},
		{"dump", []string{npy, out + ".pkl", "none"}, shape},
		{"dump", []string{npy, out + ".pkl.gz", "gzip"}, shape},
		{"dump-nosync", []string{npy, out + "2.pkl", "none"}, shape},
		{"decode", []string{z, "0"}, ""},
		{"memcpy", []string{"65536"}, "bytes 65536"},
		{"read", []string{pkl, "touched"}, ""},
		{"read", []string{pkl, "huge"}, ""},
		{"read", []string{pkl, "4k"}, ""},
		{"touch", []string{"4194304", "huge"}, "bytes 4194304"},
		{"write", []string{out + ".bin", "4096"}, "bytes 4096"},
	} {
		t.Run(tc.op+"/"+filepath.Base(tc.args[0]), func(t *testing.T) {
			fn, err := goOps[tc.op](tc.args)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				got, err := fn()
				if err != nil {
					t.Fatal(err)
				}
				if tc.want != "" && got != tc.want {
					t.Errorf("check = %q, want %q", got, tc.want)
				}
				if tc.op == "dump" || tc.op == "dump-nosync" {
					// The file is there until the untimed clean-up.
					if v, err := store.Load(tc.args[1]); err != nil {
						t.Errorf("dump wrote a file Load cannot read: %v", err)
					} else if got, _ := describe(v); got != shape {
						t.Errorf("dumped file holds %s", got)
					}
				}
				for _, f := range untimed {
					f()
				}
				untimed = untimed[:0]
			}
		})
	}
}

// TestPythonOps runs jlbench.py's timed operations on the same files, so
// that the two halves report comparable checks.
func TestPythonOps(t *testing.T) {
	py := pyenv.Python(t)
	pkl, npy, z, shape, s := tinyFiles(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"joblib_load", "2", pkl}, shape},
		{[]string{"joblib_load", "1", z}, shape},
		{[]string{"joblib_mmap", "2", pkl}, shape},
		{[]string{"joblib_mmap_sum", "1", pkl}, sumCheck(s)},
		{[]string{"np_load", "1", npy}, shape},
		{[]string{"np_mmap_sum", "1", npy}, sumCheck(s)},
		{[]string{"decompress", "1", z, "zlib", "0"}, ""},
		{[]string{"joblib_dump", "2", npy, filepath.Join(t.TempDir(), "d.pkl.lz4"), "lz4"}, shape},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			out, err := exec.Command(py, append([]string{"-c", bench.PyScript}, tc.args...)...).Output()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var rep childReport
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if want, _ := parseReps(tc.args[1]); len(rep.NS) != want {
				t.Errorf("%d timings, want %d", len(rep.NS), want)
			}
			if tc.want != "" && !checksAgree(rep.Check, tc.want) {
				t.Errorf("check = %q, want %q", rep.Check, tc.want)
			}
			if rep.HWMKB <= 0 {
				t.Errorf("no peak RSS")
			}
		})
	}
}

func parseReps(s string) (int, error) {
	var n int
	err := json.Unmarshal([]byte(s), &n)
	return n, err
}

// TestReport renders a small result set and checks the ratio and the
// targets it derives.
func TestReport(t *testing.T) {
	res := &Results{Runs: 3, Machine: Machine{CPU: "test", Python: map[string]string{}}}
	res.Cases = []*CaseResult{{
		ID: "load/16MiB", Group: "load", Data: "random", Size: 16 << 20, Title: "load",
		Rows: []*RowResult{
			{Method: "jlstore Load", Impl: "jlstore", First: []float64{0.01, 0.02, 0.03}, HWM: []int64{1, 2, 3}, Growth: []int64{1, 1, 1}},
			{Method: "joblib.load", Impl: "python", Vs: "jlstore Load", First: []float64{0.04, 0.05, 0.06}, HWM: []int64{1, 2, 3}, Growth: []int64{1, 1, 1}},
			{Method: "limit: read(2) into fresh huge pages", Impl: "limit", Vs: "jlstore Load", First: []float64{0.01, 0.01, 0.01}},
		},
	}}
	c := res.Cases[0]
	if r := c.ratio(c.Rows[1]); math.Abs(r-2.5) > 1e-9 {
		t.Errorf("ratio = %v, want 2.5", r)
	}
	md := markdown(res, nil)
	for _, want := range []string{"**2.50×**", "jlstore at 50% of it", "| uncompressed Load vs joblib.load (16MiB) | ≥ 2× |", "| load, uncompressed, 16MiB | 20 ms | joblib.load: 50 ms | 2.50× |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if txt := benchstatText(res); !strings.Contains(txt, "BenchmarkSuite/group=load/data=random/size=16MiB/method=jlstore_Load 1 20000000 ns/op") {
		t.Errorf("benchstat text:\n%s", txt)
	}
	dir := t.TempDir()
	if err := writeOutputs(res, dir, t.Logf); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"RESULTS.md", "results.txt", "headline.md", "plots/load_vs_size.png", "plots/peak_rss.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"16MiB", "1GiB", "4G", "8192", "0", "-8K", "9999999999999999GiB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && (n <= 0 || n%(8*cols) != 0) {
			t.Errorf("parseSize(%q) = %d", s, n)
		}
	})
}
