package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/jlstore/jlstore/internal/pyenv"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// goValue is what the Go to Python tests dump; pyCheck builds the same
// value in Python and compares.
func goValue(t testing.TB) any {
	f8F, err := ndarray.New(ndarray.Float64, []int{2, 3}, ndarray.OrderF)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			if err := f8F.Set(float64(10*i+j), i, j); err != nil {
				t.Fatal(err)
			}
		}
	}
	beData := make([]byte, 0, 24)
	for _, f := range []float64{1.5, -2, 3} {
		beData = binary.BigEndian.AppendUint64(beData, math.Float64bits(f))
	}
	be, err := ndarray.FromBytes(ndarray.Float64.WithByteOrder('>'), []int{3}, ndarray.OrderC, beData)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := ndarray.FromObjects([]int{3}, ndarray.OrderC, []any{int64(1), "a", nil})
	if err != nil {
		t.Fatal(err)
	}
	shared := pickle.NewList(int64(1), "x")
	inner := pickle.NewDict()
	inner.Set("k", pickle.Tuple{int64(1), "two", 3.5})
	type model struct {
		Name    string    `jlstore:"name"`
		Weights []float64 `jlstore:"weights"`
		Skip    int       `jlstore:"-"`
	}
	return map[string]any{
		"dense":   mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6}),
		"vec":     mat.NewVecDense(3, []float64{7, 8, 9}),
		"cdense":  mat.NewCDense(1, 2, []complex128{1 + 2i, 3 - 4i}),
		"f8F":     f8F,
		"f4":      []float32{0.5, 1.5},
		"i8":      []int64{-1, 1 << 40},
		"i4":      []int32{1, 2, 3},
		"u1":      []uint16{65535},
		"b1":      []bool{true, false},
		"be":      be,
		"obj":     obj,
		"empty":   []float64{},
		"inner":   inner,
		"shared":  []any{shared, shared},
		"struct":  model{Name: "m", Weights: []float64{0.25}},
		"big":     make([]float64, 100000),
		"none":    nil,
		"strings": []any{"é", []byte{0, 255}},
	}
}

const pyCheck = `
import sys, json, joblib, numpy as np
def expected():
    f8F = np.asfortranarray(np.array([[0., 1, 2], [10, 11, 12]]))
    return {
        "dense": np.array([[1., 2, 3], [4, 5, 6]]),
        "vec": np.array([7., 8, 9]),
        "cdense": np.array([[1+2j, 3-4j]]),
        "f8F": f8F,
        "f4": np.array([0.5, 1.5], dtype=np.float32),
        "i8": np.array([-1, 1 << 40], dtype=np.int64),
        "i4": np.array([1, 2, 3], dtype=np.int32),
        "u1": np.array([65535], dtype=np.uint16),
        "b1": np.array([True, False]),
        "be": np.array([1.5, -2, 3], dtype='>f8'),
        "obj": np.array([1, 'a', None], dtype=object),
        "empty": np.zeros(0),
        "inner": {"k": (1, "two", 3.5)},
        "shared": [[1, "x"], [1, "x"]],
        "struct": {"name": "m", "weights": np.array([0.25])},
        "big": np.zeros(100000),
        "none": None,
        "strings": ["é", b"\x00\xff"],
    }
def same(a, b):
    if isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and (a == b).all() and a.flags.f_contiguous == b.flags.f_contiguous)
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) == type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) == type(b) and a == b
out = {}
exp = expected()
for path in sys.argv[1:]:
    res = {}
    try:
        got = joblib.load(path)
        be = got.pop("be", None)
        # joblib swaps non-native arrays to native order on load (1.2 and
        # later), so compare the big-endian array by value.
        bad = [k for k in exp if k != "be" and not same(got.get(k), exp[k])]
        if not (isinstance(be, np.ndarray) and be.dtype.newbyteorder('=') == np.dtype('f8') and (be == exp["be"]).all()):
            bad.append("be")
        res["bad"] = bad
        res["shared_is_shared"] = got["shared"][0] is got["shared"][1]
        if not any(path.endswith(e) for e in ('.z', '.gz', '.bz2', '.lzma', '.xz', '.lz4')):
            m = joblib.load(path, mmap_mode='r')
            res["memmap"] = isinstance(m["dense"], np.memmap) and isinstance(m["big"], np.memmap)
    except Exception as e:
        res["error"] = repr(e)
    out[path] = res
print(json.dumps(out))
`

func TestDumpReadByPython(t *testing.T) {
	py := pyenv.Python(t)
	_ = py
	dir := t.TempDir()
	v := goValue(t)
	var paths []string
	for _, ext := range []string{".pkl", ".z", ".gz", ".bz2", ".lzma", ".xz", ".lz4"} {
		for proto := 2; proto <= 5; proto++ {
			p := filepath.Join(dir, fmt.Sprintf("go_p%d%s", proto, ext))
			if err := Dump(p, v, Protocol(proto)); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			paths = append(paths, p)
		}
	}
	var res map[string]map[string]any
	out := pyenv.Run(t, pyCheck, paths...)
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, p := range paths {
		r := res[p]
		name := filepath.Base(p)
		if e, ok := r["error"]; ok {
			t.Errorf("%s: Python failed: %v", name, e)
			continue
		}
		if bad := r["bad"].([]any); len(bad) > 0 {
			t.Errorf("%s: Python sees different values for %v", name, bad)
		}
		if r["shared_is_shared"] != true {
			t.Errorf("%s: shared list is not shared in Python", name)
		}
		if strings.HasSuffix(p, ".pkl") && r["memmap"] != true {
			t.Errorf("%s: joblib.load(mmap_mode='r') does not give memmaps", name)
		}
	}
}
