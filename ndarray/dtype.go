package ndarray

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// Kind is numpy's dtype.kind character.
type Kind byte

// The kinds of numpy dtypes.
const (
	KindBool      Kind = 'b'
	KindInt       Kind = 'i'
	KindUint      Kind = 'u'
	KindFloat     Kind = 'f'
	KindComplex   Kind = 'c'
	KindDatetime  Kind = 'M'
	KindTimedelta Kind = 'm'
	KindBytes     Kind = 'S'
	KindStr       Kind = 'U'
	KindVoid      Kind = 'V'
	KindObject    Kind = 'O'
)

func (k Kind) String() string { return string(rune(k)) }

// Byte orders, as numpy writes them in dtype.str.
const (
	LittleEndian byte = '<'
	BigEndian    byte = '>'
	// NoByteOrder is numpy's '|': the dtype has no byte order (one-byte
	// types, S, V, O and structured dtypes).
	NoByteOrder byte = '|'
)

// NativeEndian is the byte order of this machine, LittleEndian or
// BigEndian.
var NativeEndian = func() byte {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return LittleEndian
	}
	return BigEndian
}()

// Unit is a datetime64 or timedelta64 unit.
type Unit uint8

// The datetime units numpy knows, from years to attoseconds.
const (
	UnitGeneric Unit = iota
	UnitYear
	UnitMonth
	UnitWeek
	UnitDay
	UnitHour
	UnitMinute
	UnitSecond
	UnitMillisecond
	UnitMicrosecond
	UnitNanosecond
	UnitPicosecond
	UnitFemtosecond
	UnitAttosecond
)

var unitNames = [...]string{"generic", "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"}

// String returns numpy's code for the unit: "Y", "ms", "ns", "generic"...
func (u Unit) String() string {
	if int(u) < len(unitNames) {
		return unitNames[u]
	}
	return "Unit(" + strconv.Itoa(int(u)) + ")"
}

// ParseUnit parses numpy's code for a datetime unit ("ns", "D",
// "generic"...). "μs" is accepted for "us".
func ParseUnit(s string) (Unit, bool) {
	if s == "μs" {
		return UnitMicrosecond, true
	}
	for i, n := range unitNames {
		if n == s {
			return Unit(i), true
		}
	}
	return 0, false
}

// Order is the memory layout of an array: row-major 'C' or column-major
// 'F' (Fortran).
type Order byte

// The two orders numpy stores contiguous arrays in.
const (
	OrderC Order = 'C'
	OrderF Order = 'F'
)

func (o Order) String() string { return string(rune(o)) }

// numpy's dtype flags (ndarraytypes.h). They travel in dtype pickles, and
// numpy's __setstate__ trusts them, so they must be computed as numpy does.
const (
	flagItemRefcount  = 0x01
	flagListPickle    = 0x02
	flagItemIsPointer = 0x04
	flagNeedsInit     = 0x08
	flagNeedsPyAPI    = 0x10
	flagUseGetitem    = 0x20
	flagAlignedStruct = 0x80
	flagFromFields    = flagNeedsInit | flagListPickle | flagItemRefcount | flagNeedsPyAPI
	flagObject        = flagListPickle | flagUseGetitem | flagItemIsPointer | flagItemRefcount | flagNeedsInit | flagNeedsPyAPI
)

// maxDTypeDepth bounds the nesting of structured and subarray dtypes.
const maxDTypeDepth = 32

// maxItemSize bounds a dtype's itemsize, as numpy's C int does.
const maxItemSize = math.MaxInt32

// DType is a numpy dtype: a kind, an item size and a byte order, with a
// unit for datetimes, named fields for structured dtypes, or a base dtype
// and a shape for subarrays. A DType is immutable once made; share it
// freely. Make one with the predefined values ([Float64], [Int32]...),
// the constructors ([FixedStr], [NewStruct], [Datetime64]...), or parse
// one with [ParseDType] or [ParseDescr].
type DType struct {
	kind    Kind
	order   byte
	size    int
	align   int
	unit    Unit
	count   int // datetime multiplier
	fields  []Field
	sub     *DType // subarray base
	shape   []int  // subarray shape
	aligned bool   // an aligned struct (numpy's align=True)
	flags   uint8
	depth   int
	meta    any  // metadata from a pickle, kept for the round trip
	record  bool // numpy.record rather than numpy.void (numpy.rec arrays)

	pending bool // made by the pickle constructor, not yet BUILT
}

// Field is one named field of a structured dtype.
type Field struct {
	Name string
	// Title is numpy's optional field title ("" when there is none).
	Title  string
	Type   *DType
	Offset int
}

func alignOf(kind Kind, size int) int {
	switch kind {
	case KindBytes, KindVoid, KindBool:
		return 1
	case KindStr:
		return 4
	case KindComplex:
		return size / 2
	case KindObject:
		return int(unsafe.Sizeof(uintptr(0)))
	}
	return size
}

func validSize(kind Kind, size int) bool {
	switch kind {
	case KindBool:
		return size == 1
	case KindInt, KindUint:
		return size == 1 || size == 2 || size == 4 || size == 8
	case KindFloat:
		return size == 2 || size == 4 || size == 8 || size == 16
	case KindComplex:
		return size == 8 || size == 16 || size == 32
	case KindDatetime, KindTimedelta, KindObject:
		return size == 8
	case KindBytes, KindVoid:
		return size >= 0 && size <= maxItemSize
	case KindStr:
		return size >= 0 && size <= maxItemSize && size%4 == 0
	}
	return false
}

// hasOrder reports whether a kind of this size has a byte order.
func hasOrder(kind Kind, size int) bool {
	switch kind {
	case KindBytes, KindVoid, KindObject, KindBool:
		return false
	case KindStr:
		return true
	}
	return size > 1
}

// newBasic makes a dtype that is neither structured nor a subarray. size
// is in bytes (4 per character for U). order '=' means native.
func newBasic(kind Kind, size int, order byte) (*DType, error) {
	if !validSize(kind, size) {
		return nil, dtypeErr(ErrUnsupported, "no dtype of kind %q with itemsize %d", string(rune(kind)), size)
	}
	t := &DType{kind: kind, size: size, align: alignOf(kind, size)}
	if err := t.setOrder(order); err != nil {
		return nil, err
	}
	switch kind {
	case KindObject:
		t.flags = flagObject
	case KindStr:
		t.flags = flagNeedsInit
	case KindDatetime, KindTimedelta:
		t.count = 1
	}
	return t, nil
}

func (t *DType) setOrder(order byte) error {
	switch order {
	case '=':
		order = NativeEndian
	case LittleEndian, BigEndian, NoByteOrder:
	default:
		return dtypeErr(ErrCorrupt, "bad byte order %q", string(rune(order)))
	}
	if !hasOrder(t.kind, t.size) {
		order = NoByteOrder
	} else if order == NoByteOrder {
		order = NativeEndian
	}
	t.order = order
	return nil
}

func mustBasic(kind Kind, size int) *DType {
	t, err := newBasic(kind, size, '=')
	if err != nil {
		panic(err)
	}
	return t
}

// The fixed-size dtypes in native byte order, named as numpy names them.
// Float128 and Complex256 are numpy's longdouble and clongdouble on
// x86-64 (80-bit extended precision padded to 16 bytes).
var (
	Bool       = mustBasic(KindBool, 1)
	Int8       = mustBasic(KindInt, 1)
	Int16      = mustBasic(KindInt, 2)
	Int32      = mustBasic(KindInt, 4)
	Int64      = mustBasic(KindInt, 8)
	Uint8      = mustBasic(KindUint, 1)
	Uint16     = mustBasic(KindUint, 2)
	Uint32     = mustBasic(KindUint, 4)
	Uint64     = mustBasic(KindUint, 8)
	Float16    = mustBasic(KindFloat, 2)
	Float32    = mustBasic(KindFloat, 4)
	Float64    = mustBasic(KindFloat, 8)
	Float128   = mustBasic(KindFloat, 16)
	Complex64  = mustBasic(KindComplex, 8)
	Complex128 = mustBasic(KindComplex, 16)
	Complex256 = mustBasic(KindComplex, 32)
	Object     = mustBasic(KindObject, 8)
)

// FixedBytes returns the dtype S<n>: n bytes, NUL padded. It panics if n
// is negative or too large.
func FixedBytes(n int) *DType { return mustFlexible(KindBytes, n, 1) }

// FixedStr returns the dtype U<n>: n UTF-32 code points in native byte
// order. It panics if n is negative or too large.
func FixedStr(n int) *DType { return mustFlexible(KindStr, n, 4) }

// Void returns the dtype V<n>: n raw bytes. It panics if n is negative or
// too large.
func Void(n int) *DType { return mustFlexible(KindVoid, n, 1) }

func mustFlexible(kind Kind, n, unit int) *DType {
	if n < 0 || n > maxItemSize/unit {
		panic(fmt.Sprintf("ndarray: bad length %d for dtype kind %c", n, kind))
	}
	return mustBasic(kind, n*unit)
}

// Datetime64 returns the dtype M8[<count><unit>] in native byte order. It
// panics if count is not positive.
func Datetime64(unit Unit, count int) *DType { return mustTime(KindDatetime, unit, count) }

// Timedelta64 returns the dtype m8[<count><unit>] in native byte order. It
// panics if count is not positive.
func Timedelta64(unit Unit, count int) *DType { return mustTime(KindTimedelta, unit, count) }

func mustTime(kind Kind, unit Unit, count int) *DType {
	if count < 1 || count > math.MaxInt32 || int(unit) >= len(unitNames) {
		panic(fmt.Sprintf("ndarray: bad datetime unit %v count %d", unit, count))
	}
	t := mustBasic(kind, 8)
	t.unit, t.count = unit, count
	if unit == UnitGeneric {
		t.count = 1
	}
	return t
}

// NewStruct returns a structured dtype with the fields at the offsets
// they give. itemsize 0 means the end of the last field (rounded up to the
// alignment when aligned). aligned marks numpy's align=True structs: the
// alignment is the largest of the fields', and every field's offset must
// be a multiple of its own alignment. Fields may leave gaps but must fit
// inside the item; names and titles must be unique.
func NewStruct(fields []Field, itemsize int, aligned bool) (*DType, error) {
	t := &DType{kind: KindVoid, order: NoByteOrder, aligned: aligned, fields: slices.Clone(fields)}
	end := 0
	t.align = 1
	for _, f := range fields {
		if f.Type == nil {
			return nil, dtypeErr(ErrCorrupt, "field %q has no dtype", f.Name)
		}
		if f.Offset < 0 || f.Offset > maxItemSize-f.Type.size {
			return nil, dtypeErr(ErrCorrupt, "field %q at offset %d", f.Name, f.Offset)
		}
		end = max(end, f.Offset+f.Type.size)
		if aligned {
			if f.Offset%f.Type.align != 0 {
				return nil, dtypeErr(ErrCorrupt, "field %q at offset %d is not aligned to %d", f.Name, f.Offset, f.Type.align)
			}
			t.align = max(t.align, f.Type.align)
		}
	}
	if itemsize == 0 {
		itemsize = end
		if aligned {
			itemsize = (end + t.align - 1) / t.align * t.align
		}
	}
	t.size = itemsize
	if err := t.finishStruct(); err != nil {
		return nil, err
	}
	return t, nil
}

// PackStruct returns a structured dtype with the fields laid out one after
// another, as numpy's list form np.dtype([(name, type), ...]) does; with
// aligned (numpy's align=True) each field is placed at a multiple of its
// alignment and the item is padded to the largest alignment. The fields'
// Offset values are ignored.
func PackStruct(fields []Field, aligned bool) (*DType, error) {
	fs := slices.Clone(fields)
	off := 0
	for i := range fs {
		if fs[i].Type == nil {
			return nil, dtypeErr(ErrCorrupt, "field %q has no dtype", fs[i].Name)
		}
		if aligned {
			a := fs[i].Type.align
			off = (off + a - 1) / a * a
		}
		fs[i].Offset = off
		if off > maxItemSize-fs[i].Type.size {
			return nil, dtypeErr(ErrTooLarge, "struct larger than %d bytes", maxItemSize)
		}
		off += fs[i].Type.size
	}
	return NewStruct(fs, 0, aligned)
}

// finishStruct checks a structured dtype's fields and computes its flags
// and depth.
func (t *DType) finishStruct() error {
	if t.size < 0 || t.size > maxItemSize {
		return dtypeErr(ErrCorrupt, "struct itemsize %d", t.size)
	}
	if t.align < 1 || t.align > 64 || t.align&(t.align-1) != 0 {
		return dtypeErr(ErrCorrupt, "struct alignment %d", t.align)
	}
	seen := make(map[string]bool, 2*len(t.fields))
	t.flags = flagNeedsPyAPI
	t.depth = 1
	for _, f := range t.fields {
		if f.Offset < 0 || f.Offset > t.size || f.Type.size > t.size-f.Offset {
			return dtypeErr(ErrCorrupt, "field %q (%d bytes at offset %d) outside a %d-byte item", f.Name, f.Type.size, f.Offset, t.size)
		}
		if seen[f.Name] {
			return dtypeErr(ErrCorrupt, "duplicate field name %q", f.Name)
		}
		seen[f.Name] = true
		if f.Title != "" {
			if seen[f.Title] {
				return dtypeErr(ErrCorrupt, "title %q repeats a name or title", f.Title)
			}
			seen[f.Title] = true
		}
		t.flags |= f.Type.flags & flagFromFields
		t.depth = max(t.depth, f.Type.depth+1)
	}
	if t.aligned {
		t.flags |= flagAlignedStruct
	}
	if t.depth > maxDTypeDepth {
		return dtypeErr(ErrTooLarge, "dtype nested deeper than %d", maxDTypeDepth)
	}
	return nil
}

// NewSubarray returns the subarray dtype (base, shape): an item holding a
// C-order block of base elements, as numpy's np.dtype((base, shape)).
func NewSubarray(base *DType, shape ...int) (*DType, error) {
	if base == nil {
		return nil, dtypeErr(ErrCorrupt, "subarray without a base dtype")
	}
	if base.sub != nil {
		// numpy flattens a subarray of a subarray.
		shape = append(slices.Clone(shape), base.shape...)
		base = base.sub
	}
	n := base.size
	for _, d := range shape {
		if d < 0 || (d > 0 && n > maxItemSize/d) {
			return nil, dtypeErr(ErrCorrupt, "bad subarray shape %v of %s", shape, base)
		}
		n *= d
	}
	t := &DType{kind: KindVoid, order: NoByteOrder, size: n, align: base.align, sub: base, shape: slices.Clone(shape),
		flags: base.flags, depth: base.depth + 1}
	if t.depth > maxDTypeDepth {
		return nil, dtypeErr(ErrTooLarge, "dtype nested deeper than %d", maxDTypeDepth)
	}
	return t, nil
}

// Kind returns numpy's dtype.kind.
func (t *DType) Kind() Kind { return t.kind }

// ByteOrder returns '<', '>' or '|' (no byte order).
func (t *DType) ByteOrder() byte { return t.order }

// ItemSize returns the size of one element in bytes (4 per character for
// U).
func (t *DType) ItemSize() int { return t.size }

// Alignment returns numpy's dtype.alignment.
func (t *DType) Alignment() int { return t.align }

// DatetimeUnit returns the unit and multiplier of a datetime64 or
// timedelta64 dtype (UnitGeneric, 1 for others).
func (t *DType) DatetimeUnit() (Unit, int) {
	if t.kind != KindDatetime && t.kind != KindTimedelta {
		return UnitGeneric, 1
	}
	return t.unit, t.count
}

// Len returns the number of characters of S and U dtypes, and the item
// size of others.
func (t *DType) Len() int {
	if t.kind == KindStr {
		return t.size / 4
	}
	return t.size
}

// IsStruct reports whether t has named fields.
func (t *DType) IsStruct() bool { return t.fields != nil }

// IsAlignedStruct reports numpy's dtype.isalignedstruct.
func (t *DType) IsAlignedStruct() bool { return t.aligned }

// Fields returns a copy of the fields of a structured dtype, in numpy's
// dtype.names order, or nil.
func (t *DType) Fields() []Field { return slices.Clone(t.fields) }

// Names returns the field names of a structured dtype, or nil.
func (t *DType) Names() []string {
	if t.fields == nil {
		return nil
	}
	out := make([]string, len(t.fields))
	for i, f := range t.fields {
		out[i] = f.Name
	}
	return out
}

// Field returns the field called name (or titled name).
func (t *DType) Field(name string) (Field, bool) {
	for _, f := range t.fields {
		if f.Name == name || (f.Title != "" && f.Title == name) {
			return f, true
		}
	}
	return Field{}, false
}

// Subarray returns the base dtype and shape of a subarray dtype, or nil.
func (t *DType) Subarray() (*DType, []int) {
	if t.sub == nil {
		return nil, nil
	}
	return t.sub, slices.Clone(t.shape)
}

// HasObject reports numpy's dtype.hasobject: whether t holds Python
// objects anywhere.
func (t *DType) HasObject() bool { return t.flags&flagItemRefcount != 0 }

// Flags returns numpy's dtype.flags as an unsigned byte.
func (t *DType) Flags() uint8 { return t.flags }

// Metadata returns the metadata dict a pickle gave the dtype, or nil.
func (t *DType) Metadata() any { return t.meta }

// IsNative reports whether every part of t is in native byte order (or
// has none).
func (t *DType) IsNative() bool {
	switch {
	case t.sub != nil:
		return t.sub.IsNative()
	case t.fields != nil:
		for _, f := range t.fields {
			if !f.Type.IsNative() {
				return false
			}
		}
		return true
	}
	return t.order == NoByteOrder || t.order == NativeEndian
}

// WithByteOrder returns t with every part in byte order o: '<', '>', or
// '=' for native. Parts without a byte order keep '|'.
func (t *DType) WithByteOrder(o byte) *DType {
	if o == '=' {
		o = NativeEndian
	}
	if o != LittleEndian && o != BigEndian {
		panic("ndarray: WithByteOrder needs '<', '>' or '='")
	}
	return t.withOrder(o)
}

func (t *DType) withOrder(o byte) *DType {
	c := *t
	c.pending = false
	switch {
	case t.sub != nil:
		c.sub = t.sub.withOrder(o)
	case t.fields != nil:
		c.fields = slices.Clone(t.fields)
		for i := range c.fields {
			c.fields[i].Type = c.fields[i].Type.withOrder(o)
		}
	case t.order != NoByteOrder:
		c.order = o
	}
	return &c
}

// String returns numpy's dtype.str: "<f8", "|S5", "<U3", ">M8[ns]", "|O",
// and "|V<itemsize>" for structured and subarray dtypes.
func (t *DType) String() string {
	if t == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteByte(t.order)
	b.WriteByte(byte(t.kind))
	switch t.kind {
	case KindObject:
	case KindStr:
		b.WriteString(strconv.Itoa(t.size / 4))
	default:
		b.WriteString(strconv.Itoa(t.size))
	}
	if t.kind == KindDatetime || t.kind == KindTimedelta {
		b.WriteString(t.unitSuffix())
	}
	return b.String()
}

func (t *DType) unitSuffix() string {
	if t.unit == UnitGeneric {
		return ""
	}
	if t.count == 1 {
		return "[" + t.unit.String() + "]"
	}
	return "[" + strconv.Itoa(t.count) + t.unit.String() + "]"
}

// typeStr is the first argument of numpy.dtype in a pickle: the kind and
// size without byte order or unit ("f8", "U5", "V24", "M8", "O8").
func (t *DType) typeStr() string {
	n := t.size
	if t.kind == KindStr {
		n /= 4
	}
	return string(rune(t.kind)) + strconv.Itoa(n)
}

// Name returns numpy's dtype.name: "float64", "str160", "datetime64[ns]",
// "void32"...
func (t *DType) Name() string {
	bits := strconv.Itoa(8 * t.size)
	switch t.kind {
	case KindBool:
		return "bool"
	case KindInt:
		return "int" + bits
	case KindUint:
		return "uint" + bits
	case KindFloat:
		return "float" + bits
	case KindComplex:
		return "complex" + bits
	case KindDatetime:
		return "datetime64" + t.unitSuffix()
	case KindTimedelta:
		return "timedelta64" + t.unitSuffix()
	case KindBytes:
		return "bytes" + bits
	case KindStr:
		return "str" + bits
	case KindObject:
		return "object"
	}
	return "void" + bits
}

// Equal reports whether t and u describe the same data, as numpy's ==
// does: the aligned-struct flag and metadata are ignored.
func (t *DType) Equal(u *DType) bool {
	if t == u {
		return true
	}
	if t == nil || u == nil || t.kind != u.kind || t.size != u.size || t.order != u.order ||
		t.unit != u.unit || t.count != u.count || (t.sub == nil) != (u.sub == nil) ||
		(t.fields == nil) != (u.fields == nil) || len(t.fields) != len(u.fields) {
		return false
	}
	if t.sub != nil {
		return slices.Equal(t.shape, u.shape) && t.sub.Equal(u.sub)
	}
	for i, f := range t.fields {
		g := u.fields[i]
		if f.Name != g.Name || f.Title != g.Title || f.Offset != g.Offset || !f.Type.Equal(g.Type) {
			return false
		}
	}
	return true
}

// PyEqual implements pickle.Equaler.
func (t *DType) PyEqual(other any) bool {
	u, ok := other.(*DType)
	return ok && t.Equal(u)
}

// leaves calls f for every basic (non-structured, non-subarray) part of t
// with its byte offset inside one item. It stops at the first error.
func (t *DType) leaves(off int, f func(leaf *DType, off int) error) error {
	switch {
	case t.sub != nil:
		n := 1
		for _, d := range t.shape {
			n *= d
		}
		for i := 0; i < n; i++ {
			if err := t.sub.leaves(off+i*t.sub.size, f); err != nil {
				return err
			}
		}
		return nil
	case t.fields != nil:
		for _, fl := range t.fields {
			if err := fl.Type.leaves(off+fl.Offset, f); err != nil {
				return err
			}
		}
		return nil
	}
	return f(t, off)
}
