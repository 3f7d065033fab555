package pickle

import (
	"errors"
	"io"
)

const streamBufSize = 64 << 10

// Stream is the decoder's input. It counts the byte offset of everything
// it hands out, so errors and spliced payloads can name their position in
// the (uncompressed) stream. Registered constructors get it through
// [Decoder.Stream] to read bytes that a writer spliced into the pickle, as
// joblib does with array data.
//
// A Stream over memory ([NewStreamBytes]) hands out views of that memory
// from [Stream.Next]; a Stream over an io.Reader buffers at most 64 KiB and
// reads larger requests straight into the caller's buffer.
type Stream struct {
	src  io.Reader
	buf  []byte
	r, w int
	base int64 // stream offset of buf[0]
	mem  bool
	err  error
	size int64 // total size, or -1
}

// NewStream returns a Stream that reads from r. When r is already a
// *Stream it is returned as is, so that a nested decoder continues where
// the outer one stands.
func NewStream(r io.Reader) *Stream {
	if s, ok := r.(*Stream); ok {
		return s
	}
	return &Stream{src: r, size: -1}
}

// NewStreamSize is NewStream for an input of known total size, which lets
// the decoder refuse a length field larger than what remains at once.
func NewStreamSize(r io.Reader, size int64) *Stream {
	s := NewStream(r)
	if s.src != nil && s.size < 0 && s.base == 0 && s.w == 0 {
		s.size = size
	}
	return s
}

// NewStreamBytes returns a Stream over b. It never copies b: views handed
// out by Next alias it.
func NewStreamBytes(b []byte) *Stream {
	return &Stream{buf: b, w: len(b), mem: true, size: int64(len(b))}
}

// Offset returns the stream offset of the next unread byte.
func (s *Stream) Offset() int64 { return s.base + int64(s.r) }

// Buffered returns the bytes read from the source but not yet consumed.
// The slice is valid until the next read. A caller that takes over the
// source after a Decode must consume these first.
func (s *Stream) Buffered() []byte { return s.buf[s.r:s.w] }

// InMemory reports whether the stream is a view of memory, in which case
// Next returns slices of that memory without copying.
func (s *Stream) InMemory() bool { return s.mem }

// Remaining returns the number of unread bytes, or -1 when unknown.
func (s *Stream) Remaining() int64 {
	if s.size < 0 {
		return -1
	}
	return s.size - s.Offset()
}

// fill reads more input into the buffer, keeping unread bytes. It returns
// false when nothing more can be read.
func (s *Stream) fill() bool {
	if s.mem || s.err != nil {
		return false
	}
	if s.buf == nil {
		s.buf = make([]byte, streamBufSize)
	}
	if s.r > 0 {
		n := copy(s.buf, s.buf[s.r:s.w])
		s.base += int64(s.r)
		s.w = n
		s.r = 0
	}
	for tries := 0; s.w < len(s.buf) && tries < 100; tries++ {
		n, err := s.src.Read(s.buf[s.w:])
		s.w += n
		if err != nil {
			s.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	if s.w == len(s.buf) {
		return true
	}
	s.err = io.ErrNoProgress
	return false
}

func (s *Stream) readErr() error {
	if s.err == nil || s.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return s.err
}

// ReadByte reads one byte.
func (s *Stream) ReadByte() (byte, error) {
	if s.r == s.w && !s.fill() {
		if s.err == nil || s.err == io.EOF {
			return 0, io.EOF
		}
		return 0, s.err
	}
	c := s.buf[s.r]
	s.r++
	return c, nil
}

// Read reads raw bytes. Reads larger than the buffer go straight from the
// source into p.
func (s *Stream) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.r == s.w {
		if s.mem {
			return 0, io.EOF
		}
		if len(p) >= streamBufSize && s.err == nil {
			// Bypass the buffer.
			n, err := s.src.Read(p)
			s.base += int64(n)
			if err != nil {
				s.err = err
			}
			if n > 0 {
				return n, nil
			}
			if err == nil {
				return 0, nil
			}
			return 0, err
		}
		if !s.fill() {
			if s.err == nil {
				return 0, io.EOF
			}
			return 0, s.err
		}
	}
	n := copy(p, s.buf[s.r:s.w])
	s.r += n
	return n, nil
}

// Peek returns the next n bytes without consuming them. n must not exceed
// 64 KiB unless the stream is in memory.
func (s *Stream) Peek(n int) ([]byte, error) {
	for s.w-s.r < n {
		if s.mem || n > streamBufSize || !s.fill() {
			return s.buf[s.r:s.w], io.ErrUnexpectedEOF
		}
	}
	return s.buf[s.r : s.r+n], nil
}

// Next consumes and returns the next n bytes, or fails with
// io.ErrUnexpectedEOF. For a stream in memory the result aliases that memory
// and n may be any size. Otherwise n must not exceed 64 KiB and the result
// is valid only until the next call on s.
func (s *Stream) Next(n int) ([]byte, error) {
	if n < 0 {
		return nil, errors.New("pickle: negative length")
	}
	b, err := s.Peek(n)
	if err != nil {
		return nil, err
	}
	s.r += n
	return b, nil
}

// ReadFull fills p from the stream, wrapping a short read as
// io.ErrUnexpectedEOF.
func (s *Stream) ReadFull(p []byte) error {
	_, err := io.ReadFull(s, p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Discard skips n bytes.
func (s *Stream) Discard(n int64) error {
	for n > 0 {
		if s.r == s.w && !s.fill() {
			return s.readErr()
		}
		k := int64(s.w - s.r)
		if k > n {
			k = n
		}
		s.r += int(k)
		n -= k
	}
	return nil
}

// readLine reads up to and including '\n' and returns the line without it.
// Lines are capped at 64 KiB.
func (s *Stream) readLine() ([]byte, error) {
	scanned := 0
	for {
		for j := s.r + scanned; j < s.w; j++ {
			if s.buf[j] == '\n' {
				line := s.buf[s.r:j]
				s.r = j + 1
				return line, nil
			}
		}
		scanned = s.w - s.r
		if s.mem {
			return nil, io.ErrUnexpectedEOF
		}
		if scanned >= streamBufSize {
			return nil, errLineTooLong
		}
		if !s.fill() {
			return nil, s.readErr()
		}
	}
}

var errLineTooLong = errors.New("line longer than 64 KiB")
