// Package mmap maps files into memory the way numpy.memmap and joblib's
// mmap_mode do, with bounds-checked views, explicit lifetimes and reads
// that survive a file being truncated underneath them.
//
// A [Mapping] owns the mapped memory. [Mapping.Bytes] hands out views that
// alias it; the raw mapping itself is never exposed. [Mapping.ReadAt]
// copies out through a fault guard. [OpenReaderAt] gives a plain
// io.ReaderAt for callers that never need the bytes in place.
//
// # Modes
//
// The modes are numpy's, parsed by [ParseMode]:
//
//	"r"  (ReadOnly)     MAP_SHARED, PROT_READ; the file is opened read-only.
//	"r+" (ReadWrite)    MAP_SHARED, PROT_READ|PROT_WRITE; opened read-write.
//	                    Writes reach the page cache at once; Flush and Close
//	                    msync them to disk.
//	"c"  (CopyOnWrite)  MAP_PRIVATE, PROT_READ|PROT_WRITE; opened read-only.
//	                    Writes copy the page and never reach the file.
//	"w+"                numpy creates or overwrites the file; like joblib's
//	                    load we map an existing file as "r+" instead.
//
// numpy's long names (readonly, readwrite, copyonwrite, write) are accepted
// too. Pages of "r" and "r+" mappings of one file are shared with every
// other process that maps it and with the page cache; [Pss] measures that
// on Linux.
//
// # Lifetime
//
// [Open] and [OpenRange] open the file, map it and close the descriptor
// before they return; the mapping keeps the file's pages reachable even if
// the file is renamed or removed. An empty file or range makes no mmap
// call: Len is 0 and views are empty.
//
// A Mapping is reference counted, in the manner of arrow-go's memory
// buffers. It starts with one reference, the opener's, which
// [Mapping.Close] drops; [Mapping.Retain] and [Mapping.Release] let other
// holders share it. When the last reference goes, an "r+" mapping is
// flushed and the memory unmapped. From then on:
//
//   - every view taken with Bytes is invalid: reading it may crash the
//     process (SIGSEGV) or read whatever is mapped there later;
//   - ReadAt, Bytes, Flush, Advise, Retain and Release return errors
//     wrapping [ErrClosed];
//   - Len, Mode and Path still answer.
//
// Close flushes an "r+" mapping even while other references remain, may
// be called more than once (later calls return nil) and returns the
// msync/munmap error if any. Use Close or Release for the opener's
// reference, not both.
//
// A view does not keep its Mapping alive. A Mapping that becomes
// unreachable without Close is unmapped by a runtime.AddCleanup backstop,
// which also invalidates its views, so keep the Mapping (or a Retain) for
// as long as the views are used, and Close it explicitly.
//
// # Concurrency
//
// All methods are safe for concurrent use. ReadAt holds a read lock while
// it copies and Close (or the last Release) takes the write lock to unmap,
// so a Close waits for copies in progress and ReadAt calls that start after
// it return ErrClosed: goroutines reading with ReadAt while another closes
// never touch unmapped memory. Views from Bytes have no such protection.
//
// # Hazards: SIGSEGV and SIGBUS
//
// Mapped memory fails in ways ordinary memory does not:
//
//   - Writing to a view of an "r" mapping kills the process with SIGSEGV
//     (Go reports "unexpected fault address"); it cannot be recovered.
//     Use mode "c" for arrays you want to modify without touching the file,
//     or "r+" to modify the file.
//   - If another process truncates the file, touching a page that is now
//     past its end raises SIGBUS and kills the process. [Mapping.ReadAt]
//     copies with runtime/debug.SetPanicOnFault and returns an error
//     wrapping [ErrFault] instead. Views and [ReaderAt] are not guarded.
//   - Using a view after the last reference is dropped is a use after free
//     (see Lifetime).
//
// Writes by other processes to an "r" or "r+" mapped file show through
// views immediately; with "c" they show only in pages this process has not
// yet written.
//
// # Which library does what
//
//   - github.com/edsrzf/mmap-go makes the mappings: it has all three modes
//     (RDONLY, RDWR, COPY), msync (Flush) and munmap, on Unix and Windows.
//     Its raw MMap slice stays private to this package, because it dangles
//     after Unmap.
//   - golang.org/x/sys/unix supplies what mmap-go lacks: madvise
//     ([Mapping.Advise], [WithAdvice]). mmap-go needs a page-aligned file
//     offset, so OpenRange maps from the page boundary below the requested
//     offset and hides the extra bytes.
//   - golang.org/x/exp/mmap backs [OpenReaderAt] only. It never hands out
//     the mapped bytes, so it cannot serve zero-copy views, and it has no
//     modes other than "r", no fault guard and no concurrent Close; it is
//     the right tool only where an io.ReaderAt is all that is wanted.
//   - /proc/PID/smaps is read directly by [Pss] (Linux only).
package mmap
