package ndarray

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"

	"github.com/jlstore/jlstore/mmap"
)

// Owner says who owns an array's bytes, and so how long they stay valid.
type Owner uint8

const (
	// OwnerHeap is Go heap memory that the array owns; it lives as long as
	// anything references it.
	OwnerHeap Owner = iota
	// OwnerMapping is a memory-mapped file. The bytes are invalid once the
	// mapping's last reference is dropped: for an array from OpenNpy, when
	// the array is closed; for one from an Npz, when both it and the Npz
	// are.
	OwnerMapping
	// OwnerCaller is memory the caller lent (FromBytes, FromSlice,
	// pickle.Buffers); it is valid as long as the caller keeps it so.
	OwnerCaller
)

func (o Owner) String() string {
	switch o {
	case OwnerHeap:
		return "heap"
	case OwnerMapping:
		return "mapping"
	case OwnerCaller:
		return "caller"
	}
	return fmt.Sprintf("Owner(%d)", uint8(o))
}

// Array is a numpy array: a dtype, a shape, an order and the bytes, or
// the elements for object arrays. Data holds the elements contiguously in
// Order ('C' row-major or 'F' column-major), in the dtype's byte order,
// exactly as numpy holds them; Shape is always the logical shape.
//
// The fields are exported so that arrays can be built and inspected
// freely; [Array.Validate] checks that they agree, and every method that
// reads Data checks them first.
type Array struct {
	DType *DType
	Shape []int
	Order Order
	// Data is the elements' bytes, len = Size()*DType.ItemSize(); nil for
	// object arrays.
	Data []byte
	// Objects holds the elements of an object ('O') array, in Order like
	// Data would, as pickle values (see package pickle).
	Objects []any
	// Subclass names the ndarray subclass numpy pickled: "" for ndarray,
	// "matrix", "memmap", "recarray", or "module.Name" for others.
	Subclass string
	// Owner says who owns Data.
	Owner Owner

	mapping *mmap.Mapping // held reference, for OwnerMapping
	pending bool          // made by _reconstruct, waiting for BUILD
}

// numElements returns the product of shape, or false on a negative
// dimension or overflow.
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, false
		}
		n = int(lo)
	}
	return n, true
}

// nbytes returns the bytes that shape elements of t take.
func nbytes(t *DType, shape []int) (int, bool) {
	n, ok := numElements(shape)
	if !ok {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(n), uint64(t.size))
	if hi != 0 || lo > math.MaxInt {
		return 0, false
	}
	return int(lo), true
}

// Size returns the number of elements: the product of Shape, 1 for 0-d.
func (a *Array) Size() int {
	n, _ := numElements(a.Shape)
	return n
}

// NDim returns len(Shape).
func (a *Array) NDim() int { return len(a.Shape) }

// NBytes returns Size() * ItemSize(), the length Data must have.
func (a *Array) NBytes() int {
	n, _ := nbytes(a.DType, a.Shape)
	return n
}

// Validate checks that the fields agree: a dtype, an order, a valid
// shape, and Data (or Objects) of the right length.
func (a *Array) Validate() error {
	if a == nil || a.DType == nil {
		return fmt.Errorf("ndarray: array without a dtype: %w", ErrType)
	}
	if a.Order != OrderC && a.Order != OrderF {
		return fmt.Errorf("ndarray: order %q, want 'C' or 'F': %w", rune(a.Order), ErrType)
	}
	if a.DType.sub != nil {
		return fmt.Errorf("ndarray: array of subarray dtype %s (numpy folds it into the shape): %w", a.DType, ErrType)
	}
	n, ok := nbytes(a.DType, a.Shape)
	if !ok {
		return fmt.Errorf("ndarray: shape %v of %s is too large or negative: %w", a.Shape, a.DType, ErrTooLarge)
	}
	if a.DType.kind == KindObject {
		if len(a.Objects) != a.Size() {
			return fmt.Errorf("ndarray: %d objects for shape %v: %w", len(a.Objects), a.Shape, ErrType)
		}
		return nil
	}
	if a.DType.HasObject() {
		return fmt.Errorf("ndarray: structured dtype %s holds objects: %w", a.DType, ErrUnsupported)
	}
	if len(a.Data) != n {
		return fmt.Errorf("ndarray: %d data bytes for shape %v of %s (want %d): %w", len(a.Data), a.Shape, a.DType, n, ErrType)
	}
	return nil
}

func checkShape(t *DType, shape []int) (int, error) {
	if t == nil {
		return 0, fmt.Errorf("ndarray: nil dtype: %w", ErrType)
	}
	if len(shape) > 64 {
		return 0, fmt.Errorf("ndarray: %d dimensions: %w", len(shape), ErrUnsupported)
	}
	n, ok := nbytes(t, shape)
	if !ok {
		return 0, fmt.Errorf("ndarray: shape %v of %s is too large or negative: %w", shape, t, ErrTooLarge)
	}
	return n, nil
}

func checkOrder(o Order) error {
	if o != OrderC && o != OrderF {
		return fmt.Errorf("ndarray: order %q, want 'C' or 'F': %w", rune(o), ErrType)
	}
	return nil
}

// New returns a zeroed array (or one of nil objects) in 64-byte aligned
// heap memory.
func New(dt *DType, shape []int, order Order) (*Array, error) {
	n, err := checkShape(dt, shape)
	if err != nil {
		return nil, err
	}
	if err := checkOrder(order); err != nil {
		return nil, err
	}
	a := &Array{DType: dt, Shape: slices.Clone(shape), Order: order}
	if a.Shape == nil {
		a.Shape = []int{}
	}
	if dt.kind == KindObject {
		a.Objects = make([]any, a.Size())
		return a, nil
	}
	a.Data = AlignedBytes(n, DefaultAlign)
	return a, a.Validate()
}

// FromBytes returns an array over data, which it does not copy (Owner is
// OwnerCaller). len(data) must be the shape's size times the item size.
func FromBytes(dt *DType, shape []int, order Order, data []byte) (*Array, error) {
	if _, err := checkShape(dt, shape); err != nil {
		return nil, err
	}
	a := &Array{DType: dt, Shape: slices.Clone(shape), Order: order, Data: data, Owner: OwnerCaller}
	if a.Shape == nil {
		a.Shape = []int{}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// FromMapping returns an array over the bytes of m at off. The array takes
// a reference to m (Retain), so the bytes stay mapped until both the
// caller's reference and the array's are dropped; [Array.Close] drops the
// array's.
func FromMapping(m *mmap.Mapping, off int64, dt *DType, shape []int, order Order) (*Array, error) {
	n, err := checkShape(dt, shape)
	if err != nil {
		return nil, err
	}
	if dt.HasObject() {
		return nil, fmt.Errorf("ndarray: an array of %s cannot be memory-mapped: %w", dt, ErrUnsupported)
	}
	data, err := m.Bytes(off, int64(n))
	if err != nil {
		return nil, err
	}
	a := &Array{DType: dt, Shape: slices.Clone(shape), Order: order, Data: data, Owner: OwnerMapping}
	if a.Shape == nil {
		a.Shape = []int{}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := m.Retain(); err != nil {
		return nil, err
	}
	a.mapping = m
	return a, nil
}

// FromObjects returns an object array holding objs (not copied), which are
// in order like Data would be.
func FromObjects(shape []int, order Order, objs []any) (*Array, error) {
	a := &Array{DType: Object, Shape: slices.Clone(shape), Order: order, Objects: objs}
	if a.Shape == nil {
		a.Shape = []int{}
	}
	if _, err := checkShape(Object, shape); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// Mapping returns the mapping an array's Data lives in, or nil.
func (a *Array) Mapping() *mmap.Mapping { return a.mapping }

// Close drops the array's reference to its mapping, if it has one; once
// the mapping's last reference is gone, Data is invalid (reading it may
// crash the process). Close may be called more than once; for arrays not
// backed by a mapping it does nothing.
func (a *Array) Close() error {
	m := a.mapping
	if m == nil {
		return nil
	}
	a.mapping = nil
	return m.Release()
}

// IsView reports whether Data is borrowed (from a mapping or the caller)
// rather than owned heap memory.
func (a *Array) IsView() bool { return a.Owner != OwnerHeap }

// ZeroCopy reports whether typed views ([Slice], Float64s, Dense...) alias
// Data rather than copy it: the dtype is in native byte order and Data is
// aligned for it.
func (a *Array) ZeroCopy() bool {
	return a.DType != nil && a.DType.IsNative() && isAligned(a.Data, a.DType.align)
}

// IsCContiguous reports whether Data is also in C order: it is in C order,
// or at most one dimension is longer than 1.
func (a *Array) IsCContiguous() bool {
	if a.Order == OrderC {
		return true
	}
	big := 0
	for _, d := range a.Shape {
		if d == 0 {
			return true
		}
		if d > 1 {
			big++
		}
	}
	return big <= 1
}

// isFortran is numpy's PyArray_ISFORTRAN: F-contiguous and not C.
func (a *Array) isFortran() bool { return a.Order == OrderF && !a.IsCContiguous() }

// flatIndex returns the memory-order element index of a logical index.
func (a *Array) flatIndex(idx []int) int {
	if len(idx) != len(a.Shape) {
		panic(fmt.Sprintf("ndarray: %d indices for a %d-d array", len(idx), len(a.Shape)))
	}
	for i, x := range idx {
		if x < 0 || x >= a.Shape[i] {
			panic(fmt.Sprintf("ndarray: index %v out of range for shape %v", idx, a.Shape))
		}
	}
	flat := 0
	if a.Order == OrderF {
		for i := len(idx) - 1; i >= 0; i-- {
			flat = flat*a.Shape[i] + idx[i]
		}
	} else {
		for i, x := range idx {
			flat = flat*a.Shape[i] + x
		}
	}
	return flat
}

// At returns the element at a logical index (none for a 0-d array) as a Go
// value: bool; int8..int64; uint8..uint64; Half, float32, float64,
// LongDouble; complex64, complex128, CLongDouble; DateTime, TimeDelta;
// []byte for S (trailing NULs removed) and V; string for U (trailing
// NULs removed); a Record for structured dtypes, with *Array values for
// subarray fields; the object itself for object arrays. It panics if the
// index is out of range or the array is not valid, as a slice index
// would.
func (a *Array) At(idx ...int) any {
	if err := a.Validate(); err != nil {
		panic(err)
	}
	i := a.flatIndex(idx)
	if a.DType.kind == KindObject {
		return a.Objects[i]
	}
	s := a.DType.size
	return decodeElem(a.DType, a.Data[i*s:(i+1)*s])
}

// Set stores v at a logical index. It takes the types At returns (and Go
// numbers of the element's kind); it panics on a bad index like At, and
// returns an error wrapping ErrType if v does not fit. Writing into an
// array mapped read-only kills the process (see package mmap).
func (a *Array) Set(v any, idx ...int) error {
	if err := a.Validate(); err != nil {
		return err
	}
	i := a.flatIndex(idx)
	if a.DType.kind == KindObject {
		a.Objects[i] = v
		return nil
	}
	s := a.DType.size
	if a.DType.fields != nil || a.DType.sub != nil {
		return fmt.Errorf("ndarray: Set of a structured element: %w", ErrUnsupported)
	}
	return encodeElem(a.DType, a.Data[i*s:(i+1)*s], v)
}

func (a *Array) String() string {
	if a == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "array(shape=%v, dtype=%s, order=%c", a.Shape, a.DType, a.Order)
	if a.Subclass != "" {
		fmt.Fprintf(&b, ", subclass=%s", a.Subclass)
	}
	b.WriteString(")")
	return b.String()
}

// Copy returns a deep copy in 64-byte aligned heap memory, keeping order
// and byte order.
func (a *Array) Copy() (*Array, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	c := *a
	c.Shape = slices.Clone(a.Shape)
	c.Owner, c.mapping, c.pending = OwnerHeap, nil, false
	if a.Objects != nil {
		c.Objects = slices.Clone(a.Objects)
	}
	if a.Data != nil {
		c.Data = AlignedBytes(len(a.Data), DefaultAlign)
		copy(c.Data, a.Data)
	}
	return &c, nil
}

// ToNative returns the array with every element in native byte order: a
// itself when it already is, else a byte-swapped copy with the native
// dtype. Structured dtypes whose fields overlap cannot be swapped.
func (a *Array) ToNative() (*Array, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.DType.IsNative() {
		return a, nil
	}
	if err := checkSwappable(a.DType); err != nil {
		return nil, err
	}
	c, err := a.Copy()
	if err != nil {
		return nil, err
	}
	swapElems(a.DType, c.Data, len(c.Data)/max(a.DType.size, 1))
	c.DType = a.DType.withOrder(NativeEndian)
	return c, nil
}

// checkSwappable refuses structs with overlapping fields, which a byte
// swap would swap twice.
func checkSwappable(t *DType) error {
	switch {
	case t.sub != nil:
		return checkSwappable(t.sub)
	case t.fields != nil:
		fs := slices.Clone(t.fields)
		sort.Slice(fs, func(i, j int) bool { return fs[i].Offset < fs[j].Offset })
		end := 0
		for _, f := range fs {
			if f.Offset < end && f.Type.size > 0 {
				return fmt.Errorf("ndarray: byte swap of a struct with overlapping fields: %w", ErrUnsupported)
			}
			end = max(end, f.Offset+f.Type.size)
			if err := checkSwappable(f.Type); err != nil {
				return err
			}
		}
	}
	return nil
}

// swapWord returns the unit a basic non-native dtype is swapped in, or 0.
func swapWord(t *DType) int {
	if t.order == NoByteOrder || t.order == NativeEndian {
		return 0
	}
	switch t.kind {
	case KindComplex:
		return t.size / 2
	case KindStr:
		return 4
	}
	return t.size
}

// swapElems swaps n consecutive elements of type t in b.
func swapElems(t *DType, b []byte, n int) {
	switch {
	case t.sub != nil:
		c, _ := numElements(t.shape)
		swapElems(t.sub, b, n*c)
	case t.fields != nil:
		for i := 0; i < n; i++ {
			e := b[i*t.size : (i+1)*t.size]
			for _, f := range t.fields {
				swapElems(f.Type, e[f.Offset:f.Offset+f.Type.size], 1)
			}
		}
	default:
		if w := swapWord(t); w > 1 {
			swapWords(b[:n*t.size], w)
		}
	}
}

// swapWords reverses the bytes of every w-byte word of b.
func swapWords(b []byte, w int) {
	switch w {
	case 2:
		for i := 0; i+2 <= len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], bits.ReverseBytes16(binary.LittleEndian.Uint16(b[i:])))
		}
	case 4:
		for i := 0; i+4 <= len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], bits.ReverseBytes32(binary.LittleEndian.Uint32(b[i:])))
		}
	case 8:
		for i := 0; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], bits.ReverseBytes64(binary.LittleEndian.Uint64(b[i:])))
		}
	default:
		for i := 0; i+w <= len(b); i += w {
			reverse(b[i : i+w])
		}
	}
}

// ContiguousBytes returns the elements' bytes in C order, in the dtype's
// byte order: Data itself for C-contiguous arrays, else a transposed copy.
// Hashing these bytes gives the same digest as hashing numpy's
// np.ascontiguousarray(a).tobytes().
func (a *Array) ContiguousBytes() ([]byte, error) {
	c, err := a.AsC()
	if err != nil {
		return nil, err
	}
	if c.DType.kind == KindObject {
		return nil, fmt.Errorf("ndarray: object array has no bytes: %w", ErrType)
	}
	return c.Data, nil
}

// writeCBuf bounds the buffer WriteC transposes an F-order array through.
const writeCBuf = 1 << 20

// WriteC writes the elements to w in C order, in the stored dtype: the
// bytes of numpy's a.tobytes(). Unlike ContiguousBytes it never copies the
// whole array: a C-contiguous array is written as it is, and an F-order
// one is transposed through a buffer of at most 1 MiB (more only for a
// single row larger than that). Object arrays have no bytes.
func (a *Array) WriteC(w io.Writer) (int64, error) {
	if err := a.Validate(); err != nil {
		return 0, err
	}
	if a.DType.kind == KindObject {
		return 0, fmt.Errorf("ndarray: object array has no bytes: %w", ErrType)
	}
	if a.IsCContiguous() || a.DType.size == 0 {
		n, err := w.Write(a.Data)
		return int64(n), err
	}
	item := a.DType.size
	var written int64
	flush := func(b []byte) error {
		n, err := w.Write(b)
		written += int64(n)
		return err
	}
	if len(a.Shape) == 2 {
		// Element (i, j) of an F-order rows×cols array is at j*rows+i.
		rows, cols := a.Shape[0], a.Shape[1]
		band := max(1, writeCBuf/(cols*item))
		buf := make([]byte, min(band, rows)*cols*item)
		for i0 := 0; i0 < rows; i0 += band {
			i1 := min(i0+band, rows)
			out := buf[:(i1-i0)*cols*item]
			for j := 0; j < cols; j++ {
				src := a.Data[(j*rows+i0)*item : (j*rows+i1)*item]
				for i := 0; i < i1-i0; i++ {
					copy(out[(i*cols+j)*item:(i*cols+j+1)*item], src[i*item:(i+1)*item])
				}
			}
			if err := flush(out); err != nil {
				return written, err
			}
		}
		return written, nil
	}
	buf := make([]byte, 0, max(item, writeCBuf/item*item))
	var err error
	forEachCF(a.Shape, func(_, fi int) {
		if err != nil {
			return
		}
		buf = append(buf, a.Data[fi*item:(fi+1)*item]...)
		if len(buf) == cap(buf) {
			err = flush(buf)
			buf = buf[:0]
		}
	})
	if err == nil && len(buf) > 0 {
		err = flush(buf)
	}
	return written, err
}

// AsC returns the array in C order: a itself when it is C-contiguous, else
// a transposed copy.
func (a *Array) AsC() (*Array, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.IsCContiguous() {
		if a.Order == OrderC {
			return a, nil
		}
		c := *a
		c.Order = OrderC
		return &c, nil
	}
	c := &Array{DType: a.DType, Shape: slices.Clone(a.Shape), Order: OrderC, Subclass: a.Subclass}
	if a.Objects != nil {
		c.Objects = make([]any, len(a.Objects))
		forEachCF(a.Shape, func(ci, fi int) { c.Objects[ci] = a.Objects[fi] })
		return c, nil
	}
	c.Data = AlignedBytes(len(a.Data), DefaultAlign)
	transposeFToC(c.Data, a.Data, a.Shape, a.DType.size)
	return c, nil
}

// forEachCF calls f with the C-order and F-order flat indices of every
// element of shape.
func forEachCF(shape []int, f func(ci, fi int)) {
	n, _ := numElements(shape)
	if n == 0 {
		return
	}
	nd := len(shape)
	fstride := make([]int, nd)
	s := 1
	for i := 0; i < nd; i++ {
		fstride[i] = s
		s *= shape[i]
	}
	idx := make([]int, nd)
	fi := 0
	for ci := 0; ci < n; ci++ {
		f(ci, fi)
		for k := nd - 1; k >= 0; k-- {
			idx[k]++
			fi += fstride[k]
			if idx[k] < shape[k] {
				break
			}
			fi -= idx[k] * fstride[k]
			idx[k] = 0
		}
	}
}

// transposeFToC copies F-order src into C-order dst.
func transposeFToC(dst, src []byte, shape []int, item int) {
	if item == 0 {
		return
	}
	if len(shape) == 2 {
		transpose2D(dst, src, shape[1], shape[0], item)
		return
	}
	forEachCF(shape, func(ci, fi int) {
		copy(dst[ci*item:(ci+1)*item], src[fi*item:(fi+1)*item])
	})
}

// transposeCToF copies C-order src into F-order dst.
func transposeCToF(dst, src []byte, shape []int, item int) {
	if item == 0 {
		return
	}
	if len(shape) == 2 {
		transpose2D(dst, src, shape[0], shape[1], item)
		return
	}
	forEachCF(shape, func(ci, fi int) {
		copy(dst[fi*item:(fi+1)*item], src[ci*item:(ci+1)*item])
	})
}

// transpose2D writes the transpose of the rows×cols row-major matrix src
// into dst (cols×rows), in cache-sized blocks.
func transpose2D(dst, src []byte, rows, cols, item int) {
	const blk = 32
	for i0 := 0; i0 < rows; i0 += blk {
		i1 := min(i0+blk, rows)
		for j0 := 0; j0 < cols; j0 += blk {
			j1 := min(j0+blk, cols)
			switch item {
			case 8:
				for i := i0; i < i1; i++ {
					for j := j0; j < j1; j++ {
						binary.LittleEndian.PutUint64(dst[(j*rows+i)*8:], binary.LittleEndian.Uint64(src[(i*cols+j)*8:]))
					}
				}
			case 4:
				for i := i0; i < i1; i++ {
					for j := j0; j < j1; j++ {
						binary.LittleEndian.PutUint32(dst[(j*rows+i)*4:], binary.LittleEndian.Uint32(src[(i*cols+j)*4:]))
					}
				}
			default:
				for i := i0; i < i1; i++ {
					for j := j0; j < j1; j++ {
						copy(dst[(j*rows+i)*item:(j*rows+i+1)*item], src[(i*cols+j)*item:(i*cols+j+1)*item])
					}
				}
			}
		}
	}
}

// PyEqual implements pickle.Equaler for tests: other is an *Array with an
// equal dtype, the same shape and subclass, and the same elements (bytes
// compared bitwise in C order, so NaN equals NaN; objects with
// pickle.Equal).
func (a *Array) PyEqual(other any) bool {
	b, ok := other.(*Array)
	if !ok || a.Validate() != nil || b.Validate() != nil {
		return false
	}
	if !a.DType.Equal(b.DType) || !slices.Equal(a.Shape, b.Shape) || a.Subclass != b.Subclass {
		return false
	}
	ac, err1 := a.AsC()
	bc, err2 := b.AsC()
	if err1 != nil || err2 != nil {
		return false
	}
	if a.DType.kind == KindObject {
		for i := range ac.Objects {
			if !pyEqual(ac.Objects[i], bc.Objects[i]) {
				return false
			}
		}
		return true
	}
	return string(ac.Data) == string(bc.Data)
}
