//go:build linux

package ndarray

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on x86-64 and arm64
// with 4 KiB base pages.
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the 2 MiB-aligned part of b with
// transparent huge pages (MADV_HUGEPAGE), as numpy does for its large
// allocations. Fresh memory then costs one page fault per 2 MiB instead
// of one per 4 KiB when it is first written. b stays ordinary Go heap
// memory; the advice is a hint the kernel may ignore, and errors are.
func adviseHuge(b []byte) {
	if part := alignedPart(b, hugePage); len(part) > 0 {
		_ = unix.Madvise(part, unix.MADV_HUGEPAGE)
	}
}

// Prefault backs b with memory now (MADV_POPULATE_WRITE, Linux 5.14 and
// later) without changing its contents, so that whoever writes b later
// takes no page faults. A loader that fills a large buffer on one core,
// as a decompressor does, can prefault it from another goroutine and so
// move the first-touch cost (about 1.75 GB/s with 4 KiB pages here) to a
// second core. Nothing happens where the kernel lacks the advice.
func Prefault(b []byte) {
	for len(b) > 0 {
		n := min(len(b), 8<<20)
		if unix.Madvise(alignedPart(b[:n], 4096), unix.MADV_POPULATE_WRITE) != nil {
			return
		}
		b = b[n:]
	}
}

// alignedPart returns the part of b between the first and the last
// boundary of page bytes (a power of two): madvise takes page boundaries.
func alignedPart(b []byte, page uintptr) []byte {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (p + page - 1) &^ (page - 1)
	end := (p + uintptr(len(b))) &^ (page - 1)
	if end <= start {
		return nil
	}
	return b[start-p : end-p]
}
