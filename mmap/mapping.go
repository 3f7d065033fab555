package mmap

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"unsafe"

	mmapgo "github.com/edsrzf/mmap-go"

	"github.com/jlstore/jlstore/internal/errs"
)

var (
	// ErrClosed reports use of a Mapping after its last reference was
	// dropped (by Close or Release).
	ErrClosed = errors.New("mmap: mapping is closed")
	// ErrFault reports a memory fault while ReadAt copied from the mapping,
	// in practice because another process truncated the file.
	ErrFault = errors.New("mmap: fault reading mapped file (was it truncated?)")
	// ErrRange reports an offset or length outside the mapping.
	ErrRange = errors.New("mmap: range out of bounds")
	// ErrTooLarge reports a range larger than this platform can address.
	ErrTooLarge = errs.TooLarge
)

// Mapping is a file, or a range of one, mapped into memory. The zero value
// is not usable; get one from Open or OpenRange.
//
// A Mapping starts with one reference, the opener's, which Close drops.
// Retain adds references and Release drops them; the memory is unmapped
// when the count reaches zero. Views from Bytes are invalid from then on.
//
// All methods are safe for concurrent use.
type Mapping struct {
	path string
	mode Mode

	mu      sync.RWMutex
	raw     mmapgo.MMap // whole region, from a page boundary; nil if empty or unmapped
	data    []byte      // the caller's range inside raw
	size    int         // len(data), kept after unmap for error messages
	refs    int64       // 0 once unmapped
	closed  bool        // Close has dropped the opener's reference
	cleanup runtime.Cleanup
}

// Open maps the whole file at path in the given mode. See OpenRange.
func Open(path string, mode Mode, opts ...Option) (*Mapping, error) {
	return OpenRange(path, mode, 0, -1, opts...)
}

// OpenRange maps length bytes of the file at path starting at off. off need
// not be page aligned: the mapping starts at the page boundary below it and
// views are taken from off. A negative length maps from off to the end of
// the file. The range must lie inside the file; otherwise the error wraps
// io.ErrUnexpectedEOF, because touching a page past the end of a file
// raises SIGBUS.
//
// mode may be any string ParseMode accepts, so "w+" maps as "r+". The file
// is opened read-only for "r" and "c" and read-write for "r+", and is
// closed before OpenRange returns. An empty range makes no mmap call: Len is
// 0 and every view is empty.
func OpenRange(path string, mode Mode, off, length int64, opts ...Option) (*Mapping, error) {
	mode, err := ParseMode(string(mode))
	if err != nil {
		return nil, err
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("mmap: %s: negative offset %d: %w", path, off, ErrRange)
	}
	flag, prot := os.O_RDONLY, mmapgo.RDONLY
	switch mode {
	case ReadWrite:
		flag, prot = os.O_RDWR, mmapgo.RDWR
	case CopyOnWrite:
		prot = mmapgo.COPY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	defer f.Close()
	return mapFile(f, path, mode, prot, off, length, o)
}

// OpenFile maps all of f, which the caller opened and keeps: it may close
// f as soon as OpenFile returns. f must be open for reading, and for
// writing too in mode "r+". It saves the second open of a caller that has
// already read from the file.
func OpenFile(f *os.File, mode Mode, opts ...Option) (*Mapping, error) {
	mode, err := ParseMode(string(mode))
	if err != nil {
		return nil, err
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	prot := mmapgo.RDONLY
	switch mode {
	case ReadWrite:
		prot = mmapgo.RDWR
	case CopyOnWrite:
		prot = mmapgo.COPY
	}
	return mapFile(f, f.Name(), mode, prot, 0, -1, o)
}

func mapFile(f *os.File, path string, mode Mode, prot int, off, length int64, o options) (*Mapping, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("mmap: %s: not a regular file: %w", path, errs.Unsupported)
	}
	size := fi.Size()
	if length < 0 && off <= size {
		length = size - off
	}
	if off > size || length > size-off {
		return nil, fmt.Errorf("mmap: %s: range [%d, %d) is past the end of the file (%d bytes): %w",
			path, off, off+length, size, io.ErrUnexpectedEOF)
	}
	m := &Mapping{path: path, mode: mode, refs: 1}
	if length == 0 {
		return m, nil
	}
	page := int64(os.Getpagesize())
	start := off - off%page
	skip := off - start
	if length > math.MaxInt-skip {
		return nil, fmt.Errorf("mmap: %s: %d bytes cannot be mapped on this platform: %w", path, length, ErrTooLarge)
	}
	raw, err := mmapgo.MapRegion(f, int(skip+length), prot, 0, start)
	if errors.Is(err, syscall.ENOMEM) {
		// Out of address space (RLIMIT_AS) or of map count: a limit.
		return nil, fmt.Errorf("mmap: %s: %d bytes: %w: %w", path, length, ErrTooLarge, err)
	}
	if err != nil {
		return nil, fmt.Errorf("mmap: %s: %w", path, err)
	}
	m.raw = raw
	m.data = raw[skip : skip+length : skip+length]
	m.size = len(m.data)
	// Backstop only: unmap a Mapping that became unreachable without Close.
	m.cleanup = runtime.AddCleanup(m, func(r mmapgo.MMap) { _ = r.Unmap() }, raw)
	if o.advice != nil {
		if err := advise(raw, *o.advice); err != nil {
			_ = m.Close()
			return nil, fmt.Errorf("mmap: %s: madvise %v: %w", path, *o.advice, err)
		}
	}
	return m, nil
}

// Path returns the path the mapping was opened with.
func (m *Mapping) Path() string { return m.path }

// Mode returns the mode the file is mapped in; "w+" reads as "r+".
func (m *Mapping) Mode() Mode { return m.mode }

// Len returns the length of the mapped range in bytes. It stays the same
// after Close.
func (m *Mapping) Len() int { return m.size }

// Bytes returns the n bytes at off as a slice that aliases the mapping, or
// an error wrapping ErrRange if they are not all inside it. The slice's
// capacity ends with it, so append copies rather than writes past it.
//
// The slice is valid until the mapping's last reference is dropped; using
// it afterwards crashes the process or reads other memory. In mode "r" the
// slice is read-only memory: writing to it kills the process with SIGSEGV.
// If the file is truncated by another process, reading the lost pages
// raises SIGBUS; use ReadAt where that matters.
func (m *Mapping) Bytes(off, n int64) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.refs == 0 {
		return nil, m.closedErr()
	}
	if err := m.check(off, n); err != nil {
		return nil, err
	}
	return m.data[off : off+n : off+n], nil
}

func (m *Mapping) check(off, n int64) error {
	if off < 0 || n < 0 || off > int64(len(m.data)) || n > int64(len(m.data))-off {
		return fmt.Errorf("mmap: %s: bytes [%d, %d) outside mapping of %d bytes: %w",
			m.path, off, off+n, len(m.data), ErrRange)
	}
	return nil
}

func (m *Mapping) closedErr() error {
	return fmt.Errorf("mmap: %s: %w", m.path, ErrClosed)
}

// Range returns the addresses [start, end) of the mapped range, or 0, 0 if
// it is empty or unmapped. It exists so tests can prove that a view aliases
// the file rather than a copy.
func (m *Mapping) Range() (start, end uintptr) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.refs == 0 || len(m.data) == 0 {
		return 0, 0
	}
	start = uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
	return start, start + uintptr(len(m.data))
}

// Contains reports whether p points into the mapped range.
func (m *Mapping) Contains(p unsafe.Pointer) bool {
	start, end := m.Range()
	a := uintptr(p)
	return a >= start && a < end
}

// ReadAt copies from the mapping into p, implementing io.ReaderAt. Unlike a
// view, it survives the file being truncated underneath it: the copy runs
// with debug.SetPanicOnFault, and a fault inside the mapping becomes an
// error wrapping ErrFault instead of a SIGBUS crash. After the last
// reference is dropped it returns an error wrapping ErrClosed; a concurrent
// Close waits for ReadAt calls in progress.
func (m *Mapping) ReadAt(p []byte, off int64) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.refs == 0 {
		return 0, m.closedErr()
	}
	if off < 0 {
		return 0, fmt.Errorf("mmap: %s: ReadAt at negative offset %d: %w", m.path, off, ErrRange)
	}
	if off >= int64(len(m.data)) {
		if len(p) == 0 && off == int64(len(m.data)) {
			return 0, nil
		}
		return 0, io.EOF
	}
	n, err := m.guardedCopy(p, m.data[off:])
	if err != nil {
		return 0, fmt.Errorf("mmap: %s: ReadAt %d bytes at offset %d: %w", m.path, len(p), off, err)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// guardedCopy copies src, which lies in the mapping, to dst, turning a
// memory fault inside the mapping into ErrFault. Faults elsewhere panic on.
func (m *Mapping) guardedCopy(dst, src []byte) (n int, err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		r := recover()
		if r == nil {
			return
		}
		if f, ok := r.(interface{ Addr() uintptr }); ok && m.rawContains(f.Addr()) {
			n, err = 0, ErrFault
			return
		}
		panic(r)
	}()
	return copy(dst, src), nil
}

func (m *Mapping) rawContains(a uintptr) bool {
	if len(m.raw) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(m.raw)))
	return a >= start && a < start+uintptr(len(m.raw))
}

// Flush writes the changes made through an "r+" mapping to disk (msync with
// MS_SYNC). It does nothing for "r" and "c" mappings, whose changes, if
// any, never reach the file.
func (m *Mapping) Flush() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.refs == 0 {
		return m.closedErr()
	}
	return m.flush()
}

func (m *Mapping) flush() error {
	if m.mode != ReadWrite || len(m.raw) == 0 {
		return nil
	}
	if err := m.raw.Flush(); err != nil {
		return fmt.Errorf("mmap: %s: msync: %w", m.path, err)
	}
	return nil
}

// Advise tells the kernel how the mapping will be read (madvise). Hints
// are advice: on platforms without madvise Advise does nothing.
func (m *Mapping) Advise(h Hint) error {
	if err := h.valid(); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.refs == 0 {
		return m.closedErr()
	}
	if len(m.raw) == 0 {
		return nil
	}
	if err := advise(m.raw, h); err != nil {
		return fmt.Errorf("mmap: %s: madvise %v: %w", m.path, h, err)
	}
	return nil
}

// Retain adds a reference, so that the mapping outlives the opener's Close
// until a matching Release. It returns an error wrapping ErrClosed if the
// mapping is already unmapped.
func (m *Mapping) Retain() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refs == 0 {
		return m.closedErr()
	}
	m.refs++
	return nil
}

// Release drops a reference taken by Retain. Dropping the last one flushes
// an "r+" mapping and unmaps it; the error is that of msync or munmap.
// Releasing an unmapped mapping returns an error wrapping ErrClosed.
func (m *Mapping) Release() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refs == 0 {
		return m.closedErr()
	}
	var err error
	if m.refs == 1 {
		err = m.flush()
	}
	return errors.Join(err, m.drop())
}

// Close drops the opener's reference. It flushes an "r+" mapping first,
// whether or not other references remain, and unmaps when none do; views
// are invalid after that. Close may be called more than once: later calls
// return nil. Do not also Release the opener's reference.
func (m *Mapping) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.refs == 0 {
		m.closed = true
		return nil
	}
	m.closed = true
	return errors.Join(m.flush(), m.drop())
}

// drop removes one reference and unmaps on the last. m.mu must be held.
func (m *Mapping) drop() error {
	m.refs--
	if m.refs > 0 {
		return nil
	}
	m.data = nil
	if m.raw == nil {
		return nil
	}
	m.cleanup.Stop()
	err := m.raw.Unmap()
	m.raw = nil
	if err != nil {
		return fmt.Errorf("mmap: %s: munmap: %w", m.path, err)
	}
	return nil
}
