package store

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlstore/jlstore/pickle"
)

// sweepLimit bounds the time one mangled input may take: far above the
// milliseconds they take, far below a hang.
const sweepLimit = 10 * time.Second

// sweeper loads mangled inputs with Load, Open and Decode from a scratch
// folder, checking each outcome and counting them.
type sweeper struct {
	t      *testing.T
	dir    string
	counts map[string]int
	inputs int
	worst  time.Duration
	most   uint64
}

func newSweeper(t *testing.T) *sweeper {
	return &sweeper{t: t, dir: t.TempDir(), counts: map[string]int{}}
}

// try loads data as file name (sidecars, if any, already sit in s.dir)
// in the three modes. ok checks a successful load; a nil ok makes every
// success acceptable.
func (s *sweeper) try(what, name string, data []byte, stream bool, ok func(mode string, v any) error) {
	t := s.t
	t.Helper()
	path := filepath.Join(s.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s.inputs++
	for _, mode := range loadModes {
		if mode == "decode" && !stream {
			continue
		}
		var r result
		if mode == "decode" {
			r = guarded(t, what, func() (any, []ArrayInfo, error) {
				v, err := Decode(struct{ io.Reader }{bytes.NewReader(data)})
				if err != nil {
					return nil, nil, err
				}
				arrays := newLoader(loadConfig{}, "").index(v)
				touchArrays(arrays)
				return v, arrays, nil
			})
		} else {
			r = guarded(t, what, func() (any, []ArrayInfo, error) { return loadAs(mode, path) })
		}
		kind := kindOf(r.err)
		if mode == "decode" && len(data) == 0 && r.err == io.EOF {
			kind = "EOF" // a stream with no object left
		}
		s.counts[mode+" "+kind]++
		if strings.HasPrefix(kind, "unclean") {
			t.Errorf("%s (%s): %s", what, mode, kind)
		}
		if r.err == nil && ok != nil {
			if err := ok(mode, r.root); err != nil {
				t.Errorf("%s (%s): loaded, but %v", what, mode, err)
			}
		}
		if r.elapsed > sweepLimit {
			t.Errorf("%s (%s): took %v", what, mode, r.elapsed)
		}
		if limit := uint64(len(data))*DefaultMaxRatio + 256<<20; r.alloc > limit {
			t.Errorf("%s (%s): allocated %d MiB for %d bytes", what, mode, r.alloc>>20, len(data))
		}
		s.worst = max(s.worst, r.elapsed)
		s.most = max(s.most, r.alloc)
	}
}

// add counts o's inputs and outcomes in s.
func (s *sweeper) add(o *sweeper) {
	s.inputs += o.inputs
	for k, n := range o.counts {
		s.counts[k] += n
	}
	s.worst = max(s.worst, o.worst)
	s.most = max(s.most, o.most)
}

func (s *sweeper) report(family string) {
	var parts []string
	for _, k := range mapsKeys(s.counts) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, s.counts[k]))
	}
	s.t.Logf("%s: %d inputs; outcomes %s; slowest %v, most allocated %d KiB", family, s.inputs, strings.Join(parts, " "), s.worst.Round(time.Millisecond), s.most>>10)
}

// joblibFixtures lists testdata/joblib's fixtures.
func joblibFixtures(t testing.TB) []string {
	entries, err := os.ReadDir(filepath.Join("..", "testdata", "joblib"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !strings.HasSuffix(n, ".json") {
			names = append(names, n)
		}
	}
	if len(names) < 50 {
		t.Fatalf("only %d fixtures", len(names))
	}
	return names
}

// cuts returns the lengths to cut n bytes at: all of them when n is at
// most 200, else 200 (50 under -short): every length near both ends and
// an even spread in between.
func cuts(n int) []int {
	limit := 200
	if testing.Short() {
		limit = 50
	}
	if n <= limit {
		c := make([]int, n)
		for i := range c {
			c[i] = i
		}
		return c
	}
	edge := limit / 8
	var c []int
	for i := range edge {
		c = append(c, i, n-1-i)
	}
	mid := limit - 2*edge
	for i := range mid {
		c = append(c, edge+(n-2*edge)*i/mid)
	}
	slices.Sort(c)
	return slices.Compact(c)
}

// TestTruncationSweep cuts every fixture of testdata/joblib at 200 or
// more lengths and loads each cut with Load, Open and Decode. Each gives
// a clean error, or the very value of the whole file: a cut after the
// pickle's STOP (a compressed stream's trailer, the second object of
// concat_p4) loses nothing jlstore reads.
func TestTruncationSweep(t *testing.T) {
	var mu sync.Mutex
	total := newSweeper(t)
	t.Run("fixtures", func(t *testing.T) {
		for _, name := range joblibFixtures(t) {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := newSweeper(t)
				data, err := os.ReadFile(fixture(name))
				if err != nil {
					t.Fatal(err)
				}
				whole := map[string]any{}
				for _, mode := range loadModes {
					v, _, err := loadAs(mode, fixture(name))
					if err != nil {
						t.Fatalf("%s (%s): %v", name, mode, err)
					}
					whole[mode] = v
				}
				same := func(mode string, v any) error {
					if !pickle.Equal(v, whole[mode]) {
						return fmt.Errorf("to a value that differs from the whole file's")
					}
					return nil
				}
				for _, cut := range cuts(len(data)) {
					s.try(fmt.Sprintf("%s cut at %d of %d", name, cut, len(data)), name, data[:cut], true, same)
				}
				mu.Lock()
				total.add(s)
				mu.Unlock()
			})
		}
	})
	total.report("truncation")
}

// flipFamilies groups fixtures by what wrote them. Each family gets
// 1,000 bit flips (250 under -short).
func flipFamilies(t *testing.T) map[string][]string {
	fams := map[string][]string{}
	for _, name := range joblibFixtures(t) {
		fam := "misc"
		switch {
		case strings.HasPrefix(name, "basic_p"):
			fam = "basic"
		case strings.HasPrefix(name, "graph_p"):
			fam = "graph"
		case strings.Contains(name, "regression") || strings.Contains(name, "pipeline") ||
			strings.Contains(name, "forest") || strings.Contains(name, "scaler"):
			fam = "sklearn"
		}
		fams[fam] = append(fams[fam], fixture(name))
	}
	np, err := filepath.Glob(filepath.Join("..", "testdata", "numpy", "*.pkl"))
	if err != nil || len(np) < 20 {
		t.Fatalf("numpy pickles: %d, %v", len(np), err)
	}
	fams["numpy"] = np
	return fams
}

// TestBitFlips flips one seeded bit at a time, 1,000 times per family of
// fixtures (basic_p*, scikit-learn models, shared-reference graphs,
// numpy's own pickles, other joblib files, and the historical files of
// joblib 0.8 to 0.12), and loads each result with Load, Open and Decode:
// a clean error or a value, never a panic, a hang or a memory blow-up.
func TestBitFlips(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 250
	}
	fams := flipFamilies(t)
	families := mapsKeys(fams)
	families = append(families, "historical")
	for _, fam := range families {
		t.Run(fam, func(t *testing.T) {
			t.Parallel()
			s := newSweeper(t)
			files := fams[fam]
			stream := true
			if fam == "historical" {
				files = historicalMains(t, s.dir)
				stream = false // old files keep arrays in sidecars
			}
			datas := make([][]byte, len(files))
			for i, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				datas[i] = b
			}
			rng := rand.New(rand.NewPCG(8, uint64(len(fam))))
			for range n {
				i := rng.IntN(len(files))
				b := bytes.Clone(datas[i])
				bit := rng.IntN(8 * len(b))
				b[bit/8] ^= 1 << (bit % 8)
				s.try(fmt.Sprintf("%s with bit %d flipped", filepath.Base(files[i]), bit), filepath.Base(files[i]), b, stream, nil)
			}
			s.report("bit flips " + fam)
		})
	}
}

// historicalMains copies shared/joblib-testdata into dir (sidecars
// included, so that flipped main files still find theirs) and returns the
// main files, in the original folder.
func historicalMains(t *testing.T, dir string) []string {
	src := historyDir(t)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	var mains []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "joblib_") {
			continue
		}
		if strings.Contains(name, ".npy") {
			b, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mains = append(mains, filepath.Join(src, name))
	}
	return mains
}
