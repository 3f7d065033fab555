package compressors

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"fmt"
	"io"

	dsbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/jlstore/jlstore/internal/errs"
)

// Names of the built-in codecs.
const (
	Zlib = "zlib"
	Gzip = "gzip"
	BZ2  = "bz2"
	LZMA = "lzma"
	XZ   = "xz"
	LZ4  = "lz4"
	Zstd = "zstd"
	ZF   = "zf"
)

func init() {
	builtin := []struct {
		c    Codec
		open func(io.Reader, limits) (io.ReadCloser, error)
	}{
		{Codec{Name: Zlib, Magic: []byte{0x78}, Ext: ".z", DefaultLevel: 3, Levels: [2]int{0, 9}, NewWriter: newZlibWriter}, newZlibReader},
		{Codec{Name: Gzip, Magic: []byte{0x1f, 0x8b}, Ext: ".gz", DefaultLevel: 3, Levels: [2]int{0, 9}, NewWriter: newGzipWriter}, newGzipReader},
		{Codec{Name: BZ2, Magic: []byte("BZh"), Ext: ".bz2", DefaultLevel: 9, Levels: [2]int{1, 9}, NewWriter: newBZ2Writer}, newBZ2Reader},
		{Codec{Name: LZMA, Magic: []byte{0x5d, 0x00}, Ext: ".lzma", DefaultLevel: 6, Levels: [2]int{0, 9}, NewWriter: newLZMAWriter}, newLZMAReader},
		{Codec{Name: XZ, Magic: []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, Ext: ".xz", DefaultLevel: 6, Levels: [2]int{0, 9}, NewWriter: newXZWriter}, newXZReader},
		{Codec{Name: LZ4, Magic: []byte{0x04, 0x22, 0x4d, 0x18}, Ext: ".lz4", DefaultLevel: 0, Levels: [2]int{0, 16}, NewWriter: newLZ4Writer}, newLZ4Reader},
		{Codec{Name: Zstd, Magic: []byte{0x28, 0xb5, 0x2f, 0xfd}, Ext: ".zst", DefaultLevel: 3, Levels: [2]int{1, 22}, NewWriter: newZstdWriter}, newZstdReader},
		{Codec{Name: ZF, Magic: []byte("ZF"), DefaultLevel: 3, Levels: [2]int{0, 9}}, func(r io.Reader, lim limits) (io.ReadCloser, error) {
			rc, _, err := ReadZF(r, lim.maxOutput)
			return rc, err
		}},
	}
	for _, b := range builtin {
		open := b.open
		b.c.NewReader = func(r io.Reader) (io.ReadCloser, error) { return open(r, limits{}) }
		b.c.newReaderLimit = open
		mustRegister(b.c)
	}
}

// checkLevel resolves -1 to the default level of a built-in codec and
// checks the range.
func checkLevel(name string, level int) (int, error) {
	c, ok := Lookup(name)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	return c.level(level)
}

// nopCloser adds a Close that does nothing to a decoder that has none.
func nopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }

// --- zlib

// newZlibReader hands flate a *bufio.Reader (bufSource.own), for which
// klauspost's flate has its fast Huffman loop.
func newZlibReader(r io.Reader, _ limits) (io.ReadCloser, error) {
	src := newBufSource(r, 0)
	zr, err := zlib.NewReader(src.own)
	if err != nil {
		return nil, wrapDecodeErr(Zlib, src, err)
	}
	return &decodeReader{name: Zlib, src: src, dec: zr, strictEnd: true}, nil
}

func newZlibWriter(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(Zlib, level)
	if err != nil {
		return nil, err
	}
	return zlib.NewWriterLevel(w, level)
}

// --- gzip

// newGzipReader reads all the gzip members that follow each other, as
// Python's gzip module does, and stops before anything else.
func newGzipReader(r io.Reader, _ limits) (io.ReadCloser, error) {
	src := newBufSource(r, 0)
	zr, err := gzip.NewReader(src.own)
	if err != nil {
		return nil, wrapDecodeErr(Gzip, src, err)
	}
	zr.Multistream(false)
	return &decodeReader{name: Gzip, src: src, dec: &gzipMembers{zr: zr, src: src}}, nil
}

// gzipMembers reads one member after the other. klauspost's own
// multistream mode reads ten bytes after each member to look for another
// header, taking the start of whatever follows; this looks at the next
// bytes first and leaves them in place unless they start a member. The
// next member's header is read only by a Read after the one that returned
// the last bytes of a member, so no Read returns bytes of two members.
type gzipMembers struct {
	zr   *gzip.Reader
	src  *bufSource
	stop bool // FinishMember: end with the current member
}

var gzipMagic = []byte{0x1f, 0x8b}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if err != io.EOF {
			return n, err
		}
		if n > 0 {
			// The member's last bytes; klauspost's reader returns io.EOF
			// again on the next Read, which goes on from here.
			return n, nil
		}
		if g.stop {
			return 0, io.EOF
		}
		head, perr := g.src.own.Peek(len(gzipMagic))
		switch {
		case bytes.Equal(head, gzipMagic):
		case len(head) == 0 && perr == io.EOF:
			return 0, io.EOF
		case perr == io.EOF && bytes.HasPrefix(gzipMagic, head):
			return 0, io.ErrUnexpectedEOF
		case perr != nil && perr != io.EOF:
			return 0, perr
		default:
			return 0, &FormatError{Layer: Gzip, Offset: g.src.offset(), What: "data after end of stream", Err: errs.Corrupt}
		}
		// Another member: its header now, its data next.
		if err := g.zr.Reset(g.src.own); err != nil {
			return 0, err
		}
		g.zr.Multistream(false)
	}
}

func (g *gzipMembers) Close() error { return g.zr.Close() }

func (g *gzipMembers) stopAtMemberEnd() { g.stop = true }

// newGzipWriter writes one gzip member with no name and mtime 0: Python
// joblib loops forever on a file of several members.
func newGzipWriter(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(Gzip, level)
	if err != nil {
		return nil, err
	}
	return gzip.NewWriterLevel(w, level)
}

// --- bz2

// newBZ2Reader reads bz2 streams that follow each other, with the
// standard library's reader (which goes on to the next stream itself)
// over a bz2Source, which finds where each stream ends.
func newBZ2Reader(r io.Reader, lim limits) (io.ReadCloser, error) {
	if nativeBZ2 != nil && !lim.pureGo {
		src := newCountReader(r)
		dec, err := nativeBZ2(src)
		if err != nil {
			return nil, wrapDecodeErr(BZ2, src, err)
		}
		return &decodeReader{name: BZ2, src: src, dec: dec}, nil
	}
	src := &bz2Source{countReader: newCountReader(r)}
	return &decodeReader{name: BZ2, src: src, dec: &bz2Reader{r: bzip2.NewReader(src), src: src}}, nil
}

// nativeBZ2, set by the jlstore_cgo build (native_bz2.go), reads the bz2
// streams of src with libbz2, as bz2Reader does.
var nativeBZ2 func(src *countReader) (io.ReadCloser, error)

// bz2Reader turns the standard library's complaint about the bytes after
// a stream into "data after end of stream", or into the end of the member
// under FinishMember, with those bytes left unread.
type bz2Reader struct {
	r   io.Reader
	src *bz2Source
}

// errBZ2Continuation is what compress/bzip2 returns when the two bytes
// after a stream are not "BZ".
var errBZ2Continuation = bzip2.StructuralError("bad magic value in continuation file")

func (b *bz2Reader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.src.held == 2 && err == errBZ2Continuation {
		b.src.held = 0 // not taken from the caller's reader
		if b.src.stop {
			return n, io.EOF
		}
		return n, &FormatError{Layer: BZ2, Offset: b.src.n, What: "data after end of stream", Err: errs.Corrupt}
	}
	return n, err
}

func (b *bz2Reader) Close() error { return nil }

func (b *bz2Reader) stopAtMemberEnd() { b.src.stop = true }

// bz2Source is the byte source of compress/bzip2, which reads it a byte at
// a time, so that every byte it takes is counted. The reader goes on from
// one stream to the next by itself: after a stream's end (a 48-bit magic,
// the stream's CRC and the padding to a byte) it reads two bytes, "BZ" to
// go on, or fails. bz2Source watches the bits go by for that magic and
// hands out the two bytes after a possible end without taking them from
// the caller's bufio.Reader (the magic may also be a coincidence inside a
// block: the bytes are taken when the reader asks for a third). If the
// reader then fails on them, bz2Reader leaves them in place. Under
// FinishMember, a stream's end followed by "BZh" (the next stream) is the
// end of the input.
type bz2Source struct {
	*countReader
	hi, lo uint64 // the last 16 bytes taken, the latest in the low byte of lo
	taken  int64  // bytes taken
	held   int    // bytes handed out after a possible end, not taken yet
	stop   bool   // FinishMember: end with the current stream
}

// bz2EndMagic ends a bz2 stream: the bits of sqrt(pi).
const bz2EndMagic = 0x177245385090

func (s *bz2Source) ReadByte() (byte, error) {
	if s.held == 0 && s.taken >= 14 && s.atStreamEnd() {
		if s.stop {
			if head, _ := s.br.Peek(3); string(head) == "BZh" {
				return 0, io.EOF
			}
		}
		return s.hold()
	}
	if s.held > 0 {
		if s.held < 2 {
			return s.hold()
		}
		// A third byte: the two were data after all.
		b, _ := s.br.Peek(2) // buffered: cannot fail
		s.push(b[0])
		s.push(b[1])
		s.br.Discard(2)
		s.n += 2
		s.held = 0
	}
	b, err := s.countReader.ReadByte()
	if err == nil {
		s.push(b)
	}
	return b, err
}

// hold hands out the next byte after the held ones without taking it.
func (s *bz2Source) hold() (byte, error) {
	b, err := s.br.Peek(s.held + 1)
	if len(b) <= s.held {
		if err == nil || err == bufio.ErrBufferFull {
			err = io.ErrNoProgress // a bufio.Reader of fewer than 2 bytes
		}
		s.note(err)
		return 0, err
	}
	s.held++
	return b[s.held-1], nil
}

func (s *bz2Source) push(b byte) {
	s.hi = s.hi<<8 | s.lo>>56
	s.lo = s.lo<<8 | uint64(b)
	s.taken++
}

// atStreamEnd reports whether the bytes taken end with the end magic and
// a CRC, followed by 0 to 7 bits of padding. With pad bits, the magic is
// at bits 32+pad to 80+pad of the history, so bits 40 to 72 hold its bits
// 8-pad to 40-pad: a compare each before the whole check.
func (s *bz2Source) atStreamEnd() bool {
	mid := uint32(s.lo>>40 | s.hi<<24)
	for pad := range uint(8) {
		if mid != bz2EndMid[pad] {
			continue
		}
		lo, hi := s.lo>>pad|s.hi<<(64-pad), s.hi>>pad
		if (hi&0xffff)<<32|lo>>32 == bz2EndMagic {
			return true
		}
	}
	return false
}

// bz2EndMid[pad] is bits 8-pad to 40-pad of the end magic.
var bz2EndMid = func() (m [8]uint32) {
	for pad := range m {
		m[pad] = uint32(uint64(bz2EndMagic) >> (8 - pad))
	}
	return m
}()

// offset counts the held bytes, which the decoder has consumed.
func (s *bz2Source) offset() int64 { return s.n + int64(s.held) }

func newBZ2Writer(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(BZ2, level)
	if err != nil {
		return nil, err
	}
	return dsbzip2.NewWriter(w, &dsbzip2.WriterConfig{Level: level})
}

// --- lzma

// presetDict is the dictionary size of xz presets 0-9, as liblzma sets it.
var presetDict = [10]int{256 << 10, 1 << 20, 2 << 20, 4 << 20, 4 << 20, 8 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20}

const lzmaHeaderLen = 13

// prefixReader serves hdr, then src; it stays an io.ByteReader so that
// the lzma decoder reads src directly.
type prefixReader struct {
	hdr []byte
	src *countReader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.hdr) > 0 {
		n := copy(b, p.hdr)
		p.hdr = p.hdr[n:]
		return n, nil
	}
	return p.src.Read(b)
}

func (p *prefixReader) ReadByte() (byte, error) {
	if len(p.hdr) > 0 {
		b := p.hdr[0]
		p.hdr = p.hdr[1:]
		return b, nil
	}
	return p.src.ReadByte()
}

// maxLZMADict is the largest lzma dictionary read: ulikunitz/xz refuses
// more (liblzma takes up to 4 GiB).
const maxLZMADict = 1<<31 - 1

// nativeLZMA, set by the jlstore_cgo build (native_lzma.go), decodes an
// lzma stream with liblzma: hdr (the header, as the Go decoder gets it),
// then src.
var nativeLZMA func(src *countReader, hdr []byte) (io.ReadCloser, error)

// newLZMAReader reads the "alone" format. With a limit, it refuses a
// declared size over the limit. It cuts the dictionary to lim.dictCap()
// and to a known size, rewriting the header, and refuses one over 2 GiB.
func newLZMAReader(r io.Reader, lim limits) (io.ReadCloser, error) {
	src := newCountReader(r)
	hdr, err := src.br.Peek(lzmaHeaderLen)
	if err != nil {
		if src.note(err); src.err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, wrapDecodeErr(LZMA, src, err)
	}
	hdr = bytes.Clone(hdr)
	if _, err := src.br.Discard(lzmaHeaderLen); err != nil {
		return nil, wrapDecodeErr(LZMA, src, err)
	}
	src.n = lzmaHeaderLen
	if p := hdr[0]; p >= 9*5*5 || p%9+p/9%5 > 4 {
		// lc+lp over 4 is valid LZMA, but liblzma (so Python) refuses it.
		return nil, &FormatError{Layer: LZMA, Offset: 0, What: fmt.Sprintf("properties byte %#02x (lc+lp over 4, or pb over 4)", p), Err: errs.Corrupt}
	}
	dict := int64(binary.LittleEndian.Uint32(hdr[1:5]))
	size := binary.LittleEndian.Uint64(hdr[5:13])
	known := size != ^uint64(0)
	if max := lim.maxOutput; max > 0 && known && size > uint64(max) {
		return nil, &FormatError{Layer: LZMA, Offset: 5, What: fmt.Sprintf("declared size %d exceeds the limit of %d bytes", size, max), Err: errs.TooLarge}
	}
	// The dictionary the decoder gets: no more than the cap, nor than a
	// known size (as ulikunitz/xz does), 4 KiB at least.
	eff := dict
	if c := lim.dictCap(); c > 0 {
		eff = min(eff, c)
	}
	if known {
		eff = min(eff, int64(max(size, lzma.MinDictCap)))
	}
	eff = max(eff, lzma.MinDictCap)
	if eff > maxLZMADict {
		return nil, &FormatError{Layer: LZMA, Offset: 1, What: fmt.Sprintf("dictionary of %d bytes, over %d", eff, maxLZMADict), Err: errs.TooLarge}
	}
	if eff != dict {
		binary.LittleEndian.PutUint32(hdr[1:5], uint32(eff))
	}
	if nativeLZMA != nil && !lim.pureGo {
		dec, err := nativeLZMA(src, hdr)
		if err != nil {
			return nil, wrapDecodeErr(LZMA, src, err)
		}
		return &decodeReader{name: LZMA, src: src, dec: dec, strictEnd: !known}, nil
	}
	lr, err := lzma.NewReader(&prefixReader{hdr: hdr, src: src})
	if err != nil {
		return nil, wrapDecodeErr(LZMA, src, err)
	}
	// A stream of known size may end with an optional end marker, so only
	// streams of unknown size are checked for trailing bytes.
	return &decodeReader{name: LZMA, src: src, dec: nopCloser(lr), strictEnd: !known}, nil
}

func newLZMAWriter(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(LZMA, level)
	if err != nil {
		return nil, err
	}
	// Unknown size, so the end marker is written, as Python's
	// lzma.FORMAT_ALONE needs.
	return lzma.WriterConfig{DictCap: presetDict[level], EOSMarker: true}.NewWriter(w)
}

// --- xz

// newXZReader is in xz.go.

func newXZWriter(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(XZ, level)
	if err != nil {
		return nil, err
	}
	return xz.WriterConfig{DictCap: presetDict[level], CheckSum: xz.CRC64}.NewWriter(w)
}

// --- lz4

// newLZ4Reader is in lz4.go.

// lz4Level maps python-lz4's compression_level (0-16) to pierrec/lz4:
// 0-2 are the fast compressor, 3-9 the HC levels of the same number, and
// 10-16 the deepest HC level.
func lz4Level(level int) lz4.CompressionLevel {
	switch {
	case level < 3:
		return lz4.Fast
	case level > 9:
		return lz4.Level9
	}
	return lz4.CompressionLevel(1 << (8 + level))
}

// newLZ4Writer writes one frame of independent 256 KiB blocks with a
// content checksum and no content size. LZ4 matches reach back 64 KiB at
// most, so larger blocks gain little ratio and cost every reader a larger
// buffer.
func newLZ4Writer(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(LZ4, level)
	if err != nil {
		return nil, err
	}
	zw := lz4.NewWriter(w)
	if err := zw.Apply(lz4.CompressionLevelOption(lz4Level(level)), lz4.ChecksumOption(true), lz4.BlockSizeOption(lz4.Block256Kb)); err != nil {
		return nil, err
	}
	return zw, nil
}

// --- zstd

// newZstdReader is in zstd.go.

func newZstdWriter(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(Zstd, level)
	if err != nil {
		return nil, err
	}
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)), zstd.WithEncoderConcurrency(1))
}
