package pread

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func testFile(t testing.TB, n int) (*os.File, []byte) {
	t.Helper()
	data := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, data
}

// TestReadAt reads ranges of a 41 MiB file, split and not, and past its
// end: the bytes and the counts are those of the file.
func TestReadAt(t *testing.T) {
	f, data := testFile(t, 41<<20+123)
	for _, tc := range []struct{ off, n int }{
		{0, len(data)}, {1, Min}, {7, Min - 1}, {3 << 20, 30<<20 + 5}, {0, 100},
		{len(data) - Min - 10, Min + 10},
	} {
		p := make([]byte, tc.n)
		n, err := ReadAt(f, p, int64(tc.off))
		if err != nil && err != io.EOF || n != tc.n {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", tc.n, tc.off, n, err)
		}
		if !bytes.Equal(p, data[tc.off:tc.off+tc.n]) {
			t.Fatalf("ReadAt(%d bytes at %d): wrong bytes", tc.n, tc.off)
		}
	}
	// Past the end: a short count and io.EOF.
	p := make([]byte, 20<<20)
	off := len(data) - 5<<20 - 17
	n, err := ReadAt(f, p, int64(off))
	if n != len(data)-off || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v; want %d, EOF", n, err, len(data)-off)
	}
	if !bytes.Equal(p[:n], data[off:]) {
		t.Fatal("ReadAt past the end: wrong bytes")
	}
}

var errBroken = errors.New("broken disk")

// brokenAt fails every read that reaches byte bad.
type brokenAt struct {
	r   io.ReaderAt
	bad int64
}

func (b brokenAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= b.bad {
		return b.r.ReadAt(p, off)
	}
	if off >= b.bad {
		return 0, errBroken
	}
	n, _ := b.r.ReadAt(p[:b.bad-off], off)
	return n, errBroken
}

// TestReadAtError: a read that fails part way reports exactly the bytes
// before the failure, and the error.
func TestReadAtError(t *testing.T) {
	f, data := testFile(t, 40<<20)
	for _, bad := range []int64{0, 1, Chunk, 9<<20 + 3, 40<<20 - 1} {
		p := make([]byte, len(data))
		n, err := ReadAt(brokenAt{f, bad}, p, 0)
		if !errors.Is(err, errBroken) || int64(n) != bad {
			t.Errorf("broken at %d: ReadAt = %d, %v", bad, n, err)
		}
		if !bytes.Equal(p[:n], data[:n]) {
			t.Errorf("broken at %d: wrong bytes before the failure", bad)
		}
	}
}

// TestReader reads a file through Reader in uneven pieces.
func TestReader(t *testing.T) {
	f, data := testFile(t, 35<<20+9)
	r := NewReader(f, 5)
	var got bytes.Buffer
	for _, n := range []int{1, 100, 64 << 10, 20 << 20, 1, 30 << 20} {
		p := make([]byte, n)
		k, err := io.ReadFull(r, p)
		got.Write(p[:k])
		if err != nil {
			if err != io.ErrUnexpectedEOF && err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	if !bytes.Equal(got.Bytes(), data[5:]) {
		t.Fatalf("Reader read %d bytes, want the file's last %d", got.Len(), len(data)-5)
	}
	if r.Offset() != int64(len(data)) {
		t.Errorf("Offset = %d, want %d", r.Offset(), len(data))
	}
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = %d, %v", n, err)
	}
}

// BenchmarkReadAt: a 256 MiB file from the page cache, split among the
// cores and in one pread.
func BenchmarkReadAt(b *testing.B) {
	f, data := testFile(b, 256<<20)
	p := make([]byte, len(data))
	for _, par := range []bool{true, false} {
		b.Run("parallel="+map[bool]string{true: "on", false: "off"}[par], func(b *testing.B) {
			Parallel = par
			defer func() { Parallel = true }()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := ReadAt(f, p, 0); err != nil && err != io.EOF {
					b.Fatal(err)
				}
			}
		})
	}
}
