package mmap

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchFile makes a file of size bytes whose first page holds data and the
// rest is a hole, so a 256 MiB input costs no disk. Open does not read the
// file, so holes do not change what is measured.
func benchFile(b *testing.B, size int64) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.bin")
	first := min(size, int64(os.Getpagesize()))
	if err := os.WriteFile(path, pattern(int(first)), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		b.Fatal(err)
	}
	return path
}

var benchSizes = []struct {
	name string
	size int64
}{{"4KiB", 4 << 10}, {"16MiB", 16 << 20}, {"256MiB", 256 << 20}}

// BenchmarkOpen measures Open, reading the first byte and Close: the cost
// is flat in the file size because nothing is read until touched. The first
// page is in the page cache after the first iteration (cache=warm).
func BenchmarkOpen(b *testing.B) {
	for _, s := range benchSizes {
		for _, mode := range []Mode{ReadOnly, CopyOnWrite} {
			b.Run(fmt.Sprintf("size=%s/mode=%s/cache=warm", s.name, mode), func(b *testing.B) {
				path := benchFile(b, s.size)
				b.ReportAllocs()
				for b.Loop() {
					m, err := Open(path, mode)
					if err != nil {
						b.Fatal(err)
					}
					v, err := m.Bytes(0, 1)
					if err != nil || v[0] != pattern(1)[0] {
						b.Fatalf("first byte: %v", err)
					}
					if err := m.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkReadAt measures the guarded copy against a plain copy from a
// view, 1 MiB at a time from a 16 MiB file in the page cache.
func BenchmarkReadAt(b *testing.B) {
	const size, chunk = 16 << 20, 1 << 20
	path := filepath.Join(b.TempDir(), "bench.bin")
	if err := os.WriteFile(path, pattern(size), 0o644); err != nil {
		b.Fatal(err)
	}
	m := mustOpen(b, path, ReadOnly)
	p := make([]byte, chunk)
	b.Run("read=guarded/cache=warm", func(b *testing.B) {
		b.SetBytes(chunk)
		b.ReportAllocs()
		off := int64(0)
		for b.Loop() {
			if _, err := m.ReadAt(p, off); err != nil {
				b.Fatal(err)
			}
			off = (off + chunk) % size
		}
	})
	b.Run("read=view/cache=warm", func(b *testing.B) {
		b.SetBytes(chunk)
		b.ReportAllocs()
		off := int64(0)
		for b.Loop() {
			v, err := m.Bytes(off, chunk)
			if err != nil {
				b.Fatal(err)
			}
			copy(p, v)
			off = (off + chunk) % size
		}
	})
}
