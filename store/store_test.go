package store

import (
	"bytes"
	"errors"
	"gonum.org/v1/gonum/mat"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

func fixture(name string) string { return filepath.Join("..", "testdata", "joblib", name) }

// TestOpenZeroCopy proves that Open's arrays are views of the mapping:
// their data pointers lie inside it, and a mat.Dense of one shares them.
func TestOpenZeroCopy(t *testing.T) {
	f, err := Open(fixture("basic_p4.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start, end := f.mapping.Range()
	views := 0
	for _, info := range f.Arrays() {
		if !info.ZeroCopy {
			continue
		}
		views++
		p := uintptr(unsafe.Pointer(unsafe.SliceData(info.Array.Data)))
		if p < start || p+uintptr(info.NBytes) > end {
			t.Errorf("%s: data at %#x is outside the mapping [%#x, %#x)", info.Path, p, start, end)
		}
		if p-start != uintptr(info.Offset) {
			t.Errorf("%s: data at mapping offset %d, Arrays says %d", info.Path, p-start, info.Offset)
		}
	}
	if views < 10 {
		t.Errorf("only %d zero-copy views", views)
	}
	d := f.Root().(*pickle.Dict)
	v, _ := d.Get("f8_c")
	m, err := v.(*ndarray.Array).Dense(ndarray.NoCopy())
	if err != nil {
		t.Fatal(err)
	}
	raw := m.(*mat.Dense).RawMatrix()
	if p := uintptr(unsafe.Pointer(unsafe.SliceData(raw.Data))); p < start || p >= end {
		t.Errorf("mat.Dense data at %#x is outside the mapping", p)
	}
	want, _ := v.(*ndarray.Array).Float64s()
	if got := m.At(2, 3); got != want[11] {
		t.Errorf("f8_c[2,3] = %v, want %v", got, want[11])
	}
}

// TestDifferential: mmap, streaming and every codec give identical arrays.
func TestDifferential(t *testing.T) {
	want, err := loadFileForTest(fixture("basic_p4.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"pkl", "z", "gz", "bz2", "lzma", "xz", "lz4"} {
		for _, mode := range []string{"open", "load", "decode"} {
			t.Run("codec="+ext+"/mode="+mode, func(t *testing.T) {
				path := fixture("basic_p4." + ext)
				var got []ArrayInfo
				switch mode {
				case "open":
					f, err := Open(path, WithByteOrder(ByteOrderKeep))
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					got = f.Arrays()
				case "load":
					f, err := loadFileForTest(path)
					if err != nil {
						t.Fatal(err)
					}
					got = f.Arrays()
				case "decode":
					fh, err := os.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer fh.Close()
					v, err := Decode(struct{ io.Reader }{fh}, WithByteOrder(ByteOrderKeep))
					if err != nil {
						t.Fatal(err)
					}
					got = (&loader{records: map[*ndarray.Array]*record{}}).index(v)
				}
				if len(got) != len(want.Arrays()) {
					t.Fatalf("%d arrays, want %d", len(got), len(want.Arrays()))
				}
				for i, w := range want.Arrays() {
					g := got[i]
					if g.Path != w.Path || !pickle.Equal(g.Array, w.Array) || g.Array.DType.String() != w.Array.DType.String() {
						t.Errorf("%s: %v differs from %v", w.Path, g.Array, w.Array)
					}
					if !w.Array.DType.HasObject() && !bytes.Equal(g.Array.Data, w.Array.Data) {
						t.Errorf("%s: bytes differ", w.Path)
					}
				}
			})
		}
	}
}

// TestDecodeConcatenated: two objects dumped one after another into one
// stream load one after another (joblib's PR #1167 bug).
func TestDecodeConcatenated(t *testing.T) {
	fh, err := os.Open(fixture("concat_p4.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	dec := NewDecoder(struct{ io.Reader }{fh})
	var got []any
	for {
		v, err := dec.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 2 {
		t.Fatalf("decoded %d objects, want 2", len(got))
	}
	// And from Go: several objects, mixing codecs, in one stream.
	var buf bytes.Buffer
	vals := []any{map[string]any{"a": []float64{1, 2}}, []any{"x", int64(3)}, []int64{4, 5, 6}}
	codecs := []string{"", "zlib", "lz4"}
	for i, v := range vals {
		opts := []DumpOption{}
		if codecs[i] != "" {
			opts = append(opts, Compress(codecs[i], -1))
		}
		if err := Encode(&buf, v, opts...); err != nil {
			t.Fatal(err)
		}
	}
	dec = NewDecoder(&buf)
	for i := range vals {
		v, err := dec.Decode()
		if err != nil {
			t.Fatalf("object %d (%s): %v", i, codecs[i], err)
		}
		if i == 2 {
			a, ok := v.(*ndarray.Array)
			if !ok {
				t.Fatalf("object 2 is %s", pickle.TypeName(v))
			}
			if x, _ := a.Int64s(); len(x) != 3 || x[2] != 6 {
				t.Errorf("object 2 = %v", x)
			}
		}
	}
	if _, err := dec.Decode(); err != io.EOF {
		t.Errorf("after the last object: %v, want io.EOF", err)
	}
}

// TestRoundTripGo: what Go dumps, Go loads equal, in every codec and
// protocol, with the byte order kept when asked.
func TestRoundTripGo(t *testing.T) {
	v := goValue(t)
	dir := t.TempDir()
	for _, ext := range []string{".pkl", ".gz", ".xz", ".lz4", ".zst"} {
		for proto := 2; proto <= 5; proto++ {
			p := filepath.Join(dir, "v"+ext)
			if err := Dump(p, v, Protocol(proto)); err != nil {
				t.Fatal(err)
			}
			got, err := Load(p, WithByteOrder(ByteOrderKeep))
			if err != nil {
				t.Fatalf("%s p%d: %v", ext, proto, err)
			}
			d := got.(*pickle.Dict)
			be, _ := d.Get("be")
			if s := be.(*ndarray.Array).DType.String(); s != ">f8" {
				t.Errorf("%s p%d: be dtype %s", ext, proto, s)
			}
			sh, _ := d.Get("shared")
			l := sh.(*pickle.List)
			if l.Items[0] != l.Items[1] {
				t.Errorf("%s p%d: shared list not shared", ext, proto)
			}
			dense, _ := d.Get("dense")
			if x, _ := dense.(*ndarray.Array).Float64s(); len(x) != 6 || x[5] != 6 {
				t.Errorf("%s p%d: dense = %v", ext, proto, x)
			}
			native, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			be, _ = native.(*pickle.Dict).Get("be")
			if x, err := be.(*ndarray.Array).Float64s(); err != nil || x[0] != 1.5 || x[1] != -2 {
				t.Errorf("%s p%d: be native = %v %v", ext, proto, x, err)
			}
		}
	}
}

// TestStrictZeroCopy: an unaligned array (as joblib 1.1 and older wrote
// them) is copied and flagged by default, and refused under the option.
func TestStrictZeroCopy(t *testing.T) {
	p := filepath.Join(t.TempDir(), "unaligned.pkl")
	if err := Dump(p, map[string]any{"x": []float64{1, 2, 3}, "s": "pad"}, Alignment(0)); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	info := f.Arrays()[0]
	if info.Offset%8 == 0 {
		t.Skipf("payload happens to be aligned at %d", info.Offset)
	}
	if info.ZeroCopy || info.Note == "" {
		t.Errorf("unaligned array: ZeroCopy=%v note=%q", info.ZeroCopy, info.Note)
	}
	f.Close()
	if _, err := Open(p, StrictZeroCopy(true)); !errors.Is(err, ErrNotZeroCopy) {
		t.Errorf("StrictZeroCopy: err = %v", err)
	}
}
