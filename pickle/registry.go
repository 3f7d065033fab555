package pickle

import (
	"fmt"
	"math/big"
	"sync"
	"unicode/utf8"
)

// Class is what a registered global resolves to. Either function may be
// nil, in which case that way of calling the global gives an inert
// [Object]. A value that a Class returns may implement [Builder] to take the
// state that a following BUILD opcode gives it.
type Class struct {
	// Call handles REDUCE, INST and OBJ: the global called with args.
	Call func(d *Decoder, args Tuple) (any, error)
	// New handles NEWOBJ and NEWOBJ_EX (cls.__new__(cls, *args,
	// **kwargs)), and copyreg._reconstructor at protocols 0 and 1.
	New func(d *Decoder, args Tuple, kwargs *Dict) (any, error)
}

// Builder is implemented by values that take a BUILD state, such as a
// numpy array under construction. Build returns the value that replaces
// the receiver on the stack.
type Builder interface {
	Build(d *Decoder, state any) (any, error)
}

// Registry maps globals to constructors. Other packages register theirs:
// ndarray registers numpy's, store registers joblib's. The zero Registry is
// not usable: call [NewRegistry]. A Registry is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	classes map[Global]Class
	allowed map[Global]bool
}

// module names that Python 2 wrote and Python 3 reads as another.
var py2Modules = map[string]string{
	"__builtin__": "builtins",
	"copy_reg":    "copyreg",
}

// NewRegistry returns a registry that knows the builtins that pickles use
// for ordinary values: set, frozenset, bytearray, bytes, complex, object,
// _codecs.encode, copyreg._reconstructor, copyreg.__newobj__ and
// collections.OrderedDict.
func NewRegistry() *Registry {
	r := &Registry{classes: map[Global]Class{}, allowed: map[Global]bool{}}
	r.Register("builtins", "set", Class{Call: callSet(false)})
	r.Register("builtins", "frozenset", Class{Call: callSet(true)})
	r.Register("builtins", "bytearray", Class{Call: callByteArray})
	r.Register("builtins", "bytes", Class{Call: callBytes})
	r.Register("builtins", "complex", Class{Call: callComplex})
	r.Register("builtins", "object", Class{})
	r.Register("_codecs", "encode", Class{Call: callCodecsEncode})
	r.Register("copyreg", "_reconstructor", Class{Call: callReconstructor})
	r.Register("copyreg", "__newobj__", Class{Call: callNewObj})
	r.Register("copyreg", "__newobj_ex__", Class{Call: callNewObjEx})
	r.Register("collections", "OrderedDict", Class{Call: callOrderedDict})
	return r
}

// Register sets the constructor for module.name, replacing any earlier one.
func (r *Registry) Register(module, name string, c Class) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.classes[Global{module, name}] = c
}

// Allow lets module.name through under the strict option, as an inert
// object, without registering a constructor for it.
func (r *Registry) Allow(module, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.allowed[Global{module, name}] = true
}

// Lookup returns the constructor of g, also under its Python 3 module name
// when g has a Python 2 one.
func (r *Registry) Lookup(g Global) (Class, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c, ok := r.classes[g]; ok {
		return c, true
	}
	if m, ok := py2Modules[g.Module]; ok {
		c, ok := r.classes[Global{m, g.Name}]
		return c, ok
	}
	return Class{}, false
}

// Known reports whether g is registered or allowed.
func (r *Registry) Known(g Global) bool {
	if _, ok := r.Lookup(g); ok {
		return true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.allowed[g] {
		return true
	}
	if m, ok := py2Modules[g.Module]; ok {
		return r.allowed[Global{m, g.Name}]
	}
	return false
}

// Clone returns a copy that can be changed without touching r.
func (r *Registry) Clone() *Registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := &Registry{classes: make(map[Global]Class, len(r.classes)), allowed: make(map[Global]bool, len(r.allowed))}
	for k, v := range r.classes {
		c.classes[k] = v
	}
	for k, v := range r.allowed {
		c.allowed[k] = v
	}
	return c
}

func argError(d *Decoder, g string, args Tuple) error {
	return d.Errorf(ErrCorrupt, "%s: unexpected arguments %s", g, describeArgs(args))
}

func describeArgs(args Tuple) string {
	s := "("
	for i, a := range args {
		if i > 0 {
			s += ", "
		}
		s += TypeName(a)
	}
	return s + ")"
}

// iterItems returns the items of a list, tuple, set or dict keys, the
// iterables that builtins take.
func iterItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case *List:
		return x.Items, true
	case Tuple:
		return x, true
	case *Set:
		return x.Items(), true
	case *Dict:
		return x.Keys(), true
	}
	return nil, false
}

func callSet(frozen bool) func(d *Decoder, args Tuple) (any, error) {
	return func(d *Decoder, args Tuple) (any, error) {
		d.used += costSet
		s := &Set{Frozen: frozen}
		if len(args) == 0 {
			return s, nil
		}
		items, ok := iterItems(args[0])
		if len(args) != 1 || !ok {
			return nil, argError(d, "set", args)
		}
		if err := d.addItems(s, items); err != nil {
			return nil, err
		}
		return s, nil
	}
}

func bytesArg(d *Decoder, name string, args Tuple) ([]byte, error) {
	d.used += costSlice
	switch len(args) {
	case 0:
		return []byte{}, nil
	case 1:
		switch x := args[0].(type) {
		case []byte:
			if err := d.charge(int64(len(x))); err != nil {
				return nil, err
			}
			return append([]byte{}, x...), nil
		case ByteArray:
			if err := d.charge(int64(len(x))); err != nil {
				return nil, err
			}
			return append([]byte{}, x...), nil
		case *List:
			if err := d.charge(int64(len(x.Items))); err != nil {
				return nil, err
			}
			out := make([]byte, len(x.Items))
			for i, it := range x.Items {
				n, ok := it.(int64)
				if !ok || n < 0 || n > 255 {
					return nil, argError(d, name, args)
				}
				out[i] = byte(n)
			}
			return out, nil
		}
	case 2:
		s, ok1 := args[0].(string)
		enc, ok2 := args[1].(string)
		if ok1 && ok2 {
			if err := d.charge(int64(len(s))); err != nil {
				return nil, err
			}
			b, err := encodeText(s, enc)
			if err != nil {
				return nil, d.Errorf(ErrCorrupt, "%s: %v", name, err)
			}
			return b, nil
		}
	}
	return nil, argError(d, name, args)
}

func callByteArray(d *Decoder, args Tuple) (any, error) {
	b, err := bytesArg(d, "bytearray", args)
	if err != nil {
		return nil, err
	}
	return ByteArray(b), nil
}

func callBytes(d *Decoder, args Tuple) (any, error) {
	return bytesArg(d, "bytes", args)
}

func callComplex(d *Decoder, args Tuple) (any, error) {
	var parts [2]float64
	if len(args) > 2 {
		return nil, argError(d, "complex", args)
	}
	for i, a := range args {
		n, ok := number(a)
		if !ok || (!n.isInt && imag(n.f) != 0) {
			return nil, argError(d, "complex", args)
		}
		if n.isInt {
			f, _ := new(big.Float).SetInt(n.i).Float64()
			parts[i] = f
		} else {
			parts[i] = real(n.f)
		}
	}
	return complex(parts[0], parts[1]), nil
}

// encodeText encodes s, which holds Python text as UTF-8, with a Python
// codec name.
func encodeText(s, enc string) ([]byte, error) {
	switch normEncoding(enc) {
	case "latin1":
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 255 {
				return nil, fmt.Errorf("character %U cannot be encoded as latin-1", r)
			}
			out = append(out, byte(r))
		}
		return out, nil
	case "ascii":
		for i := 0; i < len(s); i++ {
			if s[i] > 127 {
				return nil, fmt.Errorf("non-ASCII byte in ascii text")
			}
		}
		return []byte(s), nil
	case "utf8":
		return []byte(s), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", enc)
}

func normEncoding(enc string) string {
	switch enc {
	case "latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1", "l1", "ISO-8859-1":
		return "latin1"
	case "ascii", "ASCII", "us-ascii":
		return "ascii"
	case "utf-8", "utf8", "UTF-8", "utf_8":
		return "utf8"
	}
	return enc
}

// latin1 returns the text whose code points are the bytes of b.
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	out := make([]byte, 0, len(b)+len(b)/2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out)
}

func callCodecsEncode(d *Decoder, args Tuple) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, argError(d, "_codecs.encode", args)
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, argError(d, "_codecs.encode", args)
	}
	enc := "utf-8"
	if len(args) == 2 {
		if enc, ok = args[1].(string); !ok {
			return nil, argError(d, "_codecs.encode", args)
		}
	}
	if err := d.charge(int64(len(s)) + costSlice); err != nil {
		return nil, err
	}
	b, err := encodeText(s, enc)
	if err != nil {
		return nil, d.Errorf(ErrCorrupt, "_codecs.encode: %v", err)
	}
	return b, nil
}

// newInstance makes cls.__new__(cls, *args, **kwargs): the registered
// constructor when there is one, else an inert object.
func (d *Decoder) newInstance(cls any, args Tuple, kwargs *Dict, how Construct) (any, error) {
	g, ok := cls.(Global)
	if !ok {
		return nil, d.Errorf(ErrUnsupported, "class is a %s, not a global", TypeName(cls))
	}
	if c, ok := d.lookup(g); ok && c.New != nil {
		return c.New(d, args, kwargs)
	}
	o := d.objects.new(64)
	o.Class, o.Construct, o.Args, o.Kwargs = g, how, args, kwargs
	return o, nil
}

func callReconstructor(d *Decoder, args Tuple) (any, error) {
	if len(args) != 3 {
		return nil, argError(d, "copyreg._reconstructor", args)
	}
	g, ok := args[0].(Global)
	if !ok {
		return nil, argError(d, "copyreg._reconstructor", args)
	}
	if c, ok := d.lookup(g); ok && c.New != nil {
		return c.New(d, nil, nil)
	}
	o := d.objects.new(64)
	o.Class, o.Construct, o.Args = g, Reconstructor, Tuple{args[1], args[2]}
	d.used += 2 * costAny
	return o, nil
}

func callNewObj(d *Decoder, args Tuple) (any, error) {
	if len(args) < 1 {
		return nil, argError(d, "copyreg.__newobj__", args)
	}
	rest, err := d.tuple(args[1:])
	if err != nil {
		return nil, err
	}
	return d.newInstance(args[0], rest, nil, NewObj)
}

func callNewObjEx(d *Decoder, args Tuple) (any, error) {
	if len(args) != 3 {
		return nil, argError(d, "copyreg.__newobj_ex__", args)
	}
	a, ok1 := args[1].(Tuple)
	kw, ok2 := args[2].(*Dict)
	if !ok1 || !ok2 {
		return nil, argError(d, "copyreg.__newobj_ex__", args)
	}
	return d.newInstance(args[0], a, kw, NewObjEx)
}

var orderedDict = Global{"collections", "OrderedDict"}

func callOrderedDict(d *Decoder, args Tuple) (any, error) {
	d.used += costDict
	out := &Dict{Class: orderedDict}
	if len(args) == 0 {
		return out, nil
	}
	items, ok := iterItems(args[0])
	if len(args) != 1 || !ok {
		return nil, argError(d, "OrderedDict", args)
	}
	if err := d.charge(int64(out.t.reserveCap(len(items))) * 2 * costAny); err != nil {
		return nil, err
	}
	out.t.reserve(len(items), true)
	for _, it := range items {
		var pair []any
		switch p := it.(type) {
		case Tuple:
			pair = p
		case *List:
			pair = p.Items
		}
		if len(pair) != 2 {
			return nil, argError(d, "OrderedDict", args)
		}
		cost, work, err := out.t.putWork(pair[0], pair[1], true)
		if err != nil {
			return nil, d.Errorf(ErrCorrupt, "OrderedDict key: %v", err)
		}
		d.used += cost
		if err := d.keyWorked(work); err != nil {
			return nil, err
		}
	}
	return out, nil
}
