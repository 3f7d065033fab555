package ndarray

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseDType(t *testing.T) {
	tests := []struct {
		in, str, name string
		size, align   int
	}{
		{"<f8", "<f8", "float64", 8, 8},
		{"f8", "<f8", "float64", 8, 8},
		{"=f4", "<f4", "float32", 4, 4},
		{">i1", "|i1", "int8", 1, 1},
		{"?", "|b1", "bool", 1, 1},
		{"b1", "|b1", "bool", 1, 1},
		{"b", "|i1", "int8", 1, 1},
		{"i", "<i4", "int32", 4, 4},
		{">u8", ">u8", "uint64", 8, 8},
		{"e", "<f2", "float16", 2, 2},
		{"g", "<f16", "float128", 16, 16},
		{"G", "<c32", "complex256", 32, 16},
		{"c8", "<c8", "complex64", 8, 4},
		{"U3", "<U3", "str96", 12, 4},
		{">U3", ">U3", "str96", 12, 4},
		{"U", "<U0", "str0", 0, 4},
		{"S", "|S0", "bytes0", 0, 1},
		{"a5", "|S5", "bytes40", 5, 1},
		{"|S5", "|S5", "bytes40", 5, 1},
		{"V7", "|V7", "void56", 7, 1},
		{"O", "|O", "object", 8, 8},
		{"O8", "|O", "object", 8, 8},
		{"M8", "<M8", "datetime64", 8, 8},
		{"<M8[ns]", "<M8[ns]", "datetime64[ns]", 8, 8},
		{">M8[10ms]", ">M8[10ms]", "datetime64[10ms]", 8, 8},
		{"m8[25s]", "<m8[25s]", "timedelta64[25s]", 8, 8},
		{"m8[μs]", "<m8[us]", "timedelta64[us]", 8, 8},
		{"M8[generic]", "<M8", "datetime64", 8, 8},
		{"float64", "<f8", "float64", 8, 8},
		{"datetime64[D]", "<M8[D]", "datetime64[D]", 8, 8},
		{"bool", "|b1", "bool", 1, 1},
	}
	for _, tt := range tests {
		d, err := ParseDType(tt.in)
		if err != nil {
			t.Errorf("ParseDType(%q): %v", tt.in, err)
			continue
		}
		if d.String() != tt.str || d.Name() != tt.name || d.ItemSize() != tt.size || d.Alignment() != tt.align {
			t.Errorf("ParseDType(%q) = %s %s size %d align %d, want %s %s %d %d", tt.in, d, d.Name(), d.ItemSize(), d.Alignment(), tt.str, tt.name, tt.size, tt.align)
		}
		back, err := ParseDType(d.String())
		if err != nil || !back.Equal(d) {
			t.Errorf("ParseDType(%q).String() = %q does not parse back: %v", tt.in, d, err)
		}
	}
	for _, bad := range []string{"", "<", "f3", "i16", "x8", "M8[xx]", "f8[ns]", "U-1", "S99999999999", "M8[0ns]", "M8[ns", "i+4", "<>f8", "O4", "V-2"} {
		if d, err := ParseDType(bad); err == nil {
			t.Errorf("ParseDType(%q) = %s, want an error", bad, d)
		} else if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("ParseDType(%q): %v is not a format error", bad, err)
		}
	}
}

func TestStructLayout(t *testing.T) {
	// np.dtype([('a','i1'),('b','<f8'),('c','<c8')], align=True)
	fields := []Field{{Name: "a", Type: Int8}, {Name: "b", Type: Float64}, {Name: "c", Type: Complex64}}
	al, err := PackStruct(fields, true)
	if err != nil {
		t.Fatal(err)
	}
	if al.String() != "|V24" || al.Alignment() != 8 || al.Flags() != 0x90 || !al.IsAlignedStruct() {
		t.Errorf("aligned struct %s align %d flags %#x", al, al.Alignment(), al.Flags())
	}
	j, _ := json.Marshal(al)
	if string(j) != `[["a","|i1"],["","|V7"],["b","\u003cf8"],["c","\u003cc8"]]` {
		t.Errorf("descr %s", j)
	}
	packed, err := PackStruct(fields, false)
	if err != nil {
		t.Fatal(err)
	}
	if packed.ItemSize() != 17 || packed.Alignment() != 1 || packed.Flags() != 0x10 {
		t.Errorf("packed struct size %d align %d flags %#x", packed.ItemSize(), packed.Alignment(), packed.Flags())
	}
	if al.Equal(packed) {
		t.Errorf("structs with different offsets are equal")
	}
	obj, _ := PackStruct([]Field{{Name: "o", Type: Object}, {Name: "s", Type: FixedStr(2)}}, false)
	if !obj.HasObject() || obj.Flags() != 27 {
		t.Errorf("object struct flags %d, want numpy's 27", obj.Flags())
	}

	bad := [][]Field{
		{{Name: "a", Type: Int32, Offset: 6}},                         // past the item
		{{Name: "a", Type: Int8}, {Name: "a", Type: Int8, Offset: 1}}, // duplicate
		{{Name: "a", Title: "b", Type: Int8}, {Name: "b", Type: Int8, Offset: 1}},
		{{Name: "a", Type: nil}},
	}
	for i, fs := range bad {
		if _, err := NewStruct(fs, 8, false); err == nil {
			t.Errorf("bad struct %d accepted", i)
		}
	}
	if _, err := NewStruct([]Field{{Name: "a", Type: Float64, Offset: 4}}, 16, true); err == nil {
		t.Errorf("misaligned field in an aligned struct accepted")
	}

	ooo, err := NewStruct([]Field{{Name: "a", Type: Int32, Offset: 4}, {Name: "b", Type: Int32}}, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ooo.Descr(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("descr of out-of-order fields: %v", err)
	}
}

func TestSubarrayAndOrder(t *testing.T) {
	inner, _ := NewSubarray(MustParseDType(">i2"), 3)
	outer, err := NewSubarray(inner, 2)
	if err != nil {
		t.Fatal(err)
	}
	base, shape := outer.Subarray()
	if base.String() != ">i2" || len(shape) != 2 || shape[0] != 2 || shape[1] != 3 || outer.ItemSize() != 12 {
		t.Errorf("subarray of subarray: %s %v size %d", base, shape, outer.ItemSize())
	}
	st, _ := PackStruct([]Field{{Name: "x", Type: outer}, {Name: "t", Type: MustParseDType(">M8[s]")}}, false)
	if st.IsNative() {
		t.Errorf("big-endian struct reports native")
	}
	n := st.WithByteOrder('=')
	if !n.IsNative() || n.ItemSize() != st.ItemSize() {
		t.Errorf("WithByteOrder('='): %s native %v", n, n.IsNative())
	}
	if f, _ := n.Field("t"); f.Type.String() != "<M8[s]" {
		t.Errorf("field t is %s", f.Type)
	}
	if st.Equal(n) {
		t.Errorf("byte orders ignored by Equal")
	}
}

func TestDescrJSON(t *testing.T) {
	descrs := []string{
		`"<f8"`, `"|S3"`, `">M8[2D]"`,
		`[["a","<i4"],["b","<f8",[2]]]`,
		`[[["Title","a"],"<i2"],["b","|u1"]]`,
		`[["p",[["x","<f4"],["y",">i2"]]],["q","|u1",[2,2]]]`,
		`[["","|V2"],["a","<i2"],["","|V4"]]`,
		`["<f8",[2,3]]`,
		`[["s",[["a","<i4"]],[3]]]`,
	}
	for _, d := range descrs {
		var dt DType
		if err := json.Unmarshal([]byte(d), &dt); err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		got, err := json.Marshal(&dt)
		if err != nil || !jsonEqual(got, []byte(d)) {
			t.Errorf("%s came back as %s (%v)", d, got, err)
		}
	}
	for _, bad := range []string{`1`, `[1]`, `[["a"]]`, `[["a","<f8",[-1]]]`, `{"a":1}`, `[["a","<q9"]]`} {
		var dt DType
		if err := json.Unmarshal([]byte(bad), &dt); err == nil {
			t.Errorf("%s accepted as %s", bad, &dt)
		}
	}
}

func TestParseDescrPadding(t *testing.T) {
	// numpy's descr_to_dtype drops unnamed void fields but keeps their room.
	v, err := parseLiteral(`[('', '|V2'), ('a', '<i2'), ('', '|V4'), (('T', 'b'), '<f4', (2,))]`, 0)
	if err != nil {
		t.Fatal(err)
	}
	dt, err := ParseDescr(v)
	if err != nil {
		t.Fatal(err)
	}
	fs := dt.Fields()
	if len(fs) != 2 || fs[0].Offset != 2 || fs[1].Offset != 8 || fs[1].Title != "T" || dt.ItemSize() != 16 {
		t.Errorf("fields %+v size %d", fs, dt.ItemSize())
	}
}
