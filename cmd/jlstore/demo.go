package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
	"github.com/jlstore/jlstore/store"
)

var demoCmd = &command{
	name:     "demo",
	synopsis: "[--dir DIR]",
	summary:  "Show the main job on an embedded model, in a temporary folder.",
	help: `Go dumps a small model-like dict of arrays (a 3-class linear classifier) to
model.pkl, then the demo runs ls and show on it, opens it with store.Open
and computes class scores X·coefᵀ + intercept with a *mat.Dense that is a
view of the file's mapping (no copy), converts it to lz4 and back, and
checks that the arrays are unchanged. It needs no network and no Python,
and takes well under a second.

example:
  jlstore demo
  jlstore demo --dir /tmp/jl && python3 -c 'import joblib; print(joblib.load("/tmp/jl/model.pkl"))'`,
	run: runDemo,
}

// demoModel is the embedded default: what a fitted 3-class linear
// classifier over 4 features holds.
func demoModel() map[string]any {
	coef := mat.NewDense(3, 4, []float64{
		0.40, 1.40, -2.80, -1.00,
		0.50, -1.50, 0.10, -1.20,
		-0.90, 0.10, 2.10, 2.20,
	})
	return map[string]any{
		"coef_":          coef,
		"intercept_":     []float64{9.80, 2.20, -8.00},
		"classes_":       []int64{0, 1, 2},
		"target_names":   []any{"setosa", "versicolor", "virginica"},
		"feature_names":  []any{"sepal length", "sepal width", "petal length", "petal width"},
		"mean_":          []float32{5.84, 3.06, 3.76, 1.20},
		"n_iter_":        17,
		"params":         map[string]any{"C": 1.0, "penalty": "l2", "fit_intercept": true},
		"jlstore_sample": []int16{1, -2, 3},
	}
}

func runDemo(c *cli, args []string) error {
	fs := c.flags()
	dirFlag := fs.String("dir", "", "write the files into `DIR` and keep them (default: a temporary folder, removed afterwards)")
	if _, err := c.parse(fs, args, 0, 0); err != nil {
		return err
	}
	dir := *dirFlag
	if dir == "" {
		d, err := os.MkdirTemp("", "jlstore-demo-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	out := c.stdout
	path := func(name string) string { return filepath.Join(dir, name) }
	// step runs a jlstore command in this process, as the shell would.
	step := func(args ...string) error {
		shown := make([]string, len(args))
		real := make([]string, len(args))
		for i, a := range args {
			shown[i], real[i] = a, a
			if strings.HasSuffix(a, ".pkl") || strings.HasSuffix(a, ".lz4") {
				real[i] = path(a)
			}
		}
		fmt.Fprintf(out, "\n$ jlstore %s\n", strings.Join(shown, " "))
		var errBuf strings.Builder
		if code := run(real, out, &errBuf); code != 0 {
			return errors.New(strings.TrimSpace(strings.TrimPrefix(errBuf.String(), "jlstore: ")))
		}
		return nil
	}

	fmt.Fprintln(out, "# 1. Go dumps a model-like dict of arrays (store.Dump), as joblib.dump would.")
	if err := store.Dump(path("model.pkl"), demoModel()); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote model.pkl (%d bytes) in %s\n", fileSize(path("model.pkl")), dir)

	fmt.Fprintln(out, "\n# 2. List its arrays: path, dtype, shape, offset in the file, and a SHA-256.")
	if err := step("ls", "model.pkl"); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n# 3. The whole object graph.")
	if err := step("show", "model.pkl"); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n# 4. Zero-copy: store.Open maps the file; coef_ becomes a *mat.Dense over the mapping.")
	if err := demoScores(c, path("model.pkl")); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n# 5. Recompress with lz4, and back to an uncompressed, mmap-ready file.")
	if err := step("convert", "--compress", "lz4", "model.pkl", "model.pkl.lz4"); err != nil {
		return err
	}
	if err := step("convert", "model.pkl.lz4", "roundtrip.pkl"); err != nil {
		return err
	}
	if err := step("ls", "roundtrip.pkl"); err != nil {
		return err
	}
	a, err := listArrays(path("model.pkl"), nil)
	if err != nil {
		return err
	}
	b, err := listArrays(path("roundtrip.pkl"), nil)
	if err != nil {
		return err
	}
	same := len(a) == len(b)
	for i := range a {
		same = same && i < len(b) && a[i].Path == b[i].Path && *a[i].SHA256 == *b[i].SHA256 && *a[i].Offset == *b[i].Offset
	}
	if !same {
		return errors.New("demo: the round trip through lz4 changed the arrays")
	}
	fmt.Fprintf(out, "\nmodel.pkl -> model.pkl.lz4 (%d bytes) -> roundtrip.pkl: every array has the same SHA-256 and offset.\n",
		fileSize(path("model.pkl.lz4")))
	fmt.Fprintf(out, "done in %s.\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// demoScores opens the model with the arrays mapped and scores two
// samples with gonum, without copying coef_.
func demoScores(c *cli, path string) error {
	out := c.stdout
	f, err := store.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	root, ok := f.Root().(*pickle.Dict)
	if !ok {
		return fmt.Errorf("demo: root is a %s", pickle.TypeName(f.Root()))
	}
	get := func(key string) (*ndarray.Array, error) {
		v, _ := root.Get(key)
		a, ok := v.(*ndarray.Array)
		if !ok {
			return nil, fmt.Errorf("demo: %s is a %s, not an array", key, pickle.TypeName(v))
		}
		return a, nil
	}
	coefA, err := get("coef_")
	if err != nil {
		return err
	}
	icptA, err := get("intercept_")
	if err != nil {
		return err
	}
	classesA, err := get("classes_")
	if err != nil {
		return err
	}
	coef, err := coefA.Dense(ndarray.NoCopy())
	if err != nil {
		return err
	}
	icpt, err := icptA.Float64s(ndarray.NoCopy())
	if err != nil {
		return err
	}
	classes, err := classesA.Int64s()
	if err != nil {
		return err
	}
	names, _ := root.Get("target_names")
	nameOf := func(class int64) string {
		if l, ok := names.(*pickle.List); ok && class >= 0 && class < int64(l.Len()) {
			if s, ok := l.Items[class].(string); ok {
				return s
			}
		}
		return "?"
	}
	i := slices.IndexFunc(f.Arrays(), func(a store.ArrayInfo) bool { return a.Array == coefA })
	fmt.Fprintf(out, "f, _ := store.Open(\"model.pkl\")   // mapped: %v\n", f.Mapped())
	fmt.Fprintf(out, "coef_ := ...Dense(ndarray.NoCopy()) // %dx%d view of the mapping at byte %d: %v\n",
		coefA.Shape[0], coefA.Shape[1], f.Arrays()[i].Offset, f.Arrays()[i].ZeroCopy)

	x := mat.NewDense(2, 4, []float64{
		5.1, 3.5, 1.4, 0.2,
		6.7, 3.0, 5.2, 2.3,
	})
	var scores mat.Dense
	scores.Mul(x, coef.T())
	r, k := scores.Dims()
	for row := 0; row < r; row++ {
		best := 0
		for j := 0; j < k; j++ {
			scores.Set(row, j, scores.At(row, j)+icpt[j])
			if scores.At(row, j) > scores.At(row, best) {
				best = j
			}
		}
		fmt.Fprintf(out, "sample %v -> scores %s -> class %d (%s)\n",
			mat.Row(nil, row, x), fmtRow(mat.Row(nil, row, &scores)), classes[best], nameOf(classes[best]))
	}
	return f.Close()
}

func fmtRow(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmt.Sprintf("%.3f", f)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
