// Package compressors reads and writes the compressed streams that joblib
// wraps around its pickles, and the "ZF" z-files of joblib before 0.10.
// It is the Go side of joblib.register_compressor: a registry of codecs,
// detection by magic bytes, joblib's mapping of compress= to a codec and
// level, and a limit on the decoded size.
//
// # Registry
//
// A [Codec] names a format and carries its magic, extension, levels and
// constructors. The built-in codecs register themselves; [Register] adds
// more (a name that is taken needs force, or fails with [ErrExists]).
// [Lookup] finds a codec by name, [Names] lists them, [ByExtension] picks
// one by file name for writing and [Detect] by the first bytes for reading.
// [Resolve] turns joblib.dump's compress= argument and the file name into
// a codec and level, the same way joblib does (see its table).
//
// # Magic bytes, extensions and levels
//
//	name   magic               ext    levels  default  library
//	zf     5a 46 ("ZF")        -      0-9     3        klauspost/compress/zlib (read only; NewZFWriter writes)
//	zlib   78                  .z     0-9     3        klauspost/compress/zlib
//	gzip   1f 8b               .gz    0-9     3        klauspost/compress/gzip
//	bz2    42 5a 68 ("BZh")    .bz2   1-9     9        compress/bzip2 reads, dsnet/compress/bzip2 writes
//	lzma   5d 00               .lzma  0-9     6        ulikunitz/xz/lzma ("alone" format)
//	xz     fd 37 7a 58 5a 00   .xz    0-9     6        the container here, LZMA2 by ulikunitz/xz/lzma; ulikunitz/xz writes
//	lz4    04 22 4d 18         .lz4   0-16    0        pierrec/lz4/v4 (blocks; frames read here, see below)
//	zstd   28 b5 2f fd         .zst   1-22    3        klauspost/compress/zstd, frames followed here (not a joblib codec)
//
// Detection checks "ZF" first, as joblib does, then the longest matching
// magic. The extension never matters when reading: some old ".gz" files
// hold zlib. zstd is an extra: joblib cannot read it, and [Resolve] picks it
// only for a ".zst" file name or by name.
//
// What each writer emits, so that Python reads it:
//   - zlib: one zlib stream (wbits 15).
//   - gzip: one member, no file name, mtime 0. Python's joblib loops forever
//     on a file of several members.
//   - bz2: one stream, 100k × level blocks.
//   - lzma: the "alone" format with unknown size and the end marker, which
//     Python's lzma.FORMAT_ALONE needs. The level sets the dictionary as
//     xz presets do (level 6: 8 MiB); there is no "extreme" mode.
//   - xz: one stream, one block, CRC64 check, dictionary as the preset.
//   - lz4: one frame of independent 256 KiB blocks with a content checksum
//     and no content size. Levels 0-2 use the fast compressor, 3-9 the HC
//     compressor at that depth, 10-16 the deepest HC level.
//   - zf: "ZF", the length as "0x…" padded with spaces to 19 characters,
//     one zlib stream; the size must be known first ([NewZFWriter]).
//
// The readers take more than the writers emit: gzip members, bz2 and xz
// streams (with zero padding between xz streams), lz4 and zstd frames that
// follow each other (as Python's modules and the zstd tool read them;
// skippable frames too), lz4 frames with linked blocks, block checksums
// or a content size (python-lz4's defaults), xz with any defined check
// (none, CRC32, CRC64, SHA-256), several blocks or sizes in its block
// headers (xz -T), lzma with a known size, and z-files whose length has
// an "L" or a 20th space. lz4 frames that need a dictionary (a dictionary
// ID), xz filters other than LZMA2 alone (BCJ, delta) and xz's reserved
// check ids fail with [ErrUnsupported]; the legacy lz4 format is not read.
//
// # Reading
//
// [NewReader] detects the codec and returns a stream of decoded bytes and
// the codec's name ("" for data that matches no codec, passed through).
// Nothing is accumulated: a caller that io.ReadFull's into its own buffer
// gets the bytes with one copy at most (lz4 decodes straight into a buffer
// with room for a block, and reads stored blocks straight into it). Close
// releases the decoder and never closes the source. [ReadZF] reads a
// z-file and returns its declared length too.
//
// # Members, and what follows a stream
//
// Given a *bufio.Reader, every reader takes from it only the bytes of its
// stream (all its gzip members, lz4 or zstd frames, bz2 or xz streams), so
// that the caller can read what follows from it. A member is one gzip
// member, lz4 or zstd frame, or bz2 or xz stream; zlib, lzma and z-files
// have one. No Read returns bytes of two members, and a member's first
// byte is read only by a Read that goes on to return its bytes (or fails).
// [FinishMember] reads to the end of the current member and checks its
// trailer, taking nothing after it. That is how the store package decodes
// joblib objects dumped one after another into one stream, even when they
// use the same codec: without it, the reader would take the next object's
// gzip member or xz stream for its stream's continuation (Python reads a
// multi-member file as one stream, and a pickle may span members, as
// bgzip writes them), and the store package could not tell.
//
// How each reader knows where a member ends: klauspost's flate stops at
// the end of a deflate stream, and the zlib and gzip readers give it a
// *bufio.Reader of their own, filled from the caller's, which keeps the
// bytes until flate has consumed them; gzip members are then read one at
// a time. The lz4 frames and the xz container are read here. zstd frames
// go to klauspost's decoder through a reader that follows their structure
// (frame header, block sizes, checksum) and ends with the frame. The
// standard library's bzip2 reader reads a byte at a time and goes on to
// the next stream itself, reading two bytes ("BZ") after each; its source
// watches for the end-of-stream magic in the bits going by and hands out
// those two bytes without taking them, so that they stay in place if the
// reader fails on them (the magic may also turn up inside a block, by
// chance, in which case the bytes are taken when the reader asks for a
// third).
//
// Damaged input gives a [*FormatError] whose Layer is the codec name and
// whose Offset is how many compressed bytes the decoder had taken when the
// damage showed (an upper bound on where it is). It wraps [ErrCorrupt],
// and also [io.ErrUnexpectedEOF] when the input stops early; an input cut
// where a lenient library would stop cleanly (an xz block boundary, an
// empty lz4 or zstd stream) is reported as cut too. A panic inside a
// third-party decoder becomes an [ErrCorrupt] error. Bytes after a zlib
// stream, the last gzip member, bz2 or xz stream (and its padding), the
// last lz4 or zstd frame, or an lzma stream of unknown size are an error
// ("data after end of stream"); after a z-file they are ignored, as Python
// ignores them. The xz reader checks everything the format covers (CRC32s
// of the headers and the index, the data's check, the sizes that block
// headers declare, the index against the blocks, the footer) except the
// packed size of each LZMA2 chunk, which lzma.Reader2 does not compare
// with what it decodes (the data's check still covers the decoded bytes).
//
// # The bomb limit
//
// [MaxOutput](n) makes reading past n decoded bytes fail with an error
// wrapping [ErrTooLarge]; exactly n bytes read cleanly. It also bounds
// memory before decoding starts: a z-file or an lzma header that declares
// more than n bytes is refused at once, the dictionary of an lzma stream of
// unknown size is cut to about 2n (a match cannot reach further back than
// the output goes), and so is that of every xz block. [MaxWindow](n) caps
// the lzma and xz dictionaries at n whatever MaxOutput allows, and refuses
// zstd frames whose window is over n, for a caller that does not know the
// input's size: Load caps by MaxOutput (MaxRatio times the file), the
// store package's Decoder of a pipe at 256 MiB. A stream whose matches
// reach further back than a cut dictionary fails as corrupt. Without
// either limit the dictionaries are as declared: up to 2 GiB for lzma
// (ulikunitz/xz's own cap), 4 GiB for xz, allocated when the stream or
// block starts. zstd windows over 128 MiB are always refused; bz2 blocks
// are at most 900 kB. An lz4 frame whose header declares a content size
// over n is refused at once; whatever the input, an lz4 reader holds at
// most a compressed and a decoded block of the frame's block maximum
// (4 MiB at most, and no more than the declared content size) and a
// 64 KiB window for linked blocks. A stream that exceeds n may in rare
// cases fail as corrupt instead, when the cut lzma dictionary is too small
// for a match past the limit.
//
// # The jlstore_cgo build
//
// Built with -tags jlstore_cgo (and cgo enabled), the package decodes bz2
// with libbz2 and lzma and the LZMA2 data of xz blocks with liblzma, the
// libraries Python's modules use; Debian's libbz2-dev and liblzma-dev
// provide them. Nothing else changes: the xz container is still read
// here (one implementation of its checks, of MaxWindow and of stream
// ends), the readers stream into the caller's buffer straight from the
// caller's bufio.Reader buffer, take exactly the bytes of each member,
// and give the same errors (a [*FormatError] with the offset, ErrCorrupt,
// io.ErrUnexpectedEOF for a cut stream) and limits. The C side holds one
// decoder state (libbz2: about 3.7 MB for 900 kB blocks; liblzma: the
// dictionary, capped as in the Go build), freed by Close, or by a cleanup
// when a reader is dropped unclosed. On 64 MiB that Python compressed at
// joblib's level 3, decoding runs 1.5-1.9× faster for bz2 (26 against
// 14 MB/s on uniform floats, 113 against 77 MB/s on smooth ones) and
// 1.2-1.7× for xz (21 against 12 MB/s; 1.37 against 1.13 GB/s), and
// allocates nothing per byte (the Go xz decoder makes up to 1.7 bytes
// of garbage per byte). Where the C libraries and the Go ones disagree, the C ones
// side with Python: libbz2 reads bzip2 0.9.0's randomised blocks and
// checks a few block header fields that compress/bzip2 lets pass, and
// liblzma checks the packed size of each LZMA2 chunk. The build uses
// cgo rather than a pure-Go port because no maintained Go module decodes
// bz2 or LZMA faster than the ones used here, and the C libraries are the
// reference decoders, already on every system that has Python.
//
// # Why these libraries
//
// klauspost/compress is the fastest pure-Go deflate and zstd and its zlib
// and gzip readers are drop-in replacements of the standard library's.
// The standard library's bzip2 reader is correct and as fast as any Go one,
// but it cannot write, so dsnet/compress writes bz2. ulikunitz/xz is the
// only maintained pure-Go lzma and xz; it is several times slower than
// liblzma, and the benchmarks say by how much. Its xz reader goes on from
// one stream to the next within a Read, and sizes the dictionary of
// every block by that block's header, which a hostile file sets to
// 4 GiB; so the xz container is read here, and only the LZMA2 data of
// each block goes to its lzma.Reader2. pierrec/lz4/v4 writes lz4
// frames and decodes their blocks, at several GB/s; the frames themselves
// are read here, because pierrec's reader (v4.1.33) allocates a new
// window for nearly every linked block, which python-lz4 writes by
// default: about 2.4 bytes of garbage per byte decoded. This reader keeps
// one 64 KiB window and allocates nothing per block.
package compressors
