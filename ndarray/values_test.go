package ndarray

import (
	"bytes"
	"math"
	"testing"
	"time"
)

func TestHalfRoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := Half(i)
		f := h.Float64()
		back := HalfFromFloat64(f)
		if math.IsNaN(f) {
			if !math.IsNaN(back.Float64()) {
				t.Fatalf("NaN %#04x came back as %#04x", i, back)
			}
			continue
		}
		if back != h {
			t.Fatalf("half %#04x -> %v -> %#04x", i, f, back)
		}
	}
}

func TestHalfRounding(t *testing.T) {
	tests := []struct {
		f    float64
		want Half
	}{
		{65504, 0x7bff},
		{65519.99, 0x7bff},
		{65520, 0x7c00}, // rounds up to infinity
		{1 + 1.0/2048, 0x3c00},
		{1 + 3.0/2048, 0x3c02}, // tie to even
		{math.Ldexp(1, -24), 0x0001},
		{math.Ldexp(1, -25), 0x0000},    // tie to even: zero
		{math.Ldexp(1.5, -25), 0x0001},  // above the tie
		{math.Ldexp(1023, -24), 0x03ff}, // largest subnormal
		{math.Ldexp(2047, -25), 0x0400}, // rounds to the smallest normal
		{math.Copysign(0, -1), 0x8000},
		{math.Inf(-1), 0xfc00},
		{0.1, 0x2e66},
		{1e-10, 0},
	}
	for _, tt := range tests {
		if got := HalfFromFloat64(tt.f); got != tt.want {
			t.Errorf("HalfFromFloat64(%v) = %#04x, want %#04x", tt.f, got, tt.want)
		}
	}
}

func TestLongDouble(t *testing.T) {
	// np.longdouble(1.5).tobytes()[:10]
	if x := LongDoubleFromFloat64(1.5); !bytes.Equal(x[:10], []byte{0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0x3f}) {
		t.Errorf("1.5 as longdouble: % x", x[:10])
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -2.5, math.Pi, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Ldexp(1, -1030), math.Inf(1), math.Inf(-1), 1e300, -1e-300} {
		if got := LongDoubleFromFloat64(f).Float64(); got != f || math.Signbit(got) != math.Signbit(f) {
			t.Errorf("longdouble round trip of %v gave %v", f, got)
		}
	}
	if !math.IsNaN(LongDoubleFromFloat64(math.NaN()).Float64()) {
		t.Errorf("NaN lost")
	}
	// 2^16383 is finite in x87 but overflows float64.
	var big LongDouble
	big[7] = 0x80
	big[8], big[9] = 0xfe, 0x7f
	if f := big.Float64(); !math.IsInf(f, 1) {
		t.Errorf("huge longdouble gave %v", f)
	}
}

func TestDateTime(t *testing.T) {
	d := DateTime{Value: 18262, Unit: UnitDay, Count: 1}
	if tm, ok := d.Time(); !ok || !tm.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("day 18262 is %v", tm)
	}
	d = DateTime{Value: -1, Unit: UnitNanosecond, Count: 1}
	if tm, ok := d.Time(); !ok || !tm.Equal(time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)) {
		t.Errorf("-1ns is %v", tm)
	}
	d = DateTime{Value: 3, Unit: UnitMonth, Count: 2}
	if tm, ok := d.Time(); !ok || !tm.Equal(time.Date(1970, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("3×2M is %v", tm)
	}
	if _, ok := (DateTime{Value: NaT, Unit: UnitSecond, Count: 1}).Time(); ok {
		t.Errorf("NaT converted")
	}
	if _, ok := (DateTime{Value: math.MaxInt64, Unit: UnitWeek, Count: 1}).Time(); ok {
		t.Errorf("overflow converted")
	}
	if dur, ok := (TimeDelta{Value: 5, Unit: UnitSecond, Count: 25}).Duration(); !ok || dur != 125*time.Second {
		t.Errorf("5×25s is %v", dur)
	}
	if dur, ok := (TimeDelta{Value: -3, Unit: UnitPicosecond, Count: 1000}).Duration(); !ok || dur != -3*time.Nanosecond {
		t.Errorf("-3000ps is %v", dur)
	}
	if _, ok := (TimeDelta{Value: 1, Unit: UnitYear, Count: 1}).Duration(); ok {
		t.Errorf("a year converted to a duration")
	}
}

func TestElementRoundTrip(t *testing.T) {
	values := map[string]any{
		"|b1": true, "<i2": int16(-300), ">i8": int64(math.MinInt64), ">u4": uint32(4e9), "<f2": Half(0x3c00),
		">f4": float32(1.5), "<f8": math.Pi, ">f16": LongDoubleFromFloat64(2.5), "<c8": complex64(1 + 2i),
		">c16": complex(-1, 0.5), "<M8[ms]": DateTime{Value: 42, Unit: UnitMillisecond, Count: 1},
		">m8[3s]": TimeDelta{Value: -7, Unit: UnitSecond, Count: 3}, "|S4": []byte("ab"), ">U3": "h\u00e9!",
	}
	for s, v := range values {
		dt := MustParseDType(s)
		sc, err := NewScalar(dt, v)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		got := sc.Value()
		if !pyEqual(pyValue(got), pyValue(v)) && !bytes.Equal(toBytes(got), toBytes(v)) {
			if ld, ok := v.(LongDouble); !ok || got.(LongDouble).Float64() != ld.Float64() {
				t.Errorf("%s: stored %v, read %v", s, v, got)
			}
		}
	}
	if _, err := NewScalar(MustParseDType("|S2"), []byte("abc")); err == nil {
		t.Errorf("3 bytes fit S2")
	}
	if _, err := NewScalar(Float64, "x"); err == nil {
		t.Errorf("a string fit f8")
	}
}

func toBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}
