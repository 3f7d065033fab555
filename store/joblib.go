package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// joblibModules are the modules that have held joblib's wrappers:
// joblib itself and the copy scikit-learn used to vendor.
var joblibModules = []string{
	"joblib.numpy_pickle",
	"sklearn.externals.joblib.numpy_pickle",
	"joblib.numpy_pickle_compat",
	"sklearn.externals.joblib.numpy_pickle_compat",
}

// payloadAlign is the alignment of the buffers compressed and streamed
// payloads are read into.
const payloadAlign = 64

// record is what the loader learns about an array it reads.
type record struct {
	offset   int64 // of the payload in the uncompressed stream, -1 if none
	zeroCopy bool
	mmapOK   bool // the file allows mapping it (allow_mmap)
	note     string
}

// loader holds the state of one load: where the stream comes from, the
// byte budget, and what it learned about each array.
type loader struct {
	cfg       loadConfig
	name      string // file name for errors and sidecars; "" for streams
	codec     string // compression codec, "" for none
	inputSize int64  // compressed input size, for the ratio cap; -1 unknown
	mapped    bool   // the stream is a view of a mapping of the file
	mapStart  uintptr
	declared  int64 // array bytes declared so far
	unbuilt   int   // wrappers made (NEWOBJ) but not yet given their state (BUILD)
	records   map[*ndarray.Array]*record
	closers   []func() error

	arrayBlock   []ndarray.Array // see newArray
	payloadBlock []byte          // see payloadBuf
	wrapperBlock []wrapper       // newWrapper's, likewise
}

// record keeps what the load learned about an array, for File.Arrays;
// Load, which never lists them, keeps nothing.
func (l *loader) record(a *ndarray.Array, r record) {
	if l.records != nil {
		l.records[a] = &r
	}
}

// Small payloads and the arrays that hold them are carved from blocks,
// which saves the collector two objects per array in graphs of many
// small arrays. A block stays alive while any array carved from it does;
// the blocks are small enough for that not to matter.
const (
	smallPayload = 4 << 10
	payloadBlock = 64 << 10
	arrayBlock   = 64
)

// newArray returns a zero Array from the loader's block.
func (l *loader) newArray() *ndarray.Array {
	if len(l.arrayBlock) == 0 {
		l.arrayBlock = make([]ndarray.Array, arrayBlock)
	}
	a := &l.arrayBlock[0]
	l.arrayBlock = l.arrayBlock[1:]
	return a
}

// payloadBuf returns an aligned buffer of n bytes, from the loader's block
// when n is small.
func (l *loader) payloadBuf(n int) []byte {
	if n > smallPayload {
		return ndarray.AlignedBytes(n, payloadAlign)
	}
	size := (n + payloadAlign - 1) &^ (payloadAlign - 1)
	if len(l.payloadBlock) < size {
		l.payloadBlock = ndarray.AlignedBytes(payloadBlock, payloadAlign)
	}
	b := l.payloadBlock[:n:n]
	l.payloadBlock = l.payloadBlock[size:]
	return b
}

func newLoader(cfg loadConfig, name string) *loader {
	l := &loader{cfg: cfg, name: name, inputSize: -1}
	if !cfg.noIndex {
		l.records = map[*ndarray.Array]*record{}
	}
	return l
}

// joblibRegistry knows the builtins, numpy's constructors and joblib's
// wrappers. It is built once; each decode passes its loader as the
// decoder's Context.
var joblibRegistry = sync.OnceValue(func() *pickle.Registry {
	r := ndarray.NewRegistry()
	for _, m := range joblibModules {
		r.Register(m, "NumpyArrayWrapper", pickle.Class{New: newWrapper, Call: callWrapper})
		r.Register(m, "NDArrayWrapper", pickle.Class{New: newNDWrapper, Call: callNDWrapper})
		r.Register(m, "ZNDArrayWrapper", pickle.Class{New: newZNDWrapper, Call: callZNDWrapper})
	}
	return r
})

// loaderOf returns the loader a decode carries.
func loaderOf(d *pickle.Decoder) (*loader, error) {
	l, ok := d.Context().(*loader)
	if !ok {
		return nil, d.Errorf(ErrUnsupported, "joblib wrapper outside a jlstore load")
	}
	return l, nil
}

func (l *loader) decodeOptions() []pickle.DecodeOption {
	return []pickle.DecodeOption{
		pickle.WithRegistry(joblibRegistry()),
		pickle.Context(l),
		pickle.Strict(l.cfg.strict),
		pickle.MaxDepth(l.cfg.maxDepth),
		pickle.MaxMemo(l.cfg.maxMemo),
		pickle.MaxBytes(l.cfg.maxBytes),
		pickle.WithPy2Strings(l.cfg.py2),
	}
}

// field returns a state dict's entry, whose key may be a Python 2 str
// (bytes) as well as a str. The key is an interface holding a string, so
// that the constant names callers pass are boxed at compile time: boxing
// a string variable allocates, once per field of every array.
func field(d *pickle.Dict, key any) (any, bool) {
	if v, ok := d.Get(key); ok {
		return v, true
	}
	name, _ := key.(string)
	return d.Get([]byte(name))
}

func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// wrapper is a joblib NumpyArrayWrapper under construction: NEWOBJ made
// it, BUILD gives it its state, and then the array's bytes follow in the
// stream.
type wrapper struct {
	l     *loader
	built bool
}

func newWrapper(d *pickle.Decoder, args pickle.Tuple, kw *pickle.Dict) (any, error) {
	l, err := loaderOf(d)
	if err != nil {
		return nil, err
	}
	l.unbuilt++
	if len(l.wrapperBlock) == 0 {
		l.wrapperBlock = make([]wrapper, arrayBlock)
	}
	w := &l.wrapperBlock[0]
	l.wrapperBlock = l.wrapperBlock[1:]
	w.l = l
	return w, nil
}

func callWrapper(d *pickle.Decoder, args pickle.Tuple) (any, error) {
	// Protocols 0 and 1 write the wrapper as copyreg._reconstructor, which
	// calls New; a direct call would be a hand-made file.
	return newWrapper(d, args, nil)
}

// Build reads the wrapper's state, then the array that follows it.
func (w *wrapper) Build(d *pickle.Decoder, state any) (any, error) {
	w.l.built(&w.built)
	st, ok := state.(*pickle.Dict)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "NumpyArrayWrapper state is a %s, not a dict", pickle.TypeName(state))
	}
	var dt *ndarray.DType
	if v, ok := field(st, "dtype"); ok {
		dt, _ = v.(*ndarray.DType)
	}
	if dt == nil {
		return nil, d.Errorf(ErrCorrupt, "NumpyArrayWrapper without a dtype")
	}
	shapeV, _ := field(st, "shape")
	shape, err := ndarray.ShapeOf(shapeV)
	if err != nil {
		return nil, d.Errorf(ErrCorrupt, "NumpyArrayWrapper shape: %v", err)
	}
	order := ndarray.OrderC
	if v, ok := field(st, "order"); ok {
		switch s, _ := text(v); s {
		case "C":
		case "F":
			order = ndarray.OrderF
		default:
			return nil, d.Errorf(ErrCorrupt, "NumpyArrayWrapper order %q", s)
		}
	}
	subclass := ""
	if v, ok := field(st, "subclass"); ok {
		if g, ok := v.(pickle.Global); ok {
			subclass = ndarray.SubclassName(g)
		}
	}
	allowMmap := false
	if v, ok := field(st, "allow_mmap"); ok {
		allowMmap, _ = v.(bool)
	}
	align := int64(-1) // no padding
	if v, ok := field(st, "numpy_array_alignment_bytes"); ok && v != nil {
		n, ok := v.(int64)
		if !ok || n < 1 || n > 4096 {
			return nil, d.Errorf(ErrCorrupt, "numpy_array_alignment_bytes %v", v)
		}
		align = n
	}
	if dt.HasObject() {
		return w.l.readObjectArray(d, shape, order, subclass)
	}
	return w.l.readPayload(d, dt, shape, order, subclass, align, allowMmap)
}

// payloadSize returns prod(shape)*itemsize, or an error on overflow.
func payloadSize(dt *ndarray.DType, shape []int) (int64, error) {
	n := uint64(dt.ItemSize())
	for _, s := range shape {
		hi, lo := bits.Mul64(n, uint64(s))
		if hi != 0 || lo > 1<<62 {
			return 0, fmt.Errorf("shape %v of %s overflows: %w", shape, dt, ErrTooLarge)
		}
		n = lo
	}
	return int64(n), nil
}

// readObjectArray reads an object array, which joblib writes as a complete
// numpy pickle right after the wrapper.
func (l *loader) readObjectArray(d *pickle.Decoder, shape []int, order ndarray.Order, subclass string) (any, error) {
	v, err := d.DecodeNested()
	if err != nil {
		return nil, err
	}
	a, ok := v.(*ndarray.Array)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "object array pickle holds a %s", pickle.TypeName(v))
	}
	l.record(a, record{offset: -1})
	if a.Subclass == "" {
		a.Subclass = subclass
	}
	return a, nil
}

// readPayload reads the padding and the raw bytes of a wrapper's array.
func (l *loader) readPayload(d *pickle.Decoder, dt *ndarray.DType, shape []int, order ndarray.Order, subclass string, align int64, allowMmap bool) (any, error) {
	s := d.Stream()
	n, err := payloadSize(dt, shape)
	if err != nil {
		return nil, d.Errorf(ErrTooLarge, "%v", err)
	}
	if align > 0 {
		b, err := s.Next(1)
		if err != nil {
			return nil, d.Errorf(io.ErrUnexpectedEOF, "array padding")
		}
		if err := s.Discard(int64(b[0])); err != nil {
			return nil, d.Errorf(io.ErrUnexpectedEOF, "array padding")
		}
	}
	off := s.Offset()
	l.declared += n
	if l.inputSize > 0 && l.codec != "" && float64(l.declared) > l.cfg.maxRatio*float64(l.inputSize) {
		return nil, d.Errorf(ErrTooLarge, "arrays declare %d bytes from %d compressed bytes, over the %g:1 ratio (MaxRatio)", l.declared, l.inputSize, l.cfg.maxRatio)
	}
	rec := record{offset: off, mmapOK: allowMmap}
	var a *ndarray.Array
	if l.cfg.sink != nil {
		a, err = l.streamPayload(d, s, dt, shape, order, subclass, n, &rec)
	} else if l.mapped && s.InMemory() {
		a, err = l.viewPayload(d, s, dt, shape, order, n, &rec)
	} else {
		a, err = l.readCopy(d, s, dt, shape, order, n)
		if err == nil {
			rec.note = "read into memory"
			if l.codec != "" {
				rec.note = "decompressed (" + l.codec + ")"
			}
		}
	}
	if err != nil {
		return nil, err
	}
	a.Subclass = subclass
	l.record(a, rec)
	return a, nil
}

// streamPayload hands the payload to the StreamArrays callback. A payload
// that can be a view stays one; any other is read through the callback and
// left out of the array.
func (l *loader) streamPayload(d *pickle.Decoder, s *pickle.Stream, dt *ndarray.DType, shape []int, order ndarray.Order, subclass string, n int64, rec *record) (*ndarray.Array, error) {
	if n > int64(^uint(0)>>1) {
		return nil, d.Errorf(ErrTooLarge, "array of %d bytes", n)
	}
	if err := d.Reserve(0, n); err != nil {
		return nil, err
	}
	a := &ndarray.Array{DType: dt, Shape: shape, Order: order, Subclass: subclass}
	rec.note = "streamed"
	if l.codec != "" {
		rec.note = "streamed (" + l.codec + ")"
	}
	if l.mapped && s.InMemory() {
		view, err := s.Next(int(n))
		if err != nil {
			return nil, d.Errorf(io.ErrUnexpectedEOF, "array of %d bytes", n)
		}
		if reason := viewBlocker(view, dt, rec.offset, false); reason != "" {
			rec.note = "streamed: " + reason
		} else {
			a.Data, a.Owner = view[:n:n], ndarray.OwnerMapping
			if err := a.Validate(); err != nil {
				return nil, d.Errorf(ErrCorrupt, "%v", err)
			}
			rec.zeroCopy, rec.note = true, ""
		}
		if err := l.cfg.sink(a, bytes.NewReader(view)); err != nil {
			return nil, d.Errorf(err, "array at byte %d (StreamArrays)", rec.offset)
		}
		return a, nil
	}
	r := &payloadReader{s: s, left: n}
	if err := l.cfg.sink(a, r); err != nil {
		if r.err != nil {
			err = r.err
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, d.Errorf(io.ErrUnexpectedEOF, "array of %d bytes is cut short", n)
		}
		return nil, d.Errorf(err, "array at byte %d (StreamArrays)", rec.offset)
	}
	if err := s.Discard(r.left); err != nil {
		return nil, d.Errorf(err, "array of %d bytes is cut short", n)
	}
	return a, nil
}

// payloadReader reads the next left bytes of a stream, and fails with
// io.ErrUnexpectedEOF if the stream ends first.
type payloadReader struct {
	s    *pickle.Stream
	left int64
	err  error // of the stream
}

func (r *payloadReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.s.Read(p)
	r.left -= int64(n)
	if err != nil && (r.left > 0 || err != io.EOF) {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = err
		return n, err
	}
	return n, nil
}

// viewBlocker says why a payload cannot be a view of the mapping, or ""
// when it can.
func viewBlocker(view []byte, dt *ndarray.DType, offset int64, convert bool) string {
	if len(view) > 0 {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(view)))
		if al := dt.Alignment(); al > 1 && p%uintptr(al) != 0 {
			return fmt.Sprintf("unaligned (offset %d is not a multiple of %d)", offset, al)
		}
	}
	if !dt.IsNative() && convert {
		return "converted to native byte order"
	}
	return ""
}

// viewPayload makes the array a view of the mapping when it can, or a
// copy otherwise (or an error under StrictZeroCopy).
func (l *loader) viewPayload(d *pickle.Decoder, s *pickle.Stream, dt *ndarray.DType, shape []int, order ndarray.Order, n int64, rec *record) (*ndarray.Array, error) {
	if n > int64(^uint(0)>>1) {
		return nil, d.Errorf(ErrTooLarge, "array of %d bytes", n)
	}
	view, err := s.Next(int(n))
	if err != nil {
		return nil, d.Errorf(io.ErrUnexpectedEOF, "array of %d bytes", n)
	}
	reason := viewBlocker(view[:n], dt, rec.offset, l.cfg.convertViews)
	if reason == "" {
		a := &ndarray.Array{DType: dt, Shape: shape, Order: order, Data: view[:n:n], Owner: ndarray.OwnerMapping}
		if err := a.Validate(); err != nil {
			return nil, d.Errorf(ErrCorrupt, "%v", err)
		}
		rec.zeroCopy = true
		return a, nil
	}
	if l.cfg.strictCopy {
		return nil, d.Errorf(ErrNotZeroCopy, "array at byte %d: %s", rec.offset, reason)
	}
	if err := d.Reserve(n, 0); err != nil {
		return nil, err
	}
	buf := ndarray.AlignedBytes(int(n), payloadAlign)
	copy(buf, view)
	a := &ndarray.Array{DType: dt, Shape: shape, Order: order, Data: buf, Owner: ndarray.OwnerHeap}
	if err := a.Validate(); err != nil {
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	rec.note = "copied: " + reason
	if !dt.IsNative() && l.cfg.convertViews {
		return toNative(d, a)
	}
	return a, nil
}

// readCopy reads the payload straight from the stream into an aligned
// buffer of its final size.
func (l *loader) readCopy(d *pickle.Decoder, s *pickle.Stream, dt *ndarray.DType, shape []int, order ndarray.Order, n int64) (*ndarray.Array, error) {
	if err := d.Reserve(n, n); err != nil {
		return nil, err
	}
	if n > int64(^uint(0)>>1) {
		return nil, d.Errorf(ErrTooLarge, "array of %d bytes", n)
	}
	var buf []byte
	var err error
	if l.inputSize < 0 && s.Remaining() < 0 {
		// Decode of a pipe: the size is unknown, so a lying length must
		// cost no more than the bytes that arrive.
		buf, _, err = ndarray.ReadGrowing(s, int(n))
	} else {
		buf = l.payloadBuf(int(n))
		if l.codec != "" && n >= prefaultMin && runtime.GOMAXPROCS(0) > 1 {
			// The decompressor fills buf on one core; fault its pages in
			// on another meanwhile.
			go ndarray.Prefault(buf)
		}
		err = s.ReadFull(buf)
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, d.Errorf(io.ErrUnexpectedEOF, "array of %d bytes is cut short", n)
		}
		return nil, d.Errorf(err, "array of %d bytes", n)
	}
	a := l.newArray()
	*a = ndarray.Array{DType: dt, Shape: shape, Order: order, Data: buf, Owner: ndarray.OwnerHeap}
	if err := a.Validate(); err != nil {
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	if !dt.IsNative() && l.cfg.byteOrder == ByteOrderNative {
		return toNative(d, a)
	}
	return a, nil
}

// prefaultMin is the size from which a payload being decompressed is
// prefaulted by a second goroutine.
const prefaultMin = 8 << 20

func toNative(d *pickle.Decoder, a *ndarray.Array) (*ndarray.Array, error) {
	b, err := a.ToNative()
	if err != nil {
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	b.Subclass = a.Subclass
	return b, nil
}

// sidecar returns the path of a file an old wrapper names, refusing names
// that leave the folder of the file being loaded.
func (l *loader) sidecar(d *pickle.Decoder, name string) (string, error) {
	if l.name == "" {
		return "", d.Errorf(ErrUnsupported, "array in sidecar file %q, but the input is a stream, not a file", name)
	}
	if !l.cfg.sidecars {
		return "", d.Errorf(ErrUnsafe, "sidecar file %q refused", name)
	}
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." || filepath.IsAbs(name) {
		return "", d.Errorf(ErrUnsafe, "sidecar file %q leaves the folder of %s", name, l.name)
	}
	return filepath.Join(filepath.Dir(l.name), name), nil
}

// ndWrapper is joblib 0.9's NDArrayWrapper: the array is in a .npy file
// beside the pickle.
type ndWrapper struct {
	l     *loader
	built bool
}

func newNDWrapper(d *pickle.Decoder, args pickle.Tuple, kw *pickle.Dict) (any, error) {
	l, err := loaderOf(d)
	if err != nil {
		return nil, err
	}
	l.unbuilt++
	return &ndWrapper{l: l}, nil
}

func callNDWrapper(d *pickle.Decoder, args pickle.Tuple) (any, error) {
	return newNDWrapper(d, args, nil)
}

func (w *ndWrapper) Build(d *pickle.Decoder, state any) (any, error) {
	w.l.built(&w.built)
	st, ok := state.(*pickle.Dict)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "NDArrayWrapper state is a %s, not a dict", pickle.TypeName(state))
	}
	nameV, _ := field(st, "filename")
	name, ok := text(nameV)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "NDArrayWrapper without a filename")
	}
	path, err := w.l.sidecar(d, name)
	if err != nil {
		return nil, err
	}
	allowMmap := true
	if v, ok := field(st, "allow_mmap"); ok {
		if b, ok := v.(bool); ok {
			allowMmap = b
		}
	}
	var a *ndarray.Array
	rec := record{offset: -1, mmapOK: allowMmap}
	if w.l.mapped && allowMmap {
		a, err = ndarray.OpenNpy(path, w.l.cfg.mode)
		if err == nil {
			w.l.closers = append(w.l.closers, a.Close)
			rec.zeroCopy = a.ZeroCopy()
			rec.note = "mapped from " + name
		}
	} else {
		a, err = ndarray.LoadNpy(path)
		rec.note = "read from " + name
	}
	if err != nil {
		return nil, d.Errorf(err, "sidecar %s", name)
	}
	if err := d.Reserve(int64(len(a.Data)), 0); err != nil && !rec.zeroCopy {
		return nil, err
	}
	if v, ok := field(st, "subclass"); ok {
		if g, ok := v.(pickle.Global); ok {
			a.Subclass = ndarray.SubclassName(g)
		}
	}
	if !a.DType.IsNative() && w.l.cfg.byteOrder == ByteOrderNative && !rec.zeroCopy {
		if a, err = toNative(d, a); err != nil {
			return nil, err
		}
	}
	w.l.record(a, rec)
	return a, nil
}

// zndWrapper is joblib 0.9's ZNDArrayWrapper: numpy's reconstruct
// arguments and state, with the data in a z-file beside the pickle.
type zndWrapper struct {
	l     *loader
	built bool
}

func newZNDWrapper(d *pickle.Decoder, args pickle.Tuple, kw *pickle.Dict) (any, error) {
	l, err := loaderOf(d)
	if err != nil {
		return nil, err
	}
	l.unbuilt++
	return &zndWrapper{l: l}, nil
}

func callZNDWrapper(d *pickle.Decoder, args pickle.Tuple) (any, error) {
	return newZNDWrapper(d, args, nil)
}

var reconstruct = pickle.Global{Module: "numpy.core.multiarray", Name: "_reconstruct"}

func (w *zndWrapper) Build(d *pickle.Decoder, state any) (any, error) {
	w.l.built(&w.built)
	st, ok := state.(*pickle.Dict)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "ZNDArrayWrapper state is a %s, not a dict", pickle.TypeName(state))
	}
	nameV, _ := field(st, "filename")
	name, ok := text(nameV)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "ZNDArrayWrapper without a filename")
	}
	initV, _ := field(st, "init_args")
	initArgs, ok1 := initV.(pickle.Tuple)
	stateV, _ := field(st, "state")
	arrState, ok2 := stateV.(pickle.Tuple)
	if !ok1 || !ok2 {
		return nil, d.Errorf(ErrCorrupt, "ZNDArrayWrapper needs init_args and state tuples")
	}
	path, err := w.l.sidecar(d, name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, d.Errorf(err, "sidecar %s", name)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, d.Errorf(err, "sidecar %s", name)
	}
	limit := min(w.l.cfg.maxBytes, int64(w.l.cfg.maxRatio*float64(max(fi.Size(), 1))))
	rc, declared, err := compressors.ReadZF(f, limit)
	if err != nil {
		return nil, d.Errorf(err, "sidecar %s", name)
	}
	defer rc.Close()
	if err := d.Reserve(declared, 0); err != nil {
		return nil, err
	}
	data := ndarray.AlignedBytes(int(declared), payloadAlign)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, d.Errorf(err, "sidecar %s", name)
	}
	// The z-file must end there, as Python's read_zfile asserts: its
	// reader reports a stream longer than its header says.
	if n, err := rc.Read(make([]byte, 1)); n > 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = ErrCorrupt
		}
		return nil, d.Errorf(err, "sidecar %s holds more than the %d bytes its header declares", name, declared)
	}
	c, ok := d.Registry().Lookup(reconstruct)
	if !ok || c.Call == nil {
		return nil, d.Errorf(ErrUnsupported, "numpy's _reconstruct is not registered")
	}
	v, err := c.Call(d, initArgs)
	if err != nil {
		return nil, err
	}
	b, ok := v.(pickle.Builder)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "ZNDArrayWrapper init_args do not make an array")
	}
	full := append(append(pickle.Tuple{}, arrState...), data)
	out, err := b.Build(d, full)
	if err != nil {
		return nil, err
	}
	a, ok := out.(*ndarray.Array)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "ZNDArrayWrapper does not make an array")
	}
	if !a.DType.IsNative() && w.l.cfg.byteOrder == ByteOrderNative {
		if a, err = toNative(d, a); err != nil {
			return nil, err
		}
	}
	w.l.record(a, record{offset: -1, note: "decompressed from " + name})
	return a, nil
}

// built marks a wrapper as given its state.
func (l *loader) built(flag *bool) {
	if !*flag {
		*flag = true
		l.unbuilt--
	}
}

// finish checks a decoded graph: every joblib wrapper must have been
// given its state, which turns it into an array. A wrapper that was not
// (NEWOBJ without BUILD, which joblib never writes) would leave an
// internal value in the graph.
func (l *loader) finish(v any, err error) (any, error) {
	if err == nil && l.unbuilt > 0 {
		return nil, &FormatError{Layer: "pickle", Offset: -1, What: fmt.Sprintf("%d joblib array wrappers without their state (BUILD)", l.unbuilt), Err: ErrCorrupt}
	}
	return v, err
}

// PyEqual makes wrappers that a hand-made pickle shared before building
// them compare equal to each other, as the inert objects they are.
func (w *wrapper) PyEqual(other any) bool    { _, ok := other.(*wrapper); return ok }
func (w *ndWrapper) PyEqual(other any) bool  { _, ok := other.(*ndWrapper); return ok }
func (w *zndWrapper) PyEqual(other any) bool { _, ok := other.(*zndWrapper); return ok }
