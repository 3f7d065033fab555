package ndarray_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/jlstore/jlstore/mmap"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// Write a Fortran-order array as .npy, map it back without copying, and
// use it as a gonum matrix.
func Example() {
	dir, err := os.MkdirTemp("", "ndarray-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// A 2x3 matrix stored column by column, as numpy's order='F'.
	a, err := ndarray.FromSlice([]int{2, 3}, ndarray.OrderF, []float64{1, 4, 2, 5, 3, 6})
	if err != nil {
		panic(err)
	}
	path := filepath.Join(dir, "a.npy")
	if err := ndarray.SaveNpy(path, a); err != nil {
		panic(err)
	}

	m, err := ndarray.OpenNpy(path, mmap.ReadOnly)
	if err != nil {
		panic(err)
	}
	defer m.Close() // the matrix below is invalid after this
	d, err := m.Dense(ndarray.NoCopy())
	if err != nil {
		panic(err)
	}
	fmt.Println(m.DType, m.Shape, string(rune(m.Order)), m.Owner)
	fmt.Println(mat.Formatted(d))
	// Output:
	// <f8 [2 3] F mapping
	// ⎡1  2  3⎤
	// ⎣4  5  6⎦
}

// Decode a numpy pickle: numpy.arange(3, dtype='>i2') pickled with
// protocol 5, as Python wrote it.
func ExampleRegister() {
	p := []byte("\x80\x05\x95y\x00\x00\x00\x00\x00\x00\x00\x8c\x12numpy.core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x02\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02i2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01>\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x03\x85\x94\x8c\x01C\x94t\x94R\x94.")
	reg := pickle.NewRegistry()
	ndarray.Register(reg)
	v, err := pickle.NewDecoderBytes(p, pickle.WithRegistry(reg), pickle.Strict(true)).Decode()
	if err != nil {
		panic(err)
	}
	a := v.(*ndarray.Array)
	fmt.Println(a.DType, a.Shape, a.At(2))
	// Big-endian data cannot be viewed in place; Int16s swaps a copy.
	_, err = ndarray.Slice[int16](a)
	fmt.Println(err)
	vals, _ := a.Int16s()
	fmt.Println(vals)

	// Write it back as numpy would at protocol 5.
	var buf bytes.Buffer
	if err := pickle.NewEncoder(&buf, pickle.Protocol(5)).Encode(a); err != nil {
		panic(err)
	}
	fmt.Println(bytes.Equal(buf.Bytes(), p))
	// Output:
	// >i2 [3] 2
	// ndarray: >i2 array is not in native byte order: ndarray: no zero-copy view
	// [0 1 2]
	// true
}

// Structured dtypes render as numpy's dtype.str and descr.
func ExamplePackStruct() {
	dt, err := ndarray.PackStruct([]ndarray.Field{
		{Name: "id", Type: ndarray.Int8},
		{Name: "xy", Type: must(ndarray.NewSubarray(ndarray.Float64, 2))},
	}, true)
	if err != nil {
		panic(err)
	}
	j, _ := dt.MarshalJSON()
	fmt.Println(dt, dt.ItemSize(), dt.IsAlignedStruct())
	fmt.Println(string(j))
	// Output:
	// |V24 24 true
	// [["id","|i1"],["","|V7"],["xy","\u003cf8",[2]]]
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
