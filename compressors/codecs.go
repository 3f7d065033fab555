package compressors

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"fmt"
	"hash/crc32"
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

// zstdMaxWindow caps the zstd window the decoder accepts (128 MiB, what
// zstd --long=27 uses).
const zstdMaxWindow = 1 << 27

func init() {
	builtin := []struct {
		c    Codec
		open func(io.Reader, int64) (io.ReadCloser, error)
	}{
		{Codec{Name: Zlib, Magic: []byte{0x78}, Ext: ".z", DefaultLevel: 3, Levels: [2]int{0, 9}, NewWriter: newZlibWriter}, newZlibReader},
		{Codec{Name: Gzip, Magic: []byte{0x1f, 0x8b}, Ext: ".gz", DefaultLevel: 3, Levels: [2]int{0, 9}, NewWriter: newGzipWriter}, newGzipReader},
		{Codec{Name: BZ2, Magic: []byte("BZh"), Ext: ".bz2", DefaultLevel: 9, Levels: [2]int{1, 9}, NewWriter: newBZ2Writer}, newBZ2Reader},
		{Codec{Name: LZMA, Magic: []byte{0x5d, 0x00}, Ext: ".lzma", DefaultLevel: 6, Levels: [2]int{0, 9}, NewWriter: newLZMAWriter}, newLZMAReader},
		{Codec{Name: XZ, Magic: []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, Ext: ".xz", DefaultLevel: 6, Levels: [2]int{0, 9}, NewWriter: newXZWriter}, newXZReader},
		{Codec{Name: LZ4, Magic: []byte{0x04, 0x22, 0x4d, 0x18}, Ext: ".lz4", DefaultLevel: 0, Levels: [2]int{0, 16}, NewWriter: newLZ4Writer}, newLZ4Reader},
		{Codec{Name: Zstd, Magic: []byte{0x28, 0xb5, 0x2f, 0xfd}, Ext: ".zst", DefaultLevel: 3, Levels: [2]int{1, 22}, NewWriter: newZstdWriter}, newZstdReader},
		{Codec{Name: ZF, Magic: []byte("ZF"), DefaultLevel: 3, Levels: [2]int{0, 9}}, func(r io.Reader, max int64) (io.ReadCloser, error) {
			rc, _, err := ReadZF(r, max)
			return rc, err
		}},
	}
	for _, b := range builtin {
		open := b.open
		b.c.NewReader = func(r io.Reader) (io.ReadCloser, error) { return open(r, 0) }
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
func newZlibReader(r io.Reader, _ int64) (io.ReadCloser, error) {
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
func newGzipReader(r io.Reader, _ int64) (io.ReadCloser, error) {
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
// bytes first and leaves them in place unless they start a member.
type gzipMembers struct {
	zr  *gzip.Reader
	src *bufSource
}

var gzipMagic = []byte{0x1f, 0x8b}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if err != io.EOF {
			return n, err
		}
		head, perr := g.src.own.Peek(len(gzipMagic))
		switch {
		case bytes.Equal(head, gzipMagic):
		case len(head) == 0 && perr == io.EOF:
			return n, io.EOF
		case perr == io.EOF && bytes.HasPrefix(gzipMagic, head):
			return n, io.ErrUnexpectedEOF
		case perr != nil && perr != io.EOF:
			return n, perr
		default:
			return n, &FormatError{Layer: Gzip, Offset: g.src.offset(), What: "data after end of stream", Err: errs.Corrupt}
		}
		// Another member: its header now, its data in this call or the
		// next.
		if err := g.zr.Reset(g.src.own); err != nil {
			return n, err
		}
		g.zr.Multistream(false)
		if n > 0 {
			return n, nil
		}
	}
}

func (g *gzipMembers) Close() error { return g.zr.Close() }

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

func newBZ2Reader(r io.Reader, _ int64) (io.ReadCloser, error) {
	src := newCountReader(r)
	return &decodeReader{name: BZ2, src: src, dec: nopCloser(bzip2.NewReader(src))}, nil
}

func newBZ2Writer(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(BZ2, level)
	if err != nil {
		return nil, err
	}
	return dsbzip2.NewWriter(w, &dsbzip2.WriterConfig{Level: level})
}

// --- lzma and xz

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

// newLZMAReader reads the "alone" format. With a limit, it refuses a
// declared size over the limit and shrinks a larger dictionary to twice
// the limit: a match can reach back only as far as the output goes.
func newLZMAReader(r io.Reader, max int64) (io.ReadCloser, error) {
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
	dict := int64(binary.LittleEndian.Uint32(hdr[1:5]))
	size := binary.LittleEndian.Uint64(hdr[5:13])
	known := size != ^uint64(0)
	if max > 0 {
		if known && size > uint64(max) {
			return nil, &FormatError{Layer: LZMA, Offset: 5, What: fmt.Sprintf("declared size %d exceeds the limit of %d bytes", size, max), Err: errs.TooLarge}
		}
		if capDict := 2*max + lzma.MinDictCap; !known && dict > capDict {
			binary.LittleEndian.PutUint32(hdr[1:5], uint32(capDict))
		}
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

func newXZReader(r io.Reader, max int64) (io.ReadCloser, error) {
	src := newCountReader(r)
	in, err := capXZDict(src, max)
	if err != nil {
		return nil, wrapDecodeErr(XZ, src, err)
	}
	tail := &xzTail{r: in}
	// DictCap is a floor here: the block header's size wins when larger.
	xr, err := xz.ReaderConfig{DictCap: lzma.MinDictCap}.NewReader(tail)
	if err != nil {
		return nil, wrapDecodeErr(XZ, src, err)
	}
	return &decodeReader{name: XZ, src: src, dec: nopCloser(&xzDecoder{xr: xr, tail: tail})}, nil
}

// xzDecoder turns an early end that ulikunitz/xz takes for a clean one
// (input cut at a block boundary) into io.ErrUnexpectedEOF: a complete
// xz file ends with a stream footer, then optional zero padding.
type xzDecoder struct {
	xr   *xz.Reader
	tail *xzTail
}

func (d *xzDecoder) Read(p []byte) (int, error) {
	n, err := d.xr.Read(p)
	if err == io.EOF && !d.tail.endsWithFooter() {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// xzFooterLen is the length of an xz stream footer: CRC32, backward
// size, flags and "YZ".
const xzFooterLen = 12

// xzTail remembers the last bytes read before the current run of zeros.
type xzTail struct {
	r     io.Reader
	buf   [2 * xzFooterLen]byte
	n     int   // bytes of buf in use: the tail, ending in a non-zero byte
	zeros int64 // zero bytes read after the tail
}

// maxXZPadding bounds the zero padding read after an xz stream. The
// format allows any multiple of four, and ulikunitz/xz reads all of it
// within the Read that returns a stream's last bytes, so without a bound
// a gigabyte of zeros appended to a file is read (4 GiB allocated, 10 s)
// before the data before it is returned.
const maxXZPadding = 1 << 20

func (t *xzTail) Read(p []byte) (int, error) {
	if t.zeros > maxXZPadding && t.endsWithFooter() {
		// Fail without data: io.ReadFull drops an error that comes
		// with the bytes it asked for.
		return 0, &FormatError{Layer: XZ, Offset: -1, What: fmt.Sprintf("more than %d bytes of zero padding after the stream", maxXZPadding), Err: errs.Corrupt}
	}
	n, err := t.r.Read(p)
	t.note(p[:n])
	return n, err
}

func (t *xzTail) push(b []byte) {
	if len(b) >= xzFooterLen {
		t.n = copy(t.buf[:], b[len(b)-xzFooterLen:])
		return
	}
	if t.n+len(b) > len(t.buf) {
		keep := xzFooterLen - len(b)
		copy(t.buf[:], t.buf[t.n-keep:t.n])
		t.n = keep
	}
	t.n += copy(t.buf[t.n:], b)
}

func (t *xzTail) note(b []byte) {
	i := len(b) - 1
	for i >= 0 && b[i] == 0 {
		i--
	}
	if i < 0 {
		t.zeros += int64(len(b))
		return
	}
	var zeros [xzFooterLen]byte
	t.push(zeros[:min(t.zeros, xzFooterLen)])
	t.push(b[:i+1])
	t.zeros = int64(len(b) - 1 - i)
}

func (t *xzTail) endsWithFooter() bool {
	if t.n < xzFooterLen {
		return false
	}
	f := t.buf[t.n-xzFooterLen : t.n]
	return f[10] == 'Y' && f[11] == 'Z' &&
		crc32IEEE(f[4:10]) == binary.LittleEndian.Uint32(f[:4])
}

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

type zstdReader struct{ *zstd.Decoder }

func (z zstdReader) Close() error { z.Decoder.Close(); return nil }

func newZstdReader(r io.Reader, _ int64) (io.ReadCloser, error) {
	src := newCountReader(r)
	if err := src.requireData(); err != nil {
		return nil, wrapDecodeErr(Zstd, src, err)
	}
	zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(zstdMaxWindow))
	if err != nil {
		return nil, wrapDecodeErr(Zstd, src, err)
	}
	return &decodeReader{name: Zstd, src: src, dec: zstdReader{zr}}, nil
}

func newZstdWriter(w io.Writer, level int) (io.WriteCloser, error) {
	level, err := checkLevel(Zstd, level)
	if err != nil {
		return nil, err
	}
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)), zstd.WithEncoderConcurrency(1))
}

// capXZDict shrinks the LZMA2 dictionary that the first block header of
// an xz stream declares to about twice max, fixing the header's CRC32, so
// that a hostile header cannot make the decoder allocate gigabytes for a
// small limit. Anything it does not understand passes through unchanged
// for the decoder to judge.
func capXZDict(src *countReader, max int64) (io.Reader, error) {
	const streamHeaderLen = 12
	if max <= 0 {
		return src, nil
	}
	head, _ := src.br.Peek(streamHeaderLen + 1)
	if len(head) <= streamHeaderLen || head[streamHeaderLen] == 0 {
		return src, nil // short, or an empty stream (index first)
	}
	total := streamHeaderLen + (int(head[streamHeaderLen])+1)*4
	buf, _ := src.br.Peek(total)
	if len(buf) < total {
		return src, nil
	}
	bh := buf[streamHeaderLen:]
	if crc32IEEE(bh[:len(bh)-4]) != binary.LittleEndian.Uint32(bh[len(bh)-4:]) {
		return src, nil
	}
	flags := bh[1]
	if flags&0x03 != 0 { // more than one filter: not one we decode anyway
		return src, nil
	}
	p := 2
	vli := func() (uint64, bool) {
		var v uint64
		for i := 0; i < 9 && p < len(bh)-4; i++ {
			b := bh[p]
			p++
			v |= uint64(b&0x7f) << (7 * i)
			if b&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	for _, bit := range []byte{0x40, 0x80} { // compressed, uncompressed size
		if flags&bit != 0 {
			if _, ok := vli(); !ok {
				return src, nil
			}
		}
	}
	id, ok1 := vli()
	n, ok2 := vli()
	if !ok1 || !ok2 || id != 0x21 || n != 1 || p >= len(bh)-4 {
		return src, nil
	}
	dict, err := lzma.DecodeDictCap(bh[p])
	limit := 2*max + lzma.MinDictCap
	if err != nil || dict <= limit {
		return src, nil
	}
	out := bytes.Clone(buf)
	ob := out[streamHeaderLen:]
	ob[p] = lzma.EncodeDictCap(limit)
	binary.LittleEndian.PutUint32(ob[len(ob)-4:], crc32IEEE(ob[:len(ob)-4]))
	if _, err := src.br.Discard(total); err != nil {
		return nil, err
	}
	src.n += int64(total)
	return &prefixReader{hdr: out, src: src}, nil
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
