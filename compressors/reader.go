package compressors

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/ulikunitz/xz/lzma"

	"github.com/jlstore/jlstore/internal/errs"
)

// ReadOption configures NewReader.
type ReadOption func(*readConfig) error

type readConfig struct {
	limits
}

// limits are what a built-in decoder knows of the options before it
// allocates.
type limits struct {
	maxOutput int64 // 0: no limit
	maxWindow int64 // 0: no cap
	pureGo    bool  // in the jlstore_cgo build: the Go decoders all the same
}

// dictCap returns the largest lzma or xz dictionary worth allocating: a
// match reaches back no further than the output goes (about 2× maxOutput
// with lzma's slack), and never past maxWindow. 0 means no cap.
func (l limits) dictCap() int64 {
	c := l.maxWindow
	if l.maxOutput > 0 {
		byOutput := 2*min(l.maxOutput, 1<<40) + lzma.MinDictCap
		if c == 0 || byOutput < c {
			c = byOutput
		}
	}
	if c > 0 {
		c = max(c, lzma.MinDictCap)
	}
	return c
}

// MaxOutput limits the decoded size. Reading past n decoded bytes fails
// with an error wrapping ErrTooLarge; a stream of exactly n bytes reads
// cleanly. n = 0, the default, means no limit; a negative n is an error.
// The limit also caps the lzma and xz dictionaries and refuses z-files and
// lzma streams whose header declares more than n bytes before any
// decoding.
func MaxOutput(n int64) ReadOption {
	return func(c *readConfig) error {
		if n < 0 {
			return fmt.Errorf("compressors: MaxOutput(%d): negative limit", n)
		}
		c.maxOutput = n
		return nil
	}
}

// MaxWindow caps the history a decoder keeps, whatever the stream's
// header asks for, independently of MaxOutput: the dictionary of lzma and
// xz streams is cut to n bytes (4 KiB at least), and a zstd frame whose
// window is over n (or over 128 MiB, the fixed cap) is refused with
// ErrTooLarge. A header may declare a dictionary of up to 4 GiB, which the
// decoder allocates at once, before the data shows whether it needs it;
// MaxWindow bounds that allocation when the input's size is not known and
// MaxOutput must stay large. An lzma or xz stream whose matches reach
// further back than n fails with ErrCorrupt: xz -9 needs 64 MiB, presets
// 0-8 (Python's default is 6: 8 MiB) 32 MiB at most. n = 0, the default,
// means no cap; a negative n is an error. The other codecs have small
// fixed windows and ignore it.
func MaxWindow(n int64) ReadOption {
	return func(c *readConfig) error {
		if n < 0 {
			return fmt.Errorf("compressors: MaxWindow(%d): negative cap", n)
		}
		c.maxWindow = n
		return nil
	}
}

// bufSize is the read buffer NewReader puts in front of a plain reader.
const bufSize = 64 << 10

// NewReader detects the compression of r by its magic bytes and returns a
// reader of the decoded stream and the codec's name. Data that matches no
// codec is passed through unchanged, with codec "". The extension of a
// file never matters here: some old ".gz" files hold zlib.
//
// NewReader buffers r (unless it is a *bufio.Reader already) and may
// consume bytes past the end of the compressed stream. Given a
// *bufio.Reader, the built-in readers (and z-files, with a buffer of 42
// bytes or more) take from it exactly the bytes of their stream: what
// follows stays in it, for the caller to read next. A stream of several
// members (gzip members, lz4 or zstd frames, bz2 or xz streams) reads as
// one, and no Read returns bytes of two members: see FinishMember. Close
// releases the decoder and does not close r. Decoding streams: nothing is
// accumulated, so io.ReadFull into a caller's buffer costs one copy at
// most.
//
// Errors from damaged input are *FormatError values wrapping ErrCorrupt,
// and also io.ErrUnexpectedEOF when the input ends early. Errors of r
// itself come back wrapped but unclassified.
func NewReader(r io.Reader, opts ...ReadOption) (rc io.ReadCloser, codec string, err error) {
	var cfg readConfig
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, "", err
		}
	}
	br := asBufio(r)
	c, ok, err := Detect(br)
	if err != nil {
		return nil, "", fmt.Errorf("compressors: detect: %w", err)
	}
	if !ok {
		return limit(plainReader{br}, "uncompressed", cfg.maxOutput), "", nil
	}
	if c.Name == ZF && c.newReaderLimit != nil {
		// The z-file's own length check already bounds the output.
		rc, _, err := ReadZF(br, cfg.maxOutput)
		return rc, c.Name, err
	}
	if c.newReaderLimit != nil {
		rc, err = c.newReaderLimit(br, cfg.limits)
	} else {
		src := &countReader{br: br}
		rc, err = c.NewReader(src)
		if err == nil {
			rc = &decodeReader{name: c.Name, src: src, dec: rc}
		}
	}
	if err != nil {
		return nil, c.Name, wrapDecodeErr(c.Name, nil, err)
	}
	return limit(rc, c.Name, cfg.maxOutput), c.Name, nil
}

// FinishMember reads r, a reader that NewReader returned, to the end of
// the member it is in, and no further: the gzip member, lz4 frame, bz2 or
// xz stream or zstd frame whose bytes the last Read returned (or the one
// the next Read would start), the whole stream for zlib, lzma and
// z-files. It checks the member's trailer (its checksums and sizes) and
// discards what it decodes, at most max bytes: a member that goes on
// for more fails with an error wrapping ErrTooLarge. The bytes after the
// member stay unread in the *bufio.Reader that NewReader was given, for
// the caller to read: another object, maybe of another codec, that the
// reader would otherwise take for the stream's continuation (or fail on).
// r returns io.EOF after FinishMember. For data that NewReader passed
// through (codec ""), FinishMember reads nothing.
//
// The store package decodes objects one after another from one stream
// with it: no Read returns bytes of two members, so once the pickle's last
// byte is read, FinishMember leaves the next object untouched.
func FinishMember(r io.Reader, max int64) (discarded int64, err error) {
	m, ok := r.(memberEnder)
	if !ok {
		return 0, fmt.Errorf("compressors: FinishMember: %T is not a reader from NewReader", r)
	}
	name, off := m.endMember()
	if name == "" {
		return 0, nil
	}
	n, err := io.CopyN(io.Discard, r, min(max, math.MaxInt64-1)+1)
	switch {
	case err == io.EOF:
		return n, nil
	case err != nil:
		return n, err
	}
	return n, &FormatError{Layer: name, Offset: off(), What: fmt.Sprintf("member goes on for more than %d bytes", max), Err: errs.TooLarge}
}

// memberEnder is implemented by the readers NewReader returns.
type memberEnder interface {
	// endMember makes the reader stop at the end of the current member
	// and returns the codec's name ("" for a plain reader) and the count
	// of compressed bytes consumed.
	endMember() (name string, offset func() int64)
}

// stopper is implemented by decoders of formats with several members.
type stopper interface {
	// stopAtMemberEnd makes Read return io.EOF at the end of the current
	// member, with nothing of what follows consumed.
	stopAtMemberEnd()
}

// plainReader passes data that matches no codec through.
type plainReader struct{ *bufio.Reader }

func (plainReader) Close() error { return nil }

func (plainReader) endMember() (string, func() int64) { return "", nil }

// asBufio returns r as a *bufio.Reader, wrapping it when needed.
func asBufio(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= maxMagic {
		return br
	}
	return bufio.NewReaderSize(r, bufSize)
}

// source is what a decodeReader knows of the compressed input.
type source interface {
	// offset is the number of compressed bytes the decoder has consumed.
	offset() int64
	// atEnd reports whether the input has no bytes after those consumed.
	atEnd() (bool, error)
	// failure is the first error of the input other than io.EOF, or nil.
	failure() error
	// sync takes the consumed bytes from the caller's *bufio.Reader, so
	// that it holds exactly the bytes the decoder has not consumed.
	sync()
}

// countReader counts the compressed bytes a decoder takes and remembers
// errors of the source. It is an io.ByteReader, so lzma reads from it
// directly, without a second buffer and without reading ahead.
type countReader struct {
	br  *bufio.Reader
	n   int64
	err error // first source error other than io.EOF
}

func newCountReader(r io.Reader) *countReader { return &countReader{br: asBufio(r)} }

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += int64(n)
	c.note(err)
	return n, err
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	c.note(err)
	return b, err
}

func (c *countReader) note(err error) {
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
}

// requireData fails with io.ErrUnexpectedEOF on an empty source, for
// decoders that would take no input for an empty stream.
func (c *countReader) requireData() error {
	_, err := c.br.Peek(1)
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	c.note(err)
	return err
}

// atEnd reports whether the source has no more bytes.
func (c *countReader) atEnd() (bool, error) {
	_, err := c.br.Peek(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

func (c *countReader) offset() int64  { return c.n }
func (c *countReader) failure() error { return c.err }
func (c *countReader) sync()          {}

// bufSource gives a decoder a *bufio.Reader of its own, own, whose bytes
// come from the caller's *bufio.Reader br but stay in br until the decoder
// has consumed them. klauspost's flate has its fast Huffman loop only for
// a concrete *bufio.Reader; with bufSource it gets one, while br keeps
// every byte after the compressed stream (the store package reads the
// next stream from it) and the count of consumed bytes stays exact.
//
// own calls Read only when it has no bytes left, or to get more behind
// the ones it holds: those held bytes are the first held bytes of br.
// Read first discards from br what own has handed out since (the
// decoder consumed it), then copies what follows the held bytes. own is
// no larger than br, so held bytes plus one more always fit in br.
type bufSource struct {
	br   *bufio.Reader // the caller's reader
	own  *bufio.Reader // the decoder's reader, filled from br
	held int           // bytes copied into own and not yet discarded from br
	n    int64         // bytes discarded from br: consumed by the decoder
	err  error         // first error of br other than io.EOF
}

// newBufSource reads r (through asBufio) for a decoder that reads
// s.own; n is the count of compressed bytes consumed before.
func newBufSource(r io.Reader, n int64) *bufSource {
	s := &bufSource{br: asBufio(r), n: n}
	s.own = bufio.NewReaderSize(s, s.br.Size())
	return s
}

// Read is for own only.
func (s *bufSource) Read(p []byte) (int, error) {
	s.sync()
	if len(p) == 0 {
		return 0, nil
	}
	if s.br.Buffered() <= s.held {
		if _, err := s.br.Peek(s.held + 1); err != nil && s.br.Buffered() <= s.held {
			if err != io.EOF && s.err == nil {
				s.err = err
			}
			return 0, err
		}
	}
	b, _ := s.br.Peek(s.br.Buffered())
	n := copy(p, b[s.held:])
	s.held += n
	return n, nil
}

func (s *bufSource) sync() {
	used := s.held - s.own.Buffered()
	if used > 0 {
		s.br.Discard(used) // buffered: cannot fail
		s.held -= used
		s.n += int64(used)
	}
}

func (s *bufSource) offset() int64 { return s.n + int64(s.held-s.own.Buffered()) }

func (s *bufSource) failure() error { return s.err }

func (s *bufSource) atEnd() (bool, error) {
	s.sync()
	if s.own.Buffered() > 0 {
		return false, nil
	}
	_, err := s.br.Peek(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// decodeReader turns a decoder's errors into FormatErrors and any panic
// of a third-party decoder into an error. With strictEnd it also fails
// on bytes after the end of the stream (for formats whose decoder stops
// exactly at the end).
type decodeReader struct {
	name      string
	src       source
	dec       io.ReadCloser
	strictEnd bool
	stopped   bool // by FinishMember: what follows is not ours to judge
	ended     bool // the decoder returned its last bytes with io.EOF
	err       error
	closed    bool
}

func (d *decodeReader) endMember() (string, func() int64) {
	d.stopped = true
	if s, ok := d.dec.(stopper); ok {
		s.stopAtMemberEnd()
	}
	return d.name, d.src.offset
}

func (d *decodeReader) Read(p []byte) (n int, err error) {
	if d.err != nil {
		return 0, d.err
	}
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, &FormatError{Layer: d.name, Offset: d.src.offset(), What: fmt.Sprintf("decoder panic: %v", v), Err: errs.Corrupt}
			d.err = err
		}
	}()
	if d.ended {
		err = io.EOF
	} else {
		n, err = d.dec.Read(p)
		d.src.sync()
		if err == io.EOF && n > 0 {
			// The stream's last bytes: the end, and what follows it,
			// are for the next Read, which FinishMember may precede.
			d.ended = true
			return n, nil
		}
	}
	switch {
	case err == nil:
	case err == io.EOF:
		if d.strictEnd && !d.stopped {
			end, perr := d.src.atEnd()
			if perr != nil {
				err = fmt.Errorf("%s: reading input: %w", d.name, perr)
			} else if !end {
				err = &FormatError{Layer: d.name, Offset: d.src.offset(), What: "data after end of stream", Err: errs.Corrupt}
			}
		}
		d.err = err
	default:
		err = wrapDecodeErr(d.name, d.src, err)
		d.err = err
	}
	return n, err
}

func (d *decodeReader) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.err == nil {
		d.err = errClosed
	}
	return d.dec.Close()
}

var errClosed = errors.New("compressors: read after Close")

// wrapDecodeErr classifies a decoder error: errors of the source pass
// through, FormatErrors stay, anything else is corruption (plus
// io.ErrUnexpectedEOF for an early end).
func wrapDecodeErr(name string, src source, err error) error {
	var fe *FormatError
	if errors.As(err, &fe) || errors.Is(err, errClosed) {
		return err
	}
	off := int64(-1)
	if src != nil {
		src.sync()
		off = src.offset()
		if serr := src.failure(); serr != nil {
			return fmt.Errorf("%s: reading input: %w", name, serr)
		}
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Layer: name, Offset: off, What: "truncated stream", Err: fmt.Errorf("%w: %w", errs.Corrupt, io.ErrUnexpectedEOF)}
	}
	return &FormatError{Layer: name, Offset: off, What: "corrupt stream", Err: fmt.Errorf("%w: %w", errs.Corrupt, err)}
}

// limitReader enforces MaxOutput.
type limitReader struct {
	r    io.ReadCloser
	name string
	max  int64
	left int64
	err  error
}

func limit(r io.ReadCloser, name string, max int64) io.ReadCloser {
	if max <= 0 {
		return r
	}
	return &limitReader{r: r, name: name, max: max, left: max}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if l.left == 0 {
		// At the limit: the stream must end here.
		var one [1]byte
		for range 100 {
			n, err := l.r.Read(one[:])
			if n > 0 {
				l.err = &FormatError{Layer: l.name, Offset: -1, What: fmt.Sprintf("decoded data exceeds the limit of %d bytes", l.max), Err: errs.TooLarge}
				return 0, l.err
			}
			if err != nil {
				l.err = err
				return 0, err
			}
		}
		return 0, io.ErrNoProgress
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil {
		l.err = err
	}
	return n, err
}

func (l *limitReader) Close() error { return l.r.Close() }

func (l *limitReader) endMember() (string, func() int64) {
	if m, ok := l.r.(memberEnder); ok {
		return m.endMember()
	}
	return "", nil
}
