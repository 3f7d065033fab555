package ndarray

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"time"
	"unicode/utf8"
)

// Half is an IEEE 754 half-precision float (numpy's float16), as its
// bits.
type Half uint16

// Float32 returns h exactly as a float32.
func (h Half) Float32() float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		f := float32(mant) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Float64 returns h exactly as a float64.
func (h Half) Float64() float64 { return float64(h.Float32()) }

// HalfFromFloat64 rounds f to the nearest half (ties to even), as numpy's
// astype(float16) does.
func HalfFromFloat64(f float64) Half {
	b := math.Float64bits(f)
	sign := uint16(b>>48) & 0x8000
	exp := int(b>>52) & 0x7ff
	mant := b & (1<<52 - 1)
	if exp == 0x7ff {
		if mant != 0 {
			return Half(sign | 0x7e00 | uint16(mant>>42))
		}
		return Half(sign | 0x7c00)
	}
	e := exp - 1023 + 15
	if e >= 0x1f {
		return Half(sign | 0x7c00)
	}
	if e <= 0 {
		if exp == 0 {
			return Half(sign)
		}
		m := mant | 1<<52
		s := uint(1051 - exp)
		if s >= 54 {
			return Half(sign)
		}
		return Half(sign | uint16(roundShift(m, s)))
	}
	m := roundShift(mant, 42)
	return Half(sign + uint16(e)<<10 + uint16(m))
}

// roundShift returns m >> s rounded to nearest, ties to even.
func roundShift(m uint64, s uint) uint64 {
	q := m >> s
	rem := m & (1<<s - 1)
	half := uint64(1) << (s - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// LongDouble is numpy's longdouble (float128 on x86-64): the x87 80-bit
// extended format in the low 10 bytes of 16, little-endian. The other 6
// bytes are padding, which numpy leaves uninitialized.
type LongDouble [16]byte

// Float64 rounds x to the nearest float64.
func (x LongDouble) Float64() float64 {
	mant := binary.LittleEndian.Uint64(x[0:8])
	se := binary.LittleEndian.Uint16(x[8:10])
	exp := int(se & 0x7fff)
	var f float64
	switch {
	case exp == 0x7fff:
		if mant<<1 == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	case mant == 0:
		f = 0
	default:
		f = math.Ldexp(float64(mant), max(exp, 1)-16383-63)
	}
	if se>>15 != 0 {
		f = math.Copysign(f, -1)
	}
	return f
}

// LongDoubleFromFloat64 returns f exactly as a longdouble.
func LongDoubleFromFloat64(f float64) LongDouble {
	var x LongDouble
	b := math.Float64bits(f)
	se := uint16(b>>48) & 0x8000
	exp := int(b>>52) & 0x7ff
	mant := b & (1<<52 - 1)
	var m uint64
	switch {
	case exp == 0x7ff:
		se |= 0x7fff
		m = 1 << 63
		if mant != 0 {
			m |= 1<<62 | mant<<11
		}
	case exp == 0 && mant == 0:
	case exp == 0:
		lz := bits.LeadingZeros64(mant)
		m = mant << lz
		se |= uint16(16383 + 63 - 1074 - lz)
	default:
		m = 1<<63 | mant<<11
		se |= uint16(exp - 1023 + 16383)
	}
	binary.LittleEndian.PutUint64(x[0:8], m)
	binary.LittleEndian.PutUint16(x[8:10], se)
	return x
}

// CLongDouble is numpy's clongdouble (complex256): real and imaginary
// longdoubles.
type CLongDouble [2]LongDouble

// Complex128 rounds x to the nearest complex128.
func (x CLongDouble) Complex128() complex128 { return complex(x[0].Float64(), x[1].Float64()) }

// NaT is the value numpy uses for "not a time" in datetime64 and
// timedelta64.
const NaT = math.MinInt64

// DateTime is one numpy datetime64 value: Value units of Count*Unit since
// 1970-01-01T00:00:00.
type DateTime struct {
	Value int64
	Unit  Unit
	Count int
}

// IsNaT reports whether d is "not a time".
func (d DateTime) IsNaT() bool { return d.Value == NaT }

// Time returns d as a UTC time. It returns false for NaT, the generic
// unit, and values a time.Time cannot hold.
func (d DateTime) Time() (time.Time, bool) {
	if d.IsNaT() {
		return time.Time{}, false
	}
	v, ok := mulOK(d.Value, int64(d.Count))
	if !ok {
		return time.Time{}, false
	}
	epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	switch d.Unit {
	case UnitYear:
		if v < -1e9 || v > 1e9 {
			return time.Time{}, false
		}
		return epoch.AddDate(int(v), 0, 0), true
	case UnitMonth:
		if v < -1e10 || v > 1e10 {
			return time.Time{}, false
		}
		return epoch.AddDate(0, int(v), 0), true
	case UnitGeneric:
		return time.Time{}, false
	}
	sec, nsec, ok := splitUnit(v, d.Unit)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec).UTC(), true
}

func (d DateTime) String() string {
	if d.IsNaT() {
		return "NaT"
	}
	if t, ok := d.Time(); ok {
		return t.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%d×%d%s", d.Value, d.Count, d.Unit)
}

// TimeDelta is one numpy timedelta64 value: Value units of Count*Unit.
type TimeDelta struct {
	Value int64
	Unit  Unit
	Count int
}

// IsNaT reports whether d is "not a time".
func (d TimeDelta) IsNaT() bool { return d.Value == NaT }

// Duration returns d as a time.Duration. It returns false for NaT, years,
// months, the generic unit and durations out of range.
func (d TimeDelta) Duration() (time.Duration, bool) {
	if d.IsNaT() || d.Unit == UnitYear || d.Unit == UnitMonth || d.Unit == UnitGeneric {
		return 0, false
	}
	v, ok := mulOK(d.Value, int64(d.Count))
	if !ok {
		return 0, false
	}
	sec, nsec, ok := splitUnit(v, d.Unit)
	if !ok || sec > math.MaxInt64/int64(time.Second)-1 || sec < math.MinInt64/int64(time.Second)+1 {
		return 0, false
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec), true
}

func mulOK(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}

// splitUnit converts v units into seconds and nanoseconds (floored).
func splitUnit(v int64, u Unit) (int64, int64, bool) {
	perSec := map[Unit]int64{UnitSecond: 1, UnitMillisecond: 1e3, UnitMicrosecond: 1e6, UnitNanosecond: 1e9,
		UnitPicosecond: 1e12, UnitFemtosecond: 1e15, UnitAttosecond: 1e18}
	secs := map[Unit]int64{UnitWeek: 7 * 86400, UnitDay: 86400, UnitHour: 3600, UnitMinute: 60}
	if s, ok := secs[u]; ok {
		r, ok := mulOK(v, s)
		return r, 0, ok
	}
	p, ok := perSec[u]
	if !ok {
		return 0, 0, false
	}
	sec, rem := v/p, v%p
	if rem < 0 {
		sec--
		rem += p
	}
	if p >= 1e9 {
		return sec, rem / (p / 1e9), true
	}
	return sec, rem * (1e9 / p), true
}

// Record is one element of a structured array: the values of its fields
// in order.
type Record struct {
	Names  []string
	Values []any
}

// Get returns the value of the field called name.
func (r Record) Get(name string) (any, bool) {
	for i, n := range r.Names {
		if n == name {
			return r.Values[i], true
		}
	}
	return nil, false
}

func byteOrder(o byte) binary.ByteOrder {
	if o == BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// decodeElem returns the Go value of one element of type t held in b
// (len(b) == t.size). See [Array.At] for the types.
func decodeElem(t *DType, b []byte) any {
	bo := byteOrder(t.order)
	switch t.kind {
	case KindBool:
		return b[0] != 0
	case KindInt:
		switch t.size {
		case 1:
			return int8(b[0])
		case 2:
			return int16(bo.Uint16(b))
		case 4:
			return int32(bo.Uint32(b))
		}
		return int64(bo.Uint64(b))
	case KindUint:
		switch t.size {
		case 1:
			return b[0]
		case 2:
			return bo.Uint16(b)
		case 4:
			return bo.Uint32(b)
		}
		return bo.Uint64(b)
	case KindFloat:
		switch t.size {
		case 2:
			return Half(bo.Uint16(b))
		case 4:
			return math.Float32frombits(bo.Uint32(b))
		case 8:
			return math.Float64frombits(bo.Uint64(b))
		}
		return longDoubleAt(b, t.order)
	case KindComplex:
		switch t.size {
		case 8:
			return complex(math.Float32frombits(bo.Uint32(b)), math.Float32frombits(bo.Uint32(b[4:])))
		case 16:
			return complex(math.Float64frombits(bo.Uint64(b)), math.Float64frombits(bo.Uint64(b[8:])))
		}
		return CLongDouble{longDoubleAt(b[:16], t.order), longDoubleAt(b[16:], t.order)}
	case KindDatetime:
		return DateTime{int64(bo.Uint64(b)), t.unit, t.count}
	case KindTimedelta:
		return TimeDelta{int64(bo.Uint64(b)), t.unit, t.count}
	case KindBytes:
		n := len(b)
		for n > 0 && b[n-1] == 0 {
			n--
		}
		return append([]byte{}, b[:n]...)
	case KindStr:
		return decodeUTF32(b, bo)
	case KindObject:
		return nil
	}
	if t.sub != nil {
		a := &Array{DType: t.sub, Shape: append([]int{}, t.shape...), Order: OrderC, Data: append([]byte{}, b...)}
		if t.sub.kind == KindObject {
			a.Data, a.Objects = nil, make([]any, a.Size())
		}
		return a
	}
	if t.fields != nil {
		r := Record{Names: make([]string, len(t.fields)), Values: make([]any, len(t.fields))}
		for i, f := range t.fields {
			r.Names[i] = f.Name
			r.Values[i] = decodeElem(f.Type, b[f.Offset:f.Offset+f.Type.size])
		}
		return r
	}
	return append([]byte{}, b...)
}

func longDoubleAt(b []byte, order byte) LongDouble {
	var x LongDouble
	copy(x[:], b)
	if order == BigEndian {
		for i, j := 0, 15; i < j; i, j = i+1, j-1 {
			x[i], x[j] = x[j], x[i]
		}
	}
	return x
}

// decodeUTF32 decodes numpy's U data, dropping trailing NULs. Code points
// that are not valid become U+FFFD.
func decodeUTF32(b []byte, bo binary.ByteOrder) string {
	n := len(b) / 4
	for n > 0 && bo.Uint32(b[4*(n-1):]) == 0 {
		n--
	}
	out := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		r := rune(bo.Uint32(b[4*i:]))
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
	}
	return string(out)
}

// encodeElem writes v into b as one element of type t. It accepts the
// types decodeElem returns and, for numeric kinds, any Go number that
// converts without loss of kind (ints to ints, floats to floats, ...).
func encodeElem(t *DType, b []byte, v any) error {
	bo := byteOrder(t.order)
	bad := func() error {
		return fmt.Errorf("ndarray: cannot store %T in a %s element: %w", v, t, ErrType)
	}
	switch t.kind {
	case KindBool:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		b[0] = 0
		if x {
			b[0] = 1
		}
	case KindInt, KindUint:
		var u uint64
		switch x := v.(type) {
		case int:
			u = uint64(x)
		case int8:
			u = uint64(x)
		case int16:
			u = uint64(x)
		case int32:
			u = uint64(x)
		case int64:
			u = uint64(x)
		case uint:
			u = uint64(x)
		case uint8:
			u = uint64(x)
		case uint16:
			u = uint64(x)
		case uint32:
			u = uint64(x)
		case uint64:
			u = x
		default:
			return bad()
		}
		putUint(bo, b, u)
	case KindFloat:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case Half:
			f = x.Float64()
		case LongDouble:
			if t.size == 16 {
				copy(b, x[:])
				if t.order == BigEndian {
					reverse(b)
				}
				return nil
			}
			f = x.Float64()
		default:
			return bad()
		}
		putFloat(bo, b, t.order, f)
	case KindComplex:
		var c complex128
		switch x := v.(type) {
		case complex128:
			c = x
		case complex64:
			c = complex128(x)
		case CLongDouble:
			c = x.Complex128()
		default:
			return bad()
		}
		h := t.size / 2
		putFloat(bo, b[:h], t.order, real(c))
		putFloat(bo, b[h:], t.order, imag(c))
	case KindDatetime, KindTimedelta:
		switch x := v.(type) {
		case DateTime:
			bo.PutUint64(b, uint64(x.Value))
		case TimeDelta:
			bo.PutUint64(b, uint64(x.Value))
		case int64:
			bo.PutUint64(b, uint64(x))
		default:
			return bad()
		}
	case KindBytes, KindVoid:
		var s []byte
		switch x := v.(type) {
		case []byte:
			s = x
		case string:
			s = []byte(x)
		default:
			return bad()
		}
		if len(s) > len(b) || (t.kind == KindVoid && len(s) != len(b)) {
			return fmt.Errorf("ndarray: %d bytes do not fit a %s element: %w", len(s), t, ErrType)
		}
		clear(b[copy(b, s):])
	case KindStr:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		i := 0
		for _, r := range s {
			if i+4 > len(b) {
				return fmt.Errorf("ndarray: string %q does not fit a %s element: %w", s, t, ErrType)
			}
			bo.PutUint32(b[i:], uint32(r))
			i += 4
		}
		clear(b[i:])
	default:
		return bad()
	}
	return nil
}

func putUint(bo binary.ByteOrder, b []byte, u uint64) {
	switch len(b) {
	case 1:
		b[0] = byte(u)
	case 2:
		bo.PutUint16(b, uint16(u))
	case 4:
		bo.PutUint32(b, uint32(u))
	default:
		bo.PutUint64(b, u)
	}
}

func putFloat(bo binary.ByteOrder, b []byte, order byte, f float64) {
	switch len(b) {
	case 2:
		bo.PutUint16(b, uint16(HalfFromFloat64(f)))
	case 4:
		bo.PutUint32(b, math.Float32bits(float32(f)))
	case 8:
		bo.PutUint64(b, math.Float64bits(f))
	default:
		x := LongDoubleFromFloat64(f)
		copy(b, x[:])
		if order == BigEndian {
			reverse(b)
		}
	}
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}
