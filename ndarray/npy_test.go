package ndarray

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/mmap"
)

// npyWith returns a .npy file of format major with the given header text
// (padded as numpy pads it) and data.
func npyWith(major byte, header string, data []byte) []byte {
	_, pad := wrapLen(len(header), major)
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{major, 0})
	hl := len(header) + pad + 1
	if major == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(hl))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(hl))
	}
	b.WriteString(header)
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteByte('\n')
	b.Write(data)
	return b.Bytes()
}

func TestReadNpyErrors(t *testing.T) {
	good := "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
	data := make([]byte, 16)
	tests := []struct {
		name string
		file []byte
		kind error
	}{
		{"empty", nil, io.ErrUnexpectedEOF},
		{"magic", []byte("\x93NUMPZ\x01\x00\x00\x00"), ErrFormat},
		{"cut magic", npyWith(1, good, data)[:6:6], io.ErrUnexpectedEOF},
		{"version 4", append([]byte("\x93NUMPY\x04\x00"), npyWith(1, good, data)[8:]...), ErrUnsupported},
		{"minor 1", append([]byte("\x93NUMPY\x01\x01"), npyWith(1, good, data)[8:]...), ErrUnsupported},
		{"huge header", append([]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"), make([]byte, 100)...), ErrTooLarge},
		{"missing shape", npyWith(1, "{'descr': '<f8', 'fortran_order': False}", nil), ErrCorrupt},
		{"extra key", npyWith(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), 'x': 1}", data), ErrCorrupt},
		{"list shape", npyWith(1, "{'descr': '<f8', 'fortran_order': False, 'shape': [2]}", data), ErrCorrupt},
		{"negative shape", npyWith(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}", data), ErrCorrupt},
		{"float shape", npyWith(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,)}", data), ErrCorrupt},
		{"overflow shape", npyWith(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4)}", data), ErrTooLarge},
		{"huge number", npyWith(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}", data), ErrTooLarge},
		{"bad descr", npyWith(1, "{'descr': '<x8', 'fortran_order': False, 'shape': (2,)}", data), ErrCorrupt},
		{"descr int", npyWith(1, "{'descr': 8, 'fortran_order': False, 'shape': (2,)}", data), ErrCorrupt},
		{"fortran int", npyWith(1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}", data), ErrCorrupt},
		{"code", npyWith(1, "__import__('os').system('true')", data), ErrCorrupt},
		{"call in dict", npyWith(1, "{'descr': dict(), 'fortran_order': False, 'shape': ()}", data), ErrCorrupt},
		{"not a dict", npyWith(1, "('<f8', False, (2,))", data), ErrCorrupt},
		{"unterminated", npyWith(1, "{'descr': '<f8, 'fortran_order': False, 'shape': (2,)}", data), ErrCorrupt},
		{"deep", npyWith(1, "{'descr': "+strings.Repeat("[", 200)+"}", data), ErrTooLarge},
		{"short data", npyWith(1, good, data[:15]), io.ErrUnexpectedEOF},
		{"bad utf8 v3", npyWith(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), '\xff': 1}", data), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadNpy(bytes.NewReader(tt.file))
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v, want %v", err, tt.kind)
			}
			var fe *FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("error %v is not a *FormatError", err)
			}
		})
	}
}

func TestReadNpyForms(t *testing.T) {
	// Python 2 headers: L suffixes and u'' strings; double quotes; titles.
	data := make([]byte, 24)
	for _, h := range []string{
		"{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }",
		`{"descr": u'<f8', "shape": (3,), "fortran_order": False}`,
		"{'descr':'<f8','fortran_order':False,'shape':(3,)}",
		"{'descr': [(('t', 'a'), '<f8')], 'fortran_order': False, 'shape': (3,)}",
		"{'descr': [('a', '<f4'), ('', '|V4')], 'fortran_order': False, 'shape': (3,)}",
		"{'descr': ('<f8', (3,)), 'fortran_order': False, 'shape': ()}",
	} {
		for _, major := range []byte{1, 2, 3} {
			a, err := ReadNpy(bytes.NewReader(npyWith(major, h, data)))
			if err != nil {
				t.Errorf("%d.0 %s: %v", major, h, err)
				continue
			}
			if a.Size() != 3 || a.DType.ItemSize() != 8 {
				t.Errorf("%s: %v", h, a)
			}
		}
	}
	// A latin-1 field name in a 1.0 header, and the same in UTF-8 for 3.0.
	a, err := ReadNpy(bytes.NewReader(npyWith(1, "{'descr': [('\xe9', '<i4')], 'fortran_order': False, 'shape': ()}", make([]byte, 4))))
	if err != nil || a.DType.Names()[0] != "é" {
		t.Errorf("latin-1 name: %v %v", a, err)
	}
}

func TestNpyRoundTripAndStreams(t *testing.T) {
	var buf bytes.Buffer
	var want []*Array
	for _, s := range []string{"<f8", ">i2", "|S3", ">U2", "M8[us]", "|b1"} {
		a, err := New(MustParseDType(s), []int{3, 2}, OrderF)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a.Data {
			a.Data[i] = byte(i*7 + 1)
		}
		if a.DType.Kind() == KindBool {
			for i := range a.Data {
				a.Data[i] &= 1
			}
		}
		want = append(want, a)
		if err := WriteNpy(&buf, a); err != nil {
			t.Fatal(err)
		}
	}
	obj, _ := FromObjects([]int{2}, OrderC, []any{"x", int64(3)})
	want = append(want, obj)
	if err := WriteNpy(&buf, obj); err != nil {
		t.Fatal(err)
	}
	// One after another, through a reader with no known length.
	r := io.MultiReader(&buf)
	for i, w := range want {
		got, err := ReadNpy(r)
		if err != nil {
			t.Fatalf("array %d: %v", i, err)
		}
		if !got.PyEqual(w) {
			t.Errorf("array %d: %v != %v", i, got, w)
		}
		if got.DType.Kind() != KindObject && !isAligned(got.Data, DefaultAlign) {
			t.Errorf("array %d not 64-byte aligned", i)
		}
	}
	if _, err := ReadNpy(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read past the last array: %v", err)
	}
}

// A header that lies about the data length costs no more than the input
// when the input's length is unknown.
func TestLyingHeaderStream(t *testing.T) {
	f := npyWith(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000,), }", make([]byte, 3<<20))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadNpy(io.MultiReader(bytes.NewReader(f)))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
		t.Errorf("allocated %d MiB for a 3 MiB input declaring 800 MB", got>>20)
	}
	// With a known length it fails before allocating.
	runtime.ReadMemStats(&before)
	_, err = ReadNpy(bytes.NewReader(f))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) || after.TotalAlloc-before.TotalAlloc > 1<<20 {
		t.Errorf("error %v after allocating %d bytes", err, after.TotalAlloc-before.TotalAlloc)
	}
}

// TestTruncatedNpy cuts every fixture at many lengths: each cut gives an
// io.ErrUnexpectedEOF error, from the stream and from the mapping.
func TestTruncatedNpy(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.npy"))
	if len(files) == 0 {
		t.Skip("no fixtures")
	}
	dir := t.TempDir()
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(raw)/97)
		for n := 0; n < len(raw); n += step {
			_, err := ReadNpy(bytes.NewReader(raw[:n]))
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s cut at %d: %v", filepath.Base(f), n, err)
			}
			if n%(7*step) == 0 {
				p := filepath.Join(dir, "cut.npy")
				if err := os.WriteFile(p, raw[:n], 0o644); err != nil {
					t.Fatal(err)
				}
				if a, err := OpenNpy(p, mmap.ReadOnly); err == nil {
					a.Close()
					t.Fatalf("%s cut at %d mapped", filepath.Base(f), n)
				}
			}
		}
	}
}

func TestOpenNpyLifetime(t *testing.T) {
	a := f8Array(t, 64, 64, OrderC)
	p := filepath.Join(t.TempDir(), "a.npy")
	if err := SaveNpy(p, a); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []mmap.Mode{mmap.ReadOnly, mmap.CopyOnWrite, mmap.ReadWrite} {
		m, err := OpenNpy(p, mode)
		if err != nil {
			t.Fatal(err)
		}
		if m.Owner != OwnerMapping || !m.IsView() || !m.Mapping().Contains(unsafePointer(m.Data)) {
			t.Errorf("%s: not a view of the mapping", mode)
		}
		if !isAligned(m.Data, DefaultAlign) {
			t.Errorf("%s: mapped data not 64-byte aligned", mode)
		}
		d, err := m.Dense(NoCopy())
		if err != nil {
			t.Fatal(err)
		}
		if !sameMemory(d.(interface{ RawMatrix() blas64General }).RawMatrix().Data, m.Data) {
			t.Errorf("%s: Dense is not the mapped memory", mode)
		}
		if mode == mmap.CopyOnWrite {
			_ = m.Set(-1.0, 0, 0)
		}
		mp := m.Mapping()
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := mp.Bytes(0, 1); !errors.Is(err, mmap.ErrClosed) {
			t.Errorf("%s: mapping still open after the array's Close: %v", mode, err)
		}
	}
	back, err := LoadNpy(p)
	if err != nil {
		t.Fatal(err)
	}
	if !back.PyEqual(a) {
		t.Errorf("copy-on-write mapping changed the file")
	}
	obj, _ := FromObjects([]int{1}, OrderC, []any{"x"})
	op := filepath.Join(t.TempDir(), "o.npy")
	if err := SaveNpy(op, obj); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenNpy(op, mmap.ReadOnly); !errors.Is(err, ErrUnsupported) {
		t.Errorf("mapping an object array: %v", err)
	}
}

func TestWriteNpyVersions(t *testing.T) {
	many := make([]Field, 3000)
	for i := range many {
		many[i] = Field{Name: "f" + strings.Repeat("x", 20) + string(rune('a'+i%26)) + itoa(i), Type: Int8}
	}
	dt, err := PackStruct(many, false)
	if err != nil {
		t.Fatal(err)
	}
	utf, _ := PackStruct([]Field{{Name: "中", Type: Int8}}, false)
	lat, _ := PackStruct([]Field{{Name: "é", Type: Int8}}, false)
	for _, tt := range []struct {
		dt    *DType
		major byte
	}{{Float64, 1}, {dt, 2}, {utf, 3}, {lat, 1}} {
		a, _ := New(tt.dt, []int{2}, OrderC)
		var buf bytes.Buffer
		if err := WriteNpy(&buf, a); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if b[6] != tt.major {
			t.Errorf("%d fields: format %d.0, want %d.0", len(tt.dt.Fields()), b[6], tt.major)
		}
		if (len(b)-a.NBytes())%64 != 0 {
			t.Errorf("data starts at %d", len(b)-a.NBytes())
		}
		back, err := ReadNpy(bytes.NewReader(b))
		if err != nil || !back.PyEqual(a) {
			t.Errorf("format %d.0 does not read back: %v", b[6], err)
		}
	}
}

func itoa(i int) string {
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		i /= 10
		if i == 0 {
			return s
		}
	}
}
