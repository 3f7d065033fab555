package pickle

import (
	"bytes"
	"math"
	"math/big"
)

// Equaler lets a registered type (a numpy array, say) take part in [Equal].
type Equaler interface {
	PyEqual(other any) bool
}

// Equal reports whether a and b are equal as Python's == would say for the
// value model: numbers compare across int, float, bool and *big.Int; bytes
// equals bytearray; dicts and sets ignore order; lists and tuples do not.
// Inert objects are equal when their class, construction, state and items
// are. Cycles are handled.
func Equal(a, b any) bool {
	return equal(a, b, map[[2]any]bool{}, 0)
}

// maxEqualDepth bounds the nesting Equal follows: deeper values compare
// unequal (Python raises RecursionError far sooner), so that a value
// nested millions deep cannot overflow the goroutine stack, which would
// kill the process.
const maxEqualDepth = 1 << 17

// tupleID identifies a tuple by its backing array, so that a tuple shared
// through the memo is compared once per pair: a value that shares one
// tuple at each of 64 levels has 2**64 paths.
type tupleID struct {
	p *any
	n int
}

func equal(a, b any, seen map[[2]any]bool, depth int) bool {
	if depth++; depth > maxEqualDepth {
		return false
	}
	if ea, ok := a.(Equaler); ok {
		return ea.PyEqual(b)
	}
	if eb, ok := b.(Equaler); ok {
		return eb.PyEqual(a)
	}
	if na, ok := number(a); ok {
		nb, ok := number(b)
		return ok && numEqual(na, nb)
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte, ByteArray:
		// bytes == bytearray in Python.
		xb, _ := bytesOf(a)
		yb, ok := bytesOf(b)
		return ok && bytes.Equal(xb, yb)
	case Global:
		y, ok := b.(Global)
		return ok && x == y
	case Tuple:
		y, ok := b.(Tuple)
		if !ok || len(x) != len(y) {
			return false
		}
		if len(x) == 0 {
			return true
		}
		key := [2]any{tupleID{&x[0], len(x)}, tupleID{&y[0], len(y)}}
		if key[0] == key[1] || seen[key] {
			return true
		}
		seen[key] = true
		return seqEqual(x, y, seen, depth)
	case *List:
		y, ok := b.(*List)
		if !ok {
			return false
		}
		if x == y || seen[[2]any{x, y}] {
			return true
		}
		seen[[2]any{x, y}] = true
		return seqEqual(x.Items, y.Items, seen, depth)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok {
			return false
		}
		if x == y || seen[[2]any{x, y}] {
			return true
		}
		seen[[2]any{x, y}] = true
		if x.Len() != y.Len() {
			return false
		}
		for i, k := range x.t.keys {
			v, ok := y.Get(k)
			if !ok {
				// Objects hash by identity but compare by content.
				if v, ok = findEqual(y.t.keys, y.t.vals, k, seen, depth); !ok {
					return false
				}
			}
			if !equal(x.t.vals[i], v, seen, depth) {
				return false
			}
		}
		return true
	case *Set:
		y, ok := b.(*Set)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.t.keys {
			if !y.Has(k) {
				if _, ok := findEqual(y.t.keys, nil, k, seen, depth); !ok {
					return false
				}
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok {
			return false
		}
		if x == y || seen[[2]any{x, y}] {
			return true
		}
		seen[[2]any{x, y}] = true
		if x.Class != y.Class || x.Construct != y.Construct || x.HasState != y.HasState ||
			!seqEqual(x.Args, y.Args, seen, depth) || !seqEqual(x.ListItems, y.ListItems, seen, depth) ||
			len(x.DictItems) != len(y.DictItems) {
			return false
		}
		if (x.Callee == nil) != (y.Callee == nil) || (x.Callee != nil && !equal(x.Callee, y.Callee, seen, depth)) {
			return false
		}
		if (x.Kwargs == nil) != (y.Kwargs == nil) || (x.Kwargs != nil && !equal(x.Kwargs, y.Kwargs, seen, depth)) {
			return false
		}
		if x.HasState && !equal(x.State, y.State, seen, depth) {
			return false
		}
		for i := range x.DictItems {
			if !equal(x.DictItems[i].Key, y.DictItems[i].Key, seen, depth) || !equal(x.DictItems[i].Value, y.DictItems[i].Value, seen, depth) {
				return false
			}
		}
		return true
	}
	return a == b
}

// findEqual looks for a key equal to k by a linear scan, for keys that
// hash by identity but compare by content, and returns its value.
func findEqual(keys, vals []any, k any, seen map[[2]any]bool, depth int) (any, bool) {
	for i, yk := range keys {
		if equal(k, yk, seen, depth) {
			if vals == nil {
				return nil, true
			}
			return vals[i], true
		}
	}
	return nil, false
}

func seqEqual(x, y []any, seen map[[2]any]bool, depth int) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !equal(x[i], y[i], seen, depth) {
			return false
		}
	}
	return true
}

// number returns v as a complex number with an exact integer part, when v
// is a Python number.
type num struct {
	i       *big.Int // exact integer, when isInt
	f       complex128
	isInt   bool
	isFloat bool
}

func number(v any) (num, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return num{i: big.NewInt(1), isInt: true}, true
		}
		return num{i: big.NewInt(0), isInt: true}, true
	case int64:
		return num{i: big.NewInt(x), isInt: true}, true
	case int:
		return num{i: big.NewInt(int64(x)), isInt: true}, true
	case *big.Int:
		return num{i: x, isInt: true}, true
	case float64:
		return num{f: complex(x, 0), isFloat: true}, true
	case complex128:
		return num{f: x}, true
	}
	return num{}, false
}

func numEqual(a, b num) bool {
	if a.isInt && b.isInt {
		return a.i.Cmp(b.i) == 0
	}
	if a.isInt {
		a, b = b, a
	}
	if b.isInt {
		// a is float or complex; compare exactly.
		if imag(a.f) != 0 {
			return false
		}
		f := real(a.f)
		if math.IsInf(f, 0) || math.IsNaN(f) || f != math.Trunc(f) {
			return false
		}
		bf, _ := new(big.Float).SetFloat64(f).Int(nil)
		return bf.Cmp(b.i) == 0
	}
	return a.f == b.f
}

// bytesOf returns the bytes of a bytes or bytearray value.
func bytesOf(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case ByteArray:
		return x, true
	}
	return nil, false
}
