package compressors

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"

	"github.com/jlstore/jlstore/internal/errs"
)

// The xz format (xz-file-format 1.2.0), as xzReader reads it. Numbers are
// little-endian; a VLI is 1 to 9 bytes of 7 bits each, low bits first,
// the high bit set on all bytes but the last.
//
//	stream        header, blocks, index, footer; streams may follow each other,
//	              with zero padding (a multiple of 4 bytes) between them
//	header        magic fd 37 7a 58 5a 00, flags 00 0c (c: check id), CRC32 of the flags
//	block         header, LZMA2 data, zero padding to a multiple of 4 bytes
//	              (header and data), the check of the decoded data
//	block header  size byte s ((s+1)*4 bytes in all), flags (bits 1-0: filters-1,
//	              6: compressed size, 7: uncompressed size), [compressed size],
//	              [uncompressed size], per filter: ID, properties size, properties;
//	              zero padding, CRC32
//	LZMA2 filter  ID 0x21, 1 property byte: the dictionary size (0-40)
//	index         00, number of records, records (unpadded size: header, data and
//	              check; uncompressed size), zero padding to a multiple of 4, CRC32
//	footer        CRC32 of the next 6 bytes, backward size (index size/4 - 1),
//	              the header's flags, "YZ"
//	check         0 none, 1 CRC32, 4 CRC64, 10 SHA-256; the other ids (4, 8, 16, 32
//	              or 64 bytes by id) are reserved, and refused as unsupported
const (
	xzHeaderLen  = 12
	xzFooterLen  = 12
	xzLZMA2      = 0x21
	xzMaxDictExp = 40 // LZMA2 dictionary code 40: 4 GiB - 1
)

var (
	xzMagic       = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	xzFooterMagic = []byte{'Y', 'Z'}
	crc64Table    = crc64.MakeTable(crc64.ECMA)
)

// maxXZPadding bounds the zero padding read after an xz stream: the format
// allows any multiple of four, and a gigabyte of zeros appended to a file
// would otherwise be read before the end is reported.
const maxXZPadding = 1 << 20

// xzCheckLen is the length of each check id's field (ids 0, 1, 4 and
// 10 are defined).
var xzCheckLen = [16]int{0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64}

// xzReader decodes xz streams, one after the other, as Python's lzma
// module and xz do: the container here, each block's LZMA2 data with
// ulikunitz/xz's lzma.Reader2, or liblzma's raw decoder in the
// jlstore_cgo build (see blockDecoder). It checks everything the format
// checks (header, block header and index CRC32s, the data's check, the
// sizes that blocks declare, the index against the blocks, the footer)
// and stops after the last stream and its padding, before anything else.
//
// Memory is one LZMA2 dictionary at a time, of the size the block header
// declares, cut to dictCap. No Read returns bytes of two blocks, and the
// next stream's header is read only by a Read after the one that returned
// the last bytes of a stream.
type xzReader struct {
	src     *countReader
	dictCap int64 // 0: as declared
	stop    bool  // FinishMember: end with the current stream
	newDec  func() blockDecoder

	state    int
	flags    [2]byte
	check    hash.Hash // nil: none, or not verified
	checkLen int
	blocks   uint64       // blocks in this stream
	records  hash.Hash64  // CRC64 of the blocks' index records
	recBuf   [2 * 10]byte // one record

	// The current block.
	dec        blockDecoder // nil until the first block
	hdrLen     int64
	dataStart  int64
	declComp   int64 // -1: not declared
	declUncomp int64
	uncomp     int64

	buf [1024]byte // a block header, the footer, a check
	err error
}

// The reader's states.
const (
	xzsBlockHead = iota // a block header or the index next
	xzsData             // in a block's data
	xzsBetween          // after a stream's footer
)

func newXZReader(r io.Reader, lim limits) (io.ReadCloser, error) {
	src := newCountReader(r)
	z := &xzReader{src: src, dictCap: lim.dictCap(), records: crc64.New(crc64Table), newDec: newGoLZMA2}
	if nativeLZMA2 != nil && !lim.pureGo {
		z.newDec = nativeLZMA2
	}
	if err := z.streamHeader(); err != nil {
		return nil, wrapDecodeErr(XZ, src, err)
	}
	return &decodeReader{name: XZ, src: src, dec: z}, nil
}

func (z *xzReader) corrupt(format string, args ...any) error {
	return &FormatError{Layer: XZ, Offset: z.src.n, What: fmt.Sprintf(format, args...), Err: errs.Corrupt}
}

// readFull reads len(b) bytes that the stream must have.
func (z *xzReader) readFull(b []byte) error {
	_, err := io.ReadFull(z.src, b)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// streamHeader reads a stream header.
func (z *xzReader) streamHeader() error {
	h := z.buf[:xzHeaderLen]
	if err := z.readFull(h); err != nil {
		return err
	}
	if !bytes.Equal(h[:6], xzMagic) {
		return z.corrupt("no xz magic")
	}
	if crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:]) {
		return z.corrupt("stream header CRC32 mismatch")
	}
	if h[6] != 0 || h[7]&0xF0 != 0 {
		return &FormatError{Layer: XZ, Offset: z.src.n - 6, What: fmt.Sprintf("stream flags %#02x %#02x", h[6], h[7]), Err: errs.Unsupported}
	}
	z.flags = [2]byte{h[6], h[7]}
	id := h[7] & 0xF
	z.checkLen = xzCheckLen[id]
	switch id {
	case 0x00:
		z.check = nil
	case 0x01:
		z.check = crc32.NewIEEE()
	case 0x04:
		z.check = crc64.New(crc64Table)
	case 0x0A:
		z.check = sha256.New()
	default:
		// liblzma decodes without checking, but the ids are reserved
		// and no encoder writes them.
		return &FormatError{Layer: XZ, Offset: z.src.n - 5, What: fmt.Sprintf("check id %#x", id), Err: errs.Unsupported}
	}
	z.blocks = 0
	z.records.Reset()
	z.state = xzsBlockHead
	return nil
}

func (z *xzReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n, err := z.read(p)
	if err != nil {
		z.err = err
	}
	return n, err
}

func (z *xzReader) read(p []byte) (int, error) {
	for {
		switch z.state {
		case xzsData:
			n, err := z.dec.Read(p)
			z.uncomp += int64(n)
			if z.check != nil {
				z.check.Write(p[:n])
			}
			if z.declUncomp >= 0 && z.uncomp > z.declUncomp {
				return 0, z.corrupt("block decodes to more than the %d bytes its header declares", z.declUncomp)
			}
			if err == io.EOF {
				if err := z.endBlock(); err != nil {
					return n, err
				}
				if n > 0 {
					return n, nil
				}
				continue
			}
			return n, err
		case xzsBlockHead:
			if err := z.blockHeader(); err != nil {
				return 0, err
			}
		case xzsBetween:
			if z.stop {
				return 0, io.EOF
			}
			if err := z.nextStream(); err != nil {
				return 0, err
			}
		}
	}
}

// blockHeader reads a block header and starts the block, or reads the
// index and the footer.
func (z *xzReader) blockHeader() error {
	start := z.src.n
	h := z.buf[:1]
	if err := z.readFull(h); err != nil {
		return err
	}
	if h[0] == 0 {
		return z.index()
	}
	size := (int(h[0]) + 1) * 4
	h = z.buf[:size]
	if err := z.readFull(h[1:]); err != nil {
		return err
	}
	if crc32.ChecksumIEEE(h[:size-4]) != binary.LittleEndian.Uint32(h[size-4:]) {
		return z.corrupt("block header CRC32 mismatch")
	}
	flags := h[1]
	if flags&0x3C != 0 {
		return &FormatError{Layer: XZ, Offset: start + 1, What: fmt.Sprintf("block flags %#02x", flags), Err: errs.Unsupported}
	}
	body := h[2 : size-4]
	p := 0
	vli := func() (uint64, bool) {
		v, k := xzVLI(body[p:])
		p += k
		return v, k > 0
	}
	z.declComp, z.declUncomp = -1, -1
	if flags&0x40 != 0 {
		v, ok := vli()
		if !ok || v == 0 || v > 1<<62 {
			return z.corrupt("bad compressed size in block header")
		}
		z.declComp = int64(v)
	}
	if flags&0x80 != 0 {
		v, ok := vli()
		if !ok || v > 1<<62 {
			return z.corrupt("bad uncompressed size in block header")
		}
		z.declUncomp = int64(v)
	}
	id, ok1 := vli()
	psize, ok2 := vli()
	if !ok1 || !ok2 {
		return z.corrupt("bad filter flags in block header")
	}
	if n := flags&3 + 1; n != 1 || id != xzLZMA2 || psize != 1 {
		return &FormatError{Layer: XZ, Offset: start, What: fmt.Sprintf("filter chain of %d filters, the first %#x: only LZMA2 alone is supported", n, id), Err: errs.Unsupported}
	}
	if p >= len(body) {
		return z.corrupt("bad filter flags in block header")
	}
	code := body[p]
	p++
	if code > xzMaxDictExp {
		return z.corrupt("LZMA2 dictionary code %d", code)
	}
	for _, b := range body[p:] {
		if b != 0 {
			return z.corrupt("non-zero block header padding")
		}
	}
	dict, _ := lzma.DecodeDictCap(code)
	if z.dictCap > 0 && dict > z.dictCap {
		dict = z.dictCap
	}
	if z.declUncomp >= 0 {
		// A match reaches back no further than the block goes.
		dict = min(dict, z.declUncomp)
	}
	dict = max(dict, lzma.MinDictCap)
	z.hdrLen = int64(size)
	z.dataStart = z.src.n
	z.uncomp = 0
	if z.check != nil {
		z.check.Reset()
	}
	if z.dec == nil {
		z.dec = z.newDec()
	}
	if err := z.dec.start(z.src, dict); err != nil {
		return err
	}
	z.state = xzsData
	return nil
}

// xzVLI decodes a VLI at the start of b and returns it and its length, or
// a length of 0 when it is bad or does not end within b.
func xzVLI(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 9 && i < len(b); i++ {
		v |= uint64(b[i]&0x7F) << (7 * i)
		if b[i]&0x80 == 0 {
			if b[i] == 0 && i > 0 {
				return 0, 0 // not the shortest encoding
			}
			return v, i + 1
		}
	}
	return 0, 0
}

// endBlock reads the block's padding and check after its data.
func (z *xzReader) endBlock() error {
	comp := z.src.n - z.dataStart
	if z.declComp >= 0 && comp != z.declComp {
		return z.corrupt("block holds %d compressed bytes, its header declares %d", comp, z.declComp)
	}
	if z.declUncomp >= 0 && z.uncomp != z.declUncomp {
		return z.corrupt("block decodes to %d bytes, its header declares %d", z.uncomp, z.declUncomp)
	}
	pad := z.buf[:(4-(z.hdrLen+comp)%4)%4]
	if err := z.readFull(pad); err != nil {
		return err
	}
	for _, b := range pad {
		if b != 0 {
			return z.corrupt("non-zero block padding")
		}
	}
	sum := z.buf[:z.checkLen]
	if err := z.readFull(sum); err != nil {
		return err
	}
	if z.check != nil {
		var want []byte
		switch c := z.check.(type) {
		case hash.Hash32:
			want = binary.LittleEndian.AppendUint32(z.buf[64:64], c.Sum32())
		case hash.Hash64:
			want = binary.LittleEndian.AppendUint64(z.buf[64:64], c.Sum64())
		default:
			want = c.Sum(z.buf[64:64])
		}
		if !bytes.Equal(sum, want) {
			return z.corrupt("check of the block's data mismatch")
		}
	}
	z.record(uint64(z.hdrLen+comp)+uint64(z.checkLen), uint64(z.uncomp))
	z.blocks++
	z.state = xzsBlockHead
	return nil
}

// record adds a block's index record to the running CRC64 of records.
func (z *xzReader) record(unpadded, uncomp uint64) {
	b := binary.LittleEndian.AppendUint64(z.recBuf[:0], unpadded)
	b = binary.LittleEndian.AppendUint64(b, uncomp)
	z.records.Write(b)
}

// index reads the index, whose indicator byte is read, and the footer.
func (z *xzReader) index() error {
	crc := crc32.Update(0, crc32.IEEETable, []byte{0})
	size := int64(1)
	readByte := func() (byte, error) {
		b, err := z.src.ReadByte()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err == nil {
			crc = crc32.Update(crc, crc32.IEEETable, []byte{b})
			size++
		}
		return b, err
	}
	vli := func() (uint64, error) {
		var v uint64
		for i := range 9 {
			b, err := readByte()
			if err != nil {
				return 0, err
			}
			v |= uint64(b&0x7F) << (7 * i)
			if b&0x80 == 0 {
				if b == 0 && i > 0 {
					break
				}
				return v, nil
			}
		}
		return 0, z.corrupt("bad number in index")
	}
	count, err := vli()
	if err != nil {
		return err
	}
	if count != z.blocks {
		return z.corrupt("index lists %d blocks, the stream has %d", count, z.blocks)
	}
	want := z.records.Sum64()
	z.records.Reset()
	for range count {
		unpadded, err := vli()
		if err != nil {
			return err
		}
		uncomp, err := vli()
		if err != nil {
			return err
		}
		z.record(unpadded, uncomp)
	}
	if z.records.Sum64() != want {
		return z.corrupt("index records do not match the blocks")
	}
	for size%4 != 0 {
		b, err := readByte()
		if err != nil {
			return err
		}
		if b != 0 {
			return z.corrupt("non-zero index padding")
		}
	}
	h := z.buf[:4+xzFooterLen]
	if err := z.readFull(h); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(h) != crc {
		return z.corrupt("index CRC32 mismatch")
	}
	size += 4
	f := h[4:]
	switch {
	case crc32.ChecksumIEEE(f[4:10]) != binary.LittleEndian.Uint32(f):
		return z.corrupt("stream footer CRC32 mismatch")
	case !bytes.Equal(f[10:], xzFooterMagic):
		return z.corrupt("no stream footer magic")
	case (int64(binary.LittleEndian.Uint32(f[4:]))+1)*4 != size:
		return z.corrupt("stream footer gives the index %d bytes, it has %d", (int64(binary.LittleEndian.Uint32(f[4:]))+1)*4, size)
	case f[8] != z.flags[0] || f[9] != z.flags[1]:
		return z.corrupt("stream footer flags differ from the header's")
	}
	z.state = xzsBetween
	return nil
}

// blockDecoder decodes the LZMA2 data of xz blocks, one after another.
type blockDecoder interface {
	// start begins a block whose data src holds next, with a dictionary
	// of dict bytes.
	start(src *countReader, dict int64) error
	// Read returns the decoded bytes, and io.EOF after the end marker
	// (with the last bytes or after them), having read the data up to
	// and including it; data cut short is io.ErrUnexpectedEOF.
	Read(p []byte) (int, error)
	// Close releases the decoder.
	Close() error
}

// nativeLZMA2, set by the jlstore_cgo build (native_lzma.go), returns a
// blockDecoder over liblzma.
var nativeLZMA2 func() blockDecoder

// goLZMA2 decodes LZMA2 data with ulikunitz/xz's lzma.Reader2, a new one
// (and a new dictionary) for each block.
type goLZMA2 struct{ lr *lzma.Reader2 }

func newGoLZMA2() blockDecoder { return &goLZMA2{} }

func (g *goLZMA2) start(src *countReader, dict int64) error {
	lr, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(src)
	g.lr = lr
	return err
}

func (g *goLZMA2) Read(p []byte) (int, error) {
	n, err := g.lr.Read(p)
	if err == io.EOF && !g.lr.EOS() {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (g *goLZMA2) Close() error { g.lr = nil; return nil }

// nextStream reads the zero padding after a stream and the next stream's
// header. It returns io.EOF at the end of the input, and an error, leaving
// them unread, when other bytes follow.
func (z *xzReader) nextStream() error {
	src := z.src
	padding := 0
	for {
		head, err := src.br.Peek(len(xzMagic))
		if err != nil && err != io.EOF {
			src.note(err)
			return err
		}
		if len(head) >= 4 && bytes.Equal(head[:4], []byte{0, 0, 0, 0}) {
			if padding >= maxXZPadding {
				return z.corrupt("more than %d bytes of zero padding after the stream", maxXZPadding)
			}
			src.br.Discard(4) // buffered: cannot fail
			src.n += 4
			padding += 4
			continue
		}
		switch {
		case len(head) == 0:
			return io.EOF
		case bytes.Equal(head, xzMagic):
			return z.streamHeader()
		case len(head) < len(xzMagic) && bytes.HasPrefix(xzMagic, head),
			len(head) < 4 && bytes.Count(head, []byte{0}) == len(head):
			return io.ErrUnexpectedEOF // a cut header or padding
		}
		return z.corrupt("data after end of stream")
	}
}

func (z *xzReader) Close() error {
	if z.err == nil {
		z.err = errClosed
	}
	if z.dec != nil {
		return z.dec.Close()
	}
	return nil
}

func (z *xzReader) stopAtMemberEnd() { z.stop = true }
