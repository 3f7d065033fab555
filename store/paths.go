package store

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// Paths of arrays nested deeper than headSteps+tailSteps keep their first
// headSteps and last tailSteps steps around "…", so that a hostile file
// nested 100,000 deep costs no more per array than a shallow one.
const (
	headSteps = 32
	tailSteps = 32
)

// step is one edge of the object graph, from a container to an item, as
// walk records it: paths are spelled out only for arrays.
type step struct {
	key    any   // dict key, or attribute name
	parent int32 // index of the parent step, -1 for the root
	depth  int32 // 1 for the root's items
	head   int32 // the ancestor at depth headSteps, or the step itself when shallower
	index  int32
	kind   byte // '[' index, 'k' dict key, '.' attribute, 'a' __args__ index, 'w' __kwargs__ key, 'd' __dict__ key, 's' __state__
}

func (s *step) render(b *strings.Builder) {
	switch s.kind {
	case '[':
		b.WriteString("[" + strconv.Itoa(int(s.index)) + "]")
	case 'k':
		b.WriteString("[" + KeyRepr(s.key) + "]")
	case '.':
		b.WriteString("." + s.key.(string))
	case 'a':
		b.WriteString(".__args__[" + strconv.Itoa(int(s.index)) + "]")
	case 'd':
		b.WriteString(".__dict__[" + KeyRepr(s.key) + "]")
	case 'w':
		b.WriteString(".__kwargs__[" + KeyRepr(s.key) + "]")
	case 's':
		b.WriteString(".__state__")
	}
}

// walker holds the steps walk has taken, in chunks that never move.
type walker struct {
	chunks [][]step
	n      int32
}

const stepChunk = 1 << 12

func (w *walker) at(i int32) *step { return &w.chunks[i/stepChunk][i%stepChunk] }

// add records a step from parent and returns its index.
func (w *walker) add(parent int32, kind byte, index int, key any) int32 {
	s := step{key: key, parent: parent, depth: 1, kind: kind, index: int32(min(index, math.MaxInt32))}
	if parent >= 0 {
		s.depth = w.at(parent).depth + 1
	}
	i := w.n
	s.head = i
	if s.depth > headSteps {
		s.head = w.at(parent).head
	}
	if i%stepChunk == 0 {
		w.chunks = append(w.chunks, make([]step, 0, stepChunk))
	}
	c := &w.chunks[len(w.chunks)-1]
	*c = append(*c, s)
	w.n++
	return i
}

// path spells out the path of step i, eliding the middle of deep ones.
func (w *walker) path(i int32) string {
	var tail []int32
	j := i
	for j >= 0 && w.at(j).depth > headSteps && len(tail) < tailSteps {
		tail = append(tail, j)
		j = w.at(j).parent
	}
	gap := false
	if j >= 0 && w.at(j).depth > headSteps {
		gap = true
		j = w.at(j).head
	}
	var head []int32
	for ; j >= 0; j = w.at(j).parent {
		head = append(head, j)
	}
	var b strings.Builder
	b.WriteString("$")
	for k := len(head) - 1; k >= 0; k-- {
		w.at(head[k]).render(&b)
	}
	if gap {
		b.WriteString("…")
	}
	for k := len(tail) - 1; k >= 0; k-- {
		w.at(tail[k]).render(&b)
	}
	return b.String()
}

// nodeID identifies a container: a pointer, or a tuple's backing array
// and length, so that a tuple shared through the memo is walked once.
type nodeID struct {
	p unsafe.Pointer
	n int
}

// leaf reports values that hold no arrays, which walk does not record.
func leaf(v any) bool {
	switch v.(type) {
	case *ndarray.Array, *pickle.List, pickle.Tuple, *pickle.Dict, *pickle.Object:
		return false
	}
	return true
}

// walk calls f for every array of the graph, in the order a pickler meets
// them (dict items in order, an object's arguments, items and then its
// state), with the array's path. An array reached twice is reported once,
// at its first path. Cycles and shared containers are followed once, so
// the walk takes time proportional to the graph's size, not to the number
// of its paths.
func walk(root any, f func(path string, a *ndarray.Array)) {
	type frame struct {
		v    any
		step int32
	}
	var w walker
	seen := map[nodeID]struct{}{}
	stack := []frame{{root, -1}}
	var kids []frame
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		kids = kids[:0]
		kid := func(v any, kind byte, index int, key any) {
			if !leaf(v) {
				kids = append(kids, frame{v, w.add(fr.step, kind, index, key)})
			}
		}
		var id nodeID
		switch x := fr.v.(type) {
		case pickle.Tuple:
			if len(x) > 0 {
				id = nodeID{unsafe.Pointer(&x[0]), len(x)}
			}
		case *ndarray.Array:
			id = nodeID{unsafe.Pointer(x), -1}
		case *pickle.List:
			id = nodeID{unsafe.Pointer(x), -1}
		case *pickle.Dict:
			id = nodeID{unsafe.Pointer(x), -1}
		case *pickle.Object:
			id = nodeID{unsafe.Pointer(x), -1}
		}
		if id.p != nil {
			if _, ok := seen[id]; ok {
				continue
			}
			seen[id] = struct{}{}
		}
		if a, ok := fr.v.(*ndarray.Array); ok {
			if fr.step < 0 {
				f("$", a)
			} else {
				f(w.path(fr.step), a)
			}
		} else {
			eachChild(fr.v, kid)
		}
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
}

// eachChild calls kid for each item of a container in the order a
// pickler meets them: list, tuple and set items, dict items, and an
// object's arguments, keyword arguments, items and state.
func eachChild(v any, kid func(v any, kind byte, index int, key any)) {
	switch x := v.(type) {
	case *pickle.List:
		for i, it := range x.Items {
			kid(it, '[', i, nil)
		}
	case pickle.Tuple:
		for i, it := range x {
			kid(it, '[', i, nil)
		}
	case *pickle.Set:
		for i, it := range x.Items() {
			kid(it, '[', i, nil)
		}
	case *pickle.Dict:
		for k, v := range x.All() {
			kid(v, 'k', 0, k)
		}
	case *pickle.Object:
		for i, it := range x.Args {
			kid(it, 'a', i, nil)
		}
		if x.Kwargs != nil {
			for k, v := range x.Kwargs.All() {
				kid(v, 'w', 0, k)
			}
		}
		for i, it := range x.ListItems {
			kid(it, '[', i, nil)
		}
		for _, it := range x.DictItems {
			kid(it.Value, 'k', 0, it.Key)
		}
		if x.HasState {
			stateKids(x.State, kid)
		}
	}
}

// A Child is an item of a container in the object graph, with the path
// segment that leads to it from the container: [0], ["key"], .name,
// .__args__[0], .__kwargs__["key"], .__dict__[key] or .__state__.
type Child struct {
	Segment string
	Value   any
}

// Children lists the items of a container (list, tuple, set, dict or
// object) in the order a pickler meets them, with the path segments that
// File.Arrays uses. It returns nil for other values.
func Children(v any) []Child {
	var out []Child
	eachChild(v, func(c any, kind byte, index int, key any) {
		st := step{key: key, kind: kind, index: int32(min(index, math.MaxInt32))}
		var b strings.Builder
		st.render(&b)
		out = append(out, Child{b.String(), c})
	})
	return out
}

// stateKids lists an object's state as attributes: a dict state (or the
// dicts of a (dict, slots) state) gives .name paths.
func stateKids(state any, kid func(v any, kind byte, index int, key any)) {
	attrs := func(d *pickle.Dict) {
		for k, v := range d.All() {
			if s, ok := k.(string); ok && isIdent(s) {
				kid(v, '.', 0, s)
			} else {
				kid(v, 'd', 0, k)
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
			return
		}
		kid(state, 's', 0, nil)
	default:
		kid(state, 's', 0, nil)
	}
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
