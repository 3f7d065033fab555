//go:build jlstore_cgo && cgo

package compressors

import (
	"errors"
	"sync/atomic"
)

// The jlstore_cgo build decodes bz2 with libbz2 and lzma and the LZMA2
// data of xz blocks with liblzma (native_bz2.go, native_lzma.go). Each C
// decoder reads the caller's bufio.Reader buffer in place and writes into
// the caller's buffer: the pointers are set in the C stream for one call
// and cleared before it returns, as cgo's rules want. The C side holds
// one stream state (libbz2: about 3.7 MB for 900 kB blocks; liblzma: the
// dictionary, capped as in the Go build). Close frees it, and a cleanup
// frees it when a reader is dropped unclosed.

// nativeLive counts the C decoders not freed yet, for tests.
var nativeLive atomic.Int64

var errNoMemory = errors.New("compressors: C decoder: out of memory")

// nativeInput returns the bytes the caller's bufio.Reader holds, reading
// more when it holds none; at the end of the input, io.EOF.
func nativeInput(src *countReader) ([]byte, error) {
	if src.br.Buffered() == 0 {
		if _, err := src.br.Peek(1); err != nil {
			src.note(err)
			return nil, err
		}
	}
	b, _ := src.br.Peek(src.br.Buffered())
	return b, nil
}

// consume takes from the bufio.Reader n bytes that a C decoder has used.
func consume(src *countReader, n int) {
	src.br.Discard(n) // buffered: cannot fail
	src.n += int64(n)
}

// noProgress is the error of a C decoder that takes no input and gives
// no output, which should not happen.
func noProgress(name string) error {
	return errors.New(name + ": the decoder makes no progress")
}
