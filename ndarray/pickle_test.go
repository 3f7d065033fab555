package ndarray

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/pickle"
)

// writer is a Pickler made of a function, for crafting hostile pickles.
type writer func(e *pickle.Encoder) error

func (w writer) PickleTo(e *pickle.Encoder) error { return w(e) }

// craft returns the pickle that f writes, at protocol 4.
func craft(t *testing.T, f writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := pickle.NewEncoder(&buf, pickle.Protocol(4)).Encode(f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeNumpy(b []byte, opts ...pickle.DecodeOption) (any, error) {
	opts = append([]pickle.DecodeOption{pickle.WithRegistry(NewRegistry())}, opts...)
	return pickle.NewDecoderBytes(b, opts...).Decode()
}

// dtypeWith writes numpy.dtype(typestr, False, True) with a BUILD state.
func dtypeWith(typestr any, state func(self any) pickle.Tuple) writer {
	var w writer
	w = func(e *pickle.Encoder) error {
		if err := e.Reduce(dtypeGlobal, pickle.Tuple{typestr, false, true}); err != nil {
			return err
		}
		e.Memoize(&w)
		return e.Build(state(&w))
	}
	return w
}

func TestHostileDTypeStates(t *testing.T) {
	f8 := func() any { return Float64 }
	fields := func(name string, typ any, off int64) *pickle.Dict {
		d := pickle.NewDict()
		_ = d.Set(name, pickle.Tuple{typ, off})
		return d
	}
	tests := []struct {
		name    string
		typestr any
		state   func(self any) pickle.Tuple
		kind    error
	}{
		{"self reference", "V8", func(self any) pickle.Tuple {
			return pickle.Tuple{int64(3), "|", nil, pickle.Tuple{"a"}, fields("a", self, 0), int64(8), int64(1), int64(16)}
		}, ErrCorrupt},
		{"field past the item", "V8", func(any) pickle.Tuple {
			return pickle.Tuple{int64(3), "|", nil, pickle.Tuple{"a"}, fields("a", f8(), 4), int64(8), int64(1), int64(16)}
		}, ErrCorrupt},
		{"missing field", "V8", func(any) pickle.Tuple {
			return pickle.Tuple{int64(3), "|", nil, pickle.Tuple{"b"}, fields("a", f8(), 0), int64(8), int64(1), int64(16)}
		}, ErrCorrupt},
		{"fields on f8", "f8", func(any) pickle.Tuple {
			return pickle.Tuple{int64(3), "<", nil, pickle.Tuple{"a"}, fields("a", f8(), 0), int64(8), int64(1), int64(16)}
		}, ErrCorrupt},
		{"flags out of range", "f8", func(any) pickle.Tuple {
			return pickle.Tuple{int64(3), "<", nil, nil, nil, int64(-1), int64(-1), int64(300)}
		}, ErrCorrupt},
		{"version 9", "f8", func(any) pickle.Tuple {
			return pickle.Tuple{int64(9), "<", nil, nil, nil, int64(-1), int64(-1), int64(0)}
		}, ErrUnsupported},
		{"short state", "f8", func(any) pickle.Tuple { return pickle.Tuple{int64(3), "<"} }, ErrUnsupported},
		{"bad byte order", "f8", func(any) pickle.Tuple {
			return pickle.Tuple{int64(3), "!", nil, nil, nil, int64(-1), int64(-1), int64(0)}
		}, ErrCorrupt},
		{"subarray size", "V16", func(any) pickle.Tuple {
			return pickle.Tuple{int64(3), "|", pickle.Tuple{f8(), pickle.Tuple{int64(3)}}, nil, nil, int64(16), int64(8), int64(0)}
		}, ErrCorrupt},
		{"datetime denominator", "M8", func(any) pickle.Tuple {
			return pickle.Tuple{int64(4), "<", nil, nil, nil, int64(-1), int64(-1), int64(0),
				pickle.Tuple{pickle.NewDict(), pickle.Tuple{[]byte("s"), int64(1), int64(2), int64(1)}}}
		}, ErrUnsupported},
		{"datetime unit", "M8", func(any) pickle.Tuple {
			return pickle.Tuple{int64(4), "<", nil, nil, nil, int64(-1), int64(-1), int64(0),
				pickle.Tuple{pickle.NewDict(), pickle.Tuple{[]byte("fortnight"), int64(1), int64(1), int64(1)}}}
		}, ErrCorrupt},
		{"U elsize", "U0", func(any) pickle.Tuple {
			return pickle.Tuple{int64(3), "<", nil, nil, nil, int64(7), int64(4), int64(8)}
		}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeNumpy(craft(t, dtypeWith(tt.typestr, tt.state)))
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v, want %v", err, tt.kind)
			}
		})
	}

	// numpy 2 writes the aligned-struct flag unsigned.
	v, err := decodeNumpy(craft(t, dtypeWith("V8", func(any) pickle.Tuple {
		return pickle.Tuple{int64(3), "|", nil, pickle.Tuple{"a"}, fields("a", f8(), 0), int64(8), int64(8), int64(144)}
	})))
	if err != nil {
		t.Fatal(err)
	}
	if d := v.(*DType); !d.IsAlignedStruct() || d.Flags() != 0x90 {
		t.Errorf("unsigned flags: aligned %v flags %#x", d.IsAlignedStruct(), d.Flags())
	}
}

func TestBuildOnlyOnce(t *testing.T) {
	d := pickle.NewDecoderBytes(nil)
	st := pickle.Tuple{int64(3), ">", nil, nil, nil, int64(-1), int64(-1), int64(0)}
	if _, err := Float64.Build(d, st); err == nil || Float64.String() != "<f8" {
		t.Errorf("BUILD changed the shared Float64 dtype: %v", err)
	}
	a, _ := New(Float64, []int{1}, OrderC)
	if _, err := a.Build(d, pickle.Tuple{int64(1), pickle.Tuple{}, Float64, false, make([]byte, 8)}); err == nil {
		t.Errorf("BUILD of a finished array accepted")
	}
}

// reconstructed returns a fresh array from _reconstruct, waiting for its
// state.
func reconstructed(t *testing.T, cls string) *Array {
	t.Helper()
	v, err := callReconstruct(pickle.NewDecoderBytes(nil), pickle.Tuple{pickle.Global{Module: "numpy", Name: cls}, pickle.Tuple{int64(0)}, []byte("b")})
	if err != nil {
		t.Fatal(err)
	}
	return v.(*Array)
}

func TestArrayStates(t *testing.T) {
	d := pickle.NewDecoderBytes(nil)
	i2 := MustParseDType("<i2")
	tests := []struct {
		name  string
		state pickle.Tuple
		kind  error
		check func(a *Array) bool
	}{
		{"version 1", pickle.Tuple{int64(1), pickle.Tuple{int64(2)}, i2, false, []byte{1, 0, 2, 0}}, nil,
			func(a *Array) bool { return a.At(1) == int16(2) }},
		{"version 0", pickle.Tuple{pickle.Tuple{int64(2)}, i2, int64(0), []byte{1, 0, 2, 0}}, nil,
			func(a *Array) bool { return a.At(0) == int16(1) }},
		{"python 2 latin-1 text", pickle.Tuple{int64(1), pickle.Tuple{int64(2)}, i2, false, "\u00e9\u00ff\x00\x01"}, nil,
			func(a *Array) bool { return bytes.Equal(a.Data, []byte{0xe9, 0xff, 0, 1}) }},
		{"bytearray", pickle.Tuple{int64(1), pickle.Tuple{}, i2, false, pickle.ByteArray{7, 0}}, nil,
			func(a *Array) bool { return a.At() == int16(7) }},
		{"object F", pickle.Tuple{int64(1), pickle.Tuple{int64(2), int64(2)}, Object, true, pickle.NewList("a", "b", "c", "d")}, nil,
			func(a *Array) bool { return a.At(0, 1) == "b" && a.Objects[1] == "c" && a.Order == OrderF }},
		{"subarray dtype folds", pickle.Tuple{int64(1), pickle.Tuple{int64(2)}, must(NewSubarray(i2, 3)), false, make([]byte, 12)}, nil,
			func(a *Array) bool { return len(a.Shape) == 2 && a.Shape[1] == 3 && a.DType.Equal(i2) }},
		{"version 2", pickle.Tuple{int64(2), pickle.Tuple{int64(2)}, i2, false, make([]byte, 4)}, ErrUnsupported, nil},
		{"short data", pickle.Tuple{int64(1), pickle.Tuple{int64(2)}, i2, false, make([]byte, 3)}, ErrCorrupt, nil},
		{"not latin-1", pickle.Tuple{int64(1), pickle.Tuple{int64(1)}, i2, false, "\u0100\x00"}, ErrCorrupt, nil},
		{"objects short", pickle.Tuple{int64(1), pickle.Tuple{int64(3)}, Object, false, pickle.NewList("a")}, ErrCorrupt, nil},
		{"dtype not a dtype", pickle.Tuple{int64(1), pickle.Tuple{int64(1)}, "f8", false, make([]byte, 8)}, ErrCorrupt, nil},
		{"negative shape", pickle.Tuple{int64(1), pickle.Tuple{int64(-1)}, i2, false, []byte{}}, ErrCorrupt, nil},
		{"huge shape", pickle.Tuple{int64(1), pickle.Tuple{int64(1 << 62), int64(1 << 62)}, i2, false, []byte{}}, ErrCorrupt, nil},
		{"state list", pickle.Tuple{int64(1)}, ErrCorrupt, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := reconstructed(t, "matrix")
			v, err := a.Build(d, tt.state)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error %v, want %v", err, tt.kind)
			}
			if err == nil {
				if v != any(a) || a.Subclass != "matrix" || a.Validate() != nil || !tt.check(a) {
					t.Errorf("built %v", a)
				}
			}
		})
	}
}

func TestCalls(t *testing.T) {
	d := pickle.NewDecoderBytes(nil)
	i4 := MustParseDType("<i4")
	if _, err := callFrombuffer(d, pickle.Tuple{make([]byte, 8), i4, pickle.Tuple{int64(3)}, "C"}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short buffer: %v", err)
	}
	if _, err := callFrombuffer(d, pickle.Tuple{make([]byte, 8), i4, pickle.Tuple{int64(2)}, "K"}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("order K: %v", err)
	}
	if _, err := callFrombuffer(d, pickle.Tuple{make([]byte, 8), Object, pickle.Tuple{int64(1)}, "C"}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("object _frombuffer: %v", err)
	}
	if v, err := callScalar(d, pickle.Tuple{Object, "anything"}); err != nil || v != "anything" {
		t.Errorf("object scalar: %v %v", v, err)
	}
	if _, err := callScalar(d, pickle.Tuple{i4, []byte{1}}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short scalar: %v", err)
	}
	if _, err := callDType(d, pickle.Tuple{"f8", "yes", true}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("dtype flag str: %v", err)
	}
	if _, err := callDType(d, pickle.Tuple{int64(8)}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("dtype of an int: %v", err)
	}
}

// numpy 2 names its modules numpy._core; both read the same.
func TestNumpy2Names(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixtureDir, "f8_F_p2.pkl"))
	if err != nil {
		t.Skip(err)
	}
	want, err := decodeNumpy(raw)
	if err != nil {
		t.Fatal(err)
	}
	np2 := bytes.ReplaceAll(raw, []byte("numpy.core."), []byte("numpy._core."))
	got, err := decodeNumpy(np2, pickle.Strict(true))
	if err != nil || !pickle.Equal(got, want) {
		t.Errorf("numpy._core pickle: %v", err)
	}
	a := want.(*Array)
	p5 := craft(t, func(e *pickle.Encoder) error {
		return e.Reduce(pickle.Global{Module: "numpy._core.numeric", Name: "_frombuffer"},
			pickle.Tuple{pickle.ByteArray(a.Data), a.DType, shapeTuple(a.Shape), "F"})
	})
	if got, err := decodeNumpy(p5, pickle.Strict(true)); err != nil || !pickle.Equal(got, want) {
		t.Errorf("numpy._core _frombuffer: %v", err)
	}
}

func TestTruncatedPickles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*_p[2-5].pkl"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		for n := 0; n < len(raw); n += max(1, len(raw)/50) {
			if _, err := decodeNumpy(raw[:n]); err == nil {
				t.Fatalf("%s cut at %d decoded", filepath.Base(f), n)
			} else if n > 0 && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "STOP") {
				t.Fatalf("%s cut at %d: %v", filepath.Base(f), n, err)
			}
		}
	}
}

// A Python 2 numpy pickle: str (SHORT_BINSTRING) for the typecode, the
// dtype's type string and byte order, and the data. Python 3 loads it with
// encoding='latin1' or 'bytes' as array([1, 255], dtype=int16).
const py2Pickle = "\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02U\x01b\x87q\x03Rq\x04(K\x01K\x02\x85cnumpy\ndtype\nq\x05U\x02i2K\x00K\x01\x87Rq\x06(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbK\x00U\x04\x01\x00\xff\x00tb."

func TestPython2Pickle(t *testing.T) {
	for _, mode := range []pickle.Py2Strings{pickle.Py2Bytes, pickle.Py2Latin1} {
		v, err := decodeNumpy([]byte(py2Pickle), pickle.WithPy2Strings(mode), pickle.Strict(true))
		if err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		a := v.(*Array)
		if a.DType.String() != "<i2" || a.At(0) != int16(1) || a.At(1) != int16(255) {
			t.Errorf("mode %d: %v %v %v", mode, a, a.At(0), a.At(1))
		}
	}
	// Python 3's default (ASCII) refuses the data byte 0xff, as Python does.
	if _, err := decodeNumpy([]byte(py2Pickle), pickle.WithPy2Strings(pickle.Py2ASCII)); err == nil {
		t.Errorf("ASCII mode accepted binary data")
	}
}
