package mmap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"unsafe"
)

// pattern returns n deterministic bytes that differ from page to page.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>12)
	}
	return b
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustOpen(t testing.TB, path string, mode Mode, opts ...Option) *Mapping {
	t.Helper()
	m, err := Open(path, mode, opts...)
	if err != nil {
		t.Fatalf("Open(%q, %q): %v", path, mode, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func mustBytes(t testing.TB, m *Mapping, off, n int64) []byte {
	t.Helper()
	b, err := m.Bytes(off, n)
	if err != nil {
		t.Fatalf("Bytes(%d, %d): %v", off, n, err)
	}
	return b
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{"r", ReadOnly, false},
		{"readonly", ReadOnly, false},
		{"r+", ReadWrite, false},
		{"readwrite", ReadWrite, false},
		{"w+", ReadWrite, false},
		{"write", ReadWrite, false},
		{"c", CopyOnWrite, false},
		{"copyonwrite", CopyOnWrite, false},
		{"", "", true},
		{"R", "", true},
		{"rw", "", true},
		{"w", "", true},
		{"r ", "", true},
	}
	for _, tt := range tests {
		t.Run("mode="+tt.in, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMode) {
					t.Fatalf("ParseMode(%q) = %q, %v; want ErrMode", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestOpenModes(t *testing.T) {
	data := pattern(3*os.Getpagesize() + 123)
	for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite, "w+", "readonly"} {
		t.Run("mode="+string(mode), func(t *testing.T) {
			path := writeFile(t, "f.bin", data)
			m := mustOpen(t, path, mode)
			want, _ := ParseMode(string(mode))
			if m.Mode() != want || m.Path() != path || m.Len() != len(data) {
				t.Fatalf("Mode, Path, Len = %q, %q, %d; want %q, %q, %d",
					m.Mode(), m.Path(), m.Len(), want, path, len(data))
			}
			if got := mustBytes(t, m, 0, int64(len(data))); !bytes.Equal(got, data) {
				t.Fatal("view differs from file contents")
			}
			if mode == "w+" {
				if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(data)) {
					t.Fatalf("w+ changed the file: %v %v", fi.Size(), err)
				}
			}
		})
	}
}

// TestViewInsideMapping proves a view aliases the mapping rather than a copy.
func TestViewInsideMapping(t *testing.T) {
	data := pattern(2*os.Getpagesize() + 5)
	m := mustOpen(t, writeFile(t, "f.bin", data), ReadOnly)
	start, end := m.Range()
	if start == 0 || end-start != uintptr(len(data)) {
		t.Fatalf("Range() = %#x, %#x; want %d bytes", start, end, len(data))
	}
	v := mustBytes(t, m, 100, 50)
	if !m.Contains(unsafe.Pointer(&v[0])) || !m.Contains(unsafe.Pointer(&v[len(v)-1])) {
		t.Fatal("view does not lie inside the mapping")
	}
	if uintptr(unsafe.Pointer(&v[0])) != start+100 {
		t.Fatalf("view starts at %#x; want %#x", uintptr(unsafe.Pointer(&v[0])), start+100)
	}
	if cap(v) != 50 {
		t.Fatalf("cap(view) = %d; want 50", cap(v))
	}
	heap := make([]byte, 50)
	if m.Contains(unsafe.Pointer(&heap[0])) {
		t.Fatal("heap memory reported inside the mapping")
	}
}

func TestCopyOnWriteNeverReachesFile(t *testing.T) {
	data := pattern(2*os.Getpagesize() + 77)
	path := writeFile(t, "f.bin", data)
	m := mustOpen(t, path, CopyOnWrite)
	shared := mustOpen(t, path, ReadOnly)

	v := mustBytes(t, m, 0, int64(m.Len()))
	for i := range v {
		v[i] ^= 0xFF
	}
	if v[0] != data[0]^0xFF {
		t.Fatal("write to c view did not take")
	}
	if got := mustBytes(t, shared, 0, int64(shared.Len())); !bytes.Equal(got, data) {
		t.Fatal("another mapping of the file sees the c writes")
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("c writes reached the file")
	}
}

func TestReadWriteReachesFile(t *testing.T) {
	page := os.Getpagesize()
	for _, how := range []string{"Flush", "Close"} {
		t.Run("via="+how, func(t *testing.T) {
			data := pattern(3*page + 9)
			path := writeFile(t, "f.bin", data)
			m := mustOpen(t, path, ReadWrite)
			v := mustBytes(t, m, int64(page-2), 4) // straddles a page boundary
			copy(v, "JLST")
			var err error
			if how == "Flush" {
				err = m.Flush()
			} else {
				err = m.Close()
			}
			if err != nil {
				t.Fatalf("%s: %v", how, err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.Clone(data)
			copy(want[page-2:], "JLST")
			if !bytes.Equal(got, want) {
				t.Fatalf("file after %s: % x; want % x", how, got[page-4:page+4], want[page-4:page+4])
			}
		})
	}
}

// TestSharedSeesOtherWriters shows "r" is a shared mapping: a write through
// the file shows in the view at once.
func TestSharedSeesOtherWriters(t *testing.T) {
	data := pattern(100)
	path := writeFile(t, "f.bin", data)
	m := mustOpen(t, path, ReadOnly)
	v := mustBytes(t, m, 0, 4)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("abcd"), 0); err != nil {
		t.Fatal(err)
	}
	if string(v) != "abcd" {
		t.Fatalf("view = %q after the file changed; want %q", v, "abcd")
	}
}

func TestEmptyFile(t *testing.T) {
	for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite} {
		t.Run("mode="+string(mode), func(t *testing.T) {
			m := mustOpen(t, writeFile(t, "empty.bin", nil), mode)
			if m.Len() != 0 {
				t.Fatalf("Len() = %d", m.Len())
			}
			if s, e := m.Range(); s != 0 || e != 0 {
				t.Fatalf("Range() = %#x, %#x; want 0, 0", s, e)
			}
			if b, err := m.Bytes(0, 0); err != nil || len(b) != 0 {
				t.Fatalf("Bytes(0, 0) = %v, %v", b, err)
			}
			if _, err := m.Bytes(0, 1); !errors.Is(err, ErrRange) {
				t.Fatalf("Bytes(0, 1) err = %v; want ErrRange", err)
			}
			if n, err := m.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
				t.Fatalf("ReadAt = %d, %v; want 0, EOF", n, err)
			}
			if err := m.Advise(Sequential); err != nil {
				t.Fatal(err)
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Bytes(0, 0); !errors.Is(err, ErrClosed) {
				t.Fatalf("Bytes after Close err = %v; want ErrClosed", err)
			}
		})
	}
}

func TestOpenRange(t *testing.T) {
	page := int64(os.Getpagesize())
	data := pattern(int(4*page + 321))
	path := writeFile(t, "f.bin", data)
	size := int64(len(data))
	tests := []struct {
		name        string
		off, length int64
		wantErr     error
	}{
		{"aligned", page, page, nil},
		{"unaligned", 17, 3 * page, nil},
		{"unaligned_cross", page - 1, 2, nil},
		{"to_end", 2*page + 5, -1, nil},
		{"whole", 0, size, nil},
		{"last_byte", size - 1, 1, nil},
		{"empty_at_end", size, 0, nil},
		{"empty_to_end", size, -1, nil},
		{"empty_inside", 99, 0, nil},
		{"past_end", size - 1, 2, io.ErrUnexpectedEOF},
		{"off_past_end", size + 1, 0, io.ErrUnexpectedEOF},
		{"off_past_end_to_end", size + 1, -1, io.ErrUnexpectedEOF},
		{"huge_length", 1, 1 << 62, io.ErrUnexpectedEOF},
		{"negative_off", -1, 1, ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := OpenRange(path, CopyOnWrite, tt.off, tt.length)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("OpenRange(%d, %d) err = %v; want %v", tt.off, tt.length, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenRange(%d, %d): %v", tt.off, tt.length, err)
			}
			defer m.Close()
			want := data[tt.off:]
			if tt.length >= 0 {
				want = want[:tt.length]
			}
			if m.Len() != len(want) {
				t.Fatalf("Len() = %d; want %d", m.Len(), len(want))
			}
			got := mustBytes(t, m, 0, int64(m.Len()))
			if !bytes.Equal(got, want) {
				t.Fatal("view differs from the file range")
			}
			p := make([]byte, len(want))
			if n, err := m.ReadAt(p, 0); n != len(want) || err != nil || !bytes.Equal(p, want) {
				t.Fatalf("ReadAt = %d, %v", n, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing"), ReadOnly); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v; want ErrNotExist", err)
	}
	if _, err := Open(dir, ReadOnly); err == nil {
		t.Error("directory: no error")
	}
	path := writeFile(t, "f.bin", pattern(10))
	if _, err := Open(path, "x"); !errors.Is(err, ErrMode) {
		t.Errorf("bad mode: err = %v; want ErrMode", err)
	}
	if _, err := Open(path, ReadOnly, WithAdvice(Hint(99))); !errors.Is(err, ErrRange) {
		t.Errorf("bad hint: err = %v; want ErrRange", err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 { // root may write anything
		if _, err := Open(path, ReadWrite); !errors.Is(err, os.ErrPermission) {
			t.Errorf("r+ on read-only file: err = %v; want ErrPermission", err)
		}
	}
	m, err := Open(path, CopyOnWrite) // "c" needs only read access
	if err != nil {
		t.Fatalf("c on read-only file: %v", err)
	}
	m.Close()
}

func TestBytesOutOfRange(t *testing.T) {
	m := mustOpen(t, writeFile(t, "f.bin", pattern(100)), ReadOnly)
	for _, r := range [][2]int64{{-1, 1}, {0, -1}, {0, 101}, {100, 1}, {101, 0}, {1, 1<<63 - 1}, {1<<63 - 1, 1}} {
		if b, err := m.Bytes(r[0], r[1]); !errors.Is(err, ErrRange) {
			t.Errorf("Bytes(%d, %d) = %d bytes, %v; want ErrRange", r[0], r[1], len(b), err)
		}
	}
	if b, err := m.Bytes(100, 0); err != nil || len(b) != 0 {
		t.Errorf("Bytes(100, 0) = %v, %v; want empty", b, err)
	}
}

func TestReadAt(t *testing.T) {
	data := pattern(1000)
	m := mustOpen(t, writeFile(t, "f.bin", data), ReadOnly)
	p := make([]byte, 10)
	if n, err := m.ReadAt(p, 995); n != 5 || err != io.EOF || !bytes.Equal(p[:5], data[995:]) {
		t.Errorf("short ReadAt = %d, %v; want 5, EOF", n, err)
	}
	if n, err := m.ReadAt(p, 1000); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at end = %d, %v; want 0, EOF", n, err)
	}
	if n, err := m.ReadAt(nil, 1000); n != 0 || err != nil {
		t.Errorf("empty ReadAt at end = %d, %v; want 0, nil", n, err)
	}
	if _, err := m.ReadAt(p, -1); !errors.Is(err, ErrRange) {
		t.Errorf("ReadAt(-1) err = %v; want ErrRange", err)
	}
	if n, err := m.ReadAt(p, 3); n != 10 || err != nil || !bytes.Equal(p, data[3:13]) {
		t.Errorf("ReadAt(3) = %d, %v", n, err)
	}
	got, err := io.ReadAll(io.NewSectionReader(m, 0, int64(m.Len())))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("SectionReader read %d bytes, %v", len(got), err)
	}
}

func TestDoubleClose(t *testing.T) {
	for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite} {
		t.Run("mode="+string(mode), func(t *testing.T) {
			m, err := Open(writeFile(t, "f.bin", pattern(5000)), mode)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); err != nil {
				t.Fatalf("first Close: %v", err)
			}
			if err := m.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if m.Len() != 5000 {
				t.Errorf("Len after Close = %d; want 5000", m.Len())
			}
			if s, e := m.Range(); s != 0 || e != 0 {
				t.Errorf("Range after Close = %#x, %#x", s, e)
			}
			for name, err := range map[string]error{
				"Bytes":   func() error { _, err := m.Bytes(0, 1); return err }(),
				"ReadAt":  func() error { _, err := m.ReadAt(make([]byte, 1), 0); return err }(),
				"Flush":   m.Flush(),
				"Advise":  m.Advise(Random),
				"Retain":  m.Retain(),
				"Release": m.Release(),
			} {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("%s after Close: err = %v; want ErrClosed", name, err)
				}
			}
		})
	}
}

func TestRetainRelease(t *testing.T) {
	data := pattern(3000)
	m, err := Open(writeFile(t, "f.bin", data), ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Retain(); err != nil {
		t.Fatal(err)
	}
	if err := m.Retain(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Two holders remain: the mapping must still be readable.
	v := mustBytes(t, m, 0, 3000)
	if !bytes.Equal(v, data) {
		t.Fatal("view differs after Close with holders left")
	}
	if err := m.Close(); err != nil { // idempotent: does not drop a holder's reference
		t.Fatal(err)
	}
	if err := m.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Bytes(0, 1); err != nil {
		t.Fatalf("Bytes with one holder left: %v", err)
	}
	if err := m.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Bytes(0, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Bytes after last Release err = %v; want ErrClosed", err)
	}
	if err := m.Release(); !errors.Is(err, ErrClosed) {
		t.Fatalf("extra Release err = %v; want ErrClosed", err)
	}
}

// TestReleaseOnlyOwner drops the opener's reference with Release: that
// flushes and unmaps, and a later Close is a no-op.
func TestReleaseOnlyOwner(t *testing.T) {
	path := writeFile(t, "f.bin", pattern(100))
	m, err := Open(path, ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	v := mustBytes(t, m, 0, 2)
	copy(v, "ok")
	if err := m.Release(); err != nil { // the opener's reference, dropped by Release
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close after the last Release: %v", err)
	}
	got, _ := os.ReadFile(path)
	if string(got[:2]) != "ok" {
		t.Fatalf("file starts %q; want %q", got[:2], "ok")
	}
}

func TestAdvise(t *testing.T) {
	m := mustOpen(t, writeFile(t, "f.bin", pattern(3*os.Getpagesize())), ReadOnly, WithAdvice(Sequential))
	for _, h := range []Hint{Normal, Random, Sequential, WillNeed} {
		if err := m.Advise(h); err != nil {
			t.Errorf("Advise(%v): %v", h, err)
		}
	}
	if err := m.Advise(Hint(-1)); !errors.Is(err, ErrRange) {
		t.Errorf("Advise(-1) err = %v; want ErrRange", err)
	}
	// An unaligned range still advises from the page boundary.
	r, err := OpenRange(m.Path(), ReadOnly, 10, 100, WithAdvice(WillNeed))
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

// TestTruncatedReadAt truncates the file through another descriptor while it
// is mapped: ReadAt must return ErrFault, not die of SIGBUS.
func TestTruncatedReadAt(t *testing.T) {
	page := os.Getpagesize()
	for _, mode := range []Mode{ReadOnly, ReadWrite, CopyOnWrite} {
		t.Run("mode="+string(mode), func(t *testing.T) {
			data := pattern(4 * page)
			path := writeFile(t, "f.bin", data)
			m := mustOpen(t, path, mode)
			if err := os.Truncate(path, int64(page)); err != nil {
				t.Fatal(err)
			}
			p := make([]byte, page)
			if n, err := m.ReadAt(p, 0); err != nil || n != page || !bytes.Equal(p, data[:page]) {
				t.Fatalf("ReadAt of the page still in the file = %d, %v", n, err)
			}
			n, err := m.ReadAt(p, int64(2*page))
			if !errors.Is(err, ErrFault) || n != 0 {
				t.Fatalf("ReadAt past the new end = %d, %v; want 0, ErrFault", n, err)
			}
			// A read that starts inside and runs past the end faults too.
			if _, err := m.ReadAt(make([]byte, 2*page), int64(page/2)); !errors.Is(err, ErrFault) {
				t.Fatalf("straddling ReadAt err = %v; want ErrFault", err)
			}
			// The goroutine is back to normal: a nil dereference still panics.
			defer func() {
				if recover() == nil {
					t.Error("nil dereference did not panic")
				}
			}()
			var np *int
			_ = *np
		})
	}
}

// TestConcurrentCloseReadAt runs readers against a Close; run with -race.
func TestConcurrentCloseReadAt(t *testing.T) {
	data := pattern(64 << 10)
	m, err := Open(writeFile(t, "f.bin", data), ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	const readers = 8
	var wg sync.WaitGroup
	started := make(chan struct{}, readers)
	errc := make(chan error, readers)
	for g := range readers {
		wg.Go(func() {
			p := make([]byte, 4096)
			reads := 0
			for {
				off := int64((g*4099 + reads*613) % (len(data) - len(p)))
				n, err := m.ReadAt(p, off)
				if errors.Is(err, ErrClosed) {
					if reads == 0 {
						errc <- fmt.Errorf("reader %d: closed before its first read", g)
					}
					return
				}
				if err != nil || n != len(p) || !bytes.Equal(p, data[off:off+int64(n)]) {
					errc <- fmt.Errorf("reader %d: ReadAt(%d) = %d, %v", g, off, n, err)
					return
				}
				if reads++; reads == 1 {
					started <- struct{}{}
				}
				// Exercise the shared state too.
				_, _ = m.Range()
				_ = m.Len()
			}
		})
	}
	for range readers {
		<-started
	}
	var cw sync.WaitGroup
	for range 2 {
		cw.Go(func() {
			if err := m.Close(); err != nil {
				errc <- err
			}
		})
	}
	cw.Wait()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// TestConcurrentRetainRelease shares one mapping among holders that come and
// go while the opener closes; the last Release unmaps.
func TestConcurrentRetainRelease(t *testing.T) {
	m, err := Open(writeFile(t, "f.bin", pattern(8192)), ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		if err := m.Retain(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer func() {
				if err := m.Release(); err != nil {
					t.Error(err)
				}
			}()
			p := make([]byte, 100)
			for i := range 100 {
				if _, err := m.ReadAt(p, int64(i*50)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := m.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadAt after the last Release err = %v; want ErrClosed", err)
	}
}

func TestOpenReaderAt(t *testing.T) {
	data := pattern(5000)
	r, err := OpenReaderAt(writeFile(t, "f.bin", data))
	if err != nil {
		t.Fatal(err)
	}
	var _ io.ReaderAt = r
	if r.Len() != len(data) {
		t.Fatalf("Len() = %d", r.Len())
	}
	got, err := io.ReadAll(io.NewSectionReader(r, 0, int64(r.Len())))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.ReadAt(make([]byte, 1), 0); err == nil {
		t.Fatal("ReadAt after Close: no error")
	}
	if _, err := OpenReaderAt(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file err = %v", err)
	}
}
