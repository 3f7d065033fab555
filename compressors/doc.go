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
//	xz     fd 37 7a 58 5a 00   .xz    0-9     6        ulikunitz/xz
//	lz4    04 22 4d 18         .lz4   0-16    0        pierrec/lz4/v4 (blocks; frames read here, see below)
//	zstd   28 b5 2f fd         .zst   1-22    3        klauspost/compress/zstd (not a joblib codec)
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
// streams and lz4 frames that follow each other (as Python's modules read
// them; lz4 skippable frames too), lz4 frames with linked blocks, block
// checksums or a content size (python-lz4's defaults), xz with any check,
// lzma with a known size, and z-files whose length has an "L" or a 20th
// space. lz4 frames that need a dictionary (a dictionary ID) fail with
// [ErrUnsupported]; the legacy lz4 format is not read.
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
// Given a *bufio.Reader, the zlib, gzip and lz4 readers take from it only
// the bytes of their stream (all its gzip members, all its lz4 frames),
// so that the caller can read what follows from it: several joblib
// streams in one file load one after another. The zlib and gzip readers
// give klauspost's flate a *bufio.Reader of their own, filled from the
// caller's, which keeps the bytes until flate has consumed them.
//
// Damaged input gives a [*FormatError] whose Layer is the codec name and
// whose Offset is how many compressed bytes the decoder had taken when the
// damage showed (an upper bound on where it is). It wraps [ErrCorrupt],
// and also [io.ErrUnexpectedEOF] when the input stops early; an input cut
// where a lenient library would stop cleanly (an xz block boundary, an
// empty lz4 or zstd stream) is reported as cut too. A panic inside a
// third-party decoder becomes an [ErrCorrupt] error. Bytes after a zlib
// stream, the last gzip member, the last lz4 frame or an lzma stream of
// unknown size are an error ("data after end of stream"); after a z-file
// they are ignored, as Python ignores them.
//
// # The bomb limit
//
// [MaxOutput](n) makes reading past n decoded bytes fail with an error
// wrapping [ErrTooLarge]; exactly n bytes read cleanly. It also bounds
// memory before decoding starts: a z-file or an lzma header that declares
// more than n bytes is refused at once, the dictionary of an lzma stream of
// unknown size is cut to about 2n (a match cannot reach further back than
// the output goes), and so is that of the first xz block (its header CRC
// is rewritten). Without a limit the dictionaries are as declared: up to
// 2 GiB for lzma (ulikunitz/xz's own cap), 4 GiB for xz. zstd windows over
// 128 MiB are refused; bz2 blocks are at most 900 kB. An lz4 frame whose
// header declares a content size over n is refused at once; whatever the
// input, an lz4 reader holds at most a compressed and a decoded block of
// the frame's block maximum (4 MiB at most, and no more than the declared
// content size) and a 64 KiB window for linked blocks.
// A stream that exceeds n may in rare cases fail as corrupt instead, when
// the cut lzma dictionary is too small for a match past the limit.
//
// # Why these libraries
//
// klauspost/compress is the fastest pure-Go deflate and zstd and its zlib
// and gzip readers are drop-in replacements of the standard library's.
// The standard library's bzip2 reader is correct and as fast as any Go one,
// but it cannot write, so dsnet/compress writes bz2. ulikunitz/xz is the
// only maintained pure-Go lzma and xz; it is several times slower than
// liblzma, and the benchmarks say by how much. pierrec/lz4/v4 writes lz4
// frames and decodes their blocks, at several GB/s; the frames themselves
// are read here, because pierrec's reader (v4.1.33) allocates a new
// window for nearly every linked block, which python-lz4 writes by
// default: about 2.4 bytes of garbage per byte decoded. This reader keeps
// one 64 KiB window and allocates nothing per block.
package compressors
