package ndarray

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jlstore/jlstore/mmap"
)

func TestNpzErrors(t *testing.T) {
	if _, err := NewNpzReader(bytes.NewReader([]byte("not a zip")), 9); !errors.Is(err, ErrFormat) {
		t.Errorf("not a zip: %v", err)
	}

	// A deflated member whose data is damaged fails its CRC (or inflate).
	a := f8Array(t, 8, 8, OrderC)
	var buf bytes.Buffer
	w := NewNpzWriter(&buf, Compressed(1))
	if err := w.Add("a", a); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("a", a); err == nil {
		t.Errorf("a member written twice")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	zr, _ := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	off, _ := zr.File[0].DataOffset()
	bad := bytes.Clone(raw)
	bad[off+40] ^= 0xff
	z, err := NewNpzReader(bytes.NewReader(bad), int64(len(bad)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.Get("a"); err == nil {
		t.Errorf("damaged deflated member read without error")
	}
	good, _ := NewNpzReader(bytes.NewReader(raw), int64(len(raw)))
	if got, err := good.Get("a.npy"); err != nil || !got.PyEqual(a) {
		t.Errorf("member a.npy: %v", err)
	}
	if _, err := good.Get("b"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing member: %v", err)
	}

	// A member that is not a .npy file.
	buf.Reset()
	zw := zip.NewWriter(&buf)
	f, _ := zw.Create("notes.txt")
	f.Write([]byte("hello"))
	zw.Close()
	z, _ = NewNpzReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if _, err := z.Get("notes.txt"); !errors.Is(err, ErrFormat) {
		t.Errorf("text member: %v", err)
	}
}

func TestNpzMappedLifetime(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.npz")
	a := f8Array(t, 16, 4, OrderF)
	b, _ := FromObjects([]int{2}, OrderC, []any{"s", nil})
	if err := SaveNpz(p, map[string]*Array{"a": a, "b": b}); err != nil {
		t.Fatal(err)
	}
	z, err := OpenNpz(p, mmap.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	if n := z.Names(); len(n) != 2 || n[0] != "a" || n[1] != "b" {
		t.Errorf("names %v", n)
	}
	ga, err := z.Get("a")
	if err != nil {
		t.Fatal(err)
	}
	gb, err := z.Get("b")
	if err != nil {
		t.Fatal(err)
	}
	if ga.Owner != OwnerMapping || !ga.ZeroCopy() || gb.Owner != OwnerHeap {
		t.Errorf("owners %v %v, zero-copy %v", ga.Owner, gb.Owner, ga.ZeroCopy())
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := z.Get("a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	// The array holds the mapping past z.Close.
	if !ga.PyEqual(a) || !gb.PyEqual(b) {
		t.Errorf("members differ")
	}
	m := ga.Mapping()
	ga.Close()
	if _, err := m.Bytes(0, 1); !errors.Is(err, mmap.ErrClosed) {
		t.Errorf("mapping outlived its last array: %v", err)
	}
	all, err := LoadNpz(p)
	if err != nil || len(all) != 2 || !all["a"].PyEqual(a) {
		t.Errorf("LoadNpz: %v", err)
	}
}
