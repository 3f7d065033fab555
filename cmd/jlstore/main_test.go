package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtures is the folder of the joblib files Python made.
const fixtures = "../../testdata/joblib"

// jl runs the tool in this process and returns its stdout, stderr and
// exit status.
func jl(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// jlOK runs the tool and fails the test unless it exits 0 with nothing
// on stderr.
func jlOK(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, code := jl(t, args...)
	if code != 0 || errOut != "" {
		t.Fatalf("jlstore %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

// errLine matches the one line every failure prints.
var errLine = regexp.MustCompile(`^jlstore: [^\n]+\n$`)

// goldenCases are the fixtures whose ls, show and dis output is kept in
// testdata/golden.
var goldenCases = []string{
	"basic_p4.pkl",         // every dtype, protocol 4 frames, an object array
	"basic_p2.gz",          // gzip, protocol 2
	"basic_p0.pkl",         // text opcodes, copy_reg._reconstructor wrappers
	"pipeline_p4.pkl",      // scikit-learn objects
	"graph_p0.pkl",         // shared and self-referencing containers
	"concat_p4.pkl",        // two pickles in one stream
	"matrix_memmap_p4.pkl", // subclasses
	"sparse_csr_p4.pkl",    // scipy
	"random_forest_p4.z",   // Tree objects with __args__ arrays, zlib
}

func TestGolden(t *testing.T) {
	for _, name := range goldenCases {
		for _, cmd := range [][]string{{"ls"}, {"ls", "--json"}, {"show"}, {"dis"}} {
			label := strings.Join(cmd, "_")
			label = strings.ReplaceAll(label, "--", "")
			t.Run(name+"/"+label, func(t *testing.T) {
				got := jlOK(t, append(cmd, filepath.Join(fixtures, name))...)
				golden := filepath.Join("testdata", "golden", label, name+".txt")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to write it)", err)
				}
				if got != string(want) {
					t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, firstDiff(string(want), got))
				}
			})
		}
	}
}

// firstDiff shows the first line where two texts differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + a + "\ngot:  " + b
		}
	}
	return "(no line differs)"
}

// TestBadInput feeds every command damaged and missing files: each must
// exit 1 with one jlstore: line naming the file, and never panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(fixtures, "basic_p4.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	gz, err := os.ReadFile(filepath.Join(fixtures, "basic_p4.gz"))
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919 + i/13)
	}
	files := map[string][]byte{
		"truncated.pkl":      good[:len(good)/2],
		"truncated_data.pkl": good[:250], // inside the first array's data
		"truncated.gz":       gz[:len(gz)*2/3],
		"random.bin":         random,
		"empty.pkl":          nil,
		"junk_proto.pkl":     {0x80, 0x04, 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	inputs := []string{"truncated.pkl", "truncated_data.pkl", "truncated.gz", "random.bin", "empty.pkl", "junk_proto.pkl", "missing.pkl", "adir"}
	commands := [][]string{
		{"ls"}, {"ls", "--json"}, {"show"}, {"dis"},
		{"convert", "IN", filepath.Join(dir, "out.pkl")},
		{"export", "IN", filepath.Join(dir, "out.npz")},
		{"export", "--npy-dir", filepath.Join(dir, "npy"), "IN"},
		{"bench", "--codecs", "none", "--runs", "1", "IN"},
	}
	for _, in := range inputs {
		for _, cmd := range commands {
			path := filepath.Join(dir, in)
			args := make([]string, 0, len(cmd)+1)
			hasIn := false
			for _, a := range cmd {
				if a == "IN" {
					a, hasIn = path, true
				}
				args = append(args, a)
			}
			if !hasIn {
				args = append(args, path)
			}
			t.Run(in+"/"+cmd[0], func(t *testing.T) {
				_, errOut, code := jl(t, args...)
				if code != 1 {
					t.Fatalf("jlstore %v: exit %d, want 1; stderr %q", args, code, errOut)
				}
				if !errLine.MatchString(errOut) {
					t.Fatalf("stderr is not one jlstore: line: %q", errOut)
				}
				if !strings.HasPrefix(errOut, "jlstore: "+path+": ") {
					t.Errorf("stderr does not name the file: %q", errOut)
				}
				if strings.Contains(errOut, "internal error") || strings.Contains(errOut, "goroutine") {
					t.Errorf("a panic: %q", errOut)
				}
			})
		}
	}
	// The message says where the damage is.
	_, errOut, _ := jl(t, "ls", filepath.Join(dir, "truncated.pkl"))
	if !regexp.MustCompile(`\(at byte \d+\)\n$`).MatchString(errOut) {
		t.Errorf("no byte offset in %q", errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.pkl")); err == nil {
		t.Errorf("a failed convert left out.pkl behind")
	}
}

// TestLimits checks that --max-bytes and --max-ratio refuse files and say
// which limit they hit.
func TestLimits(t *testing.T) {
	dir := t.TempDir()
	// 1 MiB of zeros compresses about 1000:1.
	bomb := filepath.Join(dir, "zeros.pkl.z")
	if err := store.Dump(bomb, map[string]any{"zeros": make([]float64, 1<<17)}); err != nil {
		t.Fatal(err)
	}
	// ls hashes arrays as they stream: it needs no memory for them.
	jlOK(t, "ls", "--max-bytes", "64KiB", bomb)
	for _, cmd := range []string{"show", "convert", "export", "bench"} {
		args := []string{cmd, "--max-bytes", "64KiB", bomb}
		switch cmd {
		case "convert", "export":
			args = append(args, filepath.Join(dir, "out.npz"))
		case "bench":
			args = []string{cmd, "--codecs", "none", "--runs", "1", "--max-bytes", "64KiB", bomb}
		}
		_, errOut, code := jl(t, args...)
		if code != 1 || !strings.Contains(errOut, "(limit --max-bytes)") || !errLine.MatchString(errOut) {
			t.Errorf("%s --max-bytes 64KiB: exit %d, stderr %q", cmd, code, errOut)
		}
	}
	_, errOut, code := jl(t, "ls", "--max-ratio", "100", bomb)
	if code != 1 || !strings.Contains(errOut, "(limit --max-ratio)") || !errLine.MatchString(errOut) {
		t.Errorf("--max-ratio 100: exit %d, stderr %q", code, errOut)
	}
	jlOK(t, "ls", "--max-ratio", "5000", bomb)
	// Mapped arrays of an uncompressed file cost no memory: the limit
	// does not refuse them, but Load, which copies, is refused.
	plain := filepath.Join(dir, "zeros.pkl")
	jlOK(t, "convert", bomb, plain)
	jlOK(t, "ls", "--max-bytes", "64KiB", "--max-ratio", "1", plain)
	_, errOut, code = jl(t, "convert", "--max-bytes", "64KiB", plain, filepath.Join(dir, "out.pkl"))
	if code != 1 || !strings.Contains(errOut, "(limit --max-bytes)") {
		t.Errorf("convert --max-bytes 64KiB: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = jl(t, "dis", "--max-bytes", "1000", bomb)
	if code != 1 || !errLine.MatchString(errOut) {
		t.Errorf("dis --max-bytes 1000: exit %d, stderr %q", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	f := filepath.Join(fixtures, "basic_p4.pkl")
	for _, args := range [][]string{
		{},
		{"nosuchcommand"},
		{"ls"},
		{"ls", f, f},
		{"ls", "--bogus", f},
		{"show", "--depth", "x", f},
		{"show", "--depth", "-1", f},
		{"dis"},
		{"convert", f},
		{"convert", "--compress", "nosuchcodec", f, "out.pkl"},
		{"convert", "--compress", "zlib:x", f, "out.pkl"},
		{"convert", "--compress", "zlib:99", f, "out.pkl"},
		{"convert", "--protocol", "1", f, "out.pkl"},
		{"convert", "--max-ratio", "0.5", f, "out.pkl"},
		{"export", f},
		{"export", "--npy-dir", "", f},
		{"bench"},
		{"bench", "--size", "1MiB", f},
		{"bench", "--size", "lots"},
		{"bench", "--size", "1MiB", "--codecs", "nosuch"},
		{"demo", "extra"},
		{"ls", "--max-bytes", "-5", f},
	} {
		_, errOut, code := jl(t, args...)
		if code != 2 {
			t.Errorf("jlstore %v: exit %d, want 2; stderr %q", args, code, errOut)
		}
		if !strings.Contains(errOut, "usage") {
			t.Errorf("jlstore %v: no usage in %q", args, errOut)
		}
	}
}

func TestHelp(t *testing.T) {
	out := jlOK(t, "--help")
	for _, c := range commands {
		if !strings.Contains(out, "jlstore "+c.name) {
			t.Errorf("--help does not list %s", c.name)
		}
		for _, h := range []string{"--help", "-h", "-help"} {
			out := jlOK(t, c.name, h)
			if !strings.Contains(out, "usage: jlstore "+c.name) || !strings.Contains(out, "example") {
				t.Errorf("%s %s: no usage or example:\n%s", c.name, h, out)
			}
		}
		if out := jlOK(t, "help", c.name); !strings.Contains(out, "usage: jlstore "+c.name) {
			t.Errorf("help %s: %s", c.name, out)
		}
	}
}

// TestFlagsAfterArgs accepts flags after the file, as users type them.
func TestFlagsAfterArgs(t *testing.T) {
	f := filepath.Join(fixtures, "basic_p4.pkl")
	a := jlOK(t, "ls", "--json", f)
	b := jlOK(t, "ls", f, "--json")
	if a != b || !strings.HasPrefix(a, "[") {
		t.Errorf("ls FILE --json differs from ls --json FILE")
	}
	if out := jlOK(t, "ls", "--", f); !strings.HasPrefix(out, "PATH") {
		t.Errorf("ls -- FILE: %q", out)
	}
}

func TestShowDepth(t *testing.T) {
	f := filepath.Join(fixtures, "pipeline_p4.pkl")
	full := jlOK(t, "show", f)
	one := jlOK(t, "show", "--depth", "1", f)
	if strings.Count(one, "\n") >= strings.Count(full, "\n") || !strings.Contains(one, "  ...") {
		t.Errorf("--depth 1 does not cut the tree:\n%s", one)
	}
	for _, line := range strings.Split(strings.TrimSpace(one), "\n") {
		if strings.HasPrefix(line, "      ") {
			t.Errorf("--depth 1 printed a line at depth 3: %q", line)
		}
	}
	items := jlOK(t, "show", "--items", "3", filepath.Join(fixtures, "many_small_p4.pkl"))
	if !strings.Contains(items, "... 197 more") {
		t.Errorf("--items 3 on 200 arrays:\n%s", items)
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	out := jlOK(t, "demo", "--dir", dir)
	for _, want := range []string{
		"$ jlstore ls model.pkl", "$ jlstore show model.pkl",
		"view of the mapping at byte", ": true",
		"class 0 (setosa)", "class 2 (virginica)",
		"$ jlstore convert --compress lz4 model.pkl model.pkl.lz4",
		"every array has the same SHA-256 and offset",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"model.pkl", "model.pkl.lz4", "roundtrip.pkl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	// Without --dir the demo cleans up after itself.
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "jlstore-demo-*"))
	jlOK(t, "demo")
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "jlstore-demo-*"))
	if len(after) > len(before) {
		t.Errorf("demo left %v", after)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"4096": 4096, "64KiB": 64 << 10, "1GiB": 1 << 30, "1.5MiB": 3 << 19, "10MB": 10e6, "2g": 2 << 30, "512B": 512,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "0", "1XB", "1e30GiB", "NaN"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// TestPanicBackstop checks that a bug still gives one line and exit 1.
func TestPanicBackstop(t *testing.T) {
	saved := commands
	defer func() { commands = saved }()
	commands = append(commands[:len(commands):len(commands)], &command{name: "boom", run: func(c *cli, args []string) error {
		var m map[string]int
		m["x"]++ // a nil map write panics
		return nil
	}})
	_, errOut, code := jl(t, "boom", "FILE")
	if code != 1 || !errLine.MatchString(errOut) || !strings.Contains(errOut, "internal error in boom FILE") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestLsStreams: ls of a compressed file holding 96 MiB of arrays (C and
// F order) allocates a few MiB, not the arrays, and its hashes are those
// of the arrays' elements in C order.
func TestLsStreams(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.pkl.gz")
	c := make([]float64, 4<<20)
	for i := range c {
		c[i] = float64(i%977) / 4
	}
	ac, err := ndarray.FromFloat64s([]int{4096, 1024}, c)
	if err != nil {
		t.Fatal(err)
	}
	af := &ndarray.Array{DType: ac.DType, Shape: []int{2048, 4096}, Order: ndarray.OrderF, Data: make([]byte, 64<<20)}
	for i := range af.Data {
		af.Data[i] = byte(i * 131 >> 7)
	}
	if err := store.Dump(path, map[string]any{"c": ac, "f": af}, store.Compress("gzip", 1)); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range []*ndarray.Array{ac, af} {
		b, err := a.ContiguousBytes()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		want = append(want, hex.EncodeToString(sum[:]))
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out := jlOK(t, "ls", "--json", path)
	runtime.ReadMemStats(&after)
	var got []struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].SHA256 != want[0] || got[1].SHA256 != want[1] {
		t.Errorf("ls hashes %+v, want %v", got, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("ls of 96 MiB of compressed arrays allocated %d MiB", alloc>>20)
	}
}
