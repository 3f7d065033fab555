package compressors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/jlstore/jlstore/internal/errs"
)

// zstdMaxWindow caps the zstd window the decoder accepts (128 MiB, what
// zstd --long=27 uses).
const zstdMaxWindow = 1 << 27

// The zstd frame format (RFC 8878), as far as zstdFrame follows it to
// find where a frame ends. All numbers are little-endian.
//
//	frame      magic 28 b5 2f fd, FHD, [window descriptor: 1], [dictionary ID: 0 1 2 4],
//	           [content size: 0 1 2 4 8], blocks, [checksum: 4]
//	FHD        bits 7-6 content size field (0: 1 byte if single segment, else none;
//	           1: 2, 2: 4, 3: 8), 5 single segment (no window descriptor),
//	           2 checksum, 1-0 dictionary ID field (0, 1, 2, 4 bytes)
//	block      header: 3 (bit 0 last, bits 2-1 type, bits 23-3 size), content
//	           (raw: size bytes, RLE: 1 byte, compressed: size bytes, 3: reserved)
//	skippable  magic 50-5f 2a 4d 18, size: 4, that many bytes
const (
	zstdFrameMagic = 0xFD2FB528
	zstdSkipMagic  = 0x184D2A50 // to 0x184D2A5F
)

// newZstdReader reads the frames that follow each other, each through a
// zstdFrame, skipping skippable frames between them, as the zstd tool
// does. Each frame gets a fresh start (Reset) of one decoder, so no Read
// returns bytes of two frames.
func newZstdReader(r io.Reader, lim limits) (io.ReadCloser, error) {
	src := newCountReader(r)
	if err := src.requireData(); err != nil {
		return nil, wrapDecodeErr(Zstd, src, err)
	}
	window := int64(zstdMaxWindow)
	if lim.maxWindow > 0 {
		window = max(min(window, lim.maxWindow), zstd.MinWindowSize)
	}
	f := &zstdFrame{src: src}
	f.reset()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(uint64(window)))
	if err != nil {
		return nil, wrapDecodeErr(Zstd, src, err)
	}
	return &decodeReader{name: Zstd, src: src, dec: &zstdFrames{zr: zr, f: f, window: window}}, nil
}

// zstdFrames reads one frame after the other.
type zstdFrames struct {
	zr     *zstd.Decoder
	f      *zstdFrame
	window int64 // the largest window accepted
	stop   bool  // FinishMember: end with the current frame
}

func (z *zstdFrames) Read(p []byte) (int, error) {
	for {
		n, err := z.zr.Read(p)
		if err != io.EOF {
			if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
				err = &FormatError{Layer: Zstd, Offset: z.f.src.n, What: fmt.Sprintf("frame window over the cap of %d bytes", z.window), Err: errs.TooLarge}
			}
			return n, err
		}
		if z.f.state != zfsDone {
			// klauspost's decoder takes an end at a frame's start for
			// the end of the stream (the first frame starts with its
			// magic, so it is not empty).
			return n, io.ErrUnexpectedEOF
		}
		if n > 0 {
			return n, nil // the next frame, if any, in the next Read
		}
		if z.stop {
			return 0, io.EOF
		}
		if err := z.nextFrame(); err != nil {
			return 0, err
		}
		if err := z.zr.Reset(z.f); err != nil {
			return 0, err
		}
	}
}

// nextFrame skips skippable frames up to the next frame, whose magic it
// leaves for the decoder. It returns io.EOF at the end of the input.
func (z *zstdFrames) nextFrame() error {
	src := z.f.src
	for {
		head, err := src.br.Peek(4)
		if len(head) < 4 {
			switch {
			case err != io.EOF:
				src.note(err)
				return err
			case len(head) == 0:
				return io.EOF
			case isZstdMagicPrefix(head):
				return io.ErrUnexpectedEOF
			}
			return &FormatError{Layer: Zstd, Offset: src.n, What: "data after end of stream", Err: errs.Corrupt}
		}
		switch magic := binary.LittleEndian.Uint32(head); {
		case magic == zstdFrameMagic:
			z.f.reset()
			return nil
		case magic&^0xF == zstdSkipMagic:
			if err := skipFrame(src); err != nil {
				return err
			}
		default:
			return &FormatError{Layer: Zstd, Offset: src.n, What: "data after end of stream", Err: errs.Corrupt}
		}
	}
}

// isZstdMagicPrefix reports whether b (shorter than 4 bytes) starts the
// magic of a frame or of a skippable frame.
func isZstdMagicPrefix(b []byte) bool {
	var frame, skip [4]byte
	binary.LittleEndian.PutUint32(frame[:], zstdFrameMagic)
	binary.LittleEndian.PutUint32(skip[:], zstdSkipMagic)
	if bytes.HasPrefix(frame[:], b) {
		return true
	}
	return len(b) > 0 && b[0]&^0xF == skip[0] && bytes.HasPrefix(skip[1:], b[1:])
}

// skipFrame reads a skippable frame (lz4's and zstd's are alike): magic,
// size, that many bytes.
func skipFrame(src *countReader) error {
	var h [8]byte
	if _, err := io.ReadFull(src, h[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	size := int64(binary.LittleEndian.Uint32(h[4:]))
	for size > 0 {
		n, err := src.br.Discard(int(min(size, 1<<20)))
		src.n += int64(n)
		size -= int64(n)
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			src.note(err)
			return err
		}
	}
	return nil
}

func (z *zstdFrames) Close() error { z.zr.Close(); return nil }

func (z *zstdFrames) stopAtMemberEnd() { z.stop = true }

// zstdFrame hands the decoder the bytes of one frame, then io.EOF. It
// follows the frame's structure as the bytes go by: the frame header
// descriptor gives the header's length, each block header the block's,
// the last block and the checksum flag the frame's end. The decoder
// (klauspost's, which reads exactly what it needs) thus never takes a
// byte after the frame, whatever it would do with one; a frame whose
// structure disagrees with what the decoder expects fails in the decoder.
type zstdFrame struct {
	src   *countReader
	state int
	left  int     // bytes of the current part not handed out yet
	part  [5]byte // the bytes of a frame or block header, as they go by
	got   int     // bytes of part collected
	sum   bool    // the frame ends with a checksum
}

// The parts of a frame, in order.
const (
	zfsMagic     = iota // magic and frame header descriptor (collected)
	zfsHeader           // the rest of the frame header
	zfsBlockHead        // 3 bytes (collected)
	zfsBlock            // a block's content
	zfsLastBlock        // the last block's content
	zfsChecksum         // 4 bytes
	zfsDone
)

func (f *zstdFrame) reset() { f.state, f.left, f.got = zfsMagic, 5, 0 }

func (f *zstdFrame) Read(p []byte) (int, error) {
	for f.left == 0 {
		if f.state == zfsDone {
			return 0, io.EOF
		}
		f.next()
	}
	if len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.src.Read(p)
	if f.state == zfsMagic || f.state == zfsBlockHead {
		f.got += copy(f.part[f.got:], p[:n])
	}
	f.left -= n
	return n, err
}

// next moves to the part after the current one, all of which is read.
func (f *zstdFrame) next() {
	switch f.state {
	case zfsMagic:
		fhd := f.part[4]
		single := fhd&0x20 != 0
		n := [4]int{0, 1, 2, 4}[fhd&3] + [4]int{0, 2, 4, 8}[fhd>>6]
		if !single {
			n++ // window descriptor
		} else if fhd>>6 == 0 {
			n++ // a 1-byte content size
		}
		f.sum = fhd&0x04 != 0
		f.state, f.left = zfsHeader, n
	case zfsHeader, zfsBlock:
		f.state, f.left, f.got = zfsBlockHead, 3, 0
	case zfsBlockHead:
		h := uint32(f.part[0]) | uint32(f.part[1])<<8 | uint32(f.part[2])<<16
		size := int(h >> 3)
		switch h >> 1 & 3 {
		case 1:
			size = 1 // RLE: one byte, repeated
		case 3:
			f.state = zfsDone // reserved: the decoder fails on it
			return
		}
		f.state, f.left = zfsBlock, size
		if h&1 != 0 {
			f.state = zfsLastBlock
		}
	case zfsLastBlock:
		if f.sum {
			f.state, f.left = zfsChecksum, 4
		} else {
			f.state = zfsDone
		}
	case zfsChecksum:
		f.state = zfsDone
	}
}
