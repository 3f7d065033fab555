package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// reencodeDiffers lists the fixture families whose bytes Go does not
// reproduce, and why.
var reencodeDiffers = map[string]string{
	"big8":            "hand-made: BINUNICODE8 and BINBYTES8 for small values",
	"dup":             "hand-made: DUP",
	"py2_newobj":      "hand-made: Python 2 str keys",
	"ext":             "the encoder writes globals, not extension codes",
	"oob":             "the encoder writes buffers in band",
	"persid":          "the encoder has no persistent ids",
	"recursive_tuple": "Python pops a tuple it finds memoized while saving it",
}

// TestReencodeIdentical decodes each fixture Python wrote at protocols 2
// to 5 and encodes it again at the same protocol: the bytes must be
// Python's, frames and memo included.
func TestReencodeIdentical(t *testing.T) {
	n := 0
	for _, file := range fixtures(t) {
		name, p := splitFixture(file)
		if p < 2 || reencodeDiffers[name] != "" {
			continue
		}
		n++
		t.Run(fmt.Sprintf("%s/p%d", name, p), func(t *testing.T) {
			data := readFixture(t, file)
			v, err := NewDecoderBytes(data, fixtureOptions(t, name)...).Decode()
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := NewEncoder(&buf, Protocol(p)).Encode(v); err != nil {
				t.Fatal(err)
			}
			if got := buf.Bytes(); !bytes.Equal(got, data) {
				i := 0
				for i < len(got) && i < len(data) && got[i] == data[i] {
					i++
				}
				t.Fatalf("bytes differ from Python's at offset %d of %d/%d:\n got %q\nwant %q", i, len(got), len(data),
					got[i:min(len(got), i+40)], data[i:min(len(data), i+40)])
			}
		})
	}
	if n < 150 {
		t.Errorf("only %d fixtures compared", n)
	}
}

// TestEncodeRoundTrip encodes values of the model at every protocol and
// decodes them back equal, with identity kept.
func TestEncodeRoundTrip(t *testing.T) {
	shared := list(int64(1))
	self := list()
	self.Items = append(self.Items, self, shared, shared)
	obj := &Object{Class: gPoint, Construct: NewObjEx, Args: Tuple{int64(1)}, Kwargs: dict("y", int64(2)),
		State: dict("x", int64(1)), HasState: true, ListItems: []any{"l"}, DictItems: []DictItem{{"k", "v"}}}
	rec := &Object{Class: gPoint, Construct: Reconstructor, Args: Tuple{Global{"builtins", "object"}, nil},
		State: Tuple{nil, dict("s", int64(1))}, HasState: true}
	callee := &Object{Callee: &Object{Class: Global{"functools", "partial"}, Construct: Reduce, Args: Tuple{gMake}}, Args: Tuple{int64(3)}}
	big := strings.Repeat("é", 50000)
	values := map[string]any{
		"self":      self,
		"newobj_ex": list(obj, obj),
		"reconstr":  rec,
		"callee":    callee,
		"big_str":   list(big, big, []byte(big), ByteArray(big)),
		"keys":      dict(Tuple{int64(1), frozen("a")}, int64(1), nil, 2.5, []byte("k"), Global{"a", "b"}),
		"nums":      Tuple{int64(math.MinInt64), bigInt("-99999999999999999999999"), math.Inf(-1), complex(0, -1), true},
	}
	for name, v := range values {
		for p := 2; p <= 5; p++ {
			t.Run(fmt.Sprintf("%s/p%d", name, p), func(t *testing.T) {
				var buf bytes.Buffer
				if err := NewEncoder(&buf, Protocol(p)).Encode(v); err != nil {
					t.Fatal(err)
				}
				got, err := NewDecoder(bytes.NewReader(buf.Bytes())).Decode()
				if err != nil {
					t.Fatal(err)
				}
				if name == "reconstr" && p < 3 {
					// builtins.object is written by its Python 2 name.
					got.(*Object).Args[0] = Global{"builtins", "object"}
				}
				if !strictEqual(v, got) {
					t.Fatalf("got %s\nwant %s", show(got), show(v))
				}
				switch name {
				case "self":
					l := got.(*List)
					if l.Items[0] != any(l) || l.Items[1] != l.Items[2] {
						t.Error("identity lost")
					}
				case "newobj_ex":
					if l := got.(*List); l.Items[0] != l.Items[1] {
						t.Error("identity lost")
					}
				}
			})
		}
	}
}

// TestFrames checks that protocol 4 output is framed like Python's: frames
// of about 64 KiB, and large payloads outside them.
func TestFrames(t *testing.T) {
	l := list()
	for i := range 50000 {
		l.Items = append(l.Items, fmt.Sprintf("item %d", i))
	}
	l.Items = append(l.Items, bytes.Repeat([]byte("B"), 200000))
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(l); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if b[0] != opPROTO || b[1] != 4 || b[2] != opFRAME {
		t.Fatalf("starts %q", b[:3])
	}
	// Walk the frames: each is followed by another FRAME, by the large
	// BINBYTES header and payload, or by the end.
	off, frames := 2, 0
	for off < len(b) && b[off] == opFRAME {
		n := int(binary.LittleEndian.Uint64(b[off+1:]))
		if n > frameTarget+1024 {
			t.Errorf("frame at %d holds %d bytes", off, n)
		}
		frames++
		off += 9 + n
		if off < len(b) && b[off] == opBINBYTES {
			off += 5 + 200000
		}
	}
	// Python leaves fewer than 4 bytes at the end unframed.
	if len(b)-off >= 4 || frames < 5 {
		t.Errorf("frames end at %d of %d after %d frames", off, len(b), frames)
	}
	got, err := NewDecoder(&slowReader{b: b}).Decode()
	if err != nil || !strictEqual(l, got) {
		t.Fatalf("decode: %v", err)
	}
}

// spliced writes itself as a REDUCE of fixturemod.make followed, outside
// the pickle's frames, by raw bytes: the joblib pattern.
type spliced struct{ data []byte }

func (s *spliced) PickleTo(e *Encoder) error {
	if err := e.Reduce(gMake, Tuple{int64(len(s.data))}); err != nil {
		return err
	}
	return e.Raw(s.data)
}

// TestRaw writes raw bytes in the middle of a pickle with Encoder.Raw and
// reads them back through Decoder.Stream from a registered constructor.
func TestRaw(t *testing.T) {
	payload := bytes.Repeat([]byte{0xAB, 0xCD}, 100000)
	v := list("before", &spliced{payload}, "after", &spliced{[]byte("xyz")})
	r := NewRegistry()
	r.Register("fixturemod", "make", Class{Call: func(d *Decoder, args Tuple) (any, error) {
		n := args[0].(int64)
		if err := d.Reserve(n, n); err != nil {
			return nil, err
		}
		out := make([]byte, n)
		if err := d.Stream().ReadFull(out); err != nil {
			return nil, d.Errorf(err, "spliced data")
		}
		return out, nil
	}})
	for p := 2; p <= 5; p++ {
		var buf bytes.Buffer
		if err := NewEncoder(&buf, Protocol(p)).Encode(v); err != nil {
			t.Fatal(err)
		}
		want := list("before", payload, "after", []byte("xyz"))
		for _, mode := range []string{"bytes", "reader"} {
			var d *Decoder
			if mode == "bytes" {
				d = NewDecoderBytes(buf.Bytes(), WithRegistry(r))
			} else {
				d = NewDecoder(io.MultiReader(bytes.NewReader(buf.Bytes())), WithRegistry(r))
			}
			got, err := d.Decode()
			if err != nil {
				t.Fatalf("p%d %s: %v", p, mode, err)
			}
			if !strictEqual(want, got) {
				t.Fatalf("p%d %s: got %s", p, mode, show(got))
			}
		}
	}
}

type celsius float64

// TestHook checks the Hook option and the Pickler interface.
func TestHook(t *testing.T) {
	hook := Hook(func(e *Encoder, v any) (bool, error) {
		c, ok := v.(celsius)
		if !ok {
			return false, nil
		}
		return true, e.Reduce(Global{"units", "celsius"}, Tuple{float64(c)})
	})
	var buf bytes.Buffer
	if err := NewEncoder(&buf, hook).Encode([]any{celsius(21.5), 3}); err != nil {
		t.Fatal(err)
	}
	got, err := NewDecoderBytes(buf.Bytes()).Decode()
	want := list(&Object{Class: Global{"units", "celsius"}, Args: Tuple{21.5}}, int64(3))
	if err != nil || !strictEqual(want, got) {
		t.Fatalf("got %s, %v", show(got), err)
	}
	boom := errors.New("boom")
	err = NewEncoder(io.Discard, Hook(func(*Encoder, any) (bool, error) { return false, boom })).Encode(celsius(1))
	if !errors.Is(err, boom) {
		t.Errorf("hook error: %v", err)
	}
	// Without the hook, a named float is a float.
	buf.Reset()
	if err := NewEncoder(&buf).Encode(celsius(2)); err != nil {
		t.Fatal(err)
	}
	if got, _ := NewDecoderBytes(buf.Bytes()).Decode(); got != 2.0 {
		t.Errorf("celsius without hook: %s", show(got))
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

// TestEncodeErrors checks what the encoder refuses.
func TestEncodeErrors(t *testing.T) {
	deep := list()
	for range 100 {
		deep = list(deep)
	}
	tests := []struct {
		name string
		v    any
		opts []EncodeOption
		want error
	}{
		{"bad_utf8", "a\xffb", nil, nil},
		{"bad_utf8_key", map[string]int{"\xff": 1}, nil, nil},
		{"chan", make(chan int), nil, ErrUnsupported},
		{"func", func() {}, nil, ErrUnsupported},
		{"struct_key", map[struct{ A int }]int{{1}: 1}, nil, ErrUnsupported},
		{"slice_key", map[any]int{&sample{}: 1}, nil, ErrUnsupported},
		{"list_key", map[any]int{[2]any{list(), 1}: 1}, nil, nil},
		{"depth", deep, []EncodeOption{MaxEncodeDepth(50)}, ErrTooLarge},
		{"self_struct", func() any { type node struct{ Next any }; n := &node{}; n.Next = n; return n }(), nil, ErrTooLarge},
		{"global_newline", Global{"a\nb", "c"}, []EncodeOption{Protocol(2)}, nil},
		{"bad_construct", &Object{Class: gPoint, Construct: 9}, nil, nil},
		{"protocol", nil, []EncodeOption{Protocol(1)}, nil},
		{"protocol6", nil, []EncodeOption{Protocol(6)}, nil},
		{"tag", nil, []EncodeOption{StructTag("")}, nil},
		{"encdepth", nil, []EncodeOption{MaxEncodeDepth(0)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewEncoder(io.Discard, tt.opts...).Encode(tt.v)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A failing writer stops the encoder, at every point.
	data := readFixture(t, "big_list_p4.pkl")
	v, _ := NewDecoderBytes(data).Decode()
	for _, n := range []int{0, 1, 2, 10, 100, len(data) - 1} {
		if err := NewEncoder(&failWriter{n}).Encode(v); err == nil {
			t.Errorf("writer failing after %d bytes: no error", n)
		}
	}
}
