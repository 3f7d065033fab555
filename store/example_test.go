package store_test

import (
	"crypto/sha256"
	"fmt"
	"io"
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

// StreamArrays hands each array's bytes to a callback as they are read
// instead of keeping them: here, the SHA-256 of every array of a
// gzip-compressed file, in bounded memory whatever its size.
func ExampleStreamArrays() {
	dir, err := os.MkdirTemp("", "jlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "weights.pkl.gz")
	if err := store.Dump(path, map[string]any{"w": []float64{1, 2, 3}, "b": []int32{7}}, store.NoSync()); err != nil {
		log.Fatal(err)
	}

	hash := func(a *ndarray.Array, data io.Reader) error {
		h := sha256.New()
		n, err := io.Copy(h, data)
		if err != nil {
			return err
		}
		fmt.Printf("%s %v: %d bytes, sha256 %x...\n", a.DType, a.Shape, n, h.Sum(nil)[:4])
		return nil
	}
	v, err := store.Load(path, store.StreamArrays(hash))
	if err != nil {
		log.Fatal(err)
	}
	w, _ := v.(*pickle.Dict).Get("w")
	fmt.Println("data kept:", len(w.(*ndarray.Array).Data))
	// Output:
	// <i4 [1]: 4 bytes, sha256 e8613f5a...
	// <f8 [3]: 24 bytes, sha256 a68de4b5...
	// data kept: 0
}
