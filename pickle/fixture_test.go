package pickle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	gPoint    = Global{"fixturemod", "Point"}
	gSlotted  = Global{"fixturemod", "Slotted"}
	gMake     = Global{"fixturemod", "make"}
	gNewObjEx = Global{"fixturemod", "NewObjEx"}
	gRef      = Global{"fixturemod", "Ref"}
	gObject2  = Global{"__builtin__", "object"} // what protocols 0 and 1 name
)

// fixtureExt maps the extension codes testdata/gen.py registers.
var fixtureExt = map[int32]Global{0xF0: gPoint, 0x1234: gMake, 0x12345678: gRef}

// persistentRef is what the tests' PersistentLoad hook returns for a pid.
func persistentRef(pid any) (any, error) { return Tuple{"ref", pid}, nil }

// fixtureOptions returns the options a fixture needs to decode: the
// persistent-load hook, the extension codes and the out-of-band buffers.
func fixtureOptions(t testing.TB, name string) []DecodeOption {
	opts := []DecodeOption{PersistentLoad(persistentRef), Extensions(fixtureExt)}
	if name == "oob" {
		opts = append(opts, Buffers(readFixture(t, "oob_p5.buf0"), readFixture(t, "oob_p5.buf1")))
	}
	return opts
}

// point is Point(1, 2) as each protocol writes it: _reconstructor at 0
// and 1, NEWOBJ from 2.
func point(proto int) *Object {
	state := dict("x", int64(1), "y", int64(2))
	if proto < 2 {
		return &Object{Class: gPoint, Construct: Reconstructor, Args: Tuple{gObject2, nil}, State: state, HasState: true}
	}
	return &Object{Class: gPoint, Construct: NewObj, Args: Tuple{}, State: state, HasState: true}
}

func strList(n int) *List {
	l := &List{}
	for i := range n {
		l.Items = append(l.Items, fmt.Sprintf("s%03d", i))
	}
	return l
}

func intList(n int) *List {
	l := &List{}
	for i := range n {
		l.Items = append(l.Items, int64(i))
	}
	return l
}

// fixtureWant gives the exact value each fixture decodes to, by fixture
// name and protocol. Types matter: strictEqual checks them.
var fixtureWant = map[string]func(p int) any{
	"none":          func(int) any { return nil },
	"true":          func(int) any { return true },
	"false":         func(int) any { return false },
	"int_small":     func(int) any { return int64(42) },
	"int_neg":       func(int) any { return int64(-7) },
	"int_1byte":     func(int) any { return int64(255) },
	"int_2byte":     func(int) any { return int64(65535) },
	"int_32":        func(int) any { return int64(math.MinInt32) },
	"int_64":        func(int) any { return int64(1 << 62) },
	"int_big":       func(int) any { return new(big.Int).Lsh(big.NewInt(1), 100) },
	"int_bigneg":    func(int) any { return bigInt("-1180591620717411303429") },
	"int_huge":      func(int) any { return new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 2100), big.NewInt(1)) },
	"float":         func(int) any { return 1.5 },
	"float_neg_inf": func(int) any { return math.Inf(-1) },
	"complex":       func(int) any { return complex(1, 2) },
	"str_ascii":     func(int) any { return "hello" },
	"str_unicode":   func(int) any { return "C'est l'été ! ☃ 𝄞" },
	"str_empty":     func(int) any { return "" },
	"str_long":      func(int) any { return strings.Repeat("x", 300) },
	"bytes":         func(int) any { return []byte{0, 1, 0xff} },
	"bytes_long": func(int) any {
		b := make([]byte, 512)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	},
	"bytearray":  func(int) any { return ByteArray("abc") },
	"tuple0":     func(int) any { return Tuple{} },
	"tuple1":     func(int) any { return Tuple{int64(1)} },
	"tuple2":     func(int) any { return Tuple{int64(1), "a"} },
	"tuple3":     func(int) any { return Tuple{int64(1), int64(2), int64(3)} },
	"tuple5":     func(int) any { return Tuple{int64(1), int64(2), int64(3), int64(4), int64(5)} },
	"list":       func(int) any { return list(int64(1), "two", 3.0, nil) },
	"list_empty": func(int) any { return list() },
	"dict":       func(int) any { return dict("a", int64(1), "b", list(int64(2), int64(3))) },
	"dict_keys": func(int) any {
		return dict(int64(1), "int", Tuple{int64(1), int64(2)}, "tuple", frozen(int64(3)), "fs",
			"k", nil, []byte("b"), int64(2), 2.5, "f")
	},
	"set":       func(int) any { return set(int64(1), int64(2), int64(3)) },
	"frozenset": func(int) any { return frozen("a") },
	"nested": func(int) any {
		return dict("l", list(int64(1), dict("t", Tuple{int64(2), list(int64(3), dict("d", int64(4)))})),
			"x", Tuple{nil, list(true)})
	},
	"shared": func(int) any {
		s := list(int64(1))
		return list(s, s, dict("x", s))
	},
	"selfref": func(int) any {
		l := list()
		l.Items = append(l.Items, l)
		return l
	},
	"recursive_tuple": func(int) any {
		l := list()
		t := Tuple{l}
		l.Items = append(l.Items, t)
		return t
	},
	"memo_many": func(int) any {
		l := strList(300)
		l.Items = append(l.Items, "s000", "s299")
		return l
	},
	"ordereddict": func(int) any {
		d := dict("z", int64(1), "a", int64(2))
		d.Class = Global{"collections", "OrderedDict"}
		return d
	},
	"object": func(p int) any { return point(p) },
	"object_slots": func(int) any {
		return &Object{Class: gSlotted, Construct: NewObj, Args: Tuple{},
			State: Tuple{nil, dict("x", int64(1), "y", int64(2))}, HasState: true}
	},
	"object_reduce": func(int) any {
		return &Object{Class: gMake, Construct: Reduce, Args: Tuple{int64(1), int64(2)}}
	},
	"object_newobj_ex": func(int) any {
		return &Object{Class: gNewObjEx, Construct: NewObjEx, Args: Tuple{int64(1)}, Kwargs: dict("y", int64(2)),
			State: dict("x", int64(1), "y", int64(2)), HasState: true}
	},
	"big_list": func(int) any { return intList(1000) },
	"persid": func(int) any {
		return list("before", Tuple{"ref", "blob-1"}, dict("k", Tuple{"ref", "blob-2"}))
	},
	"ext": func(int) any { return list(gPoint, gMake, gRef) },
	"oob": func(int) any { return list(ByteArray("abc"), []byte{0, 1, 2, 3}) },

	// Hand-assembled Python 2 style pickles, decoded with the default
	// Py2Bytes: Python 2 str is []byte.
	"py2_string":    func(int) any { return list([]byte("hello"), []byte("it's"), []byte("caf\xe9")) },
	"py2_binstring": func(int) any { return list([]byte("hello"), []byte(strings.Repeat("a", 260))) },
	"py2_unicode":   func(int) any { return "café ☃" },
	"py2_long_bool": func(int) any { return list(bigInt("12345678901234567890"), true, false, 1.5) },
	"py2_reconstructor": func(int) any {
		return &Object{Class: gPoint, Construct: Reconstructor, Args: Tuple{gObject2, nil},
			State: dict([]byte("y"), int64(2), []byte("x"), int64(1)), HasState: true}
	},
	"py2_newobj": func(int) any {
		return &Object{Class: gPoint, Construct: NewObj, Args: Tuple{},
			State: dict([]byte("y"), int64(2), []byte("x"), int64(1)), HasState: true}
	},
	"py2_builtin_set": func(int) any { return set(int64(1), int64(2)) },
	// INST and OBJ without arguments are cls.__new__(cls), as in Python.
	"inst": func(int) any {
		return &Object{Class: gPoint, Construct: NewObj, Args: Tuple{},
			State: dict([]byte("x"), int64(1), []byte("y"), int64(2)), HasState: true}
	},
	"obj": func(int) any {
		return &Object{Class: gPoint, Construct: NewObj, Args: Tuple{},
			State: dict([]byte("x"), int64(1), []byte("y"), int64(2)), HasState: true}
	},
	"dup": func(int) any {
		l := list(int64(1))
		return Tuple{l, l}
	},
	"big8": func(int) any { return Tuple{"héllo ☃", []byte{0, 1, 0xff}} },
}

// fixtureCheck holds extra checks of identity that Equal cannot see.
var fixtureCheck = map[string]func(t *testing.T, v any){
	"shared": func(t *testing.T, v any) {
		l := v.(*List)
		a, b := l.Items[0].(*List), l.Items[1].(*List)
		c, _ := l.Items[2].(*Dict).Get("x")
		if a != b || a != c.(*List) {
			t.Errorf("shared list is not one pointer: %p %p %p", a, b, c)
		}
	},
	"selfref": func(t *testing.T, v any) {
		l := v.(*List)
		if len(l.Items) != 1 || l.Items[0] != any(l) {
			t.Errorf("selfref does not contain itself")
		}
	},
	"recursive_tuple": func(t *testing.T, v any) {
		l := v.(Tuple)[0].(*List)
		if l.Items[0].(Tuple)[0] != any(l) {
			t.Errorf("recursive tuple: inner list is another pointer")
		}
	},
	"dup": func(t *testing.T, v any) {
		tu := v.(Tuple)
		if tu[0] != tu[1] {
			t.Errorf("DUP gave two lists")
		}
	},
}

// strictEqual is Equal plus identical Go types everywhere (Equal says
// 1 == 1.0 == True and b"" == bytearray(b""), as Python does), plus the
// same dict order.
func strictEqual(a, b any) bool {
	return Equal(a, b) && typeCmp{true, map[[2]any]bool{}}.same(a, b)
}

// typesEqual is strictEqual without the dict order.
func typesEqual(a, b any) bool {
	return Equal(a, b) && typeCmp{false, map[[2]any]bool{}}.same(a, b)
}

type typeCmp struct {
	ordered bool
	seen    map[[2]any]bool
}

func (c typeCmp) same(a, b any) bool {
	seen := c.seen
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	switch x := a.(type) {
	case Tuple:
		y := b.(Tuple)
		for i := range x {
			if !c.same(x[i], y[i]) {
				return false
			}
		}
	case *List:
		y := b.(*List)
		if seen[[2]any{x, y}] {
			return true
		}
		seen[[2]any{x, y}] = true
		for i := range x.Items {
			if !c.same(x.Items[i], y.Items[i]) {
				return false
			}
		}
	case *Dict:
		y := b.(*Dict)
		if seen[[2]any{x, y}] {
			return true
		}
		seen[[2]any{x, y}] = true
		if x.Class != y.Class {
			return false
		}
		xk, yk := x.Keys(), y.Keys()
		for i := range xk {
			if c.ordered {
				if !Equal(xk[i], yk[i]) || !c.same(xk[i], yk[i]) || !c.same(x.Values()[i], y.Values()[i]) {
					return false
				}
				continue
			}
			j := slices.IndexFunc(yk, func(k any) bool { return Equal(k, xk[i]) })
			if j < 0 || !c.same(xk[i], yk[j]) || !c.same(x.Values()[i], y.Values()[j]) {
				return false
			}
		}
	case *Set:
		y := b.(*Set)
		if x.Frozen != y.Frozen {
			return false
		}
		for _, xi := range x.Items() {
			if nk, err := hashKey(xi); err == nil {
				if i := y.t.find(nk); i >= 0 && c.same(xi, y.t.keys[i]) {
					continue
				}
			}
			found := false
			for _, yi := range y.Items() {
				if Equal(xi, yi) && c.same(xi, yi) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	case *Object:
		y := b.(*Object)
		if seen[[2]any{x, y}] {
			return true
		}
		seen[[2]any{x, y}] = true
		if !c.same(x.Args, y.Args) || !c.same(x.State, y.State) || !c.same(x.Callee, y.Callee) {
			return false
		}
		if x.Kwargs != nil && !c.same(x.Kwargs, y.Kwargs) {
			return false
		}
		for i := range x.ListItems {
			if !c.same(x.ListItems[i], y.ListItems[i]) {
				return false
			}
		}
		for i := range x.DictItems {
			if !c.same(x.DictItems[i].Key, y.DictItems[i].Key) || !c.same(x.DictItems[i].Value, y.DictItems[i].Value) {
				return false
			}
		}
	}
	return true
}

// TestFixtures decodes every fixture, from memory and from a reader, and
// compares it with its expected value.
func TestFixtures(t *testing.T) {
	names := fixtures(t)
	covered := map[string]bool{}
	for _, file := range names {
		name, proto := splitFixture(file)
		covered[name] = true
		t.Run(fmt.Sprintf("%s/p%d", name, proto), func(t *testing.T) {
			wantf, ok := fixtureWant[name]
			if !ok {
				t.Fatalf("no expected value for fixture %s: add one to fixtureWant", file)
			}
			want := wantf(proto)
			data := readFixture(t, file)
			for _, mode := range []string{"bytes", "reader"} {
				var d *Decoder
				if mode == "bytes" {
					d = NewDecoderBytes(data, fixtureOptions(t, name)...)
				} else {
					d = NewDecoder(&slowReader{b: data}, fixtureOptions(t, name)...)
				}
				got, err := d.Decode()
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				if !strictEqual(want, got) {
					t.Fatalf("%s:\n got %s\nwant %s", mode, show(got), show(want))
				}
				if check := fixtureCheck[name]; check != nil {
					check(t, got)
				}
				if p := d.Protocol(); proto >= 2 && p != proto {
					t.Errorf("%s: Protocol() = %d, want %d", mode, p, proto)
				}
				if off := d.Stream().Offset(); off != int64(len(data)) {
					t.Errorf("%s: stopped at %d of %d bytes", mode, off, len(data))
				}
			}
		})
	}
	for name := range fixtureWant {
		if !covered[name] {
			t.Errorf("fixture %s is expected but missing from %s", name, fixtureDir)
		}
	}
}

// slowReader hands out one byte per Read, the worst case for a buffering
// reader.
type slowReader struct {
	b   []byte
	off int
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[r.off]
	r.off++
	return 1, nil
}

// TestOpcodeCoverage checks, with testdata's opcodes.json, that every
// opcode of protocols 0 to 5 occurs in some fixture that decodes, and that
// the package's opcode table agrees with pickletools.
func TestOpcodeCoverage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixtureDir, "opcodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var oj struct {
		Opcodes []struct {
			Name  string
			Code  int
			Proto int
		}
		Files map[string][]string
	}
	if err := json.Unmarshal(raw, &oj); err != nil {
		t.Fatal(err)
	}
	if len(oj.Opcodes) != 68 {
		t.Errorf("opcodes.json lists %d opcodes, pickletools has 68", len(oj.Opcodes))
	}
	decoded := map[string]bool{}
	for file, ops := range oj.Files {
		name, _ := splitFixture(file)
		if _, err := NewDecoderBytes(readFixture(t, file), fixtureOptions(t, name)...).Decode(); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, op := range ops {
			decoded[op] = true
		}
	}
	known := 0
	for c := range 256 {
		if OpName(byte(c)) != "" {
			known++
		}
	}
	if known != len(oj.Opcodes) {
		t.Errorf("OpName knows %d opcodes, pickletools %d", known, len(oj.Opcodes))
	}
	for _, op := range oj.Opcodes {
		if got := OpName(byte(op.Code)); got != op.Name {
			t.Errorf("OpName(0x%02x) = %q, pickletools says %q", op.Code, got, op.Name)
		}
		if op.Proto <= HighestProtocol && !decoded[op.Name] {
			t.Errorf("opcode %s (protocol %d) occurs in no fixture that decodes", op.Name, op.Proto)
		}
	}
}

// TestPy2Strings decodes Python 2 str with each Py2Strings mode.
func TestPy2Strings(t *testing.T) {
	tests := []struct {
		file    string
		mode    Py2Strings
		want    any
		wantErr error
	}{
		{"py2_string_p0.pkl", Py2Bytes, list([]byte("hello"), []byte("it's"), []byte("caf\xe9")), nil},
		{"py2_string_p0.pkl", Py2Latin1, list("hello", "it's", "café"), nil},
		{"py2_string_p0.pkl", Py2ASCII, nil, ErrCorrupt},
		{"py2_binstring_p1.pkl", Py2Latin1, list("hello", strings.Repeat("a", 260)), nil},
		{"py2_binstring_p1.pkl", Py2ASCII, list("hello", strings.Repeat("a", 260)), nil},
		{"py2_newobj_p2.pkl", Py2Latin1, &Object{Class: gPoint, Construct: NewObj, Args: Tuple{},
			State: dict("y", int64(2), "x", int64(1)), HasState: true}, nil},
		{"py2_reconstructor_p0.pkl", Py2ASCII, &Object{Class: gPoint, Construct: Reconstructor, Args: Tuple{gObject2, nil},
			State: dict("y", int64(2), "x", int64(1)), HasState: true}, nil},
		// Python 3 text is not touched by the option.
		{"py2_unicode_p0.pkl", Py2ASCII, "café ☃", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/mode=%d", strings.TrimSuffix(tt.file, ".pkl"), tt.mode), func(t *testing.T) {
			got, err := NewDecoderBytes(readFixture(t, tt.file), WithPy2Strings(tt.mode)).Decode()
			if tt.wantErr != nil {
				var fe *FormatError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &fe) || fe.Op != "STRING" || fe.Offset <= 0 {
					t.Fatalf("err = %v, want %v from STRING at an offset", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strictEqual(tt.want, got) {
				t.Fatalf("got %s, want %s", show(got), show(tt.want))
			}
		})
	}
	if _, err := NewDecoderBytes([]byte("N."), WithPy2Strings(7)).Decode(); err == nil {
		t.Error("WithPy2Strings(7) accepted")
	}
}

// TestOutOfBand checks NEXT_BUFFER and READONLY_BUFFER with and without
// the buffers.
func TestOutOfBand(t *testing.T) {
	data := readFixture(t, "oob_p5.pkl")
	b0, b1 := readFixture(t, "oob_p5.buf0"), readFixture(t, "oob_p5.buf1")
	v, err := NewDecoderBytes(data, Buffers(b0, b1)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	items := v.(*List).Items
	ba, ok0 := items[0].(ByteArray)
	ro, ok1 := items[1].([]byte)
	if !ok0 || !ok1 {
		t.Fatalf("got %s: want a bytearray then read-only bytes", show(v))
	}
	// The buffers are not copied.
	if &ba[0] != &b0[0] || &ro[0] != &b1[0] {
		t.Error("out-of-band buffers were copied")
	}
	for _, opts := range [][]DecodeOption{nil, {Buffers(b0)}} {
		_, err := NewDecoderBytes(data, opts...).Decode()
		var fe *FormatError
		if !errors.Is(err, ErrUnsupported) || !errors.As(err, &fe) || fe.Op != "NEXT_BUFFER" {
			t.Errorf("with %d buffers: err = %v, want ErrUnsupported at NEXT_BUFFER", len(opts), err)
		}
	}
}

// TestPersistentLoad checks PERSID and BINPERSID with and without a hook.
func TestPersistentLoad(t *testing.T) {
	for p := range 6 {
		file := fmt.Sprintf("persid_p%d.pkl", p)
		data := readFixture(t, file)
		t.Run(fmt.Sprintf("p%d", p), func(t *testing.T) {
			var pids []any
			v, err := NewDecoderBytes(data, PersistentLoad(func(pid any) (any, error) {
				pids = append(pids, pid)
				return &Object{Class: gRef, Construct: Reduce, Args: Tuple{pid}}, nil
			})).Decode()
			if err != nil {
				t.Fatal(err)
			}
			if !strictEqual(Tuple(pids), Tuple{"blob-1", "blob-2"}) {
				t.Errorf("hook saw %s", show(Tuple(pids)))
			}
			want := list("before", &Object{Class: gRef, Args: Tuple{"blob-1"}},
				dict("k", &Object{Class: gRef, Args: Tuple{"blob-2"}}))
			if !strictEqual(want, v) {
				t.Errorf("got %s", show(v))
			}
			op := "BINPERSID"
			if p == 0 {
				op = "PERSID"
			}
			_, err = NewDecoderBytes(data).Decode()
			var fe *FormatError
			if !errors.Is(err, ErrUnsupported) || !errors.As(err, &fe) || fe.Op != op {
				t.Errorf("without hook: err = %v, want ErrUnsupported at %s", err, op)
			}
			boom := errors.New("boom")
			_, err = NewDecoderBytes(data, PersistentLoad(func(any) (any, error) { return nil, boom })).Decode()
			if !errors.Is(err, boom) || !errors.As(err, &fe) || fe.Op != op {
				t.Errorf("failing hook: err = %v, want boom at %s", err, op)
			}
		})
	}
}

// TestExtensions checks EXT1, EXT2 and EXT4 with and without a mapping.
func TestExtensions(t *testing.T) {
	for p := 2; p <= 5; p++ {
		data := readFixture(t, fmt.Sprintf("ext_p%d.pkl", p))
		t.Run(fmt.Sprintf("p%d", p), func(t *testing.T) {
			v, err := NewDecoderBytes(data, Extensions(fixtureExt)).Decode()
			if err != nil {
				t.Fatal(err)
			}
			if !strictEqual(list(gPoint, gMake, gRef), v) {
				t.Errorf("got %s", show(v))
			}
			_, err = NewDecoderBytes(data).Decode()
			var fe *FormatError
			if !errors.Is(err, ErrUnsupported) || !errors.As(err, &fe) || fe.Op != "EXT1" || !strings.Contains(err.Error(), "240") {
				t.Errorf("without mapping: err = %v, want ErrUnsupported at EXT1 naming code 240", err)
			}
			// Each width names its own code.
			_, err = NewDecoderBytes(data, Extensions(map[int32]Global{0xF0: gPoint})).Decode()
			if !errors.As(err, &fe) || fe.Op != "EXT2" || !strings.Contains(err.Error(), "4660") {
				t.Errorf("EXT2 unmapped: err = %v", err)
			}
			_, err = NewDecoderBytes(data, Extensions(map[int32]Global{0xF0: gPoint, 0x1234: gMake})).Decode()
			if !errors.As(err, &fe) || fe.Op != "EXT4" || !strings.Contains(err.Error(), "305419896") {
				t.Errorf("EXT4 unmapped: err = %v", err)
			}
			// Strict mode checks the globals extensions map to.
			_, err = NewDecoderBytes(data, Extensions(fixtureExt), Strict(true)).Decode()
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "fixturemod.Point") {
				t.Errorf("strict: err = %v, want ErrUnsafe naming fixturemod.Point", err)
			}
		})
	}
}

// pointValue is what the test registry makes of fixturemod.Point.
type pointValue struct{ X, Y any }

func (p *pointValue) Build(d *Decoder, state any) (any, error) {
	sd, ok := state.(*Dict)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "Point state is a %s", TypeName(state))
	}
	for k, v := range sd.All() {
		switch k := k.(type) {
		case string:
			if k == "x" {
				p.X = v
			} else if k == "y" {
				p.Y = v
			}
		case []byte:
			if string(k) == "x" {
				p.X = v
			} else if string(k) == "y" {
				p.Y = v
			}
		}
	}
	return p, nil
}

// TestConcurrentDecode decodes every fixture from many goroutines that
// share one Registry (run with -race).
func TestConcurrentDecode(t *testing.T) {
	r := NewRegistry()
	r.Register("fixturemod", "Point", Class{New: func(d *Decoder, args Tuple, kw *Dict) (any, error) {
		return &pointValue{}, nil
	}})
	r.Allow("fixturemod", "make")
	names := fixtures(t)
	datas := make([][]byte, len(names))
	for i, n := range names {
		datas[i] = readFixture(t, n)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				i := (i + g*7) % len(names)
				name, _ := splitFixture(names[i])
				v, err := NewDecoderBytes(datas[i], append(fixtureOptions(t, name), WithRegistry(r))...).Decode()
				if err != nil {
					errc <- fmt.Errorf("%s: %v", names[i], err)
					return
				}
				if strings.HasPrefix(name, "object") && name != "object" {
					continue
				}
				if name == "object" || name == "inst" || name == "obj" || strings.HasPrefix(name, "py2_newobj") || name == "py2_reconstructor" {
					p, ok := v.(*pointValue)
					if !ok || !Equal(p.X, int64(1)) || !Equal(p.Y, int64(2)) {
						errc <- fmt.Errorf("%s: got %s, want a registered Point(1, 2)", names[i], show(v))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}
