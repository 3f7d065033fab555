package ndarray

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/pickle"
)

// isInputError reports whether err is one of the errors bad input may
// give.
func isInputError(err error) bool {
	var fe *FormatError
	return errors.As(err, &fe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrTooLarge) ||
		errors.Is(err, ErrUnsupported) || errors.Is(err, ErrType)
}

func addFiles(f *testing.F, pattern string, maxSize int) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, pattern))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) <= maxSize {
			f.Add(b)
		}
	}
}

// exercise calls the read-only methods of an array, which must not panic
// on anything a decoder accepted.
func exercise(t *testing.T, a *Array) {
	if err := a.Validate(); err != nil {
		t.Fatalf("decoder returned an invalid array: %v", err)
	}
	_, _ = json.Marshal(a.DType)
	_ = a.DType.String() + a.DType.Name()
	if a.Size() > 0 {
		idx := make([]int, len(a.Shape))
		_ = a.At(idx...)
		for i := range idx {
			idx[i] = a.Shape[i] - 1
		}
		_ = a.At(idx...)
	}
	if a.DType.kind != KindObject {
		if _, err := a.ContiguousBytes(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ToNative(); err != nil && !errors.Is(err, ErrUnsupported) {
			t.Fatal(err)
		}
	}
	_, _ = a.Dense()
	_, _ = a.Float64s()
}

func FuzzNpy(f *testing.F) {
	addFiles(f, "*.npy", 4096)
	f.Add(npyWith(1, "{'descr': [('a', '<i2', (2,)), (('t', 'b'), '>U1')], 'fortran_order': True, 'shape': (2, 1), }", make([]byte, 16)))
	f.Add(npyWith(2, "{'descr': '|O', 'fortran_order': False, 'shape': (), }", []byte("\x80\x03N.")))
	f.Add(npyWith(3, "{'descr': '>M8[3ms]', 'fortran_order': False, 'shape': (0, 2), }", nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadNpy(bytes.NewReader(data))
		if err != nil {
			if !isInputError(err) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		exercise(t, a)
		var buf bytes.Buffer
		if err := WriteNpy(&buf, a); err != nil {
			if a.DType.kind == KindObject {
				return // objects Python can read but Go cannot write back
			}
			t.Fatalf("WriteNpy of a read array: %v", err)
		}
		b, err := ReadNpy(&buf)
		if err != nil {
			t.Fatalf("reading our own .npy: %v", err)
		}
		if !b.PyEqual(a) {
			t.Fatalf("round trip differs: %v != %v", b, a)
		}
	})
}

// checkPickled re-encodes a decoded numpy value at every protocol and
// checks it decodes back equal.
func checkPickled(t *testing.T, v any) {
	switch x := v.(type) {
	case *DType:
		_ = x.String() + x.Name()
		if d, err := x.Descr(); err == nil {
			j, err := json.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			var back DType
			if err := json.Unmarshal(j, &back); err != nil {
				t.Fatalf("descr %s of %s does not parse back: %v", j, x, err)
			}
			var sb strings.Builder
			if err := pyRepr(&sb, d); err != nil {
				t.Fatal(err)
			}
		}
	case *Array:
		exercise(t, x)
	case *Scalar:
		_ = x.Value()
	default:
		return
	}
	for p := 2; p <= 5; p++ {
		var buf bytes.Buffer
		if err := pickle.NewEncoder(&buf, pickle.Protocol(p)).Encode(v); err != nil {
			if _, ok := v.(*Array); ok && v.(*Array).DType.kind == KindObject {
				return
			}
			t.Fatalf("encode %v at protocol %d: %v", v, p, err)
		}
		back, err := decodeNumpy(buf.Bytes())
		if err != nil {
			t.Fatalf("decode our own protocol %d pickle of %v: %v", p, v, err)
		}
		if !pickle.Equal(back, v) {
			t.Fatalf("protocol %d round trip of %v gave %v", p, v, back)
		}
		if d, ok := v.(*DType); ok && (back.(*DType).Flags() != d.Flags() || back.(*DType).String() != d.String()) {
			t.Fatalf("protocol %d round trip of %s changed flags or str", p, d)
		}
	}
}

func fuzzPickle(t *testing.T, data []byte) {
	v, err := decodeNumpy(data, pickle.MaxBytes(1<<24))
	if err != nil {
		return
	}
	checkPickled(t, v)
	if l, ok := v.(*pickle.List); ok {
		for _, it := range l.Items {
			checkPickled(t, it)
		}
	}
}

// FuzzDTypeState fuzzes the dtype state parser through numpy's dtype
// pickles.
func FuzzDTypeState(f *testing.F) {
	addFiles(f, "dtype_*.pkl", 4096)
	for _, s := range []string{"<f8", ">M8[3ms]", "U5", "|S3", "O", "V7", ">c32"} {
		for p := 2; p <= 5; p++ {
			var buf bytes.Buffer
			_ = pickle.NewEncoder(&buf, pickle.Protocol(p)).Encode(MustParseDType(s))
			f.Add(buf.Bytes())
		}
	}
	st, _ := PackStruct([]Field{{Name: "a", Title: "T", Type: Int8}, {Name: "b", Type: must(NewSubarray(MustParseDType(">f8"), 2))}}, true)
	var buf bytes.Buffer
	_ = pickle.NewEncoder(&buf, pickle.Protocol(2)).Encode(st)
	f.Add(buf.Bytes())
	f.Fuzz(fuzzPickle)
}

// FuzzNumpyPickle fuzzes numpy's array and scalar pickles.
func FuzzNumpyPickle(f *testing.F) {
	addFiles(f, "*_p[2-5].pkl", 2048)
	f.Fuzz(fuzzPickle)
}

// FuzzParseDescr fuzzes the header literal parser and descr_to_dtype.
func FuzzParseDescr(f *testing.F) {
	for _, s := range []string{
		"'<f8'", "[('a', '<i4'), ('b', '>f8', (2,))]", "[(('T', 'a'), '|S3'), ('', '|V4')]",
		"('<u2', (2, 3))", "[('x', [('y', '<M8[ns]')], (2,))]", "{'descr': '<f8', 'shape': (3L,), }",
		`"\x41\u00e9\U0001f600\n"`, "u'abc'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseLiteral(s, 0)
		if err != nil {
			return
		}
		var sb strings.Builder
		if pyRepr(&sb, v) == nil {
			if w, err := parseLiteral(sb.String(), 0); err != nil || !pickle.Equal(w, v) {
				t.Fatalf("repr %q of %q does not parse back: %v", sb.String(), s, err)
			}
		}
		dt, err := ParseDescr(v)
		if err != nil {
			return
		}
		d, err := dt.Descr()
		if err != nil {
			t.Fatalf("descr of %s: %v", dt, err)
		}
		sb.Reset()
		if err := pyRepr(&sb, d); err != nil {
			t.Fatal(err)
		}
		w, err := parseLiteral(sb.String(), 0)
		if err != nil {
			t.Fatalf("repr %q does not parse: %v", sb.String(), err)
		}
		back, err := ParseDescr(w)
		if err != nil || !back.Equal(dt) {
			t.Fatalf("descr %q of %s parses back as %v (%v)", sb.String(), dt, back, err)
		}
	})
}
