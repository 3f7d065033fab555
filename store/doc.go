// Package store reads and writes joblib files: what Python's joblib.dump
// writes and joblib.load reads, and plain pickles that hold numpy arrays.
//
// # Reading
//
// [Load] returns the object graph with every array in memory that the
// result owns; the file is closed when it returns. [Open] memory-maps an
// uncompressed file instead, and each aligned array is a view of the
// mapping, so opening a 4 GiB file costs about what opening a 4 KiB one
// does, and processes that open the same file share its pages. A
// compressed file cannot be mapped: Open loads it into memory, without an
// error, as joblib does, and [File.Codec] says so. [Decode] and [Decoder]
// read streams (pipes, HTTP bodies) without seeking; objects written one
// after another decode one after another.
//
// Everything joblib ever wrote loads: NumpyArrayWrapper with and without
// alignment padding (joblib 0.10 and later, pickle protocols 0 to 5, every
// codec: zlib, gzip, bz2, lzma, xz, lz4, and zstd where registered), the
// pre-0.10 formats (the ZF z-file, NDArrayWrapper with .npy sidecar files
// and ZNDArrayWrapper with z-file sidecars), the wrapper under
// scikit-learn's old sklearn.externals.joblib module, Python 2 files (whose
// str values come back as []byte), and plain pickles of numpy arrays.
//
// # Values
//
// The object graph is package pickle's value model: *pickle.Dict,
// *pickle.List, pickle.Tuple, *pickle.Set, strings, numbers, *big.Int, and
// *pickle.Object for class instances such as scikit-learn estimators, whose
// attributes are in the object's state (Object.Attr("coef_")). Arrays are
// *ndarray.Array; see package ndarray for typed slices and gonum views.
// Nothing in the file is ever executed.
//
// # Memory and lifetime
//
// Arrays from Load, and from Open of a compressed file, are heap memory:
// each payload is read straight from the (decompressing) stream into a
// 64-byte-aligned buffer of its final size, so peak memory is about the
// arrays' size. Arrays from Open of an uncompressed file are views of the
// mapping and are invalid after [File.Close]. In the default mode "r" the
// mapping is read-only: writing into such an array kills the process. Use
// MmapMode("c") for private, writable copies of the pages, or "r+" to
// write through to the file.
//
// Views keep the file's byte order: a big-endian array stays a view with a
// ">" dtype, whose typed accessors convert or refuse. [Load] converts such
// arrays to native order unless [WithByteOrder](ByteOrderKeep) is given.
// Unaligned arrays (joblib 1.1 and older did not pad) are copied and
// flagged in [File.Arrays], or refused under [StrictZeroCopy].
//
// A mapping shows the file as it is now. If another process truncates the
// file, reading a view's page past the new end raises SIGBUS, which kills
// the process; read inside [File.Guard] to get an error wrapping
// [ErrFault] instead. Changes made through an "r+" view reach the file by
// [File.Close] at the latest (it flushes with msync).
//
// A File may be read from many goroutines at once: Root, Arrays, Codec
// and the views themselves. Close must not race with readers of views:
// it unmaps at once, so a read after it faults (SIGSEGV, which Guard
// reports as [ErrClosed]) or, if the address space was mapped again in
// between, reads unrelated memory. Close may race with other Close calls.
// Load, Open and Decode may run concurrently on the same file, also while
// Dump replaces it: each sees the old file or the new one, whole.
//
// # Writing
//
// [Dump] and [Encode] write what Python's joblib.load reads back equal, at
// pickle protocols 2 to 5 (default 4). Arrays are written as joblib writes
// them: a NumpyArrayWrapper, its frame ended, 16-byte alignment padding and
// the raw bytes, so joblib.load(path, mmap_mode="r") maps them. Go values
// map to Python like this:
//
//	Go                                   Python
//	*ndarray.Array                       numpy.ndarray (matrix, memmap kept)
//	*mat.Dense, *mat.VecDense            2-D and 1-D float64 arrays
//	*mat.CDense                          2-D complex128 array
//	[]float64, []float32, []int64,       1-D arrays of that dtype
//	  []int32, []int16, []int8,
//	  []uint64, []uint32, []uint16,
//	  []complex128, []complex64, []bool
//	[]byte                               bytes
//	map[string]any, map[K]V              dict (keys sorted)
//	[]any, other slices                  list
//	structs                              dict of exported fields, named by
//	                                     the `jlstore:"name"` tag
//	the pickle value model               itself: whatever Load returned,
//	                                     inert objects included, writes
//	                                     back unchanged
//
// A file is written to a temporary file in its folder, fsynced and renamed
// over the target, and the folder is fsynced, so a crash or an error never
// leaves a truncated file behind. Temporary files left by a crashed writer
// are removed by the next Dump to the same path. [NoSync] leaves out the
// fsyncs for scratch files: a process that dies mid-Dump still leaves the
// old file, but a power loss may leave the new one incomplete.
//
// # Limits
//
// Loading is safe on untrusted input: every declared size is checked
// against what the input holds and against [MaxBytes] before anything is
// allocated; declared array bytes per compressed byte are capped by
// [MaxRatio], so a decompression bomb is refused before it is
// decompressed; and reading stops at the pickle's STOP opcode, so junk
// appended to a stream is never decompressed. With [StreamArrays] array
// data is handed to a callback as it is read instead of being kept, so
// inspecting a file of any size takes bounded memory. Errors are *[PathError]
// values naming the file, wrapping a *[FormatError] with the byte offset,
// and errors.Is works with [ErrFormat], [ErrCorrupt], [ErrTooLarge],
// [ErrUnsafe], [ErrUnsupported], [ErrNotZeroCopy] and io.ErrUnexpectedEOF.
package store
