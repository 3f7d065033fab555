package store_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
	"github.com/jlstore/jlstore/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "jlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.pkl")

	// Dump a model-like dict, as Python's joblib.dump would.
	model := map[string]any{
		"coef":   mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6}),
		"bias":   []float64{0.5, -0.5},
		"labels": []any{"cat", "dog"},
	}
	if err := store.Dump(path, model); err != nil {
		log.Fatal(err)
	}

	// Open it memory-mapped: the arrays are views of the file.
	f, err := store.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, a := range f.Arrays() {
		fmt.Println(a.Path, a.Array.DType, a.Array.Shape, "zero-copy:", a.ZeroCopy)
	}
	coef, _ := f.Root().(*pickle.Dict).Get("coef")
	m, err := coef.(*ndarray.Array).Dense(ndarray.NoCopy())
	if err != nil {
		log.Fatal(err)
	}
	var x mat.VecDense
	x.MulVec(m, mat.NewVecDense(3, []float64{1, 1, 1}))
	fmt.Println(x.RawVector().Data)
	// Output:
	// $["bias"] <f8 [2] zero-copy: true
	// $["coef"] <f8 [2 3] zero-copy: true
	// [6 15]
}
