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
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (p + hugePage - 1) &^ (hugePage - 1)
	end := (p + uintptr(len(b))) &^ (hugePage - 1)
	if end <= start {
		return
	}
	_ = unix.Madvise(b[start-p:end-p], unix.MADV_HUGEPAGE)
}
