package ndarray

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"unsafe"

	"gonum.org/v1/gonum/mat"
)

func sameMemory[T any](s []T, b []byte) bool {
	return len(s) > 0 && len(b) > 0 && unsafe.Pointer(unsafe.SliceData(s)) == unsafe.Pointer(unsafe.SliceData(b))
}

// f8Array returns a native float64 array whose element at logical (i, j)
// is 10*i + j.
func f8Array(t *testing.T, r, c int, order Order) *Array {
	t.Helper()
	a, err := New(Float64, []int{r, c}, order)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if err := a.Set(float64(10*i+j), i, j); err != nil {
				t.Fatal(err)
			}
		}
	}
	return a
}

func TestSliceIsTheArraysMemory(t *testing.T) {
	a := f8Array(t, 2, 3, OrderC)
	if !isAligned(a.Data, DefaultAlign) || !a.ZeroCopy() {
		t.Fatalf("New did not give aligned native memory")
	}
	s, err := Slice[float64](a)
	if err != nil {
		t.Fatal(err)
	}
	if !sameMemory(s, a.Data) {
		t.Fatalf("Slice copied")
	}
	s[4] = -1
	if a.At(1, 1) != -1.0 {
		t.Errorf("write through the view not seen: %v", a.At(1, 1))
	}
	if _, err := Slice[float32](a); !errors.Is(err, ErrType) {
		t.Errorf("float32 view of f8: %v", err)
	}
	if _, err := Slice[int64](a); !errors.Is(err, ErrType) {
		t.Errorf("int64 view of f8: %v", err)
	}
	m8, _ := New(MustParseDType("M8[ns]"), []int{3}, OrderC)
	if v, err := m8.Int64s(NoCopy()); err != nil || !sameMemory(v, m8.Data) {
		t.Errorf("int64 view of M8: %v", err)
	}
}

func TestViewsOfForeignMemory(t *testing.T) {
	// Big-endian data: no view, a swapped copy.
	be := MustParseDType(">f8")
	raw := make([]byte, 16)
	binary.BigEndian.PutUint64(raw, math.Float64bits(1.5))
	binary.BigEndian.PutUint64(raw[8:], math.Float64bits(-2))
	a, err := FromBytes(be, []int{2}, OrderC, raw)
	if err != nil {
		t.Fatal(err)
	}
	if a.ZeroCopy() {
		t.Errorf("big-endian array reports zero-copy")
	}
	if _, err := Slice[float64](a); !errors.Is(err, ErrNoView) {
		t.Errorf("Slice of big-endian: %v", err)
	}
	if _, err := a.Float64s(NoCopy()); !errors.Is(err, ErrNoView) {
		t.Errorf("NoCopy of big-endian: %v", err)
	}
	v, err := a.Float64s()
	if err != nil || v[0] != 1.5 || v[1] != -2 || sameMemory(v, raw) {
		t.Errorf("converted copy %v %v", v, err)
	}
	if binary.BigEndian.Uint64(raw) != math.Float64bits(1.5) {
		t.Errorf("the conversion changed the array")
	}
	n, err := a.ToNative()
	if err != nil || n.DType.String() != "<f8" || n.At(1) != -2.0 {
		t.Errorf("ToNative: %v %v", n, err)
	}

	// Misaligned data: no view, an aligned copy.
	buf := AlignedBytes(17, DefaultAlign)
	mis, err := FromBytes(Float64, []int{2}, OrderC, buf[1:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Slice[float64](mis); !errors.Is(err, ErrNoView) {
		t.Errorf("Slice of misaligned data: %v", err)
	}
	if v, err := mis.Float64s(); err != nil || len(v) != 2 || !isAligned(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8), 8) {
		t.Errorf("misaligned copy: %v", err)
	}

	// Caller's slices are used in place.
	src := []int32{1, 2, 3, 4, 5, 6}
	c, err := FromInt32s([]int{3, 2}, src)
	if err != nil {
		t.Fatal(err)
	}
	if c.Owner != OwnerCaller || unsafe.Pointer(&src[0]) != unsafe.Pointer(&c.Data[0]) {
		t.Errorf("FromInt32s copied")
	}
	if c.At(2, 1) != int32(6) {
		t.Errorf("At(2,1) = %v", c.At(2, 1))
	}
}

func TestDense(t *testing.T) {
	for _, order := range []Order{OrderC, OrderF} {
		a := f8Array(t, 3, 4, order)
		m, err := a.Dense(NoCopy())
		if err != nil {
			t.Fatal(err)
		}
		r, c := m.Dims()
		if r != 3 || c != 4 {
			t.Fatalf("%c: dims %d×%d", order, r, c)
		}
		for i := 0; i < 3; i++ {
			for j := 0; j < 4; j++ {
				if m.At(i, j) != float64(10*i+j) {
					t.Fatalf("%c: At(%d,%d) = %v", order, i, j, m.At(i, j))
				}
			}
		}
		var raw []float64
		switch d := m.(type) {
		case *mat.Dense:
			if order != OrderC {
				t.Errorf("F order gave a plain Dense")
			}
			raw = d.RawMatrix().Data
		case mat.Transpose:
			if order != OrderF {
				t.Errorf("C order gave a transpose")
			}
			raw = d.Matrix.(*mat.Dense).RawMatrix().Data
		default:
			t.Fatalf("Dense gave a %T", m)
		}
		if !sameMemory(raw, a.Data) {
			t.Errorf("%c: Dense copied", order)
		}
	}
	// F order with a single column is also C order: a plain Dense.
	col := f8Array(t, 4, 1, OrderF)
	if m, err := col.Dense(); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*mat.Dense); !ok {
		t.Errorf("4×1 F array gave a %T", m)
	}

	empty, _ := New(Float64, []int{0, 3}, OrderC)
	if _, err := empty.Dense(); !errors.Is(err, ErrEmpty) {
		t.Errorf("0×3 Dense: %v", err)
	}
	vec, _ := New(Float64, []int{0}, OrderC)
	if _, err := vec.VecDense(); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty VecDense: %v", err)
	}
	one, _ := FromFloat64s(nil, []float64{1, 2, 3})
	if v, err := one.VecDense(NoCopy()); err != nil || v.Len() != 3 || !sameMemory(v.RawVector().Data, one.Data) {
		t.Errorf("VecDense: %v", err)
	}
	if _, err := one.Dense(); !errors.Is(err, ErrType) {
		t.Errorf("Dense of 1-d: %v", err)
	}
	i4, _ := New(Int32, []int{2, 2}, OrderC)
	if _, err := i4.Dense(); !errors.Is(err, ErrType) {
		t.Errorf("Dense of i4: %v", err)
	}
	bef := MustParseDType(">f8")
	be, _ := New(bef, []int{2, 2}, OrderC)
	if _, err := be.Dense(NoCopy()); !errors.Is(err, ErrNoView) {
		t.Errorf("NoCopy Dense of >f8: %v", err)
	}
}

func TestCDenseAndBlas32(t *testing.T) {
	c, _ := New(Complex128, []int{2, 3}, OrderF)
	_ = c.Set(complex(1, 2), 1, 2)
	m, err := c.CDense(NoCopy())
	if err != nil {
		t.Fatal(err)
	}
	if r, k := m.Dims(); r != 2 || k != 3 || m.At(1, 2) != complex(1, 2) {
		t.Errorf("CDense dims %d×%d At(1,2)=%v", r, k, m.At(1, 2))
	}

	for _, order := range []Order{OrderC, OrderF} {
		f, _ := New(Float32, []int{2, 3}, order)
		_ = f.Set(float32(7), 0, 2)
		g, trans, err := f.Blas32(NoCopy())
		if err != nil {
			t.Fatal(err)
		}
		if trans != (order == OrderF) || !sameMemory(g.Data, f.Data) {
			t.Errorf("%c: trans %v", order, trans)
		}
		i, j := 0, 2
		if trans {
			i, j = j, i
		}
		if g.Data[i*g.Stride+j] != 7 {
			t.Errorf("%c: element (0,2) not found in the blas32.General", order)
		}
	}
}

func TestAsCAndSwap(t *testing.T) {
	a, err := New(Int16, []int{2, 3, 4}, OrderF)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				_ = a.Set(int16(100*i+10*j+k), i, j, k)
			}
		}
	}
	c, err := a.AsC()
	if err != nil {
		t.Fatal(err)
	}
	v, _ := Slice[int16](c)
	for n, x := range v {
		i, j, k := n/12, n/4%3, n%4
		if x != int16(100*i+10*j+k) {
			t.Fatalf("C element %d = %d", n, x)
		}
	}
	if a.PyEqual(c) != true {
		t.Errorf("F array and its C copy are not equal")
	}

	// A struct with a big-endian subarray and a native field.
	dt, _ := PackStruct([]Field{
		{Name: "x", Type: must(NewSubarray(MustParseDType(">u4"), 2))},
		{Name: "s", Type: MustParseDType(">U2")},
		{Name: "c", Type: Int8},
	}, false)
	s, _ := New(dt, []int{2}, OrderC)
	binary.BigEndian.PutUint32(s.Data[4:], 0xdeadbeef)
	binary.BigEndian.PutUint32(s.Data[8:], 'h')
	s.Data[16] = 5
	n, err := s.ToNative()
	if err != nil {
		t.Fatal(err)
	}
	r := n.At(0).(Record)
	x, _ := r.Get("x")
	str, _ := r.Get("s")
	if x.(*Array).At(1) != uint32(0xdeadbeef) || str != "h" || r.Values[2] != int8(5) || !n.DType.IsNative() {
		t.Errorf("swapped struct: %v", r)
	}
	sx, _ := s.At(0).(Record).Get("x")
	if sx.(*Array).At(1) != uint32(0xdeadbeef) {
		t.Errorf("At of the big-endian struct: %v", sx)
	}
	ov, _ := NewStruct([]Field{{Name: "a", Type: MustParseDType(">i4")}, {Name: "b", Type: MustParseDType(">i2"), Offset: 2}}, 4, false)
	o, _ := New(ov, []int{1}, OrderC)
	if _, err := o.ToNative(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("overlapping fields swapped: %v", err)
	}
}

func TestAlignedBytes(t *testing.T) {
	for _, n := range []int{1, 7, 63, 64, 65, 4096, 40000, 1 << 20} {
		for _, al := range []int{1, 16, 64, 4096} {
			b := AlignedBytes(n, al)
			if len(b) != n || cap(b) != n || !isAligned(b, al) {
				t.Errorf("AlignedBytes(%d, %d): len %d cap %d", n, al, len(b), cap(b))
			}
		}
	}
	if b := AlignedBytes(0, 0); b == nil || len(b) != 0 {
		t.Errorf("AlignedBytes(0) = %v", b)
	}
}

func TestAtAndSetPanics(t *testing.T) {
	a, _ := New(Float64, []int{2, 2}, OrderC)
	for _, idx := range [][]int{{2, 0}, {0, -1}, {0}, {0, 0, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("At(%v) did not panic", idx)
				}
			}()
			a.At(idx...)
		}()
	}
	z, _ := New(FixedStr(3), nil, OrderC)
	if err := z.Set("abcd"); !errors.Is(err, ErrType) {
		t.Errorf("4 characters in U3: %v", err)
	}
	if err := z.Set("ab"); err != nil || z.At() != "ab" {
		t.Errorf("0-d U3: %v %v", err, z.At())
	}
}
