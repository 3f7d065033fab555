package store

import (
	"io"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// Payload is an array whose bytes joblib spliced into a pickle stream,
// right after the BUILD opcode of its NumpyArrayWrapper. Offsets count in
// the uncompressed stream.
type Payload struct {
	// Start is the stream offset right after the BUILD: where the
	// padding starts, or the data when there is none, or the nested
	// pickle of an object array.
	Start int64
	// Offset is the stream offset of the data, which Offset-Start bytes
	// of padding precede (its length byte included), or -1 for an object
	// array, which joblib writes as a complete pickle at Start.
	Offset int64
	// NBytes is the size of the data, 0 for an object array.
	NBytes int64
	DType  *ndarray.DType // in the byte order of the file
	Shape  []int
	Order  ndarray.Order
}

// Payloads lists the array payloads of a joblib stream in stream order,
// for tools that show the stream's layout. r is the uncompressed stream
// (see compressors.NewReader). Payloads decodes the pickles of r one after
// another, as joblib writes them into one stream, up to its end or to
// bytes after a STOP that do not start another pickle with PROTO.
//
// Each array is checked as Decode checks it, with the same limits, but
// its data is skipped, not kept (see StreamArrays), so memory stays
// bounded whatever the stream holds. Persistent ids stand
// for themselves, and the wrappers of joblib before 0.10, whose arrays
// are in other files, stay inert objects: no other file is opened.
//
// On an error, which is a *PathError, Payloads returns the payloads
// listed before it, and the object array whose nested pickle failed, if
// that is what failed, so that a listing can show where that pickle
// starts.
func Payloads(r io.Reader, opts ...LoadOption) ([]Payload, error) {
	cfg, err := newLoadConfig(opts)
	if err != nil {
		return nil, &PathError{"payloads", "", err}
	}
	cfg.byteOrder, cfg.convertViews, cfg.strictCopy = ByteOrderKeep, false, false
	// Payloads are skipped, not kept: memory stays bounded whatever the
	// arrays hold.
	cfg.sink = func(*ndarray.Array, io.Reader) error { return nil }
	s := pickle.NewStream(r)
	l := newLoader(cfg, "")
	l.mapped = s.InMemory()
	var out []Payload
	wrap := func() (any, error) { return &payloadWrapper{wrapper{l: l}, &out}, nil }
	reg := ndarray.NewRegistry()
	for _, m := range joblibModules {
		reg.Register(m, "NumpyArrayWrapper", pickle.Class{
			New:  func(*pickle.Decoder, pickle.Tuple, *pickle.Dict) (any, error) { return wrap() },
			Call: func(*pickle.Decoder, pickle.Tuple) (any, error) { return wrap() },
		})
	}
	dopts := append(l.decodeOptions(), pickle.WithRegistry(reg),
		pickle.PersistentLoad(func(pid any) (any, error) { return pid, nil }))
	for first := true; ; first = false {
		if !first {
			if b, err := s.Peek(1); err != nil || b[0] != 0x80 { // PROTO
				return out, nil
			}
		}
		_, err := pickle.NewDecoder(s, dopts...).Decode()
		if err == io.EOF {
			err = &FormatError{Layer: "pickle", Offset: 0, What: "empty input", Err: io.ErrUnexpectedEOF}
		}
		if err != nil {
			return out, &PathError{"payloads", "", err}
		}
		clear(l.records) // let the arrays go
	}
}

// payloadWrapper is a NumpyArrayWrapper that a Payloads reads: the
// loader's wrapper, which also records where its payload lies.
type payloadWrapper struct {
	w   wrapper
	out *[]Payload
}

func (p *payloadWrapper) Build(d *pickle.Decoder, state any) (any, error) {
	start := d.Stream().Offset()
	v, err := p.w.Build(d, state)
	if err != nil {
		if pl, ok := objectPayload(state, start); ok {
			*p.out = append(*p.out, pl)
		}
		return nil, err
	}
	a, ok := v.(*ndarray.Array)
	rec := p.w.l.records[a]
	if !ok || rec == nil {
		return nil, d.Errorf(ErrCorrupt, "NumpyArrayWrapper makes a %s", pickle.TypeName(v))
	}
	pl := Payload{Start: start, Offset: rec.offset, DType: a.DType, Shape: a.Shape, Order: a.Order}
	if rec.offset >= 0 {
		pl.NBytes = int64(a.NBytes())
	}
	*p.out = append(*p.out, pl)
	return v, nil
}

// objectPayload describes an object array from its wrapper's state, for
// when its Build fails.
func objectPayload(state any, start int64) (Payload, bool) {
	st, _ := state.(*pickle.Dict)
	if st == nil {
		return Payload{}, false
	}
	dv, _ := field(st, "dtype")
	sv, _ := field(st, "shape")
	dt, _ := dv.(*ndarray.DType)
	shape, err := ndarray.ShapeOf(sv)
	if dt == nil || !dt.HasObject() || err != nil {
		return Payload{}, false
	}
	pl := Payload{Start: start, Offset: -1, DType: dt, Shape: shape, Order: ndarray.OrderC}
	if ov, _ := field(st, "order"); ov != nil {
		if o, _ := text(ov); o == "F" {
			pl.Order = ndarray.OrderF
		}
	}
	return pl, true
}
