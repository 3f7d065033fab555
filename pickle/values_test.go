package pickle

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"runtime"
	"testing"
)

// TestDictKeys checks Python's key equalities and that different keys
// never collide.
func TestDictKeys(t *testing.T) {
	same := [][2]any{
		{int64(1), true},
		{int64(1), 1.0},
		{int64(0), false},
		{int64(0), math.Copysign(0, -1)},
		{int64(7), big.NewInt(7)},
		{int64(7), 7},
		{2.0, complex(2, 0)},
		{new(big.Int).Lsh(big.NewInt(1), 80), math.Ldexp(1, 80)},
		{Tuple{int64(1), "a"}, Tuple{true, "a"}},
		{frozen(int64(1), int64(2)), frozen(2.0, true)},
		{Tuple{frozen("x", Tuple{})}, Tuple{frozen(Tuple{}, "x")}},
		{nil, nil},
		{gPoint, Global{"fixturemod", "Point"}},
	}
	for _, p := range same {
		d := dict(p[0], "first")
		if err := d.Set(p[1], "second"); err != nil {
			t.Fatal(err)
		}
		if d.Len() != 1 {
			t.Errorf("%s and %s are two keys, Python has one", show(p[0]), show(p[1]))
		}
		if v, ok := d.Get(p[1]); !ok || v != "second" {
			t.Errorf("Get(%s) = %v, %v", show(p[1]), v, ok)
		}
	}
	o1, o2 := &Object{Class: gPoint}, &Object{Class: gPoint}
	different := [][2]any{
		{"1", int64(1)},
		{"b", []byte("b")},
		{1.5, int64(1)},
		{Tuple{"a;string:b"}, Tuple{"a", "b"}},
		{Tuple{"a", ""}, Tuple{"a"}},
		{Tuple{Tuple{"a"}, "b"}, Tuple{Tuple{"a", "b"}}},
		{Tuple{[]byte("x")}, Tuple{"x"}},
		{frozen("a", "b"), frozen("a;b")},
		{frozen(), Tuple{}},
		{Tuple{nil}, Tuple{}},
		{o1, o2},
		{Tuple{o1}, Tuple{o2}},
		{Global{"a.b", "c"}, Global{"a", "b.c"}},
		{complex(1, 2), complex(2, 1)},
		{big.NewInt(math.MaxInt64), new(big.Int).Add(big.NewInt(math.MaxInt64), big.NewInt(1))},
	}
	for _, p := range different {
		d := dict(p[0], "first")
		if err := d.Set(p[1], "second"); err != nil {
			t.Fatal(err)
		}
		if d.Len() != 2 {
			t.Errorf("%s and %s collide as one key", show(p[0]), show(p[1]))
		}
	}
	// Many keys: the table switches to a map; lookups still agree.
	d := NewDict()
	for i := range 100 {
		if err := d.Set(Tuple{int64(i), "k"}, i); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok := d.Get(Tuple{50.0, "k"}); !ok || v != 50 || d.Len() != 100 {
		t.Errorf("after 100 keys: Get = %v, %v; Len = %d", v, ok, d.Len())
	}
	for _, k := range []any{list(), NewDict(), set(), ByteArray("x"), Tuple{list()}, []int{1}, frozen(Tuple{int64(1)})} {
		err := NewDict().Set(k, 1)
		if s, ok := k.(*Set); ok && s.Frozen {
			if err != nil {
				t.Errorf("frozenset key refused: %v", err)
			}
			continue
		}
		if err == nil {
			t.Errorf("unhashable %s accepted as a key", show(k))
		}
	}
}

// TestEqual checks Equal against Python's ==.
func TestEqual(t *testing.T) {
	self1 := list()
	self1.Items = append(self1.Items, self1)
	self2 := list()
	self2.Items = append(self2.Items, self2)
	eq := [][2]any{
		{int64(1), 1.0}, {true, int64(1)}, {[]byte("a"), ByteArray("a")}, {complex(1, 0), int64(1)},
		{dict("a", int64(1), "b", int64(2)), dict("b", int64(2), "a", int64(1))},
		{set(int64(1), int64(2)), frozen(int64(2), int64(1))},
		{self1, self2}, {nil, nil}, {"x", "x"},
		{big.NewInt(3), int64(3)}, {math.Inf(1), math.Inf(1)},
	}
	for _, p := range eq {
		if !Equal(p[0], p[1]) || !Equal(p[1], p[0]) {
			t.Errorf("%s != %s", show(p[0]), show(p[1]))
		}
	}
	ne := [][2]any{
		{int64(1), "1"}, {"a", []byte("a")}, {Tuple{int64(1)}, list(int64(1))}, {math.NaN(), math.NaN()},
		{1.5, int64(1)}, {nil, false}, {list(int64(1)), list(int64(1), int64(2))},
		{dict("a", int64(1)), dict("a", int64(2))}, {set(int64(1)), set(int64(2))},
		{&Object{Class: gPoint}, &Object{Class: gMake}},
		{&Object{Class: gPoint, State: int64(1), HasState: true}, &Object{Class: gPoint, State: int64(2), HasState: true}},
		{math.Inf(1), new(big.Int).Lsh(big.NewInt(1), 2000)},
	}
	for _, p := range ne {
		if Equal(p[0], p[1]) || Equal(p[1], p[0]) {
			t.Errorf("%s == %s", show(p[0]), show(p[1]))
		}
	}
}

// TestBoxes checks that the decoder's pooled int, float and str values
// behave exactly like ordinary ones.
func TestBoxes(t *testing.T) {
	if !boxesWork {
		t.Fatal("boxes fall back to ordinary conversions: the interface layout check failed")
	}
	var b boxes
	var got []any
	for i := range 2000 {
		got = append(got, b.int64(int64(i)*1000003), b.float64(float64(i)+0.5), b.string(fmt.Sprint("s", i)))
	}
	m := map[any]int{}
	for i := range 2000 {
		gi, gf, gs := got[3*i], got[3*i+1], got[3*i+2]
		if gi != any(int64(i)*1000003) || gf != any(float64(i)+0.5) || gs != any(fmt.Sprint("s", i)) {
			t.Fatalf("item %d: %v %v %v", i, gi, gf, gs)
		}
		if reflect.TypeOf(gi) != reflect.TypeOf(int64(0)) || reflect.ValueOf(gf).Float() != float64(i)+0.5 {
			t.Fatalf("item %d: reflect sees %T %v", i, gi, gf)
		}
		if fmt.Sprint(gi, gf, gs) != fmt.Sprint(int64(i)*1000003, float64(i)+0.5, fmt.Sprint("s", i)) {
			t.Fatalf("item %d prints as %v %v %v", i, gi, gf, gs)
		}
		m[gi]++
		m[gs]++
	}
	runtime.GC()
	for i := range 2000 {
		if m[int64(i)*1000003] != 1 || m[fmt.Sprint("s", i)] != 1 {
			t.Fatalf("map lookups fail for item %d", i)
		}
	}
	j, err := json.Marshal(got[:3])
	if err != nil || string(j) != `[0,0.5,"s0"]` {
		t.Fatalf("json: %s, %v", j, err)
	}
}

// TestSharedKeys checks that decoded dicts with the same keys, which share
// one slice of keys, stay independent when one of them changes.
func TestSharedKeys(t *testing.T) {
	v, err := NewDecoderBytes(mustEncode(dictsValue(3))).Decode()
	if err != nil {
		t.Fatal(err)
	}
	items := v.(*List).Items
	d0, d1, d2 := items[0].(*Dict), items[1].(*Dict), items[2].(*Dict)
	if &d0.Keys()[0] != &d1.Keys()[0] {
		t.Error("records do not share their keys")
	}
	if err := d0.Set("extra", int64(1)); err != nil {
		t.Fatal(err)
	}
	if err := d1.Set("id", int64(99)); err != nil {
		t.Fatal(err)
	}
	for i, d := range []*Dict{d1, d2} {
		if d.Len() != 4 {
			t.Errorf("dict %d has %d keys after dict 0 got a fifth", i+1, d.Len())
		}
	}
	if d0.Len() != 5 || !Equal(d0.Keys()[4], "extra") {
		t.Errorf("dict 0: keys %v", d0.Keys())
	}
	for i, want := range []int64{0, 99, 2} {
		if got, _ := items[i].(*Dict).Get("id"); !Equal(got, want) {
			t.Errorf("dict %d: id = %v, want %d", i, got, want)
		}
	}
}

// TestBoxedSlices checks that tuples and bytes the decoder boxes in
// blocks behave like ordinary ones.
func TestBoxedSlices(t *testing.T) {
	var b boxes
	var got []any
	for i := range 1000 {
		got = append(got, b.tuple(Tuple{int64(i), "x"}), b.bytes([]byte{byte(i)}), b.byteArray(ByteArray{byte(i), 1}))
	}
	runtime.GC()
	for i := range 1000 {
		tv, ok1 := got[3*i].(Tuple)
		bv, ok2 := got[3*i+1].([]byte)
		av, ok3 := got[3*i+2].(ByteArray)
		if !ok1 || !ok2 || !ok3 || !Equal(tv, Tuple{int64(i), "x"}) || !Equal(bv, []byte{byte(i)}) || !Equal(av, ByteArray{byte(i), 1}) {
			t.Fatalf("item %d: %#v %#v %#v", i, got[3*i], got[3*i+1], got[3*i+2])
		}
		if reflect.TypeOf(got[3*i+1]) != reflect.TypeOf([]byte(nil)) || reflect.TypeOf(got[3*i+2]) != reflect.TypeOf(ByteArray(nil)) {
			t.Fatalf("item %d: reflect sees %T %T", i, got[3*i+1], got[3*i+2])
		}
		if fmt.Sprint(got[3*i]) != fmt.Sprint(Tuple{int64(i), "x"}) {
			t.Fatalf("item %d prints as %v", i, got[3*i])
		}
	}
}
