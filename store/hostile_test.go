package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// kindOf names the outcome of a load: "ok", or the kind of a clean error.
// An error that is not clean (not a *PathError, or of no known kind) is
// reported as "unclean: ...".
func kindOf(err error) string {
	if err == nil {
		return "ok"
	}
	var pe *PathError
	if !errors.As(err, &pe) {
		return fmt.Sprintf("unclean: %T is not a *PathError: %v", err, err)
	}
	switch {
	case errors.Is(err, ErrUnsafe):
		return "Unsafe"
	case errors.Is(err, ErrTooLarge):
		return "TooLarge"
	case errors.Is(err, ErrUnsupported):
		return "Unsupported"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, ErrCorrupt):
		return "Corrupt"
	case errors.Is(err, ErrFormat):
		return "Format"
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		return "Format"
	}
	return fmt.Sprintf("unclean: no error kind: %v", err)
}

// limits of one hostile load.
const (
	maxLoadTime = 30 * time.Second // a hang, not a slow machine
)

// heapAllocs returns the bytes allocated on the heap so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// result is what one guarded load did.
type result struct {
	root    any
	arrays  []ArrayInfo
	err     error
	elapsed time.Duration
	alloc   uint64
}

// guarded runs load with a deadline and measures its time and heap
// allocations. A panic fails the test with the input's name.
func guarded(t testing.TB, what string, load func() (any, []ArrayInfo, error)) result {
	t.Helper()
	done := make(chan result, 1)
	before := heapAllocs()
	start := time.Now()
	go func() {
		var r result
		defer func() {
			if v := recover(); v != nil {
				r.err = fmt.Errorf("PANIC: %v", v)
				done <- r
			}
		}()
		r.root, r.arrays, r.err = load()
		done <- r
	}()
	select {
	case r := <-done:
		r.elapsed = time.Since(start)
		r.alloc = heapAllocs() - before
		if r.err != nil && strings.HasPrefix(r.err.Error(), "PANIC") {
			t.Fatalf("%s: %v", what, r.err)
		}
		return r
	case <-time.After(maxLoadTime):
		t.Fatalf("%s: no result after %v", what, maxLoadTime)
	}
	panic("unreachable")
}

// loadModes are the three ways in: Load, Open (mapped) and Decode of the
// file as a plain stream.
var loadModes = []string{"load", "open", "decode"}

func loadAs(mode, path string, opts ...LoadOption) (any, []ArrayInfo, error) {
	switch mode {
	case "load":
		v, err := Load(path, opts...)
		if err != nil {
			return nil, nil, err
		}
		arrays := newLoader(loadConfig{}, "").index(v)
		touchArrays(arrays)
		return v, arrays, nil
	case "open":
		f, err := Open(path, opts...)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		touchArrays(f.Arrays())
		// The views die with the mapping: give the caller copies.
		for _, info := range f.Arrays() {
			if info.ZeroCopy {
				info.Array.Data = bytes.Clone(info.Array.Data)
			}
		}
		return f.Root(), f.Arrays(), nil
	case "decode":
		fh, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		defer fh.Close()
		v, err := Decode(struct{ io.Reader }{fh}, opts...)
		if err != nil {
			return nil, nil, err
		}
		arrays := newLoader(loadConfig{}, "").index(v)
		touchArrays(arrays)
		return v, arrays, nil
	}
	panic(mode)
}

// touch reads every array a load returned, the way a caller would, so
// that a bad shape or a dangling view shows up here and not later.
func touchArrays(arrays []ArrayInfo) {
	for _, info := range arrays {
		a := info.Array
		_ = a.String()
		_ = a.Size()
		if a.DType.HasObject() {
			continue
		}
		if _, err := a.ContiguousBytes(); err != nil {
			continue
		}
		var sum byte
		for _, b := range a.Data {
			sum += b
		}
		_ = sum
		if a.NBytes() <= 1<<20 {
			if c, err := a.Copy(); err == nil {
				_, _ = c.ToNative()
				_, _ = c.AsC()
			}
		}
	}
}

// TestHostileCorpus loads every input of testdata/corrupt with Load, Open
// and Decode, and checks the outcome against the corpus's table: a clean
// error of an allowed kind, or a result, within bounded time and memory,
// with nothing executed.
func TestHostileCorpus(t *testing.T) {
	files := corpus(t)
	t.Chdir(t.TempDir()) // a payload that ran would leave PWNED here
	counts := map[string]int{}
	for _, h := range files {
		if h.sidecar {
			continue
		}
		path, err := filepath.Abs(filepath.Join(corruptDirAbs(t), filepath.FromSlash(h.name)))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range loadModes {
			if mode == "decode" && h.noStream {
				continue
			}
			t.Run(h.name+"/mode="+mode, func(t *testing.T) {
				r := guarded(t, h.name, func() (any, []ArrayInfo, error) { return loadAs(mode, path) })
				got := kindOf(r.err)
				counts[strings.SplitN(h.name, "/", 2)[0]+" "+got]++
				want := h.want
				if mode == "decode" && h.wantStream != nil {
					want = h.wantStream
				}
				if want[0] == "inert" {
					if r.err != nil {
						t.Fatalf("err = %v, want inert objects", r.err)
					}
					if !hasInert(r.root, h.global) {
						t.Errorf("no inert %s in %s", h.global, pickle.TypeName(r.root))
					}
					_, _, err := loadAs(mode, path, Strict(true))
					if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), h.global) {
						t.Errorf("Strict: err = %v, want ErrUnsafe naming %s", err, h.global)
					}
				} else if !slices.Contains(want, got) {
					t.Errorf("outcome %s (%v), want one of %v", got, r.err, want)
				}
				// Memory: what the file may hold (the ratio cap) plus
				// decoding overhead.
				if limit := uint64(fi.Size())*DefaultMaxRatio + 256<<20; r.alloc > limit {
					t.Errorf("allocated %d MiB for a %d-byte input", r.alloc>>20, fi.Size())
				}
				if _, err := os.Stat(marker); err == nil {
					t.Fatalf("%s was created: the payload ran", marker)
				}
				t.Logf("%s in %v, %d KiB allocated: %v", got, r.elapsed.Round(time.Millisecond), r.alloc>>10, r.err)
			})
		}
	}
	for _, k := range mapsKeys(counts) {
		t.Logf("%-40s %d", k, counts[k])
	}
}

// corruptDirAbs is testdata/corrupt as an absolute path, for tests that
// change directory.
func corruptDirAbs(t testing.TB) string {
	return corruptAbs
}

var corruptAbs = func() string {
	p, err := filepath.Abs(corruptDir)
	if err != nil {
		panic(err)
	}
	return p
}()

// hasInert reports whether the graph holds an inert object of global g,
// or a call of one.
func hasInert(root any, g string) bool {
	found := false
	seen := map[any]bool{}
	var visit func(v any, depth int)
	visit = func(v any, depth int) {
		if found || depth > 100 {
			return
		}
		switch x := v.(type) {
		case *pickle.Object:
			if seen[x] {
				return
			}
			seen[x] = true
			if x.Class.String() == g {
				found = true
				return
			}
			visit(x.Callee, depth+1)
			for _, a := range x.Args {
				visit(a, depth+1)
			}
			visit(x.State, depth+1)
		case pickle.Global:
			found = found || x.String() == g
		case *pickle.Dict:
			for _, v := range x.Values() {
				visit(v, depth+1)
			}
		case *pickle.List:
			for _, v := range x.Items {
				visit(v, depth+1)
			}
		case pickle.Tuple:
			for _, v := range x {
				visit(v, depth+1)
			}
		case *ndarray.Array:
			for _, v := range x.Objects {
				visit(v, depth+1)
			}
		}
	}
	visit(root, 0)
	return found
}

// TestLimits checks each limit's option and that the error names the
// limit a file hit, so that a caller (the CLI) can say which to raise.
func TestLimits(t *testing.T) {
	c := func(name string) string { return filepath.Join(corruptAbs, name) }
	dir := t.TempDir()
	raw := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		path  string
		opts  []LoadOption
		names string // the limit the error must name
	}{
		{"ratio", c("bomb/bz2_16GiB.bz2"), nil, "MaxRatio"},
		{"ratio raised, bytes hold", c("bomb/bz2_16GiB.bz2"), []LoadOption{MaxRatio(1e12), MaxBytes(1 << 30)}, "MaxBytes"},
		{"ratio of what decodes", c("bomb/bz2_64x1MiB.bz2"), []LoadOption{MaxRatio(1000)}, "MaxRatio"},
		{"bytes", fixture("basic_p4.pkl"), []LoadOption{MaxBytes(100)}, "MaxBytes"},
		{"depth", raw("tuples.pkl", nestedTuples(100000)), []LoadOption{MaxDepth(1000)}, "MaxDepth"},
		{"depth, raw lists", raw("lists.pkl", nestedLists(100000)), []LoadOption{MaxDepth(1000)}, "MaxDepth"},
		{"memo", c("deep/memoize_10M.z"), []LoadOption{MaxMemo(1000)}, "MaxMemo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []string{"load", "open", "decode"} {
				if mode == "decode" && tt.name == "ratio" {
					continue // a stream's size is unknown: it ends early (EOF)
				}
				_, _, err := loadAs(mode, tt.path, tt.opts...)
				if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.names) {
					t.Errorf("%s: err = %v, want ErrTooLarge naming %s", mode, err, tt.names)
				}
			}
		})
	}
	// Without the options, the 100,000-level files load (uncompressed
	// here; testdata/corrupt/deep holds them compressed).
	for _, name := range []string{"tuples.pkl", "lists.pkl"} {
		for _, mode := range loadModes {
			r := guarded(t, name, func() (any, []ArrayInfo, error) { return loadAs(mode, filepath.Join(dir, name)) })
			if r.err != nil || r.elapsed > 10*time.Second {
				t.Errorf("%s (%s): %v in %v", name, mode, r.err, r.elapsed)
			}
		}
	}
}
