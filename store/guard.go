package store

import (
	"fmt"
	"runtime/debug"
	"unsafe"

	"github.com/jlstore/jlstore/mmap"
)

// ErrFault reports a memory fault while reading a view of a mapped file
// inside [File.Guard]: in practice, another process truncated the file,
// and the pages past its new end are gone (SIGBUS). It is mmap.ErrFault.
var ErrFault = mmap.ErrFault

// Guard runs fn, which reads arrays of f, and turns a memory fault inside
// those arrays into an error instead of a crash. Views of a mapped file
// fault when another process truncates the file (SIGBUS) and, after
// Close, when their memory is unmapped (SIGSEGV); without Guard either
// kills the process. With it, fn stops at the faulting read and Guard
// returns a *PathError wrapping ErrFault, or ErrClosed when f was closed.
//
// Guard uses runtime/debug.SetPanicOnFault, which applies to one
// goroutine: fn must read on the goroutine that called Guard. Faults at
// other addresses and other panics propagate unchanged. Writes that fn
// made before the fault stay made. Guarding costs two calls into the
// runtime, so guard a loop over an array, not each element.
func (f *File) Guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		r := recover()
		if r == nil {
			return
		}
		fault, ok := r.(interface{ Addr() uintptr })
		if !ok || !f.holds(fault.Addr()) {
			panic(r)
		}
		f.mu.Lock()
		closed := f.closed
		f.mu.Unlock()
		kind := ErrFault
		if closed {
			kind = ErrClosed
		}
		err = &PathError{"read", f.path, fmt.Errorf("%w: memory fault at address %#x", kind, fault.Addr())}
	}()
	return fn()
}

// holds reports whether addr lies in the data of one of f's zero-copy
// arrays, which are the only mapped memory f hands out.
func (f *File) holds(addr uintptr) bool {
	for _, info := range f.Arrays() {
		if !info.ZeroCopy || len(info.Array.Data) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(info.Array.Data)))
		if addr >= p && addr < p+uintptr(len(info.Array.Data)) {
			return true
		}
	}
	return false
}
