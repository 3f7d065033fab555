package compressors

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zlib"

	"github.com/jlstore/jlstore/internal/errs"
)

// zfWidth is the width of the z-file length field, "0x" and up to 16 hex
// digits left-justified with spaces, as joblib before 0.10 wrote it
// (some 0.8.4 files have one more space).
const zfWidth = 19

// zfMaxHeader bounds how far ReadZF looks for the start of the zlib stream.
const zfMaxHeader = 2 + 40

// ReadZF opens a pre-0.10 joblib z-file: "ZF", the decoded length in
// ASCII hex ("0x1f", Python 2 may add "L") padded with spaces, then one
// zlib stream. declaredLen is the length from the header. maxOutput > 0
// refuses, with ErrTooLarge, a header that declares more. The reader
// fails with ErrCorrupt if the stream holds more or fewer bytes than
// declared. Bytes after the zlib stream are ignored, as Python's
// zlib.decompress ignores them. Close does not close r.
func ReadZF(r io.Reader, maxOutput int64) (rc io.ReadCloser, declaredLen int64, err error) {
	src := newCountReader(r)
	if src.br.Size() < zfMaxHeader {
		// The header does not fit in the caller's small buffer.
		src.br = bufio.NewReaderSize(src.br, bufSize)
	}
	head, err := src.br.Peek(zfMaxHeader)
	if err != nil && err != io.EOF {
		if src.note(err); src.err != nil {
			return nil, 0, fmt.Errorf("zf: reading input: %w", err)
		}
	}
	bad := func(off int, what string, kind error) error {
		return &FormatError{Layer: ZF, Offset: int64(off), What: what, Err: kind}
	}
	if len(head) < 2 || head[0] != 'Z' || head[1] != 'F' {
		return nil, 0, bad(0, "no ZF magic", errs.Format)
	}
	// The length: hex digits, 'x' and 'L', then spaces, then the zlib
	// stream, whose first byte (0x78) is never a space.
	i := 2
	for i < len(head) && isZFLenByte(head[i]) {
		i++
	}
	token := string(head[2:i])
	for i < len(head) && head[i] == ' ' {
		i++
	}
	if i >= len(head) {
		if len(head) < zfMaxHeader {
			return nil, 0, bad(len(head), "truncated header", fmt.Errorf("%w: %w", errs.Corrupt, io.ErrUnexpectedEOF))
		}
		return nil, 0, bad(2, "header too long", errs.Corrupt)
	}
	if head[i] != 0x78 {
		return nil, 0, bad(i, fmt.Sprintf("byte %#02x where the zlib stream should start", head[i]), errs.Corrupt)
	}
	digits := strings.TrimSuffix(strings.TrimSuffix(token, "L"), "l")
	if len(digits) < 3 || (digits[:2] != "0x" && digits[:2] != "0X") {
		return nil, 0, bad(2, fmt.Sprintf("bad length %q", token), errs.Corrupt)
	}
	n, perr := strconv.ParseUint(digits[2:], 16, 64)
	if perr != nil {
		if ne, ok := perr.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, 0, bad(2, fmt.Sprintf("length %s", token), errs.TooLarge)
		}
		return nil, 0, bad(2, fmt.Sprintf("bad length %q", token), errs.Corrupt)
	}
	if n > math.MaxInt64 || (maxOutput > 0 && n > uint64(maxOutput)) {
		return nil, 0, bad(2, fmt.Sprintf("declared length %d exceeds the limit of %d bytes", n, maxOutput), errs.TooLarge)
	}
	if _, err := src.br.Discard(i); err != nil {
		return nil, 0, fmt.Errorf("zf: reading input: %w", err)
	}
	zsrc := newBufSource(src.br, int64(i))
	zr, err := zlib.NewReader(zsrc.own)
	if err != nil {
		return nil, 0, wrapDecodeErr(ZF, zsrc, err)
	}
	return &zfReader{dec: &decodeReader{name: ZF, src: zsrc, dec: zr}, left: int64(n), declared: int64(n)}, int64(n), nil
}

func isZFLenByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' || b == 'x' || b == 'X' || b == 'L' || b == 'l'
}

// zfReader checks the decoded length against the declared one.
type zfReader struct {
	dec      *decodeReader
	left     int64
	declared int64
	err      error
}

func (z *zfReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if z.left == 0 {
		// All declared bytes are out: the zlib stream must end (and its
		// checksum match) now.
		var one [1]byte
		for range 100 {
			n, err := z.dec.Read(one[:])
			if n > 0 {
				z.err = &FormatError{Layer: ZF, Offset: z.dec.src.offset(), What: fmt.Sprintf("more data than the declared %d bytes", z.declared), Err: errs.Corrupt}
				return 0, z.err
			}
			if err != nil {
				z.err = err
				return 0, err
			}
		}
		return 0, io.ErrNoProgress
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	n, err := z.dec.Read(p)
	z.left -= int64(n)
	if err == io.EOF && z.left > 0 {
		err = &FormatError{Layer: ZF, Offset: z.dec.src.offset(), What: fmt.Sprintf("stream ends %d bytes short of the declared %d", z.left, z.declared), Err: fmt.Errorf("%w: %w", errs.Corrupt, io.ErrUnexpectedEOF)}
	}
	if err != nil {
		z.err = err
	}
	return n, err
}

func (z *zfReader) Close() error { return z.dec.Close() }

func (z *zfReader) endMember() (string, func() int64) { return z.dec.endMember() }

// NewZFWriter writes a z-file holding exactly size bytes at a zlib level
// (-1 for 3). The header comes first, so the size must be known; Close
// fails if the bytes written differ from it. Close does not close w.
func NewZFWriter(w io.Writer, level int, size int64) (io.WriteCloser, error) {
	level, err := checkLevel(ZF, level)
	if err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("compressors: NewZFWriter: negative size %d", size)
	}
	hdr := fmt.Sprintf("ZF%-*s", zfWidth, fmt.Sprintf("%#x", size))
	if _, err := io.WriteString(w, hdr); err != nil {
		return nil, err
	}
	zw, err := zlib.NewWriterLevel(w, level)
	if err != nil {
		return nil, err
	}
	return &zfWriter{zw: zw, left: size, size: size}, nil
}

type zfWriter struct {
	zw   *zlib.Writer
	left int64
	size int64
}

func (z *zfWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > z.left {
		return 0, fmt.Errorf("compressors: z-file: write past the declared %d bytes", z.size)
	}
	n, err := z.zw.Write(p)
	z.left -= int64(n)
	return n, err
}

func (z *zfWriter) Close() error {
	if err := z.zw.Close(); err != nil {
		return err
	}
	if z.left != 0 {
		return fmt.Errorf("compressors: z-file: %d of the declared %d bytes not written", z.left, z.size)
	}
	return nil
}
