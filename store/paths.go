package store

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// walk calls f for every array of the graph, in the order a pickler meets
// them (dict items in order, an object's arguments, items and then its
// state), with the array's path. An array reached twice is reported once,
// at its first path. Cycles are followed once.
func walk(root any, f func(path string, a *ndarray.Array)) {
	seen := map[any]bool{}
	type frame = frameT
	stack := []frame{{root, "$"}}
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		var kids []frame
		switch x := fr.v.(type) {
		case *ndarray.Array:
			if seen[x] {
				continue
			}
			seen[x] = true
			f(fr.path, x)
		case *pickle.List:
			if seen[x] {
				continue
			}
			seen[x] = true
			for i, it := range x.Items {
				kids = append(kids, frame{it, fr.path + "[" + strconv.Itoa(i) + "]"})
			}
		case pickle.Tuple:
			for i, it := range x {
				kids = append(kids, frame{it, fr.path + "[" + strconv.Itoa(i) + "]"})
			}
		case *pickle.Dict:
			if seen[x] {
				continue
			}
			seen[x] = true
			for k, v := range x.All() {
				kids = append(kids, frame{v, fr.path + "[" + KeyRepr(k) + "]"})
			}
		case *pickle.Object:
			if seen[x] {
				continue
			}
			seen[x] = true
			for i, it := range x.Args {
				kids = append(kids, frame{it, fr.path + ".__args__[" + strconv.Itoa(i) + "]"})
			}
			for i, it := range x.ListItems {
				kids = append(kids, frame{it, fr.path + "[" + strconv.Itoa(i) + "]"})
			}
			for _, it := range x.DictItems {
				kids = append(kids, frame{it.Value, fr.path + "[" + KeyRepr(it.Key) + "]"})
			}
			if x.HasState {
				kids = append(kids, stateFrames(x.State, fr.path)...)
			}
		}
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
}

// stateFrames lists an object's state as attributes: a dict state (or
// the dicts of a (dict, slots) state) gives .name paths.
func stateFrames(state any, path string) []frameT {
	var out []frameT
	attrs := func(d *pickle.Dict) {
		for k, v := range d.All() {
			if s, ok := k.(string); ok && isIdent(s) {
				out = append(out, frameT{v, path + "." + s})
			} else {
				out = append(out, frameT{v, path + ".__dict__[" + KeyRepr(k) + "]"})
			}
		}
	}
	switch s := state.(type) {
	case *pickle.Dict:
		attrs(s)
	case pickle.Tuple:
		if len(s) == 2 {
			for _, part := range s {
				if d, ok := part.(*pickle.Dict); ok {
					attrs(d)
				}
			}
			return out
		}
		out = append(out, frameT{state, path + ".__state__"})
	default:
		out = append(out, frameT{state, path + ".__state__"})
	}
	return out
}

type frameT = struct {
	v    any
	path string
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// KeyRepr renders a dict key for a path: a str JSON-quoted, anything else
// as Python's repr.
func KeyRepr(k any) string {
	if s, ok := k.(string); ok {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return Repr(k)
}

// Repr renders a scalar-ish value as Python's repr would.
func Repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case *big.Int:
		return x.String()
	case float64:
		return floatRepr(x)
	case complex128:
		return "(" + floatRepr(real(x)) + "+" + floatRepr(imag(x)) + "j)"
	case string:
		return pyQuote(x)
	case []byte:
		return "b" + bytesQuote(x)
	case pickle.Tuple:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = Repr(it)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case pickle.Global:
		return "<class '" + x.String() + "'>"
	case *pickle.Set:
		parts := make([]string, 0, x.Len())
		for _, it := range x.Items() {
			parts = append(parts, Repr(it))
		}
		if x.Frozen {
			return "frozenset({" + strings.Join(parts, ", ") + "})"
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("<%s>", pickle.TypeName(v))
}

func floatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func pyQuote(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		q = "\""
	}
	var b strings.Builder
	b.WriteString(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case string(r) == q:
			b.WriteString(`\` + q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}

func bytesQuote(p []byte) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, c := range p {
		switch {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
