package compressors

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/jlstore/jlstore/internal/errs"
)

// ReadOption configures NewReader.
type ReadOption func(*readConfig) error

type readConfig struct {
	maxOutput int64 // 0: no limit
}

// MaxOutput limits the decoded size. Reading past n decoded bytes fails
// with an error wrapping ErrTooLarge; a stream of exactly n bytes reads
// cleanly. n = 0, the default, means no limit; a negative n is an error.
// The limit also caps the lzma dictionary and refuses z-files and lzma
// streams whose header declares more than n bytes before any decoding.
func MaxOutput(n int64) ReadOption {
	return func(c *readConfig) error {
		if n < 0 {
			return fmt.Errorf("compressors: MaxOutput(%d): negative limit", n)
		}
		c.maxOutput = n
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
// consume bytes past the end of the compressed stream. Close releases the
// decoder and does not close r. Decoding streams: nothing is accumulated,
// so io.ReadFull into a caller's buffer costs one copy at most.
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
		return limit(io.NopCloser(br), "uncompressed", cfg.maxOutput), "", nil
	}
	if c.Name == ZF && c.newReaderLimit != nil {
		// The z-file's own length check already bounds the output.
		rc, _, err := ReadZF(br, cfg.maxOutput)
		return rc, c.Name, err
	}
	if c.newReaderLimit != nil {
		rc, err = c.newReaderLimit(br, cfg.maxOutput)
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

// asBufio returns r as a *bufio.Reader, wrapping it when needed.
func asBufio(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= maxMagic {
		return br
	}
	return bufio.NewReaderSize(r, bufSize)
}

// countReader counts the compressed bytes a decoder takes and remembers
// errors of the source. It is an io.ByteReader, so flate and lzma read
// from it directly, without a second buffer and without reading ahead.
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

// decodeReader turns a decoder's errors into FormatErrors and any panic
// of a third-party decoder into an error. With strictEnd it also fails
// on bytes after the end of the stream (for formats whose decoder stops
// exactly at the end).
type decodeReader struct {
	name      string
	src       *countReader
	dec       io.ReadCloser
	strictEnd bool
	err       error
	closed    bool
}

func (d *decodeReader) Read(p []byte) (n int, err error) {
	if d.err != nil {
		return 0, d.err
	}
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, &FormatError{Layer: d.name, Offset: d.src.n, What: fmt.Sprintf("decoder panic: %v", v), Err: errs.Corrupt}
			d.err = err
		}
	}()
	n, err = d.dec.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		if d.strictEnd {
			end, perr := d.src.atEnd()
			if perr != nil {
				err = fmt.Errorf("%s: reading input: %w", d.name, perr)
			} else if !end {
				err = &FormatError{Layer: d.name, Offset: d.src.n, What: "data after end of stream", Err: errs.Corrupt}
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
func wrapDecodeErr(name string, src *countReader, err error) error {
	var fe *FormatError
	if errors.As(err, &fe) || errors.Is(err, errClosed) {
		return err
	}
	off := int64(-1)
	if src != nil {
		off = src.n
		if src.err != nil {
			return fmt.Errorf("%s: reading input: %w", name, src.err)
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
