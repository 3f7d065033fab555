package pickle

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestDecodeNested decodes a pickle that a constructor finds spliced in
// the middle of another, as joblib writes object arrays.
func TestDecodeNested(t *testing.T) {
	inner := readFixture(t, "nested_p2.pkl")
	var outer bytes.Buffer
	enc := NewEncoder(&outer, Protocol(4), Hook(func(e *Encoder, v any) (bool, error) {
		if _, ok := v.(rawBlob); !ok {
			return false, nil
		}
		if err := e.Reduce(Global{"test", "nested"}, Tuple{}); err != nil {
			return true, err
		}
		return true, e.Raw(inner)
	}))
	if err := enc.Encode([]any{"a", rawBlob{}, "b"}); err != nil {
		t.Fatal(err)
	}
	r := NewRegistry()
	r.Register("test", "nested", Class{Call: func(d *Decoder, args Tuple) (any, error) {
		if d.Registry() != r || d.Py2Strings() != Py2Bytes {
			t.Error("constructor sees other options")
		}
		return d.DecodeNested()
	}})
	for _, mode := range []string{"bytes", "reader"} {
		var d *Decoder
		if mode == "bytes" {
			d = NewDecoderBytes(outer.Bytes(), WithRegistry(r))
		} else {
			d = NewDecoder(&slowReader{b: outer.Bytes()}, WithRegistry(r))
		}
		v, err := d.Decode()
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		want := list("a", fixtureWant["nested"](2), "b")
		if !strictEqual(want, v) {
			t.Fatalf("%s: got %s", mode, show(v))
		}
	}
	// A nested pickle that is missing is truncation.
	cut := outer.Bytes()[:bytes.Index(outer.Bytes(), inner)]
	_, err := NewDecoderBytes(cut, WithRegistry(r)).Decode()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("missing nested pickle: %v", err)
	}
}

type rawBlob struct{}

// TestRegistry checks Register, Allow, Clone and the Python 2 names.
func TestRegistry(t *testing.T) {
	r := NewRegistry()
	if _, ok := r.Lookup(Global{"__builtin__", "set"}); !ok {
		t.Error("__builtin__.set is not found under its Python 3 name")
	}
	c := r.Clone()
	c.Allow("fixturemod", "Point")
	c.Register("fixturemod", "make", Class{})
	if r.Known(gPoint) || r.Known(gMake) {
		t.Error("Clone shares its maps with the original")
	}
	if !c.Known(gPoint) || !c.Known(gMake) {
		t.Error("Allow or Register did not take")
	}
	c.Allow("builtins", "print")
	if !c.Known(Global{"__builtin__", "print"}) {
		t.Error("an allowed builtin is not known by its Python 2 name")
	}
}

// TestObjectState checks Attr and StateDict on the states Python writes.
func TestObjectState(t *testing.T) {
	for _, file := range []string{"object_p2.pkl", "object_slots_p4.pkl", "object_p0.pkl"} {
		v, err := NewDecoderBytes(readFixture(t, file)).Decode()
		if err != nil {
			t.Fatal(err)
		}
		o := v.(*Object)
		x, ok := o.Attr("x")
		if !ok || x != int64(1) {
			t.Errorf("%s: Attr(x) = %v, %v", file, x, ok)
		}
		if _, ok := o.Attr("z"); ok {
			t.Errorf("%s: Attr(z) found", file)
		}
		if sd := o.StateDict(); (sd == nil) != (file == "object_slots_p4.pkl") {
			t.Errorf("%s: StateDict = %s", file, show(sd))
		}
	}
}

// TestStream checks the Stream methods that constructors use.
func TestStream(t *testing.T) {
	data := []byte("0123456789")
	for _, s := range []*Stream{NewStreamBytes(data), NewStreamSize(bytes.NewReader(data), 10), NewStream(&slowReader{b: data})} {
		if err := s.Discard(3); err != nil {
			t.Fatal(err)
		}
		b, err := s.Next(2)
		if err != nil || string(b) != "34" || s.Offset() != 5 {
			t.Fatalf("Next: %q, %v at %d", b, err, s.Offset())
		}
		if rem := s.Remaining(); rem != 5 && rem != -1 {
			t.Errorf("Remaining = %d", rem)
		}
		p := make([]byte, 5)
		if err := s.ReadFull(p); err != nil || string(p) != "56789" {
			t.Fatalf("ReadFull: %q, %v", p, err)
		}
		if err := s.Discard(1); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Discard past the end: %v", err)
		}
		if NewStream(s) != s {
			t.Error("NewStream does not reuse a *Stream")
		}
	}
}

// TestDeepKey checks that a dict key or set item of tuples nested far
// too deep fails cleanly rather than exhausting the stack, and that a key
// sharing one tuple at every level cannot double its cost at each.
func TestDeepKey(t *testing.T) {
	deep := []byte{opPROTO, 2, opEMPTY_DICT, opNONE}
	deep = append(deep, bytes.Repeat([]byte{opTUPLE1}, 100_000)...)
	deep = append(deep, opNONE, opSETITEM, opSTOP)
	shared := []byte{opPROTO, 2, opEMPTY_DICT, opNONE}
	for range 60 {
		shared = append(shared, opDUP, opTUPLE2)
	}
	shared = append(shared, opNONE, opSETITEM, opSTOP)
	set := []byte{opPROTO, 4, opEMPTY_SET, opMARK, opNONE}
	set = append(set, bytes.Repeat([]byte{opTUPLE1}, 100_000)...)
	set = append(set, opADDITEMS, opSTOP)
	for name, data := range map[string][]byte{"deep": deep, "shared": shared, "set": set} {
		_, err := NewDecoderBytes(data).Decode()
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a *FormatError", name, err)
		}
	}
	// Reasonable nesting still works.
	ok := []byte{opPROTO, 2, opEMPTY_DICT, opNONE}
	ok = append(ok, bytes.Repeat([]byte{opTUPLE1}, 100)...)
	ok = append(ok, opNONE, opSETITEM, opSTOP)
	if _, err := NewDecoderBytes(ok).Decode(); err != nil {
		t.Errorf("key nested 100 deep: %v", err)
	}
}

// TestRegistryChanges checks that a decoder reading pickles one after
// another sees a constructor registered between them (it remembers its
// last lookup within one pickle only).
func TestRegistryChanges(t *testing.T) {
	one := []byte("\x80\x02c__main__\nX\nq\x00)R.")
	r := NewRegistry()
	d := NewDecoder(bytes.NewReader(append(append([]byte{}, one...), one...)), WithRegistry(r))
	v, err := d.Decode()
	if o, ok := v.(*Object); err != nil || !ok || o.Class != (Global{"__main__", "X"}) {
		t.Fatalf("first: %#v, %v", v, err)
	}
	r.Register("__main__", "X", Class{Call: func(d *Decoder, args Tuple) (any, error) { return "made", nil }})
	if v, err = d.Decode(); err != nil || v != "made" {
		t.Fatalf("second, after Register: %#v, %v", v, err)
	}
}
