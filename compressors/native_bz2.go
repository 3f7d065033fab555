//go:build jlstore_cgo && cgo

package compressors

/*
#cgo LDFLAGS: -lbz2
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <bzlib.h>

typedef struct {
	bz_stream s;
	int active; // s is initialized
} jl_bz2;

typedef struct {
	int ret;
	size_t in_used, out_used;
} jl_bz2_result;

static jl_bz2 *jl_bz2_new(void) { return calloc(1, sizeof(jl_bz2)); }

static void jl_bz2_stop(jl_bz2 *d) {
	if (d->active) {
		BZ2_bzDecompressEnd(&d->s);
		d->active = 0;
	}
}

static int jl_bz2_start(jl_bz2 *d) {
	jl_bz2_stop(d);
	memset(&d->s, 0, sizeof d->s);
	int r = BZ2_bzDecompressInit(&d->s, 0, 0);
	if (r == BZ_OK) {
		d->active = 1;
	}
	return r;
}

static void jl_bz2_free(jl_bz2 *d) {
	jl_bz2_stop(d);
	free(d);
}

// jl_bz2_decompress decodes from in to out; the pointers live in the
// stream for this call only.
static jl_bz2_result jl_bz2_decompress(jl_bz2 *d, char *in, size_t in_len, char *out, size_t out_len) {
	jl_bz2_result r;
	unsigned int il = in_len > UINT_MAX ? UINT_MAX : (unsigned int)in_len;
	unsigned int ol = out_len > UINT_MAX ? UINT_MAX : (unsigned int)out_len;
	d->s.next_in = in;
	d->s.avail_in = il;
	d->s.next_out = out;
	d->s.avail_out = ol;
	r.ret = BZ2_bzDecompress(&d->s);
	r.in_used = il - d->s.avail_in;
	r.out_used = ol - d->s.avail_out;
	d->s.next_in = NULL;
	d->s.next_out = NULL;
	d->s.avail_in = 0;
	d->s.avail_out = 0;
	return r;
}
*/
import "C"

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"unsafe"

	"github.com/jlstore/jlstore/internal/errs"
)

func init() { nativeBZ2 = newLibBZ2 }

// libBZ2 reads bz2 streams one after the other with libbz2, which stops
// exactly at a stream's end; the next stream, if any, starts on the Read
// after the one that returned the last bytes of a stream, as in bz2Reader.
type libBZ2 struct {
	src     *countReader
	h       *C.jl_bz2
	cleanup runtime.Cleanup
	between bool // after a stream's end
	stop    bool // FinishMember: end with the current stream
	err     error
}

func newLibBZ2(src *countReader) (io.ReadCloser, error) {
	h := C.jl_bz2_new()
	if h == nil {
		return nil, errNoMemory
	}
	nativeLive.Add(1)
	d := &libBZ2{src: src, h: h}
	d.cleanup = runtime.AddCleanup(d, freeBZ2, h)
	if err := d.start(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func freeBZ2(h *C.jl_bz2) {
	C.jl_bz2_free(h)
	nativeLive.Add(-1)
}

func (d *libBZ2) start() error {
	if r := C.jl_bz2_start(d.h); r != C.BZ_OK {
		return bz2Error(d.src, r)
	}
	d.between = false
	return nil
}

// bz2Error turns libbz2's return code into an error.
func bz2Error(src *countReader, r C.int) error {
	switch r {
	case C.BZ_DATA_ERROR, C.BZ_DATA_ERROR_MAGIC:
		return &FormatError{Layer: BZ2, Offset: src.n, What: fmt.Sprintf("libbz2: corrupt data (%d)", int(r)), Err: errs.Corrupt}
	case C.BZ_MEM_ERROR:
		return &FormatError{Layer: BZ2, Offset: src.n, What: "libbz2: out of memory", Err: errs.TooLarge}
	}
	return fmt.Errorf("bz2: libbz2 error %d", int(r))
}

func (d *libBZ2) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.read(p)
	if err != nil {
		d.err = err
	}
	return n, err
}

func (d *libBZ2) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for stalls := 0; ; {
		if d.between {
			if d.stop {
				return 0, io.EOF
			}
			if err := d.nextStream(); err != nil {
				return 0, err
			}
		}
		in, err := nativeInput(d.src)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		r := C.jl_bz2_decompress(d.h, (*C.char)(unsafe.Pointer(&in[0])), C.size_t(len(in)), (*C.char)(unsafe.Pointer(&p[0])), C.size_t(len(p)))
		consume(d.src, int(r.in_used))
		n := int(r.out_used)
		switch r.ret {
		case C.BZ_OK:
			if n > 0 {
				return n, nil
			}
			if r.in_used == 0 {
				if stalls++; stalls > 2 {
					return 0, noProgress(BZ2)
				}
			}
		case C.BZ_STREAM_END:
			C.jl_bz2_stop(d.h)
			d.between = true
			if n > 0 {
				return n, nil
			}
		default:
			return 0, bz2Error(d.src, r.ret)
		}
	}
}

// nextStream starts the next stream, or returns io.EOF at the end of the
// input, or an error, leaving them unread, when other bytes follow.
func (d *libBZ2) nextStream() error {
	head, err := d.src.br.Peek(4)
	switch {
	case err != nil && err != io.EOF:
		d.src.note(err)
		return err
	case len(head) == 0:
		return io.EOF
	case len(head) == 4 && string(head[:3]) == "BZh":
		return d.start()
	case len(head) < 4 && bytes.HasPrefix([]byte("BZh"), head[:min(len(head), 3)]):
		return io.ErrUnexpectedEOF
	}
	return &FormatError{Layer: BZ2, Offset: d.src.n, What: "data after end of stream", Err: errs.Corrupt}
}

func (d *libBZ2) stopAtMemberEnd() { d.stop = true }

// Close frees the C decoder; it may be called more than once.
func (d *libBZ2) Close() error {
	if d.h != nil {
		d.cleanup.Stop()
		freeBZ2(d.h)
		d.h = nil
	}
	if d.err == nil {
		d.err = errClosed
	}
	return nil
}
