package compressors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/pierrec/lz4/v4"

	"github.com/jlstore/jlstore/internal/errs"
	"github.com/jlstore/jlstore/internal/xxh32"
)

// The LZ4 frame format (lz4/doc/lz4_Frame_format.md), as lz4Reader reads
// it. All numbers are little-endian.
//
//	frame      magic 04 22 4d 18, descriptor, blocks, end mark, [content checksum]
//	descriptor FLG, BD, [content size: 8], [dictionary ID: 4], HC
//	FLG        bits 7-6 version (01), 5 block independence, 4 block checksum,
//	           3 content size, 2 content checksum, 1 reserved (0), 0 dictionary ID
//	BD         bit 7 reserved (0), bits 6-4 block maximum: 4 64 KiB, 5 256 KiB,
//	           6 1 MiB, 7 4 MiB; bits 3-0 reserved (0)
//	HC         byte 1 of xxh32(FLG .. the byte before HC)
//	block      size: 4 (high bit: stored uncompressed), data, [xxh32(data): 4]
//	end mark   size 0
//	checksum   xxh32 of the frame's decoded bytes
//	skippable  magic 50-5f 2a 4d 18, size: 4, that many bytes
const (
	lz4FrameMagic = 0x184D2204
	lz4SkipMagic  = 0x184D2A50 // to 0x184D2A5F
	lz4Window     = 64 << 10   // how far back a match reaches
	lz4Stored     = 1 << 31    // block size flag: data stored uncompressed

	lz4FlagIndependent = 1 << 5
	lz4FlagBlockSum    = 1 << 4
	lz4FlagSize        = 1 << 3
	lz4FlagContentSum  = 1 << 2
	lz4FlagReserved    = 1 << 1
	lz4FlagDictID      = 1 << 0
)

// lz4Reader decodes LZ4 frames, one after the other, with skippable
// frames between them, as python-lz4's lz4.frame.decompress does. It
// stops before the first bytes that start neither kind of frame, which
// stay unread in the caller's bufio.Reader (and are an error: "data
// after end of stream").
//
// Memory is fixed per reader, whatever the input: a buffer for one
// compressed block and, when the caller's buffer cannot take a block
// directly, one for its decoded bytes (each at most the frame's block
// maximum, 4 MiB), and for linked blocks a 64 KiB window of history.
// Blocks are decoded with pierrec/lz4's block decoder straight into the
// caller's buffer when it has room for a whole block.
type lz4Reader struct {
	src *countReader
	max int64 // MaxOutput, 0: none

	inFrame     bool
	blockMax    int
	linked      bool
	blockSum    bool
	contentSum  bool
	hasSize     bool
	declared    uint64 // content size, when hasSize
	got         uint64 // bytes decoded in this frame
	sum         xxh32.Digest
	frameOffset int64 // where the frame started, for errors

	cbuf    []byte // compressed block
	blk     []byte // decoded block, when the caller's buffer is too small
	pending []byte // decoded bytes of blk not handed out yet
	win     []byte // linked blocks: the last 64 KiB decoded (cap lz4Window)
	synced  int    // bytes of the current Read's p already in win

	hdr  [19]byte
	err  error
	stop bool // FinishMember: end with the current frame
}

func (z *lz4Reader) stopAtMemberEnd() { z.stop = true }

// newLZ4Reader reads the first frame header at once, so that a content
// size over the limit is refused before anything is decoded.
func newLZ4Reader(r io.Reader, lim limits) (io.ReadCloser, error) {
	src := newCountReader(r)
	if err := src.requireData(); err != nil {
		return nil, wrapDecodeErr(LZ4, src, err)
	}
	z := &lz4Reader{src: src, max: lim.maxOutput}
	if err := z.nextFrame(true); err != nil {
		return nil, wrapDecodeErr(LZ4, src, err)
	}
	return &decodeReader{name: LZ4, src: src, dec: z}, nil
}

func (z *lz4Reader) corrupt(format string, args ...any) error {
	return &FormatError{Layer: LZ4, Offset: z.src.n, What: fmt.Sprintf(format, args...), Err: errs.Corrupt}
}

// readFull reads len(b) bytes that the frame must have.
func (z *lz4Reader) readFull(b []byte) error {
	_, err := io.ReadFull(z.src, b)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// nextFrame reads up to the next frame's blocks: skippable frames, then a
// frame header. It returns io.EOF at the end of the input, and an error,
// leaving the bytes unread, when something else follows.
func (z *lz4Reader) nextFrame(first bool) error {
	for {
		head, err := z.src.br.Peek(4)
		if len(head) < 4 {
			switch {
			case err != io.EOF:
				z.src.note(err)
				return err
			case len(head) == 0 && !first:
				return io.EOF
			case isLZ4MagicPrefix(head):
				// A frame cut inside its magic.
				return io.ErrUnexpectedEOF
			}
		}
		magic := uint32(0)
		if len(head) == 4 {
			magic = binary.LittleEndian.Uint32(head)
		}
		switch {
		case magic == lz4FrameMagic:
			return z.readHeader()
		case magic&^0xF == lz4SkipMagic:
			if err := z.skipFrame(); err != nil {
				return err
			}
		case first:
			return &FormatError{Layer: LZ4, Offset: z.src.n, What: "no lz4 frame magic", Err: errs.Corrupt}
		default:
			return &FormatError{Layer: LZ4, Offset: z.src.n, What: "data after end of stream", Err: errs.Corrupt}
		}
		first = false
	}
}

// isLZ4MagicPrefix reports whether b (shorter than 4 bytes) starts the
// magic of a frame or of a skippable frame.
func isLZ4MagicPrefix(b []byte) bool {
	var frame, skip [4]byte
	binary.LittleEndian.PutUint32(frame[:], lz4FrameMagic)
	binary.LittleEndian.PutUint32(skip[:], lz4SkipMagic)
	if bytes.HasPrefix(frame[:], b) {
		return true
	}
	return len(b) > 0 && b[0]&^0xF == skip[0] && bytes.HasPrefix(skip[1:], b[1:])
}

func (z *lz4Reader) skipFrame() error {
	h := z.hdr[:8]
	if err := z.readFull(h); err != nil {
		return err
	}
	size := int64(binary.LittleEndian.Uint32(h[4:]))
	for size > 0 {
		n, err := z.src.br.Discard(int(min(size, 1<<20)))
		z.src.n += int64(n)
		size -= int64(n)
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			z.src.note(err)
			return err
		}
	}
	return nil
}

// readHeader reads a frame header, magic included.
func (z *lz4Reader) readHeader() error {
	z.frameOffset = z.src.n
	h := z.hdr[:6]
	if err := z.readFull(h); err != nil {
		return err
	}
	flg, bd := h[4], h[5]
	if v := flg >> 6; v != 1 {
		return z.corrupt("frame version %d, want 1", v)
	}
	if flg&lz4FlagReserved != 0 || bd&0x8F != 0 {
		return z.corrupt("reserved bits set in the frame descriptor (FLG %#02x, BD %#02x)", flg, bd)
	}
	idx := int(bd >> 4 & 7)
	if idx < 4 {
		return z.corrupt("block maximum size index %d, want 4 to 7", idx)
	}
	n := 6
	if flg&lz4FlagSize != 0 {
		n += 8
	}
	if flg&lz4FlagDictID != 0 {
		n += 4
	}
	h = z.hdr[:n+1]
	if err := z.readFull(h[6:]); err != nil {
		return err
	}
	if hc := byte(xxh32.Checksum(h[4:n]) >> 8); hc != h[n] {
		return z.corrupt("frame header checksum %#02x, computed %#02x", h[n], hc)
	}
	if flg&lz4FlagDictID != 0 {
		return &FormatError{Layer: LZ4, Offset: z.src.n, What: fmt.Sprintf("frame needs the dictionary %#08x", binary.LittleEndian.Uint32(h[n-4:])), Err: errs.Unsupported}
	}
	z.hasSize = flg&lz4FlagSize != 0
	z.declared = 0
	if z.hasSize {
		z.declared = binary.LittleEndian.Uint64(h[6:])
		if z.max > 0 && z.declared > uint64(z.max) {
			return &FormatError{Layer: LZ4, Offset: z.frameOffset + 6, What: fmt.Sprintf("declared size %d exceeds the limit of %d bytes", z.declared, z.max), Err: errs.TooLarge}
		}
	}
	z.blockMax = 1 << (2*idx + 8)
	z.linked = flg&lz4FlagIndependent == 0
	z.blockSum = flg&lz4FlagBlockSum != 0
	z.contentSum = flg&lz4FlagContentSum != 0
	z.got = 0
	z.sum.Reset()
	z.win = z.win[:0]
	if z.linked && z.win == nil {
		z.win = make([]byte, 0, lz4Window)
	}
	z.inFrame = true
	return nil
}

// endFrame reads what follows the end mark and checks the frame.
func (z *lz4Reader) endFrame() error {
	z.inFrame = false
	if z.contentSum {
		h := z.hdr[:4]
		if err := z.readFull(h); err != nil {
			return err
		}
		if want, got := binary.LittleEndian.Uint32(h), z.sum.Sum32(); got != want {
			return z.corrupt("content checksum %#08x, computed %#08x", want, got)
		}
	}
	// As liblz4, a content size of 0 is taken for an unknown one.
	if z.hasSize && z.declared != 0 && z.got != z.declared {
		return z.corrupt("frame decodes to %d bytes, its header declares %d", z.got, z.declared)
	}
	return nil
}

func (z *lz4Reader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n := 0
	z.synced = 0
	var err error
	for n < len(p) {
		if len(z.pending) > 0 {
			c := copy(p[n:], z.pending)
			z.pending = z.pending[c:]
			n += c
			z.synced = n // these bytes are in win already
			continue
		}
		if !z.inFrame {
			if n > 0 {
				break // hand out what we have before looking further
			}
			if z.stop {
				err = io.EOF
				break
			}
			if err = z.nextFrame(false); err != nil {
				break
			}
			continue
		}
		if n, err = z.block(p, n); err != nil {
			break
		}
	}
	if z.linked && z.inFrame {
		z.remember(p[z.synced:n])
	}
	if err != nil {
		z.err = err
	}
	return n, err
}

// block reads one block (or the end mark) and decodes it to p[n:] when
// it fits, else to blk.
func (z *lz4Reader) block(p []byte, n int) (int, error) {
	h := z.hdr[:4]
	if err := z.readFull(h); err != nil {
		return n, err
	}
	size := binary.LittleEndian.Uint32(h)
	if size == 0 {
		return n, z.endFrame()
	}
	stored := size&lz4Stored != 0
	size &^= lz4Stored
	if size > uint32(z.blockMax) {
		return n, z.corrupt("block of %d bytes exceeds the frame's maximum of %d", size, z.blockMax)
	}
	// The most a block may decode to: the block maximum, or what the
	// declared content size leaves.
	limit := z.blockMax
	if z.hasSize && z.declared != 0 {
		limit = int(min(uint64(limit), z.declared-min(z.got, z.declared)))
	}
	var out []byte
	direct := false
	if stored {
		if int(size) > limit {
			return n, z.corrupt("stored block of %d bytes exceeds the declared content size", size)
		}
		if int(size) <= len(p)-n {
			out, direct = p[n:n+int(size)], true
		} else {
			z.toWindow(p, n)
			out = z.blockBuf(int(size))
		}
		if err := z.readFull(out); err != nil {
			return n, err
		}
		if err := z.checkBlock(out); err != nil {
			return n, err
		}
	} else {
		z.cbuf = grow(z.cbuf, int(size), z.blockMax)
		if err := z.readFull(z.cbuf); err != nil {
			return n, err
		}
		if err := z.checkBlock(z.cbuf); err != nil {
			return n, err
		}
		var dst, dict []byte
		if limit <= len(p)-n {
			dst, direct = p[n:n+limit], true
			dict = z.dictAt(p, n)
		} else {
			z.toWindow(p, n)
			dst = z.blockBuf(limit)
			if z.linked {
				dict = z.win
			}
		}
		k, err := lz4.UncompressBlockWithDict(z.cbuf, dst, dict)
		if err != nil {
			return n, z.corrupt("bad block: %v", err)
		}
		out = dst[:k]
	}
	z.got += uint64(len(out))
	if z.hasSize && z.declared != 0 && z.got > z.declared {
		return n, z.corrupt("frame decodes to more than the %d bytes its header declares", z.declared)
	}
	if z.contentSum {
		z.sum.Write(out)
	}
	if direct {
		return n + len(out), nil
	}
	if z.linked {
		z.remember(out)
	}
	z.pending = out
	return n, nil
}

// checkBlock checks a block's checksum, when the frame has them.
func (z *lz4Reader) checkBlock(data []byte) error {
	if !z.blockSum {
		return nil
	}
	h := z.hdr[:4]
	if err := z.readFull(h); err != nil {
		return err
	}
	if want, got := binary.LittleEndian.Uint32(h), xxh32.Checksum(data); got != want {
		return z.corrupt("block checksum %#08x, computed %#08x", want, got)
	}
	return nil
}

// blockBuf returns blk with length n (at most the block maximum).
func (z *lz4Reader) blockBuf(n int) []byte {
	z.blk = grow(z.blk, n, z.blockMax)
	return z.blk
}

// grow returns b with length n (at most limit), reallocating when its
// capacity is short: to limit, or for the 1 and 4 MiB block maximums to
// 256 KiB first and then doubling, so that a small frame of large blocks
// takes little memory and a reader allocates a few times at most.
func grow(b []byte, n, limit int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	c := min(limit, max(n, 2*cap(b), 256<<10)) // n <= limit
	return make([]byte, n, c)
}

// dictAt returns the history before p[n:] for a linked block: p itself
// when it holds 64 KiB of this Read's output, else the window, brought
// up to date.
func (z *lz4Reader) dictAt(p []byte, n int) []byte {
	switch {
	case !z.linked:
		return nil
	case n == z.synced:
		return z.win
	case n >= lz4Window:
		return p[n-lz4Window : n]
	}
	z.toWindow(p, n)
	return z.win
}

// toWindow adds the bytes this Read has decoded to p[:n] to the window.
func (z *lz4Reader) toWindow(p []byte, n int) {
	if z.linked {
		z.remember(p[z.synced:n])
		z.synced = n
	}
}

// remember appends b to the window, keeping the last 64 KiB.
func (z *lz4Reader) remember(b []byte) {
	if len(b) >= lz4Window {
		z.win = append(z.win[:0], b[len(b)-lz4Window:]...)
		return
	}
	if drop := len(z.win) + len(b) - lz4Window; drop > 0 {
		z.win = z.win[:copy(z.win, z.win[drop:])]
	}
	z.win = append(z.win, b...)
}

// Close drops the buffers; the source stays open.
func (z *lz4Reader) Close() error {
	z.cbuf, z.blk, z.pending, z.win = nil, nil, nil, nil
	if z.err == nil {
		z.err = errClosed
	}
	return nil
}
