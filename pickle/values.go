package pickle

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"unsafe"
)

// Tuple is a Python tuple. It is immutable in Python, so it is a plain slice.
type Tuple []any

// ByteArray is a Python bytearray.
type ByteArray []byte

// List is a Python list. It is a pointer type so that shared references
// stay shared and a list can contain itself.
type List struct {
	Items []any
}

// NewList returns a list holding items.
func NewList(items ...any) *List { return &List{Items: items} }

// Len returns the number of items.
func (l *List) Len() int { return len(l.Items) }

// Global names a Python global: a class or a function in a module.
type Global struct {
	Module string
	Name   string
}

func (g Global) String() string { return g.Module + "." + g.Name }

// Construct tells how an inert [Object] was made in the pickle, so that the
// encoder can write it back the same way.
type Construct uint8

const (
	// Reduce is cls(*args), written with REDUCE (also INST and OBJ).
	Reduce Construct = iota
	// NewObj is cls.__new__(cls, *args), written with NEWOBJ.
	NewObj
	// NewObjEx is cls.__new__(cls, *args, **kwargs), written with NEWOBJ_EX.
	NewObjEx
	// Reconstructor is copyreg._reconstructor(cls, base, state), the
	// protocol 0 and 1 form of an instance.
	Reconstructor
)

func (c Construct) String() string {
	switch c {
	case Reduce:
		return "REDUCE"
	case NewObj:
		return "NEWOBJ"
	case NewObjEx:
		return "NEWOBJ_EX"
	case Reconstructor:
		return "_reconstructor"
	}
	return "Construct(" + strconv.Itoa(int(c)) + ")"
}

// Object is an inert Python object: an instance of a class that no
// constructor was registered for, or the result of calling such a global.
// Nothing is ever executed to make one. It keeps everything the pickle said
// about it, so that it can be written back unchanged.
type Object struct {
	// Class is the global that was called or instantiated.
	Class Global
	// Callee is what REDUCE called when that was not a global but a
	// value the pickle built, such as a functools.partial object or a
	// bound method; Class is then zero and Construct is Reduce.
	Callee any
	// Construct says how.
	Construct Construct
	// Args are the positional arguments (for Reconstructor: base, state).
	Args Tuple
	// Kwargs are keyword arguments (NewObjEx only), or nil.
	Kwargs *Dict
	// State is what BUILD set (usually a *Dict of attributes, or a
	// Tuple (dict, slots)); valid when HasState.
	State    any
	HasState bool
	// ListItems were appended with APPEND or APPENDS.
	ListItems []any
	// DictItems were set with SETITEMS or SETITEM.
	DictItems []DictItem
}

// Attr returns the attribute name from the object's state: the state dict,
// or the slots dict of a (dict, slots) state.
func (o *Object) Attr(name string) (any, bool) {
	switch s := o.State.(type) {
	case *Dict:
		return s.Get(name)
	case Tuple:
		for _, part := range s {
			if d, ok := part.(*Dict); ok {
				if v, ok := d.Get(name); ok {
					return v, true
				}
			}
		}
	}
	return nil, false
}

// StateDict returns the attribute dict of the object's state, or nil.
func (o *Object) StateDict() *Dict {
	switch s := o.State.(type) {
	case *Dict:
		return s
	case Tuple:
		if len(s) == 2 {
			if d, ok := s[0].(*Dict); ok {
				return d
			}
		}
	}
	return nil
}

// DictItem is one key and value of a [Dict].
type DictItem struct {
	Key   any
	Value any
}

// table is an insertion-ordered hash table keyed by Python hash
// semantics. Dict and Set share it.
//
// Most keys are str or int, which are their own normalized key: norm
// stays nil until another kind of key arrives. keys and vals usually share
// one allocation (see reserve).
type table struct {
	keys []any
	vals []any
	x    *tableIndex // nil while the keys are their own normalized keys and few
}

// tableIndex holds what only some tables need.
type tableIndex struct {
	norm []any       // normalized keys, parallel to keys, or nil when keys are their own
	idx  map[any]int // built once the table grows past smallTable
}

const smallTable = 8

// selfNormal reports whether k is its own normalized key.
func selfNormal(k any) bool {
	switch k.(type) {
	case string, int64:
		return true
	}
	return false
}

// reserveCap returns the capacity that reserve(n) grows the table to,
// or 0 when it has room: the items plus n, and at least twice the
// present capacity, so that batches of items grow a large table in
// amortized linear time.
func (t *table) reserveCap(n int) int {
	if n <= cap(t.keys)-len(t.keys) {
		return 0
	}
	return max(len(t.keys)+n, 2*cap(t.keys))
}

// reserve makes room for n more items, keys and values in one allocation.
func (t *table) reserve(n int, withVals bool) {
	c := t.reserveCap(n)
	if c == 0 {
		return
	}
	if !withVals {
		keys := make([]any, len(t.keys), c)
		copy(keys, t.keys)
		t.keys = keys
		return
	}
	buf := make([]any, 2*c)
	keys, vals := buf[:len(t.keys):c], buf[c:c+len(t.vals):2*c]
	copy(keys, t.keys)
	copy(vals, t.vals)
	t.keys, t.vals = keys, vals
}

func (t *table) find(nk any) int {
	ks := t.keys
	if t.x != nil {
		if t.x.idx != nil {
			if i, ok := t.x.idx[nk]; ok {
				return i
			}
			return -1
		}
		if t.x.norm != nil {
			ks = t.x.norm
		}
	}
	for i, k := range ks {
		if k == nk {
			return i
		}
	}
	return -1
}

// normKey returns the normalized key of item i.
func (t *table) normKey(i int) any {
	if t.x == nil || t.x.norm == nil {
		return t.keys[i]
	}
	return t.x.norm[i]
}

// put sets k to v. It returns the bytes that the table allocated to
// hold a new key, at the costs the decoder charges (see costAny).
func (t *table) put(k, v any, withVals bool) (int64, error) {
	cost, _, err := t.putWork(k, v, withVals)
	return cost, err
}

// putWork is put that also returns the bytes of the key's encoding it
// computed (0 for str and int keys), which the decoder counts (see
// maxKeyWork): a key that is already there costs no memory, but its
// encoding still costs time.
func (t *table) putWork(k, v any, withVals bool) (cost, work int64, err error) {
	nk, own := k, true
	switch k.(type) {
	case string, int64:
	default:
		if nk, err = hashKey(k); err != nil {
			return 0, 0, err
		}
		own = false
		cost = costNormKey
		if c, ok := nk.(compositeKey); ok {
			work = int64(len(c.s))
			cost += work
		}
	}
	if i := t.find(nk); i >= 0 {
		if withVals {
			t.vals[i] = v
		}
		return 0, work, nil
	}
	if !own && (t.x == nil || t.x.norm == nil) {
		if t.x == nil {
			t.x = &tableIndex{}
			cost += costTableIndex
		}
		t.x.norm = make([]any, len(t.keys), cap(t.keys))
		copy(t.x.norm, t.keys)
		cost += int64(cap(t.keys)) * costAny
	}
	c := cap(t.keys)
	t.keys = append(t.keys, k)
	if withVals {
		cv := cap(t.vals)
		t.vals = append(t.vals, v)
		if cap(t.vals) != cv {
			cost += int64(cap(t.vals)) * costAny
		}
	}
	if cap(t.keys) != c {
		cost += int64(cap(t.keys)) * costAny
	}
	if t.x != nil && t.x.norm != nil {
		cn := cap(t.x.norm)
		t.x.norm = append(t.x.norm, nk)
		if cap(t.x.norm) != cn {
			cost += int64(cap(t.x.norm)) * costAny
		}
	}
	if t.x != nil && t.x.idx != nil {
		t.x.idx[nk] = len(t.keys) - 1
		cost += costIndex
	} else if len(t.keys) > smallTable {
		if t.x == nil {
			t.x = &tableIndex{}
			cost += costTableIndex
		}
		// Sized for the room reserved, which is the batch of items
		// being set when the decoder reserved it.
		size := max(2*len(t.keys), cap(t.keys))
		t.x.idx = make(map[any]int, size)
		for i := range t.keys {
			t.x.idx[t.normKey(i)] = i
		}
		cost += int64(size) * costIndex
	}
	return cost, work, nil
}

// Costs of a key that is not its own normalized key: the normalized key
// in an interface (plus the bytes of a composite key's encoding), and the
// tableIndex that such keys need.
const (
	costNormKey    = 32
	costTableIndex = int64(unsafe.Sizeof(tableIndex{}))
)

func (t *table) get(k any) (int, bool) {
	nk, err := hashKey(k)
	if err != nil {
		return -1, false
	}
	i := t.find(nk)
	return i, i >= 0
}

// Dict is a Python dict. It keeps insertion order and accepts any hashable
// key: str, int, float, bool, None, bytes, tuples of hashables, frozensets
// and objects (hashed by identity). As in Python, 1, 1.0 and True are the
// same key.
type Dict struct {
	// Class is the dict's class when it is not a plain dict, for example
	// collections.OrderedDict. The zero Global means dict.
	Class Global
	t     table
}

// NewDict returns an empty dict.
func NewDict() *Dict { return &Dict{} }

// Len returns the number of items.
func (d *Dict) Len() int { return len(d.t.keys) }

// Set sets d[k] = v. It fails when k is not hashable.
func (d *Dict) Set(k, v any) error {
	_, err := d.t.put(k, v, true)
	return err
}

// Get returns d[k].
func (d *Dict) Get(k any) (any, bool) {
	if i, ok := d.t.get(k); ok {
		return d.t.vals[i], true
	}
	return nil, false
}

// Keys returns the keys in insertion order. The slice is shared: do not
// modify it.
func (d *Dict) Keys() []any { return d.t.keys }

// Values returns the values in insertion order. The slice is shared.
func (d *Dict) Values() []any { return d.t.vals }

// All iterates over the items in insertion order.
func (d *Dict) All() iter.Seq2[any, any] {
	return func(yield func(any, any) bool) {
		for i, k := range d.t.keys {
			if !yield(k, d.t.vals[i]) {
				return
			}
		}
	}
}

// Items returns a copy of the items in insertion order.
func (d *Dict) Items() []DictItem {
	out := make([]DictItem, len(d.t.keys))
	for i, k := range d.t.keys {
		out[i] = DictItem{k, d.t.vals[i]}
	}
	return out
}

// Set is a Python set, or a frozenset when Frozen is true.
type Set struct {
	Frozen bool
	t      table
}

// NewSet returns a set of items. It fails when an item is not hashable.
func NewSet(items ...any) (*Set, error) {
	s := &Set{}
	for _, it := range items {
		if err := s.Add(it); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add adds v to the set.
func (s *Set) Add(v any) error {
	_, err := s.t.put(v, nil, false)
	return err
}

// Has reports whether v is in the set.
func (s *Set) Has(v any) bool { _, ok := s.t.get(v); return ok }

// Len returns the number of items.
func (s *Set) Len() int { return len(s.t.keys) }

// Items returns the items in insertion order. The slice is shared.
func (s *Set) Items() []any { return s.t.keys }

// unhashableError reports a value that Python would refuse as a dict key.
type unhashableError struct{ v any }

func (e unhashableError) Error() string {
	return fmt.Sprintf("unhashable type: %s", TypeName(e.v))
}

// compositeKey is the normalized key of a tuple, bytes, frozenset and the
// like: a type tag and a canonical encoding.
type compositeKey struct {
	tag byte
	s   string
}

// Limits of hashKey: how deep tuples may nest in a dict key or set item,
// and how many bytes the encodings of one key may take in all. Without
// them a hostile pickle could nest a key a million deep, which overflows
// the goroutine stack and kills the process, or share one tuple at every
// level of a key, which doubles its encoding at each.
const (
	maxKeyDepth = 1000
	maxKeyBytes = 1 << 20
)

// keyLimitError reports a key over those limits.
type keyLimitError struct{ what string }

func (e keyLimitError) Error() string { return "dict key or set item " + e.what + " (key limit)" }

func (e keyLimitError) Unwrap() error { return ErrTooLarge }

// hashKey maps a hashable value to a comparable Go value such that two
// values are equal as Python dict keys exactly when their keys are ==.
func hashKey(v any) (any, error) {
	budget := maxKeyBytes
	return hashKeyLimited(v, 0, &budget)
}

// hashKeyLimited is hashKey at nesting depth depth, with budget bytes of
// encoding left.
func hashKeyLimited(v any, depth int, budget *int) (any, error) {
	switch x := v.(type) {
	case string, int64:
		return v, nil
	case nil:
		return noneKey, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int:
		return int64(x), nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return compositeKey{'I', x.String()}, nil
	case float64:
		return floatKey(x), nil
	case complex128:
		if imag(x) == 0 {
			return floatKey(real(x)), nil
		}
		return compositeKey{'c', strconv.FormatFloat(real(x), 'g', -1, 64) + "," + strconv.FormatFloat(imag(x), 'g', -1, 64)}, nil
	case []byte:
		return compositeKey{'b', string(x)}, nil
	case Global:
		return x, nil
	case Tuple:
		if depth >= maxKeyDepth {
			return nil, keyLimitError{fmt.Sprintf("nests tuples more than %d deep", maxKeyDepth)}
		}
		var b []byte
		for _, e := range x {
			k, err := hashKeyLimited(e, depth+1, budget)
			if err != nil {
				return nil, err
			}
			n := len(b)
			b = appendKey(b, k)
			if *budget -= len(b) - n; *budget < 0 {
				return nil, keyLimitError{fmt.Sprintf("takes more than %d bytes to compare", maxKeyBytes)}
			}
		}
		return compositeKey{'t', string(b)}, nil
	case *Set:
		if !x.Frozen {
			return nil, unhashableError{v}
		}
		parts := make([]string, 0, x.Len())
		for i := range x.t.keys {
			parts = append(parts, string(appendKey(nil, x.t.normKey(i))))
		}
		sortStrings(parts)
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
			if *budget -= len(p); *budget < 0 {
				return nil, keyLimitError{fmt.Sprintf("takes more than %d bytes to compare", maxKeyBytes)}
			}
		}
		return compositeKey{'f', string(b)}, nil
	case *List, *Dict, ByteArray:
		return nil, unhashableError{v}
	}
	// Objects and anything else are hashed by identity when they are
	// pointers, and by value when comparable.
	if !reflect.ValueOf(v).Comparable() {
		return nil, unhashableError{v}
	}
	return identityKey{v}, nil
}

type identityKey struct{ v any }

// noneKey is the normalized key of None, boxed once.
var noneKey any = compositeKey{tag: 'N'}

// appendKey appends an unambiguous encoding of the normalized key k: a
// type tag, then the content with its length, so that no two different
// keys of a tuple or frozenset encode alike.
func appendKey(b []byte, k any) []byte {
	str := func(b []byte, tag byte, s string) []byte {
		b = append(b, tag)
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	switch x := k.(type) {
	case string:
		return str(b, 's', x)
	case int64:
		return binary.AppendVarint(append(b, 'i'), x)
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, 'f'), math.Float64bits(x))
	case compositeKey:
		return str(append(b, 'c'), x.tag, x.s)
	case Global:
		return str(str(b, 'g', x.Module), 'g', x.Name)
	case identityKey:
		if rv := reflect.ValueOf(x.v); rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Map || rv.Kind() == reflect.Chan || rv.Kind() == reflect.Func || rv.Kind() == reflect.UnsafePointer {
			return binary.AppendUvarint(append(b, 'p'), uint64(rv.Pointer()))
		}
		return str(b, 'v', fmt.Sprintf("%T:%#v", x.v, x.v))
	}
	return str(b, '?', fmt.Sprintf("%T:%#v", k, k))
}

func floatKey(f float64) any {
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		if f >= -(1<<63) && f < (1<<63) {
			return int64(f)
		}
		b, _ := big.NewFloat(f).Int(nil)
		return compositeKey{'I', b.String()}
	}
	return f
}

func sortStrings(s []string) {
	// insertion sort: frozensets used as keys are small
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TypeName returns the Python type name of a value of the model, such as
// "int", "list" or "sklearn.linear_model._base.LinearRegression".
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, int, *big.Int:
		return "int"
	case float64:
		return "float"
	case complex128:
		return "complex"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case ByteArray:
		return "bytearray"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		if x.Class != (Global{}) {
			return x.Class.String()
		}
		return "dict"
	case *Set:
		if x.Frozen {
			return "frozenset"
		}
		return "set"
	case Global:
		return "type"
	case *Object:
		if x.Class == (Global{}) {
			return "object"
		}
		return x.Class.String()
	}
	return fmt.Sprintf("%T", v)
}
