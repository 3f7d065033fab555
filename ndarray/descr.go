package ndarray

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/jlstore/jlstore/pickle"
)

// typeCodes are numpy's one-character type codes (dtype.char), with the
// kind and size they mean on x86-64 Linux.
var typeCodes = map[byte]struct {
	kind Kind
	size int
}{
	'?': {KindBool, 1}, 'b': {KindInt, 1}, 'B': {KindUint, 1}, 'h': {KindInt, 2}, 'H': {KindUint, 2},
	'i': {KindInt, 4}, 'I': {KindUint, 4}, 'l': {KindInt, 8}, 'L': {KindUint, 8}, 'q': {KindInt, 8},
	'Q': {KindUint, 8}, 'p': {KindInt, 8}, 'P': {KindUint, 8}, 'n': {KindInt, 8}, 'N': {KindUint, 8},
	'e': {KindFloat, 2}, 'f': {KindFloat, 4}, 'd': {KindFloat, 8}, 'g': {KindFloat, 16},
	'F': {KindComplex, 8}, 'D': {KindComplex, 16}, 'G': {KindComplex, 32}, 'O': {KindObject, 8},
	'S': {KindBytes, 0}, 'a': {KindBytes, 0}, 'U': {KindStr, 0}, 'V': {KindVoid, 0}, 'c': {KindBytes, 1},
	'M': {KindDatetime, 8}, 'm': {KindTimedelta, 8},
}

// typeNames are numpy's names for dtypes that ParseDType accepts.
var typeNames = map[string]string{
	"bool": "b1", "bool_": "b1", "int8": "i1", "int16": "i2", "int32": "i4", "int64": "i8",
	"uint8": "u1", "uint16": "u2", "uint32": "u4", "uint64": "u8", "float16": "f2", "float32": "f4",
	"float64": "f8", "float128": "f16", "longdouble": "f16", "complex64": "c8", "complex128": "c16",
	"complex256": "c32", "clongdouble": "c32", "object": "O", "half": "f2", "single": "f4", "double": "f8",
	"str": "U", "unicode": "U", "bytes": "S", "void": "V", "datetime64": "M8", "timedelta64": "m8",
	"int": "i8", "float": "f8", "complex": "c16",
}

// ParseDType parses a numpy type string: dtype.str ("<f8", "|S5",
// ">M8[10ms]", "|O"), the same without byte order ("i4", "U3"), a one-letter
// type code ("d", "?", "G") or a name ("float64", "datetime64[ns]"). '='
// means native byte order.
func ParseDType(s string) (*DType, error) {
	orig := s
	order := byte('=')
	if s != "" && strings.IndexByte("<>|=", s[0]) >= 0 {
		order, s = s[0], s[1:]
	}
	unitPart := ""
	if i := strings.IndexByte(s, '['); i >= 0 {
		if !strings.HasSuffix(s, "]") {
			return nil, dtypeErr(ErrCorrupt, "bad type string %q", orig)
		}
		unitPart, s = s[i+1:len(s)-1], s[:i]
	}
	if alias, ok := typeNames[s]; ok {
		s = alias
	}
	if s == "" {
		return nil, dtypeErr(ErrCorrupt, "bad type string %q", orig)
	}
	var t *DType
	var err error
	if len(s) == 1 {
		c, ok := typeCodes[s[0]]
		if !ok {
			return nil, dtypeErr(ErrCorrupt, "unknown type code %q", orig)
		}
		t, err = newBasic(c.kind, c.size, order)
	} else {
		n, perr := strconv.Atoi(s[1:])
		if perr != nil || n < 0 || s[1] == '+' || s[1] == '-' {
			return nil, dtypeErr(ErrCorrupt, "bad type string %q", orig)
		}
		kind := Kind(s[0])
		switch kind {
		case 'a':
			kind = KindBytes
		case KindStr:
			if n > maxItemSize/4 {
				return nil, dtypeErr(ErrTooLarge, "type string %q", orig)
			}
			n *= 4
		case KindBool, KindInt, KindUint, KindFloat, KindComplex, KindDatetime, KindTimedelta, KindBytes, KindVoid, KindObject:
		default:
			return nil, dtypeErr(ErrCorrupt, "unknown type kind in %q", orig)
		}
		t, err = newBasic(kind, n, order)
	}
	if err != nil {
		return nil, err
	}
	if unitPart != "" {
		if t.kind != KindDatetime && t.kind != KindTimedelta {
			return nil, dtypeErr(ErrCorrupt, "unit on a non-datetime type %q", orig)
		}
		if err := t.setUnit(unitPart); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// setUnit parses "[25ms]" contents into t.
func (t *DType) setUnit(s string) error {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	count := 1
	if i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 1 || n > math.MaxInt32 {
			return dtypeErr(ErrCorrupt, "bad datetime multiplier in %q", s)
		}
		count = n
	}
	u, ok := ParseUnit(s[i:])
	if !ok {
		return dtypeErr(ErrCorrupt, "unknown datetime unit %q", s)
	}
	if u == UnitGeneric {
		count = 1
	}
	t.unit, t.count = u, count
	return nil
}

// MustParseDType is ParseDType for constant strings; it panics on error.
func MustParseDType(s string) *DType {
	t, err := ParseDType(s)
	if err != nil {
		panic(err)
	}
	return t
}

// ParseDescr makes a dtype from the descr of a .npy header, in the form
// the header parser (or a pickle) gives it: a type string; a list of
// fields (name, descr) or (name, descr, shape), where name may be a
// (title, name) pair; or a (descr, shape) subarray. It follows numpy's
// format.descr_to_dtype: fields are laid out one after another, and
// unnamed void fields are padding. Lists may be *pickle.List or
// pickle.Tuple, integers int64 or int.
func ParseDescr(descr any) (*DType, error) {
	return parseDescr(descr, 0)
}

func parseDescr(v any, depth int) (*DType, error) {
	if depth > maxDTypeDepth {
		return nil, dtypeErr(ErrTooLarge, "descr nested deeper than %d", maxDTypeDepth)
	}
	switch x := v.(type) {
	case string:
		return ParseDType(x)
	case pickle.Tuple:
		if len(x) != 2 {
			return nil, dtypeErr(ErrCorrupt, "descr tuple of %d items", len(x))
		}
		base, err := parseDescr(x[0], depth+1)
		if err != nil {
			return nil, err
		}
		return subarrayOf(base, x[1])
	case *pickle.List:
		return parseFields(x.Items, depth)
	}
	return nil, dtypeErr(ErrCorrupt, "descr is a %s", pickle.TypeName(v))
}

// subarrayOf applies a descr shape (a tuple of ints or an int) to base.
func subarrayOf(base *DType, shape any) (*DType, error) {
	var dims []int
	switch s := shape.(type) {
	case pickle.Tuple, *pickle.List:
		var err error
		if dims, err = intsOf(s, "subarray shape"); err != nil {
			return nil, err
		}
	default:
		n, ok := asInt(shape)
		if !ok {
			return nil, dtypeErr(ErrCorrupt, "subarray shape is a %s", pickle.TypeName(shape))
		}
		if n == 1 {
			// numpy 1.x reads (type, 1) as type.
			return base, nil
		}
		dims = []int{n}
	}
	if len(dims) == 0 {
		return base, nil
	}
	return NewSubarray(base, dims...)
}

func parseFields(items []any, depth int) (*DType, error) {
	fields := make([]Field, 0, len(items))
	off := 0
	for _, it := range items {
		var parts []any
		switch p := it.(type) {
		case pickle.Tuple:
			parts = p
		case *pickle.List:
			parts = p.Items
		}
		if len(parts) != 2 && len(parts) != 3 {
			return nil, dtypeErr(ErrCorrupt, "descr field is a %s, not a (name, type[, shape]) tuple", pickle.TypeName(it))
		}
		var name, title string
		switch n := parts[0].(type) {
		case string:
			name = n
		case pickle.Tuple, *pickle.List:
			tn, err := stringsOf(n)
			if err != nil || len(tn) != 2 {
				return nil, dtypeErr(ErrCorrupt, "field name must be a str or a (title, name) pair")
			}
			title, name = tn[0], tn[1]
		default:
			return nil, dtypeErr(ErrCorrupt, "field name is a %s", pickle.TypeName(parts[0]))
		}
		dt, err := parseDescr(parts[1], depth+1)
		if err != nil {
			return nil, err
		}
		if len(parts) == 3 {
			if dt, err = subarrayOf(dt, parts[2]); err != nil {
				return nil, err
			}
		}
		pad := name == "" && title == "" && dt.kind == KindVoid && dt.fields == nil
		if !pad {
			fields = append(fields, Field{Name: name, Title: title, Type: dt, Offset: off})
		}
		if dt.size > maxItemSize-off {
			return nil, dtypeErr(ErrTooLarge, "struct larger than %d bytes", maxItemSize)
		}
		off += dt.size
	}
	return NewStruct(fields, off, false)
}

func stringsOf(v any) ([]string, error) {
	var items []any
	switch x := v.(type) {
	case pickle.Tuple:
		items = x
	case *pickle.List:
		items = x.Items
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, dtypeErr(ErrCorrupt, "expected str, got %s", pickle.TypeName(it))
		}
		out[i] = s
	}
	return out, nil
}

// asInt returns v as an int when it is an integer that fits.
func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		if x >= math.MinInt && x <= math.MaxInt {
			return int(x), true
		}
	case int:
		return x, true
	case *big.Int:
		if x.IsInt64() {
			return asInt(x.Int64())
		}
	}
	return 0, false
}

// ShapeOf converts a pickled shape to []int: a tuple or list of
// non-negative ints, or a single int, as numpy and joblib accept.
func ShapeOf(v any) ([]int, error) {
	if n, ok := asInt(v); ok {
		v = pickle.Tuple{int64(n)}
	}
	return intsOf(v, "shape")
}

// intsOf returns a tuple or list of non-negative ints.
func intsOf(v any, what string) ([]int, error) {
	var items []any
	switch x := v.(type) {
	case pickle.Tuple:
		items = x
	case *pickle.List:
		items = x.Items
	default:
		return nil, dtypeErr(ErrCorrupt, "%s is a %s, not a tuple", what, pickle.TypeName(v))
	}
	if len(items) > 64 {
		return nil, dtypeErr(ErrUnsupported, "%s has %d dimensions (numpy allows 32)", what, len(items))
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := asInt(it)
		if !ok || n < 0 {
			return nil, dtypeErr(ErrCorrupt, "%s item %v is not a non-negative int", what, it)
		}
		out[i] = n
	}
	return out, nil
}

func shapeTuple(shape []int) pickle.Tuple {
	t := make(pickle.Tuple, len(shape))
	for i, d := range shape {
		t[i] = int64(d)
	}
	return t
}

// Descr returns the descr that numpy writes in a .npy header for this
// dtype (numpy.lib.format.dtype_to_descr): dtype.str for plain dtypes, and
// for structured dtypes numpy's dtype.descr, a *pickle.List of
// pickle.Tuple (name, type) or (name, type, shape), with unnamed '|V<n>'
// entries for gaps and (title, name) pairs as names. A subarray dtype
// gives the tuple (base descr, shape). Like numpy, it fails for structs
// whose fields overlap or are out of offset order.
func (t *DType) Descr() (any, error) {
	if t.fields == nil {
		if t.sub == nil {
			return t.String(), nil
		}
		b, err := t.sub.Descr()
		if err != nil {
			return nil, err
		}
		return pickle.Tuple{b, shapeTuple(t.shape)}, nil
	}
	items := make([]any, 0, len(t.fields))
	off := 0
	for _, f := range t.fields {
		if f.Offset > off {
			items = append(items, pickle.Tuple{"", "|V" + strconv.Itoa(f.Offset-off)})
			off = f.Offset
		} else if f.Offset < off {
			return nil, dtypeErr(ErrUnsupported, "dtype.descr is not defined for types with overlapping or out-of-order fields")
		}
		var name any = f.Name
		if f.Title != "" {
			name = pickle.Tuple{f.Title, f.Name}
		}
		ft := f.Type
		var shape pickle.Tuple
		if ft.sub != nil {
			shape, ft = shapeTuple(ft.shape), ft.sub
		}
		d, err := ft.Descr()
		if err != nil {
			return nil, err
		}
		if shape != nil {
			items = append(items, pickle.Tuple{name, d, shape})
		} else {
			items = append(items, pickle.Tuple{name, d})
		}
		off += f.Type.size
	}
	if t.size > off {
		items = append(items, pickle.Tuple{"", "|V" + strconv.Itoa(t.size-off)})
	}
	return &pickle.List{Items: items}, nil
}

// MarshalJSON writes the dtype's [DType.Descr] as JSON, tuples and lists
// both as arrays: "<f8", or [["a","<i4"],["b","<f8",[2]]].
func (t *DType) MarshalJSON() ([]byte, error) {
	d, err := t.Descr()
	if err != nil {
		return nil, err
	}
	return json.Marshal(descrJSON(d))
}

func descrJSON(v any) any {
	switch x := v.(type) {
	case pickle.Tuple:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = descrJSON(it)
		}
		return out
	case *pickle.List:
		return descrJSON(pickle.Tuple(x.Items))
	}
	return v
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *DType) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return dtypeErr(ErrCorrupt, "descr JSON: %v", err)
	}
	d, err := descrFromJSON(v, 0)
	if err != nil {
		return err
	}
	u, err := ParseDescr(d)
	if err != nil {
		return err
	}
	*t = *u
	return nil
}

// descrFromJSON turns decoded JSON back into the descr model. An array
// whose second of two items is an array of numbers is a (descr, shape)
// subarray; any other array is a list of fields.
func descrFromJSON(v any, depth int) (any, error) {
	if depth > maxDTypeDepth {
		return nil, dtypeErr(ErrTooLarge, "descr nested too deeply")
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return nil, dtypeErr(ErrCorrupt, "descr number %s", x)
		}
		return n, nil
	case []any:
		if len(x) == 2 && isNumberArray(x[1]) {
			base, err := descrFromJSON(x[0], depth+1)
			if err != nil {
				return nil, err
			}
			shape, err := descrFromJSON(pickle.Tuple(x[1].([]any)), depth+1)
			return pickle.Tuple{base, shape}, err
		}
		items := make([]any, len(x))
		for i, f := range x {
			fa, ok := f.([]any)
			if !ok || len(fa) < 2 || len(fa) > 3 {
				return nil, dtypeErr(ErrCorrupt, "descr field is not a [name, type(, shape)] array")
			}
			tup := make(pickle.Tuple, len(fa))
			for j, p := range fa {
				var err error
				if arr, ok := p.([]any); ok && j != 1 {
					tup[j], err = descrFromJSON(pickle.Tuple(arr), depth+1)
				} else {
					tup[j], err = descrFromJSON(p, depth+1)
				}
				if err != nil {
					return nil, err
				}
			}
			items[i] = tup
		}
		return &pickle.List{Items: items}, nil
	case pickle.Tuple:
		out := make(pickle.Tuple, len(x))
		for i, it := range x {
			var err error
			if out[i], err = descrFromJSON(it, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, dtypeErr(ErrCorrupt, "descr JSON value %T", v)
}

func isNumberArray(v any) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, x := range a {
		if _, ok := x.(json.Number); !ok {
			return false
		}
	}
	return true
}
