package ndarray

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/jlstore/jlstore/pickle"
)

// The globals numpy's pickles name. numpy 2 writes numpy._core.* where
// numpy 1 wrote numpy.core.*; both are registered, and the encoder writes
// the numpy 1 names, which numpy 2 also reads.
var (
	reconstructGlobal = pickle.Global{Module: "numpy.core.multiarray", Name: "_reconstruct"}
	frombufferGlobal  = pickle.Global{Module: "numpy.core.numeric", Name: "_frombuffer"}
	scalarGlobal      = pickle.Global{Module: "numpy.core.multiarray", Name: "scalar"}
	dtypeGlobal       = pickle.Global{Module: "numpy", Name: "dtype"}
	ndarrayGlobal     = pickle.Global{Module: "numpy", Name: "ndarray"}
	recordGlobal      = pickle.Global{Module: "numpy", Name: "record"}
)

// numpyClasses are the ndarray subclasses numpy's own pickles name, which
// Register allows as plain values under pickle.Strict.
var numpyClasses = []string{"ndarray", "matrix", "memmap", "recarray", "record"}

// Register registers numpy's pickle constructors with r:
//
//   - numpy.core.multiarray._reconstruct, whose result takes numpy's
//     ndarray state with BUILD: (version, shape, dtype, is_fortran, data),
//     version 1 or the 4-item version 0; data is bytes, Python 2 str
//     (as []byte, or latin-1 text with pickle.Py2Latin1) or, for object
//     arrays, a list. The result is an *Array, with Subclass set for
//     numpy.matrix, numpy.memmap and other subclasses.
//   - numpy.core.numeric._frombuffer(buffer, dtype, shape, order), protocol
//     5's form, with the buffer as BYTEARRAY8, bytes or an out-of-band
//     buffer (pickle.Buffers), which the array then aliases.
//   - numpy.core.multiarray.scalar(dtype, bytes), giving a *Scalar (or the
//     object itself for object dtype).
//   - numpy.dtype(typestr, align, copy) and its BUILD state, versions 3
//     and 4, flags signed (numpy 1) or unsigned (numpy 2), giving a *DType.
//   - the same under numpy 2's numpy._core.* names, and numpy.ndarray,
//     numpy.matrix, numpy.memmap and numpy.recarray allowed as values.
func Register(r *pickle.Registry) {
	for _, m := range []string{"numpy.core.multiarray", "numpy._core.multiarray"} {
		r.Register(m, "_reconstruct", pickle.Class{Call: callReconstruct})
		r.Register(m, "scalar", pickle.Class{Call: callScalar})
	}
	for _, m := range []string{"numpy.core.numeric", "numpy._core.numeric"} {
		r.Register(m, "_frombuffer", pickle.Class{Call: callFrombuffer})
	}
	r.Register("numpy", "dtype", pickle.Class{Call: callDType})
	for _, n := range numpyClasses {
		r.Allow("numpy", n)
	}
}

// NewRegistry returns a pickle registry that knows the builtins and
// numpy's constructors.
func NewRegistry() *pickle.Registry {
	r := pickle.NewRegistry()
	Register(r)
	return r
}

// SubclassName maps an ndarray subclass global to Array.Subclass: "" for
// numpy.ndarray, "matrix", "memmap" or "recarray" under any of numpy's
// module paths, and "module.Name" for others.
func SubclassName(g pickle.Global) string {
	switch {
	case g == ndarrayGlobal:
		return ""
	case g.Module == "numpy":
		return g.Name
	case strings.HasPrefix(g.Module, "numpy."):
		// Old numpy pickled its subclasses under their defining module:
		// numpy.matrixlib.defmatrix.matrix, numpy.core.memmap.memmap.
		switch g.Name {
		case "ndarray":
			return ""
		case "matrix", "memmap", "recarray":
			return g.Name
		}
	}
	return g.Module + "." + g.Name
}

func subclassGlobal(s string) pickle.Global {
	if s == "" {
		return ndarrayGlobal
	}
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return pickle.Global{Module: s[:i], Name: s[i+1:]}
	}
	return pickle.Global{Module: "numpy", Name: s}
}

// textArg returns a str argument, also from Python 2 bytes.
func textArg(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

func boolArg(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int64:
		return x != 0, true
	}
	return false, false
}

// bytesArg returns binary data: bytes, bytearray, or Python 2 str decoded
// as latin-1 text, which it turns back into bytes.
func bytesArg(d *pickle.Decoder, v any) ([]byte, bool, error) {
	switch x := v.(type) {
	case []byte:
		return x, true, nil
	case pickle.ByteArray:
		return x, true, nil
	case string:
		if err := d.Reserve(int64(len(x)), 0); err != nil {
			return nil, true, err
		}
		out := make([]byte, 0, len(x))
		for _, r := range x {
			if r > 0xff {
				return nil, true, d.Errorf(ErrCorrupt, "array data text holds %U, which is not latin-1", r)
			}
			out = append(out, byte(r))
		}
		return out, true, nil
	}
	return nil, false, nil
}

func callReconstruct(d *pickle.Decoder, args pickle.Tuple) (any, error) {
	if len(args) != 3 {
		return nil, d.Errorf(ErrCorrupt, "_reconstruct takes 3 arguments, got %d", len(args))
	}
	g, ok := args[0].(pickle.Global)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "_reconstruct: class is a %s", pickle.TypeName(args[0]))
	}
	return &Array{DType: Int8, Shape: []int{0}, Order: OrderC, Data: []byte{}, Subclass: SubclassName(g), pending: true}, nil
}

// Build takes numpy's ndarray state, as BUILD gives it after
// numpy.core.multiarray._reconstruct; it is how the pickle decoder fills
// an array. It fails on an array that is not waiting for its state.
func (a *Array) Build(d *pickle.Decoder, state any) (any, error) {
	if !a.pending {
		return nil, d.Errorf(ErrCorrupt, "BUILD of an array that already has its state")
	}
	st, ok := state.(pickle.Tuple)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "ndarray state is a %s, not a tuple", pickle.TypeName(state))
	}
	switch len(st) {
	case 5:
		if v, ok := asInt(st[0]); !ok || (v != 0 && v != 1) {
			return nil, d.Errorf(ErrUnsupported, "ndarray state version %v", st[0])
		}
		st = st[1:]
	case 4:
	default:
		return nil, d.Errorf(ErrCorrupt, "ndarray state of %d items", len(st))
	}
	shape, err := intsOf(st[0], "ndarray shape")
	if err != nil {
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	dt, ok := st[1].(*DType)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "ndarray dtype is a %s", pickle.TypeName(st[1]))
	}
	fortran, ok := boolArg(st[2])
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "ndarray is_fortran is a %s", pickle.TypeName(st[2]))
	}
	order := OrderC
	if fortran {
		order = OrderF
	}
	dt, shape = foldSubarray(dt, shape)
	if _, err := checkShape(dt, shape); err != nil {
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	b := &Array{DType: dt, Shape: shape, Order: order, Subclass: a.Subclass}
	if dt.HasObject() {
		if dt.kind != KindObject {
			return nil, d.Errorf(ErrUnsupported, "structured dtype %s with object fields", dt)
		}
		var items []any
		switch x := st[3].(type) {
		case *pickle.List:
			items = x.Items
		case pickle.Tuple:
			items = x
		default:
			return nil, d.Errorf(ErrCorrupt, "object array data is a %s, not a list", pickle.TypeName(st[3]))
		}
		if len(items) != b.Size() {
			return nil, d.Errorf(ErrCorrupt, "object array of shape %v with %d items", shape, len(items))
		}
		// numpy lists the items in C order whatever the layout.
		b.Objects = make([]any, len(items))
		if b.isFortran() {
			forEachCF(shape, func(ci, fi int) { b.Objects[fi] = items[ci] })
		} else {
			copy(b.Objects, items)
		}
	} else {
		data, ok, err := bytesArg(d, st[3])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, d.Errorf(ErrCorrupt, "ndarray data is a %s, not bytes", pickle.TypeName(st[3]))
		}
		if n := b.NBytes(); len(data) != n {
			return nil, d.Errorf(ErrCorrupt, "ndarray of shape %v and dtype %s needs %d bytes, got %d", shape, dt, n, len(data))
		}
		b.Data = data
	}
	*a = *b
	return a, nil
}

// foldSubarray moves a subarray dtype's shape into the array's shape, as
// numpy does when it makes an array of one.
func foldSubarray(dt *DType, shape []int) (*DType, []int) {
	if dt.sub == nil {
		return dt, shape
	}
	return dt.sub, append(append([]int{}, shape...), dt.shape...)
}

func callFrombuffer(d *pickle.Decoder, args pickle.Tuple) (any, error) {
	if len(args) != 4 {
		return nil, d.Errorf(ErrCorrupt, "_frombuffer takes 4 arguments, got %d", len(args))
	}
	data, ok, err := bytesArg(d, args[0])
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "_frombuffer: buffer is a %s", pickle.TypeName(args[0]))
	}
	dt, ok := args[1].(*DType)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "_frombuffer: dtype is a %s", pickle.TypeName(args[1]))
	}
	if dt.HasObject() {
		return nil, d.Errorf(ErrCorrupt, "_frombuffer of an object dtype")
	}
	shape, err := intsOf(args[2], "_frombuffer shape")
	if err != nil {
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	o, _ := textArg(args[3])
	if o != "C" && o != "F" {
		return nil, d.Errorf(ErrCorrupt, "_frombuffer: order %v", args[3])
	}
	dt, shape = foldSubarray(dt, shape)
	n, err := checkShape(dt, shape)
	if err != nil {
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	if len(data) != n {
		return nil, d.Errorf(ErrCorrupt, "_frombuffer: shape %v of %s needs %d bytes, got %d", shape, dt, n, len(data))
	}
	return &Array{DType: dt, Shape: shape, Order: Order(o[0]), Data: data}, nil
}

func callScalar(d *pickle.Decoder, args pickle.Tuple) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, d.Errorf(ErrCorrupt, "scalar takes 1 or 2 arguments, got %d", len(args))
	}
	dt, ok := args[0].(*DType)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "scalar: dtype is a %s", pickle.TypeName(args[0]))
	}
	if dt.kind == KindObject {
		if len(args) < 2 {
			return nil, nil
		}
		return args[1], nil
	}
	if dt.HasObject() {
		return nil, d.Errorf(ErrUnsupported, "scalar of structured dtype %s with object fields", dt)
	}
	data := make([]byte, dt.size)
	if len(args) == 2 {
		b, ok, err := bytesArg(d, args[1])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, d.Errorf(ErrCorrupt, "scalar data is a %s", pickle.TypeName(args[1]))
		}
		if len(b) != dt.size {
			return nil, d.Errorf(ErrCorrupt, "scalar of %s with %d bytes", dt, len(b))
		}
		data = b
	}
	return &Scalar{DType: dt, Data: data}, nil
}

func callDType(d *pickle.Decoder, args pickle.Tuple) (any, error) {
	if len(args) < 1 || len(args) > 3 {
		return nil, d.Errorf(ErrCorrupt, "dtype takes 1 to 3 arguments, got %d", len(args))
	}
	if g, ok := args[0].(pickle.Global); ok && g == recordGlobal {
		// numpy.rec arrays pickle their dtype as np.dtype(np.record).
		t := mustBasic(KindVoid, 0)
		t.record, t.pending = true, true
		return t, nil
	}
	s, ok := textArg(args[0])
	if !ok {
		return nil, d.Errorf(ErrUnsupported, "dtype of a %s", pickle.TypeName(args[0]))
	}
	if len(s) > 32 {
		return nil, d.Errorf(ErrCorrupt, "dtype type string of %d bytes", len(s))
	}
	t, err := ParseDType(s)
	if err != nil {
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	for _, a := range args[1:] {
		if _, ok := boolArg(a); !ok {
			return nil, d.Errorf(ErrCorrupt, "dtype flag argument is a %s", pickle.TypeName(a))
		}
	}
	t.pending = true
	return t, nil
}

// Build takes numpy's dtype state, as BUILD gives it after numpy.dtype;
// it is how the pickle decoder fills a dtype. It fails on a dtype that is
// not waiting for its state, so shared dtypes cannot be changed.
func (t *DType) Build(d *pickle.Decoder, state any) (any, error) {
	if !t.pending {
		return nil, d.Errorf(ErrCorrupt, "BUILD of a dtype that already has its state")
	}
	st, ok := state.(pickle.Tuple)
	if !ok {
		return nil, d.Errorf(ErrCorrupt, "dtype state is a %s, not a tuple", pickle.TypeName(state))
	}
	u, err := buildDType(t, st)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) && fe.Layer == "dtype" {
			return nil, d.Errorf(fe.Err, "%s", fe.What)
		}
		return nil, d.Errorf(ErrCorrupt, "%v", err)
	}
	*t = *u
	return t, nil
}

// buildDType applies a dtype state tuple to the dtype that numpy.dtype
// made from its type string, and returns the result.
func buildDType(base *DType, st pickle.Tuple) (*DType, error) {
	if len(st) != 8 && len(st) != 9 {
		return nil, dtypeErr(ErrUnsupported, "dtype state of %d items (numpy writes 8 or 9)", len(st))
	}
	if v, ok := asInt(st[0]); !ok || v < 0 || v > 4 {
		return nil, dtypeErr(ErrUnsupported, "dtype state version %v", st[0])
	}
	endian, ok := textArg(st[1])
	if !ok || len(endian) != 1 {
		return nil, dtypeErr(ErrCorrupt, "dtype byte order %v", st[1])
	}
	elsize, ok1 := asInt(st[5])
	align, ok2 := asInt(st[6])
	flagsV, ok3 := asInt(st[7])
	if !ok1 || !ok2 || !ok3 {
		return nil, dtypeErr(ErrCorrupt, "dtype elsize, alignment or flags is not an int")
	}
	if flagsV < -128 || flagsV > 255 {
		return nil, dtypeErr(ErrCorrupt, "dtype flags %d", flagsV)
	}
	flags := uint8(flagsV)
	t := *base
	t.pending = false
	var meta any
	if len(st) == 9 {
		meta = st[8]
	}
	switch {
	case st[2] != nil:
		sub, ok := st[2].(pickle.Tuple)
		if !ok || len(sub) != 2 {
			return nil, dtypeErr(ErrCorrupt, "dtype subarray is a %s", pickle.TypeName(st[2]))
		}
		b, ok := sub[0].(*DType)
		if !ok || b.pending {
			return nil, dtypeErr(ErrCorrupt, "dtype subarray base is not a built dtype")
		}
		shape, err := intsOf(sub[1], "subarray shape")
		if err != nil {
			if n, ok := asInt(sub[1]); ok && n >= 0 {
				shape, err = []int{n}, nil
			} else {
				return nil, err
			}
		}
		u, err := NewSubarray(b, shape...)
		if err != nil {
			return nil, err
		}
		if elsize != u.size {
			return nil, dtypeErr(ErrCorrupt, "subarray of %d bytes with elsize %d", u.size, elsize)
		}
		u.meta = meta
		return u, nil
	case st[3] != nil || st[4] != nil:
		if t.kind != KindVoid {
			return nil, dtypeErr(ErrCorrupt, "fields on a %s dtype", t.String())
		}
		fields, err := stateFields(st[3], st[4])
		if err != nil {
			return nil, err
		}
		u := &DType{kind: KindVoid, order: NoByteOrder, size: elsize, align: align, fields: fields,
			aligned: flags&flagAlignedStruct != 0, meta: meta, record: t.record}
		if u.fields == nil {
			u.fields = []Field{}
		}
		if err := u.finishStruct(); err != nil {
			return nil, err
		}
		return u, nil
	}
	if err := t.setOrder(endian[0]); err != nil {
		return nil, err
	}
	switch t.kind {
	case KindBytes, KindStr, KindVoid:
		if elsize != -1 {
			if !validSize(t.kind, elsize) {
				return nil, dtypeErr(ErrCorrupt, "%c dtype with elsize %d", t.kind, elsize)
			}
			t.size = elsize
		}
	case KindDatetime, KindTimedelta:
		if meta != nil {
			dm, ok := meta.(pickle.Tuple)
			if !ok || len(dm) != 2 {
				return nil, dtypeErr(ErrCorrupt, "datetime metadata is a %s", pickle.TypeName(meta))
			}
			if err := t.setDatetimeState(dm[1]); err != nil {
				return nil, err
			}
			meta = dm[0]
			if md, ok := meta.(*pickle.Dict); ok && md.Len() == 0 {
				meta = nil
			}
		}
	}
	t.meta = meta
	return &t, nil
}

// setDatetimeState reads (unit, num, den, events).
func (t *DType) setDatetimeState(v any) error {
	dt, ok := v.(pickle.Tuple)
	if !ok || len(dt) != 4 {
		return dtypeErr(ErrCorrupt, "datetime state is a %s, not (unit, num, den, events)", pickle.TypeName(v))
	}
	unit, ok := textArg(dt[0])
	if !ok {
		return dtypeErr(ErrCorrupt, "datetime unit is a %s", pickle.TypeName(dt[0]))
	}
	u, ok := ParseUnit(unit)
	if !ok {
		return dtypeErr(ErrCorrupt, "unknown datetime unit %q", unit)
	}
	num, ok1 := asInt(dt[1])
	den, ok2 := asInt(dt[2])
	if !ok1 || !ok2 || num < 1 || num > math.MaxInt32 {
		return dtypeErr(ErrCorrupt, "datetime multiplier %v/%v", dt[1], dt[2])
	}
	if den != 1 {
		return dtypeErr(ErrUnsupported, "datetime unit with denominator %d", den)
	}
	t.unit, t.count = u, num
	if u == UnitGeneric {
		t.count = 1
	}
	return nil
}

// stateFields reads names and the fields dict of a dtype state.
func stateFields(namesV, fieldsV any) ([]Field, error) {
	names, ok := namesV.(pickle.Tuple)
	fd, ok2 := fieldsV.(*pickle.Dict)
	if !ok || !ok2 {
		return nil, dtypeErr(ErrCorrupt, "dtype names is a %s and fields a %s", pickle.TypeName(namesV), pickle.TypeName(fieldsV))
	}
	fields := make([]Field, 0, len(names))
	for _, nv := range names {
		name, ok := textArg(nv)
		if !ok {
			return nil, dtypeErr(ErrUnsupported, "field name is a %s", pickle.TypeName(nv))
		}
		if !utf8.ValidString(name) {
			return nil, dtypeErr(ErrCorrupt, "field name %q is not UTF-8", name)
		}
		v, ok := fd.Get(nv)
		if !ok {
			v, ok = fd.Get(name)
		}
		if !ok {
			return nil, dtypeErr(ErrCorrupt, "field %q missing from the fields dict", name)
		}
		ft, ok := v.(pickle.Tuple)
		if !ok || len(ft) < 2 || len(ft) > 3 {
			return nil, dtypeErr(ErrCorrupt, "field %q is a %s, not (dtype, offset[, title])", name, pickle.TypeName(v))
		}
		typ, ok := ft[0].(*DType)
		if !ok || typ.pending {
			return nil, dtypeErr(ErrCorrupt, "field %q has no built dtype", name)
		}
		off, ok := asInt(ft[1])
		if !ok {
			return nil, dtypeErr(ErrCorrupt, "field %q offset is a %s", name, pickle.TypeName(ft[1]))
		}
		f := Field{Name: name, Type: typ, Offset: off}
		if len(ft) == 3 && ft[2] != nil {
			if f.Title, ok = textArg(ft[2]); !ok {
				return nil, dtypeErr(ErrUnsupported, "field %q has a title of type %s", name, pickle.TypeName(ft[2]))
			}
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// state returns the dtype's BUILD state as numpy 1.x writes it.
func (t *DType) state() pickle.Tuple {
	var sub, names, fields any
	if t.sub != nil {
		sub = pickle.Tuple{t.sub, shapeTuple(t.shape)}
	}
	if t.fields != nil {
		nt := make(pickle.Tuple, len(t.fields))
		fd := pickle.NewDict()
		for i, f := range t.fields {
			nt[i] = f.Name
			v := &sharedTuple{pickle.Tuple{f.Type, int64(f.Offset)}}
			if f.Title != "" {
				v.items = append(v.items, f.Title)
			}
			_ = fd.Set(f.Name, v)
			if f.Title != "" {
				_ = fd.Set(f.Title, v)
			}
		}
		names, fields = nt, fd
	}
	elsize, align := int64(-1), int64(-1)
	if t.kind == KindBytes || t.kind == KindStr || t.kind == KindVoid {
		elsize, align = int64(t.size), int64(t.align)
	}
	st := pickle.Tuple{int64(3), string(rune(t.order)), sub, names, fields, elsize, align, int64(int8(t.flags))}
	switch {
	case t.kind == KindDatetime || t.kind == KindTimedelta:
		var md any = pickle.NewDict()
		if t.meta != nil {
			md = t.meta
		}
		st[0] = int64(4)
		st = append(st, pickle.Tuple{md, pickle.Tuple{[]byte(t.unit.String()), int64(t.count), int64(1), int64(1)}})
	case t.meta != nil:
		st[0] = int64(4)
		st = append(st, t.meta)
	}
	return st
}

// sharedTuple is a tuple that numpy puts under two keys of a dtype's fields
// dict (the name and the title), which Python then pickles once and
// refers to from the memo.
type sharedTuple struct{ items pickle.Tuple }

// Opcodes TUPLE1, TUPLE2 and TUPLE3.
const opTuple1 = 0x85

func (s *sharedTuple) PickleTo(e *pickle.Encoder) error {
	for _, it := range s.items {
		if err := e.Value(it); err != nil {
			return err
		}
	}
	e.Op(opTuple1 + byte(len(s.items)-1))
	e.Memoize(s)
	return nil
}

// PickleTo writes the dtype as numpy does: numpy.dtype(typestr, False,
// True) and its state.
func (t *DType) PickleTo(e *pickle.Encoder) error {
	var ts any = t.typeStr()
	if t.record {
		ts = recordGlobal
	}
	if err := e.Reduce(dtypeGlobal, pickle.Tuple{ts, false, true}); err != nil {
		return err
	}
	e.Memoize(t)
	return e.Build(t.state())
}

// PickleTo writes the array as numpy does: at protocol 5 an ndarray that
// holds no objects is _frombuffer(bytearray, dtype, shape, order); at
// lower protocols, and for subclasses, object arrays and the dtypes numpy
// cannot export as a buffer (datetimes, for one),
// _reconstruct(cls, (0,), b'b') and the state (1, shape, dtype,
// is_fortran, data), data being the raw bytes or the list of objects in C
// order.
func (a *Array) PickleTo(e *pickle.Encoder) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if e.Protocol() >= 5 && a.Subclass == "" && !a.DType.HasObject() && a.DType.size > 0 && exportsBuffer(a.DType) {
		order := "C"
		if a.isFortran() {
			order = "F"
		}
		if err := e.Reduce(frombufferGlobal, pickle.Tuple{pickle.ByteArray(a.Data), a.DType, shapeTuple(a.Shape), order}); err != nil {
			return err
		}
		e.Memoize(a)
		return nil
	}
	if err := e.Reduce(reconstructGlobal, pickle.Tuple{subclassGlobal(a.Subclass), pickle.Tuple{int64(0)}, []byte("b")}); err != nil {
		return err
	}
	e.Memoize(a)
	var data any = a.Data
	if a.DType.kind == KindObject {
		items := a.Objects
		if a.isFortran() {
			items = make([]any, len(a.Objects))
			forEachCF(a.Shape, func(ci, fi int) { items[ci] = a.Objects[fi] })
		}
		data = &pickle.List{Items: items}
	}
	return e.Build(pickle.Tuple{int64(1), shapeTuple(a.Shape), a.DType, a.isFortran(), data})
}

// exportsBuffer reports whether numpy can export an array of t through
// the buffer protocol, which its protocol 5 pickling needs: not for
// datetimes, long doubles in non-native byte order, or structs whose
// fields overlap or are out of offset order. numpy pickles those the
// protocol 4 way even at protocol 5.
func exportsBuffer(t *DType) bool {
	switch {
	case t.sub != nil:
		return exportsBuffer(t.sub)
	case t.fields != nil:
		end := 0
		for _, f := range t.fields {
			if f.Offset < end || !exportsBuffer(f.Type) {
				return false
			}
			end = f.Offset + f.Type.size
		}
		return true
	case t.kind == KindDatetime || t.kind == KindTimedelta:
		return false
	case (t.kind == KindFloat && t.size == 16) || (t.kind == KindComplex && t.size == 32):
		return t.order == NativeEndian
	}
	return true
}

// Scalar is a numpy scalar (numpy.float64(1.5), numpy.str_('a'),
// numpy.datetime64(...), a structured numpy.void...): a dtype and one
// element's bytes.
type Scalar struct {
	DType *DType
	Data  []byte
}

// NewScalar returns the scalar of dtype dt holding v, which may be any
// value Array.Set accepts.
func NewScalar(dt *DType, v any) (*Scalar, error) {
	if dt.HasObject() || dt.fields != nil || dt.sub != nil {
		return nil, fmt.Errorf("ndarray: NewScalar of %s: %w", dt, ErrUnsupported)
	}
	s := &Scalar{DType: dt, Data: make([]byte, dt.size)}
	if err := encodeElem(dt, s.Data, v); err != nil {
		return nil, err
	}
	return s, nil
}

// Value returns the scalar as a Go value, as Array.At does.
func (s *Scalar) Value() any { return decodeElem(s.DType, s.Data) }

func (s *Scalar) String() string { return fmt.Sprintf("%s(%v)", s.DType.Name(), s.Value()) }

// PickleTo writes numpy.core.multiarray.scalar(dtype, bytes).
func (s *Scalar) PickleTo(e *pickle.Encoder) error {
	if s.DType == nil || len(s.Data) != s.DType.size {
		return fmt.Errorf("ndarray: scalar with %d bytes for dtype %s: %w", len(s.Data), s.DType, ErrType)
	}
	if err := e.Reduce(scalarGlobal, pickle.Tuple{s.DType, s.Data}); err != nil {
		return err
	}
	e.Memoize(s)
	return nil
}

// PyEqual implements pickle.Equaler: another *Scalar of an equal dtype
// and the same bytes, or a Python number, str or bytes equal to the
// scalar's value.
func (s *Scalar) PyEqual(other any) bool {
	if o, ok := other.(*Scalar); ok {
		return s.DType.Equal(o.DType) && string(s.Data) == string(o.Data)
	}
	return pickle.Equal(pyValue(s.Value()), other)
}

// pyValue maps an element value to the pickle model's Python values where
// one exists.
func pyValue(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case Half:
		return x.Float64()
	case float32:
		return float64(x)
	case LongDouble:
		return x.Float64()
	case complex64:
		return complex128(x)
	case CLongDouble:
		return x.Complex128()
	}
	return v
}

func pyEqual(a, b any) bool { return pickle.Equal(a, b) }
