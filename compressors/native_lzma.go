//go:build jlstore_cgo && cgo

package compressors

/*
#cgo LDFLAGS: -llzma
#include <stdlib.h>
#include <string.h>
#include <lzma.h>

typedef struct {
	int ret;
	size_t in_used, out_used;
} jl_lzma_result;

// A zeroed lzma_stream is LZMA_STREAM_INIT.
static lzma_stream *jl_lzma_new(void) { return calloc(1, sizeof(lzma_stream)); }

static void jl_lzma_free(lzma_stream *s) {
	lzma_end(s);
	free(s);
}

// jl_lzma2_start makes s a raw LZMA2 decoder (the data of an xz block)
// with a dictionary of dict bytes; liblzma keeps the buffers of the last
// block when the size is the same.
static int jl_lzma2_start(lzma_stream *s, uint64_t dict) {
	lzma_options_lzma opt;
	memset(&opt, 0, sizeof opt);
	opt.dict_size = (uint32_t)dict;
	lzma_filter f[2] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, NULL}};
	return lzma_raw_decoder(s, f);
}

// jl_alone_start makes s a decoder of the .lzma ("alone") format; the
// caller has cut the header's dictionary.
static int jl_alone_start(lzma_stream *s) { return lzma_alone_decoder(s, UINT64_MAX); }

// jl_lzma_code decodes from in to out; the pointers live in the stream
// for this call only.
static jl_lzma_result jl_lzma_code(lzma_stream *s, uint8_t *in, size_t in_len, uint8_t *out, size_t out_len) {
	jl_lzma_result r;
	s->next_in = in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_len;
	r.ret = lzma_code(s, LZMA_RUN);
	r.in_used = in_len - s->avail_in;
	r.out_used = out_len - s->avail_out;
	s->next_in = NULL;
	s->next_out = NULL;
	s->avail_in = 0;
	s->avail_out = 0;
	return r;
}
*/
import "C"

import (
	"fmt"
	"io"
	"runtime"
	"unsafe"

	"github.com/jlstore/jlstore/internal/errs"
)

func init() {
	nativeLZMA2 = newLibLZMA2
	nativeLZMA = newLibAlone
}

// libLZMA is one liblzma decoder: the LZMA2 data of xz blocks one after
// another (libLZMA2), or an lzma stream (libAlone).
type libLZMA struct {
	name    string
	src     *countReader
	hdr     []byte // the lzma header, fed before src
	h       *C.lzma_stream
	cleanup runtime.Cleanup
	ended   bool
	err     error
}

func newLibLZMA(name string) (*libLZMA, error) {
	h := C.jl_lzma_new()
	if h == nil {
		return nil, errNoMemory
	}
	nativeLive.Add(1)
	d := &libLZMA{name: name, h: h}
	d.cleanup = runtime.AddCleanup(d, freeLZMA, h)
	return d, nil
}

func freeLZMA(h *C.lzma_stream) {
	C.jl_lzma_free(h)
	nativeLive.Add(-1)
}

// lzmaError turns liblzma's return code into an error.
func (d *libLZMA) lzmaError(r C.int) error {
	kind, what := errs.Corrupt, ""
	switch r {
	case C.LZMA_DATA_ERROR:
		what = "corrupt data"
	case C.LZMA_FORMAT_ERROR:
		what = "bad header"
	case C.LZMA_OPTIONS_ERROR:
		what = "unsupported options"
	case C.LZMA_MEM_ERROR, C.LZMA_MEMLIMIT_ERROR:
		kind, what = errs.TooLarge, "out of memory"
	case C.LZMA_BUF_ERROR:
		return io.ErrUnexpectedEOF
	default:
		return fmt.Errorf("%s: liblzma error %d", d.name, int(r))
	}
	return &FormatError{Layer: d.name, Offset: d.src.n, What: fmt.Sprintf("liblzma: %s (%d)", what, int(r)), Err: kind}
}

func (d *libLZMA) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.ended {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := d.read(p)
	if err != nil && err != io.EOF {
		d.err = err
	}
	return n, err
}

func (d *libLZMA) read(p []byte) (int, error) {
	for stalls := 0; ; {
		in, fromHdr := d.hdr, true
		if len(in) == 0 {
			var err error
			if in, err = nativeInput(d.src); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return 0, err
			}
			fromHdr = false
		}
		r := C.jl_lzma_code(d.h, (*C.uint8_t)(unsafe.Pointer(&in[0])), C.size_t(len(in)), (*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p)))
		if fromHdr {
			d.hdr = d.hdr[r.in_used:]
		} else {
			consume(d.src, int(r.in_used))
		}
		n := int(r.out_used)
		switch r.ret {
		case C.LZMA_OK:
			if n > 0 {
				return n, nil
			}
			if r.in_used == 0 {
				if stalls++; stalls > 2 {
					return 0, noProgress(d.name)
				}
			}
		case C.LZMA_STREAM_END:
			d.ended = true
			return n, io.EOF
		default:
			return 0, d.lzmaError(r.ret)
		}
	}
}

// Close frees the C decoder; it may be called more than once.
func (d *libLZMA) Close() error {
	if d.h != nil {
		d.cleanup.Stop()
		freeLZMA(d.h)
		d.h = nil
	}
	if d.err == nil {
		d.err = errClosed
	}
	return nil
}

// libLZMA2 is a blockDecoder: liblzma's raw LZMA2 decoder, set up again
// for each block.
type libLZMA2 struct{ *libLZMA }

func newLibLZMA2() blockDecoder {
	d, err := newLibLZMA(XZ)
	if err != nil {
		return failedDecoder{err}
	}
	return libLZMA2{d}
}

func (d libLZMA2) start(src *countReader, dict int64) error {
	d.src, d.ended, d.err = src, false, nil
	if r := C.jl_lzma2_start(d.h, C.uint64_t(dict)); r != C.LZMA_OK {
		d.err = d.lzmaError(r)
		return d.err
	}
	return nil
}

// failedDecoder is a blockDecoder that could not be made.
type failedDecoder struct{ err error }

func (f failedDecoder) start(*countReader, int64) error { return f.err }
func (f failedDecoder) Read([]byte) (int, error)        { return 0, f.err }
func (f failedDecoder) Close() error                    { return nil }

// newLibAlone decodes an lzma stream: hdr, then src.
func newLibAlone(src *countReader, hdr []byte) (io.ReadCloser, error) {
	d, err := newLibLZMA(LZMA)
	if err != nil {
		return nil, err
	}
	d.src, d.hdr = src, hdr
	if r := C.jl_alone_start(d.h); r != C.LZMA_OK {
		err := d.lzmaError(r)
		d.Close()
		return nil, err
	}
	return d, nil
}
