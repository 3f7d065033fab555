package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzOptions are the decoding options of the fuzz targets: the fixtures'
// hooks, and a budget that keeps the fuzzer's memory small.
func fuzzOptions() []DecodeOption {
	return []DecodeOption{PersistentLoad(persistentRef), Extensions(fixtureExt), MaxBytes(64 << 20)}
}

func addFixtureSeeds(f *testing.F) {
	m, err := filepath.Glob(filepath.Join(fixtureDir, "*.pkl"))
	if err != nil || len(m) == 0 {
		f.Fatalf("no fixtures in %s", fixtureDir)
	}
	for _, p := range m {
		f.Add(readFixture(f, filepath.Base(p)))
	}
	for _, lie := range sizeLies() {
		f.Add(lie)
	}
	f.Add(nestedLists(50))
	f.Add(nestedTuples(50))
}

// FuzzDecode decodes arbitrary input from memory and from a reader. Both
// must agree, never panic, and fail only with a *FormatError. A value
// that decodes must encode again at protocol 4 and decode to an equal
// value.
func FuzzDecode(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := NewDecoderBytes(data, fuzzOptions()...).Decode()
		v2, err2 := NewDecoder(bytes.NewReader(data), fuzzOptions()...).Decode()
		if (err == nil) != (err2 == nil) {
			t.Fatalf("memory and reader disagree: %v / %v", err, err2)
		}
		if err != nil {
			var fe *FormatError
			// Empty input is the clean end of a stream of pickles.
			if !errors.As(err, &fe) && !(err == io.EOF && len(data) == 0) {
				t.Fatalf("err = %v (%T), want a *FormatError", err, err)
			}
			return
		}
		comparable := !hasNaN(v)
		if comparable && !strictEqual(v, v2) {
			t.Fatalf("memory and reader disagree:\n%s\n%s", show(v), show(v2))
		}
		var buf bytes.Buffer
		if err := NewEncoder(&buf).Encode(v); err != nil {
			// Only nesting deeper than the encoder allows is refused:
			// everything the decoder makes, the encoder writes.
			if errors.Is(err, ErrTooLarge) {
				return
			}
			t.Fatalf("decoded %s, but encoding fails: %v", show(v), err)
		}
		back, err := NewDecoderBytes(buf.Bytes(), fuzzOptions()...).Decode()
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", show(v), err)
		}
		v = renamePy2Globals(v, map[any]bool{})
		if comparable && !strictEqual(v, back) {
			t.Fatalf("round trip:\n got %s\nwant %s", show(back), show(v))
		}
	})
}

// hasNaN reports whether v holds a NaN, which is not equal to itself.
func hasNaN(v any) bool {
	found := false
	walk(v, map[any]bool{}, func(x any) {
		switch x := x.(type) {
		case float64:
			found = found || math.IsNaN(x)
		case complex128:
			found = found || math.IsNaN(real(x)) || math.IsNaN(imag(x))
		}
	})
	return found
}

// walk calls f on v and everything it holds, once per pointer.
func walk(v any, seen map[any]bool, f func(any)) {
	f(v)
	switch x := v.(type) {
	case Tuple:
		for _, e := range x {
			walk(e, seen, f)
		}
	case *List:
		if seen[x] {
			return
		}
		seen[x] = true
		for _, e := range x.Items {
			walk(e, seen, f)
		}
	case *Dict:
		if seen[x] {
			return
		}
		seen[x] = true
		for k, e := range x.All() {
			walk(k, seen, f)
			walk(e, seen, f)
		}
	case *Set:
		if seen[x] {
			return
		}
		seen[x] = true
		for _, e := range x.Items() {
			walk(e, seen, f)
		}
	case *Object:
		if seen[x] {
			return
		}
		seen[x] = true
		walk(x.Callee, seen, f)
		walk(x.Args, seen, f)
		if x.Kwargs != nil {
			walk(x.Kwargs, seen, f)
		}
		walk(x.State, seen, f)
		for _, e := range x.ListItems {
			walk(e, seen, f)
		}
		for _, it := range x.DictItems {
			walk(it.Key, seen, f)
			walk(it.Value, seen, f)
		}
	}
}

// renamePy2Globals renames the Python 2 modules of the globals in v to
// their Python 3 names, as the encoder writes them at protocol 3 and
// above.
func renamePy2Globals(v any, seen map[any]bool) any {
	ren := func(g Global) Global {
		if m, ok := py2Modules[g.Module]; ok {
			g.Module = m
		}
		return g
	}
	switch x := v.(type) {
	case Global:
		return ren(x)
	case Tuple:
		for i, e := range x {
			x[i] = renamePy2Globals(e, seen)
		}
	case *List:
		if !seen[x] {
			seen[x] = true
			for i, e := range x.Items {
				x.Items[i] = renamePy2Globals(e, seen)
			}
		}
	case *Dict:
		if !seen[x] {
			seen[x] = true
			items := x.Items()
			nd := &Dict{Class: ren(x.Class)}
			if x.Class == (Global{}) {
				nd.Class = Global{}
			}
			for _, it := range items {
				nd.Set(renamePy2Globals(it.Key, seen), renamePy2Globals(it.Value, seen))
			}
			*x = *nd
		}
	case *Set:
		if !seen[x] {
			seen[x] = true
			ns := &Set{Frozen: x.Frozen}
			for _, e := range x.Items() {
				ns.Add(renamePy2Globals(e, seen))
			}
			*x = *ns
		}
	case *Object:
		if !seen[x] {
			seen[x] = true
			x.Class = ren(x.Class)
			x.Callee = renamePy2Globals(x.Callee, seen)
			renamePy2Globals(x.Args, seen)
			if x.Kwargs != nil {
				renamePy2Globals(x.Kwargs, seen)
			}
			x.State = renamePy2Globals(x.State, seen)
			for i, e := range x.ListItems {
				x.ListItems[i] = renamePy2Globals(e, seen)
			}
			for i, it := range x.DictItems {
				x.DictItems[i] = DictItem{renamePy2Globals(it.Key, seen), renamePy2Globals(it.Value, seen)}
			}
		}
	}
	return v
}

// gen builds a value of the model from fuzz input.
type gen struct {
	b     []byte
	pool  []any // lists, dicts and objects made so far, for shared references
	depth int
}

func (g *gen) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *gen) take(n int) []byte {
	n = min(n, len(g.b))
	out := g.b[:n]
	g.b = g.b[n:]
	return out
}

func (g *gen) u64() uint64 {
	var buf [8]byte
	copy(buf[:], g.take(8))
	return binary.LittleEndian.Uint64(buf[:])
}

func (g *gen) float() float64 {
	f := math.Float64frombits(g.u64())
	if math.IsNaN(f) {
		return math.Inf(1)
	}
	return f
}

var genGlobals = []Global{{"mod", "A"}, {"pkg.sub", "B"}, {"mod", "f"}, {"x", "y.z"}}

func (g *gen) hashable() any {
	switch g.byte() % 9 {
	case 0:
		return nil
	case 1:
		return g.byte()&1 == 1
	case 2:
		return int64(g.u64())
	case 3:
		return g.bigInt()
	case 4:
		return g.float()
	case 5:
		return strings.ToValidUTF8(string(g.take(int(g.byte()%20))), "?")
	case 6:
		return bytes.Clone(g.take(int(g.byte() % 20)))
	case 7:
		n := int(g.byte() % 4)
		t := make(Tuple, n)
		for i := range t {
			t[i] = g.hashable()
		}
		return t
	default:
		s := &Set{Frozen: true}
		for range g.byte() % 4 {
			s.Add(g.hashable())
		}
		return s
	}
}

func (g *gen) bigInt() any {
	b := new(big.Int).SetBytes(g.take(int(g.byte() % 40)))
	if g.byte()&1 == 1 {
		b.Neg(b)
	}
	return normInt(b)
}

func (g *gen) value() any {
	if len(g.b) == 0 || g.depth > 20 {
		return g.hashable()
	}
	g.depth++
	defer func() { g.depth-- }()
	switch g.byte() % 16 {
	case 0, 1, 2:
		return g.hashable()
	case 3:
		return complex(g.float(), g.float())
	case 4:
		return ByteArray(bytes.Clone(g.take(int(g.byte()))))
	case 5:
		n := int(g.byte() % 5)
		t := make(Tuple, n)
		for i := range t {
			t[i] = g.value()
		}
		return t
	case 6, 7:
		l := &List{}
		g.pool = append(g.pool, l)
		for range g.byte() % 6 {
			l.Items = append(l.Items, g.value())
		}
		if g.byte()%8 == 0 {
			l.Items = append(l.Items, l)
		}
		return l
	case 8, 9:
		d := &Dict{}
		if g.byte()%4 == 0 {
			d.Class = orderedDict
		}
		g.pool = append(g.pool, d)
		for range g.byte() % 6 {
			d.Set(g.hashable(), g.value())
		}
		return d
	case 10:
		s := &Set{}
		for range g.byte() % 6 {
			s.Add(g.hashable())
		}
		return s
	case 11:
		return genGlobals[int(g.byte())%len(genGlobals)]
	case 12:
		// Python cannot pickle an object among its own arguments: the
		// object joins the pool only once they are made.
		o := &Object{Class: genGlobals[int(g.byte())%len(genGlobals)], Construct: Construct(g.byte() % 4), Args: Tuple{}}
		switch o.Construct {
		case Reconstructor:
			o.Args = Tuple{genGlobals[0], g.value()}
		case NewObjEx:
			o.Args = Tuple{g.value()}
			o.Kwargs = &Dict{}
			o.Kwargs.Set("k", g.value())
		default:
			o.Args = Tuple{g.value()}
		}
		g.pool = append(g.pool, o)
		if g.byte()&1 == 1 {
			o.State, o.HasState = g.value(), true
		}
		if g.byte()&1 == 1 {
			o.ListItems = []any{g.value()}
		}
		if g.byte()&1 == 1 {
			o.DictItems = []DictItem{{g.hashable(), g.value()}}
		}
		return o
	case 13:
		callee := &Object{Class: genGlobals[0], Construct: Reduce, Args: Tuple{}}
		return &Object{Callee: callee, Construct: Reduce, Args: Tuple{g.value()}}
	default:
		if len(g.pool) == 0 {
			return nil
		}
		return g.pool[int(g.byte())%len(g.pool)]
	}
}

// FuzzRoundTrip builds a value of the model from the input and checks
// decode(encode(v)) == v at protocols 2 to 5.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x06\x05\x08\x01\x02\x03\x0c\x00\x03\x01\x0f\x00"))
	f.Add(bytes.Repeat([]byte{6, 3, 12, 1, 9, 2, 5, 7, 1}, 20))
	for _, file := range []string{"nested_p4.pkl", "dict_keys_p2.pkl", "object_newobj_ex_p5.pkl"} {
		f.Add(readFixture(f, file))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v := (&gen{b: data}).value()
		for p := 2; p <= 5; p++ {
			var buf bytes.Buffer
			if err := NewEncoder(&buf, Protocol(p)).Encode(v); err != nil {
				t.Fatalf("p%d: encoding %s: %v", p, show(v), err)
			}
			got, err := NewDecoderBytes(buf.Bytes()).Decode()
			if err != nil {
				t.Fatalf("p%d: decoding %s: %v", p, show(v), err)
			}
			if !strictEqual(v, got) {
				t.Fatalf("p%d:\n got %s\nwant %s", p, show(got), show(v))
			}
		}
	})
}
