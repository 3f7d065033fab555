// Package ndarray is numpy's array in Go: every dtype, the shape, the
// order and the bytes, exactly as numpy holds them. It reads and writes
// numpy's pickles, .npy and .npz files, and turns arrays into typed slices
// and gonum matrices without copying whenever that is possible.
//
// An [Array] is a [DType], a Shape, an Order ('C' or 'F') and Data, the
// elements' bytes in that order and in the dtype's byte order. Object
// arrays hold their elements in Objects instead, as pickle values. Shape
// is always the logical shape; an 'F' array's Data is column-major, as in
// numpy.
//
// # Dtypes
//
// [DType.String] gives numpy's dtype.str and [DType.Descr] the descr of a
// .npy header ([DType.MarshalJSON] the same as JSON). The dtypes, with the
// Go values [Array.At] returns and the types typed views take:
//
//	numpy          dtype.str       Go value (At)          view type (Slice, Values)
//	bool           |b1             bool                   uint8
//	int8..int64    |i1 .. <i8      int8..int64            int8..int64
//	uint8..uint64  |u1 .. <u8      uint8..uint64          uint8..uint64
//	float16        <f2             Half                   Half
//	float32        <f4             float32                float32
//	float64        <f8             float64                float64
//	longdouble     <f16            LongDouble (x87)       LongDouble
//	complex64      <c8             complex64              complex64
//	complex128     <c16            complex128             complex128
//	clongdouble    <c32            CLongDouble            CLongDouble
//	datetime64     <M8[10ms]       DateTime               int64
//	timedelta64    <m8[s]          TimeDelta              int64
//	bytes_         |S5             []byte (NULs trimmed)  -
//	str_           <U5             string (NULs trimmed)  -
//	void           |V8             []byte                 -
//	object         |O              the object (a pickle   - (Objects)
//	                               value)
//	structured     |V<size>        Record; subarray       -
//	                               fields as *Array
//
// Any of these may be '<' or '>' (one-byte types, S, V, O and structured
// dtypes have no byte order, '|'). Structured dtypes have named fields at
// offsets, possibly with gaps, titles, nested structs, subarray fields and
// numpy's aligned layout ([NewStruct], [PackStruct], [NewSubarray]).
// Datetimes carry a unit and a multiplier ([Datetime64]). Longdouble is
// the x86-64 format, 80-bit extended precision padded to 16 bytes; numpy
// leaves the padding uninitialized.
//
// # Zero-copy
//
// A view aliases Data when three things hold: the dtype is in native byte
// order, Data is aligned for the element type, and the layout is what the
// view needs. Then [Slice], [Values], the Float64s family, [Array.Dense],
// [Array.VecDense], [Array.CDense], [Array.Blas32] and [Array.Blas64]
// return memory that is Data itself: writing to the view writes the array.
// Otherwise they return a converted (byte-swapped or realigned) copy; with
// the [NoCopy] option, and always for [Slice], they fail with [ErrNoView]
// instead. [Array.ZeroCopy] says in advance which it will be.
//
// Typed slices hold the elements in the array's order: column-major for
// 'F' arrays.
//
// Buffers this package allocates ([New], [ReadNpy], [AlignedBytes]) are
// 64-byte aligned. .npy files put their data at a multiple of 64 bytes, so
// mapped .npy files ([OpenNpy]) give aligned views; .npz archives written
// by [NpzWriter] pad their stored members to the same boundary (numpy's own
// .npz files do not, so their mapped members may need a copy for typed
// views, though their bytes are still mapped). Large ones (4 MiB and
// more) are advised for transparent huge pages, and [Prefault] backs a
// buffer with memory ahead of whoever writes it, so that a loader can
// move the first-touch cost to another core.
//
// [Array.ContiguousBytes] returns the elements in C order, copying an
// F-order array; [Array.WriteC] writes the same bytes to an io.Writer
// through a 1 MiB buffer instead, for hashing or streaming an array of
// any size.
//
// # gonum
//
//	2-d float64, C order   *mat.Dense over Data            Dense
//	2-d float64, F order   (*mat.Dense).T() over Data      Dense
//	1-d float64            *mat.VecDense over Data         VecDense
//	2-d complex128         *mat.CDense, or its T()         CDense
//	2-d float32            blas32.General (+ trans flag)   Blas32
//	2-d float64            blas64.General (+ trans flag)   Blas64
//
// An F-order array is the transpose of a row-major matrix over the same
// bytes, which is how Dense and CDense view it without copying. gonum has
// no float32 matrix type: float32 arrays are []float32 ([Array.Float32s])
// or blas32.General, whose trans result says to pass blas.Trans for an
// F-order array. gonum panics on zero-sized matrices, so zero-sized shapes
// give [ErrEmpty] instead.
//
// # Memory lifetime
//
// [Array.Owner] says who owns Data:
//
//   - OwnerHeap: Go memory the array owns; valid while referenced.
//   - OwnerMapping: a memory-mapped file ([OpenNpy], [OpenNpz],
//     [FromMapping]). The array holds a reference to the mapping. Data and
//     every view of it are valid until the mapping's last reference is
//     dropped: for OpenNpy, when the array is closed ([Array.Close]); for
//     OpenNpz, when the array and the Npz are both closed. Using them
//     afterwards may crash the process. Writing to an array mapped with
//     mode "r" kills the process; use "c" to modify it privately.
//   - OwnerCaller: memory the caller lent ([FromBytes], [FromSlice]);
//     valid while the caller keeps it.
//
// Arrays decoded from pickles own the bytes the decoder read (OwnerHeap),
// except that protocol 5's out-of-band buffers, given with
// pickle.Buffers, are used in place: those arrays alias the caller's
// buffers.
//
// # Pickles
//
// [Register] adds numpy's constructors to a pickle.Registry (see
// [NewRegistry]): _reconstruct with its ndarray state, protocol 5's
// _frombuffer, scalar, and numpy.dtype with its state, under numpy 1's
// numpy.core and numpy 2's numpy._core names. Decoding gives *Array,
// *DType and *Scalar values; nothing named by the pickle is executed.
// Arrays, dtypes and scalars implement pickle.Pickler and write what
// numpy 1.24 writes, byte for byte in the committed fixtures: _frombuffer
// with an in-band bytearray at protocol 5, _reconstruct below it and for
// subclasses, object arrays, datetimes and the other dtypes numpy cannot
// export as a buffer. numpy 1.x turns non-native arrays native when it
// loads a protocol 2-4 pickle; that is numpy's doing.
//
// # Files
//
// [ReadNpy] and [LoadNpy] read .npy files of format 1.0, 2.0 and 3.0 into
// aligned heap memory; [OpenNpy] maps one. From an *os.File, data of
// 16 MiB or more is read by several goroutines at once (pread), and on
// Linux buffers of 4 MiB or more are advised to use transparent huge pages,
// as numpy advises its own, which makes first touching them several times
// cheaper. [WriteNpy] and [SaveNpy] write
// exactly what numpy.save writes: format 1.0 (2.0 when the header
// outgrows 64 KiB, 3.0 for non-latin-1 field names), the header padded so
// the data starts at a multiple of 64 bytes, F order and byte order kept.
// The header is parsed, not evaluated: only Python literals are accepted,
// its length is capped at [MaxHeaderLen], and lengths are checked against
// the input before anything is allocated. Object arrays are stored as
// numpy stores them, as a pickle.
//
// [OpenNpz], [NewNpzReader] and [LoadNpz] read .npz archives with stored
// or deflated members; [NpzWriter] and [SaveNpz] write them, stored or
// deflated ([Compressed]).
//
// Errors about bad input are *[FormatError] values wrapping [ErrFormat],
// [ErrCorrupt], [ErrTooLarge], [ErrUnsupported] or io.ErrUnexpectedEOF
// for truncated input, with the byte offset where the .npy data went
// wrong.
package ndarray
