package main

import (
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
	"github.com/jlstore/jlstore/store"
)

var showCmd = &command{
	name:     "show",
	synopsis: "[--depth N] [--items N] [--max-bytes SIZE] [--max-ratio R] FILE",
	summary:  "Print the object graph of a joblib file or pickle as an indented tree.",
	help: `Each line is a path segment and a summary: the class of objects (such as
sklearn.linear_model._logistic.LogisticRegression), the size of containers,
scalars in Python's repr, and one line per array with its dtype, shape,
order and first values. An object's attributes are .name lines, dict keys
["key"], list and tuple items [i]. A container met again is shown as a
reference to its first path, which is how cycles appear.

example:
  jlstore show --depth 2 model.pkl`,
	run: runShow,
}

func runShow(c *cli, args []string) error {
	fs := c.flags()
	depth := fs.Int("depth", 0, "print at most `N` levels below the root (0: all)")
	items := fs.Int("items", 100, "print at most `N` items of each container")
	var lim limits
	lim.register(fs)
	pos, err := c.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	if *depth < 0 || *items < 1 {
		return usagef("--depth must be >= 0 and --items >= 1")
	}
	f, err := store.Open(pos[0], lim.options()...)
	if err != nil {
		return err
	}
	defer f.Close()
	p := &shower{w: c.stdout, maxDepth: *depth, maxItems: *items, seen: map[any]string{}}
	p.node("$", "$", f.Root(), 0)
	if p.err != nil {
		return p.err
	}
	return f.Close()
}

// shower prints a value tree.
type shower struct {
	w        io.Writer
	maxDepth int
	maxItems int
	seen     map[any]string // container -> first path
	err      error
}

// child is a labelled item of a container.
type child struct {
	label string // path segment: [0], ["key"], .name
	v     any
}

func (p *shower) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// node prints v at path, labelled label, and its children.
func (p *shower) node(label, path string, v any, depth int) {
	indent := strings.Repeat("  ", depth)
	if key := identity(v); key != nil {
		if first, ok := p.seen[key]; ok {
			p.printf("%s%s: <same %s as %s>\n", indent, label, pickle.TypeName(v), first)
			return
		}
		p.seen[key] = path
	}
	summary, kids := summarize(v)
	p.printf("%s%s: %s\n", indent, label, summary)
	if len(kids) == 0 {
		return
	}
	if p.maxDepth > 0 && depth >= p.maxDepth {
		p.printf("%s  ...\n", indent)
		return
	}
	for i, k := range kids {
		if i == p.maxItems {
			p.printf("%s  ... %d more\n", indent, len(kids)-i)
			break
		}
		p.node(k.label, path+k.label, k.v, depth+1)
	}
}

// identity returns the key under which a shared container is recognised,
// or nil for values that are not shared by reference.
func identity(v any) any {
	switch x := v.(type) {
	case *pickle.Dict, *pickle.List, *pickle.Set, *pickle.Object, *ndarray.Array:
		return x
	}
	return nil
}

// summarize returns the one-line summary of v and its children.
func summarize(v any) (string, []child) {
	switch x := v.(type) {
	case *pickle.Dict:
		return fmt.Sprintf("%s (%s)", pickle.TypeName(x), plural(x.Len(), "item")), children(x)
	case *pickle.List:
		return fmt.Sprintf("list (%s)", plural(x.Len(), "item")), children(x)
	case pickle.Tuple:
		return fmt.Sprintf("tuple (%s)", plural(len(x), "item")), children(x)
	case *pickle.Set:
		return fmt.Sprintf("%s (%s)", pickle.TypeName(x), plural(x.Len(), "item")), children(x)
	case *pickle.Object:
		return objectSummary(x), children(x)
	case *ndarray.Array:
		return arraySummary(x), nil
	case *ndarray.DType:
		return "dtype(" + dtypeText(x) + ")", nil
	case *ndarray.Scalar:
		return "numpy." + x.DType.Name() + "(" + elemText(x.Value()) + ")", nil
	case pickle.ByteArray:
		return "bytearray(" + clip(store.Repr([]byte(x)), 80) + ")", nil
	case []byte:
		return clip(store.Repr(x), 80) + lenNote(len(x), 60), nil
	case string:
		return clip(store.Repr(x), 80) + lenNote(utf8.RuneCountInString(x), 60), nil
	case pickle.Global:
		return store.Repr(x), nil
	}
	return clip(store.Repr(v), 80), nil
}

// children lists a container's items with their path segments, as ls
// names them.
func children(v any) []child {
	var kids []child
	for _, c := range store.Children(v) {
		kids = append(kids, child{c.Segment, c.Value})
	}
	return kids
}

func objectSummary(o *pickle.Object) string {
	name := pickle.TypeName(o)
	if o.Class == (pickle.Global{}) && o.Callee != nil {
		name = "result of calling " + pickle.TypeName(o.Callee)
	}
	return name
}

// arraySummary is one line about an array: its kind, dtype, shape, order
// and first values in C order.
func arraySummary(a *ndarray.Array) string {
	kind := "ndarray"
	if a.Subclass != "" {
		kind = subclassName(a)
	}
	s := fmt.Sprintf("%s %s %s %s", kind, dtypeText(a.DType), shapeText(a.Shape), a.Order)
	return s + " " + arrayValues(a, 6)
}

// arrayValues renders the first show elements of a in C order, as a
// list.
func arrayValues(a *ndarray.Array, show int) string {
	if a.Validate() != nil {
		return "[?]"
	}
	n := a.Size()
	vals := make([]string, 0, show)
	idx := make([]int, len(a.Shape))
	for i := 0; i < n && i < show; i++ {
		unravel(i, a.Shape, idx)
		vals = append(vals, clip(elemText(a.At(idx...)), 40))
	}
	more := ""
	if n > show {
		more = ", ..."
	}
	return "[" + strings.Join(vals, ", ") + more + "]"
}

// unravel sets idx to the C-order multi-index of flat index i.
func unravel(i int, shape, idx []int) {
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
}

// elemText renders an array element as numpy would print it, roughly.
func elemText(v any) string {
	switch x := v.(type) {
	case float64:
		return floatText(x)
	case float32:
		return floatText(float64(x))
	case complex128:
		return "(" + floatText(real(x)) + signed(imag(x)) + "j)"
	case complex64:
		return "(" + floatText(float64(real(x))) + signed(float64(imag(x))) + "j)"
	case ndarray.Half:
		return floatText(x.Float64())
	case ndarray.LongDouble:
		return floatText(x.Float64())
	case ndarray.CLongDouble:
		c := x.Complex128()
		return "(" + floatText(real(c)) + signed(imag(c)) + "j)"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string, []byte, nil, *big.Int, pickle.Tuple:
		return store.Repr(x)
	case ndarray.Record:
		parts := make([]string, len(x.Values))
		for i, f := range x.Values {
			parts[i] = elemText(f)
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case ndarray.TimeDelta:
		if x.IsNaT() {
			return "NaT"
		}
		return strconv.FormatInt(x.Value, 10)
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64, int, uint:
		return fmt.Sprint(x)
	case *ndarray.Array:
		// A subarray field.
		return arrayValues(x, 4)
	case fmt.Stringer:
		return x.String()
	}
	if r := store.Repr(v); !strings.HasPrefix(r, "<") {
		return r
	}
	// An element of an object array: a container or an object.
	summary, _ := summarize(v)
	return summary
}

func floatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

func signed(f float64) string {
	s := floatText(f)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-3]) + "..."
}

func lenNote(n, over int) string {
	if n <= over {
		return ""
	}
	return fmt.Sprintf(" (len %d)", n)
}
