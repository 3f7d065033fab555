package ndarray

import (
	"fmt"
	"io"
	"unsafe"
)

// DefaultAlign is the alignment of the buffers this package allocates: a
// cache line, and the alignment numpy gives array data in .npy files.
const DefaultAlign = 64

// adviseHugePages turns the huge page advice on; benchmarks turn it off
// to measure what it saves.
var adviseHugePages = true

// largeObject is the size above which the Go allocator hands out whole
// pages, which are aligned to at least 8 KiB.
const largeObject = 32 << 10

// AlignedBytes returns a slice of n zero bytes on the Go heap whose first
// byte is aligned to align, a power of two (0 means DefaultAlign). Its
// capacity is n, so appending copies rather than writing past it. Read
// payloads straight into it (io.ReadFull) to get arrays whose typed views
// need no copy. On Linux, buffers of 4 MiB and more are advised to use
// transparent huge pages (MADV_HUGEPAGE), as numpy's are, which makes
// first writes to fresh memory several times cheaper.
func AlignedBytes(n, align int) []byte {
	if align == 0 {
		align = DefaultAlign
	}
	if n < 0 || align < 0 || align&(align-1) != 0 {
		panic(fmt.Sprintf("ndarray: AlignedBytes(%d, %d)", n, align))
	}
	if n == 0 {
		return []byte{}
	}
	var b []byte
	if n > largeObject {
		b = make([]byte, n)
		if !isAligned(b, align) {
			b = nil
		}
	}
	if b == nil {
		b = make([]byte, n+align-1)
		off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b)))) & (align - 1)
		b = b[off : off+n : off+n]
	}
	if n >= 2*hugePage && adviseHugePages {
		adviseHuge(b)
	}
	return b
}

func isAligned(b []byte, align int) bool {
	if len(b) == 0 || align <= 1 {
		return true
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))&uintptr(align-1) == 0
}

// readStep is the first buffer ReadGrowing reads into; it doubles as data
// arrives, so a lying length costs no more than twice the input.
const readStep = 1 << 20

// ReadGrowing reads n bytes from r, whose length is unknown, into a
// DefaultAlign-aligned buffer that grows as the bytes arrive (from 1 MiB,
// doubling), as internal/saferio does: a stream that declares gigabytes
// and holds a few bytes costs a few bytes, not an allocation of the
// declared size. It returns how many bytes it read before an error, which
// is io.ErrUnexpectedEOF when r ends early.
func ReadGrowing(r io.Reader, n int) (buf []byte, got int, err error) {
	buf = AlignedBytes(min(n, readStep), DefaultAlign)
	for {
		k, err := io.ReadFull(r, buf[got:])
		got += k
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, got, err
		}
		if got == n {
			return buf, got, nil
		}
		nb := AlignedBytes(min(n, 2*len(buf)), DefaultAlign)
		copy(nb, buf)
		buf = nb
	}
}
