package ndarray

import (
	"fmt"
	"unsafe"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Element is the set of Go types that typed views can hold. Half,
// LongDouble and CLongDouble stand for numpy's float16, longdouble and
// clongdouble; int64 also views datetime64 and timedelta64, uint8 also
// views bool.
type Element interface {
	int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 |
		float32 | float64 | complex64 | complex128 | Half | LongDouble | CLongDouble
}

// elemKind returns the kind and size numpy uses for T.
func elemKind[T Element]() (Kind, int) {
	var z T
	switch any(z).(type) {
	case int8, int16, int32, int64:
		return KindInt, int(unsafe.Sizeof(z))
	case uint8, uint16, uint32, uint64:
		return KindUint, int(unsafe.Sizeof(z))
	case float32, float64, Half, LongDouble:
		return KindFloat, int(unsafe.Sizeof(z))
	}
	return KindComplex, int(unsafe.Sizeof(z))
}

func elemMatches[T Element](t *DType) bool {
	k, s := elemKind[T]()
	if t.size != s || t.fields != nil || t.sub != nil {
		return false
	}
	switch {
	case t.kind == k:
		return true
	case k == KindInt && s == 8:
		return t.kind == KindDatetime || t.kind == KindTimedelta
	case k == KindUint && s == 1:
		return t.kind == KindBool
	}
	return false
}

// DTypeOf returns the native dtype whose elements T holds.
func DTypeOf[T Element]() *DType {
	k, s := elemKind[T]()
	return mustBasic(k, s)
}

type viewConfig struct {
	noCopy bool
}

// A ViewOption configures a typed or gonum view.
type ViewOption func(*viewConfig)

// NoCopy makes a view fail with an error wrapping ErrNoView rather than
// return a converted copy when the array is not in native byte order or
// not aligned for the element type.
func NoCopy() ViewOption { return func(c *viewConfig) { c.noCopy = true } }

// Slice returns the array's elements as a []T that aliases Data: no copy
// is ever made. It fails with ErrType when T does not match the dtype, and
// with ErrNoView when the dtype is not in native byte order or Data is not
// aligned for T. The elements are in the array's Order (column-major for
// 'F').
func Slice[T Element](a *Array) ([]T, error) {
	return Values[T](a, NoCopy())
}

// Values returns the array's elements as a []T in the array's Order: a
// view of Data when the dtype is native and Data aligned (see Slice),
// else a byte-swapped or realigned copy, unless NoCopy is given. T must
// match the dtype (ErrType).
func Values[T Element](a *Array, opts ...ViewOption) ([]T, error) {
	var cfg viewConfig
	for _, o := range opts {
		o(&cfg)
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if !elemMatches[T](a.DType) {
		var z T
		return nil, fmt.Errorf("ndarray: %T view of a %s array: %w", z, a.DType, ErrType)
	}
	n := a.Size()
	if n == 0 {
		return []T{}, nil
	}
	data := a.Data
	var z T
	native := a.DType.IsNative()
	aligned := isAligned(data, int(unsafe.Alignof(z)))
	if !native || !aligned {
		if cfg.noCopy {
			why := "not aligned"
			if !native {
				why = "not in native byte order"
			}
			return nil, fmt.Errorf("ndarray: %s array is %s: %w", a.DType, why, ErrNoView)
		}
		c := AlignedBytes(len(data), DefaultAlign)
		copy(c, data)
		if !native {
			swapElems(a.DType, c, n)
		}
		data = c
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(data))), n), nil
}

// FromSlice returns an array over v, which it does not copy (Owner is
// OwnerCaller): writing to v writes the array. A nil shape means
// (len(v),).
func FromSlice[T Element](shape []int, order Order, v []T) (*Array, error) {
	if shape == nil {
		shape = []int{len(v)}
	}
	var z T
	data := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(z)))
	if len(v) == 0 {
		data = []byte{}
	}
	return FromBytes(DTypeOf[T](), shape, order, data)
}

// FromFloat64s returns a C-order float64 array over v (not copied).
func FromFloat64s(shape []int, v []float64) (*Array, error) { return FromSlice(shape, OrderC, v) }

// FromFloat32s returns a C-order float32 array over v (not copied).
func FromFloat32s(shape []int, v []float32) (*Array, error) { return FromSlice(shape, OrderC, v) }

// FromInt64s returns a C-order int64 array over v (not copied).
func FromInt64s(shape []int, v []int64) (*Array, error) { return FromSlice(shape, OrderC, v) }

// FromInt32s returns a C-order int32 array over v (not copied).
func FromInt32s(shape []int, v []int32) (*Array, error) { return FromSlice(shape, OrderC, v) }

// FromComplex128s returns a C-order complex128 array over v (not copied).
func FromComplex128s(shape []int, v []complex128) (*Array, error) { return FromSlice(shape, OrderC, v) }

// FromDense returns a C-order float64 array holding m's elements. It
// aliases m's storage when its rows are contiguous, and copies otherwise.
func FromDense(m *mat.Dense) (*Array, error) {
	raw := m.RawMatrix()
	if raw.Rows == 0 || raw.Cols == 0 {
		return New(Float64, []int{raw.Rows, raw.Cols}, OrderC)
	}
	if raw.Stride == raw.Cols {
		return FromFloat64s([]int{raw.Rows, raw.Cols}, raw.Data[:raw.Rows*raw.Cols])
	}
	out := make([]float64, 0, raw.Rows*raw.Cols)
	for i := 0; i < raw.Rows; i++ {
		out = append(out, raw.Data[i*raw.Stride:i*raw.Stride+raw.Cols]...)
	}
	a, err := FromFloat64s([]int{raw.Rows, raw.Cols}, out)
	if err == nil {
		a.Owner = OwnerHeap
	}
	return a, err
}

// Float64s returns the elements of a float64 array; see Values.
func (a *Array) Float64s(opts ...ViewOption) ([]float64, error) { return Values[float64](a, opts...) }

// Float32s returns the elements of a float32 array; see Values.
func (a *Array) Float32s(opts ...ViewOption) ([]float32, error) { return Values[float32](a, opts...) }

// Int64s returns the elements of an int64 (or datetime64, timedelta64)
// array; see Values.
func (a *Array) Int64s(opts ...ViewOption) ([]int64, error) { return Values[int64](a, opts...) }

// Int32s returns the elements of an int32 array; see Values.
func (a *Array) Int32s(opts ...ViewOption) ([]int32, error) { return Values[int32](a, opts...) }

// Int16s returns the elements of an int16 array; see Values.
func (a *Array) Int16s(opts ...ViewOption) ([]int16, error) { return Values[int16](a, opts...) }

// Int8s returns the elements of an int8 array; see Values.
func (a *Array) Int8s(opts ...ViewOption) ([]int8, error) { return Values[int8](a, opts...) }

// Uint64s returns the elements of a uint64 array; see Values.
func (a *Array) Uint64s(opts ...ViewOption) ([]uint64, error) { return Values[uint64](a, opts...) }

// Uint32s returns the elements of a uint32 array; see Values.
func (a *Array) Uint32s(opts ...ViewOption) ([]uint32, error) { return Values[uint32](a, opts...) }

// Uint16s returns the elements of a uint16 array; see Values.
func (a *Array) Uint16s(opts ...ViewOption) ([]uint16, error) { return Values[uint16](a, opts...) }

// Uint8s returns the elements of a uint8 or bool array; see Values.
func (a *Array) Uint8s(opts ...ViewOption) ([]uint8, error) { return Values[uint8](a, opts...) }

// Complex128s returns the elements of a complex128 array; see Values.
func (a *Array) Complex128s(opts ...ViewOption) ([]complex128, error) {
	return Values[complex128](a, opts...)
}

// Complex64s returns the elements of a complex64 array; see Values.
func (a *Array) Complex64s(opts ...ViewOption) ([]complex64, error) {
	return Values[complex64](a, opts...)
}

// Bools returns a copy of the elements of a bool array, in the array's
// Order.
func (a *Array) Bools() ([]bool, error) {
	u, err := Values[uint8](a)
	if err != nil {
		return nil, err
	}
	if a.DType.kind != KindBool {
		return nil, fmt.Errorf("ndarray: Bools of a %s array: %w", a.DType, ErrType)
	}
	out := make([]bool, len(u))
	for i, x := range u {
		out[i] = x != 0
	}
	return out, nil
}

// Strings returns the elements of a U or S array as strings (trailing
// NULs removed), in the array's Order.
func (a *Array) Strings() ([]string, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	t := a.DType
	if t.kind != KindStr && t.kind != KindBytes {
		return nil, fmt.Errorf("ndarray: Strings of a %s array: %w", t, ErrType)
	}
	out := make([]string, a.Size())
	for i := range out {
		switch v := decodeElem(t, a.Data[i*t.size:(i+1)*t.size]).(type) {
		case string:
			out[i] = v
		case []byte:
			out[i] = string(v)
		}
	}
	return out, nil
}

// dims2 returns the rows and columns of a 2-d array, refusing zero sizes.
func (a *Array) dims2(what string) (int, int, error) {
	if err := a.Validate(); err != nil {
		return 0, 0, err
	}
	if len(a.Shape) != 2 {
		return 0, 0, fmt.Errorf("ndarray: %s of a %d-d array: %w", what, len(a.Shape), ErrType)
	}
	r, c := a.Shape[0], a.Shape[1]
	if r == 0 || c == 0 {
		return 0, 0, fmt.Errorf("ndarray: %s of shape %v: %w", what, a.Shape, ErrEmpty)
	}
	return r, c, nil
}

// Dense returns a 2-d float64 array as a gonum matrix. A C-order array
// gives a *mat.Dense over its data; an F-order array gives the transpose
// view (*mat.Dense).T() of the column-major data, so At(i, j) is the same
// element either way. The data is shared when the array is native and
// aligned (see Values; NoCopy refuses to copy). Zero-sized shapes give an
// error wrapping ErrEmpty, since gonum has no zero-sized matrices.
func (a *Array) Dense(opts ...ViewOption) (mat.Matrix, error) {
	r, c, err := a.dims2("Dense")
	if err != nil {
		return nil, err
	}
	data, err := Values[float64](a, opts...)
	if err != nil {
		return nil, err
	}
	if a.isFortran() {
		return mat.NewDense(c, r, data).T(), nil
	}
	return mat.NewDense(r, c, data), nil
}

// VecDense returns a 1-d float64 array as a *mat.VecDense over its data
// (see Values for when it copies).
func (a *Array) VecDense(opts ...ViewOption) (*mat.VecDense, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if len(a.Shape) != 1 {
		return nil, fmt.Errorf("ndarray: VecDense of a %d-d array: %w", len(a.Shape), ErrType)
	}
	if a.Shape[0] == 0 {
		return nil, fmt.Errorf("ndarray: VecDense of an empty array: %w", ErrEmpty)
	}
	data, err := Values[float64](a, opts...)
	if err != nil {
		return nil, err
	}
	return mat.NewVecDense(len(data), data), nil
}

// CDense returns a 2-d complex128 array as a gonum complex matrix: a
// *mat.CDense for C order, its transpose view T() for F order.
func (a *Array) CDense(opts ...ViewOption) (mat.CMatrix, error) {
	r, c, err := a.dims2("CDense")
	if err != nil {
		return nil, err
	}
	data, err := Values[complex128](a, opts...)
	if err != nil {
		return nil, err
	}
	if a.isFortran() {
		return mat.NewCDense(c, r, data).T(), nil
	}
	return mat.NewCDense(r, c, data), nil
}

// Blas32 returns a 2-d float32 array as a blas32.General (gonum has no
// float32 matrix type). blas32.General is row-major, so for an F-order
// array g describes the transpose (Cols×Rows) and trans is true: pass
// blas.Trans for it to BLAS routines. See Values for when it copies.
func (a *Array) Blas32(opts ...ViewOption) (g blas32.General, trans bool, err error) {
	r, c, err := a.dims2("Blas32")
	if err != nil {
		return g, false, err
	}
	data, err := Values[float32](a, opts...)
	if err != nil {
		return g, false, err
	}
	if a.isFortran() {
		return blas32.General{Rows: c, Cols: r, Stride: r, Data: data}, true, nil
	}
	return blas32.General{Rows: r, Cols: c, Stride: c, Data: data}, false, nil
}

// Blas64 is Blas32 for float64 arrays.
func (a *Array) Blas64(opts ...ViewOption) (g blas64.General, trans bool, err error) {
	r, c, err := a.dims2("Blas64")
	if err != nil {
		return g, false, err
	}
	data, err := Values[float64](a, opts...)
	if err != nil {
		return g, false, err
	}
	if a.isFortran() {
		return blas64.General{Rows: c, Cols: r, Stride: r, Data: data}, true, nil
	}
	return blas64.General{Rows: r, Cols: c, Stride: c, Data: data}, false, nil
}
