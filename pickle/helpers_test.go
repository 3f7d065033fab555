package pickle

import (
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fixtureDir is where testdata/gen.py writes the pickle fixtures.
const fixtureDir = "../testdata/pickle"

// fixtures returns the sorted names of the .pkl fixtures. It fails the test
// when there are none: the fixtures are committed.
func fixtures(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(fixtureDir, "*.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatalf("no fixtures in %s (run make testdata)", fixtureDir)
	}
	out := make([]string, len(m))
	for i, p := range m {
		out[i] = filepath.Base(p)
	}
	sort.Strings(out)
	return out
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitFixture splits "int_big_p3.pkl" into "int_big" and 3.
func splitFixture(file string) (string, int) {
	base := strings.TrimSuffix(file, ".pkl")
	i := strings.LastIndex(base, "_p")
	if i < 0 || i+3 != len(base) {
		return base, -1
	}
	return base[:i], int(base[i+2] - '0')
}

// dict builds a *Dict from key, value pairs.
func dict(kv ...any) *Dict {
	d := NewDict()
	for i := 0; i < len(kv); i += 2 {
		if err := d.Set(kv[i], kv[i+1]); err != nil {
			panic(err)
		}
	}
	return d
}

func set(items ...any) *Set {
	s, err := NewSet(items...)
	if err != nil {
		panic(err)
	}
	return s
}

func frozen(items ...any) *Set {
	s := set(items...)
	s.Frozen = true
	return s
}

func list(items ...any) *List { return NewList(items...) }

func bigInt(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return b
}

// show renders a value of the model for failure messages, Python style,
// without looping on cycles.
func show(v any) string {
	var sb strings.Builder
	showTo(&sb, v, map[any]bool{}, 0)
	return sb.String()
}

func showTo(sb *strings.Builder, v any, seen map[any]bool, depth int) {
	if depth > 50 {
		sb.WriteString("…")
		return
	}
	switch x := v.(type) {
	case nil:
		sb.WriteString("None")
	case string:
		fmt.Fprintf(sb, "%q", x)
	case []byte:
		fmt.Fprintf(sb, "b%q", x)
	case ByteArray:
		fmt.Fprintf(sb, "bytearray(b%q)", []byte(x))
	case *big.Int:
		fmt.Fprintf(sb, "big(%s)", x)
	case Tuple:
		sb.WriteString("(")
		for i, e := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			showTo(sb, e, seen, depth+1)
		}
		sb.WriteString(")")
	case *List:
		if seen[x] {
			sb.WriteString("[...]")
			return
		}
		seen[x] = true
		defer delete(seen, x)
		sb.WriteString("[")
		for i, e := range x.Items {
			if i > 0 {
				sb.WriteString(", ")
			}
			showTo(sb, e, seen, depth+1)
		}
		sb.WriteString("]")
	case *Dict:
		if seen[x] {
			sb.WriteString("{...}")
			return
		}
		seen[x] = true
		defer delete(seen, x)
		if x.Class != (Global{}) {
			sb.WriteString(x.Class.String())
		}
		sb.WriteString("{")
		i := 0
		for k, e := range x.All() {
			if i > 0 {
				sb.WriteString(", ")
			}
			i++
			showTo(sb, k, seen, depth+1)
			sb.WriteString(": ")
			showTo(sb, e, seen, depth+1)
		}
		sb.WriteString("}")
	case *Set:
		if x.Frozen {
			sb.WriteString("frozenset")
		}
		sb.WriteString("{")
		for i, e := range x.Items() {
			if i > 0 {
				sb.WriteString(", ")
			}
			showTo(sb, e, seen, depth+1)
		}
		sb.WriteString("}")
	case Global:
		sb.WriteString("<" + x.String() + ">")
	case *Object:
		if seen[x] {
			sb.WriteString("<...>")
			return
		}
		seen[x] = true
		defer delete(seen, x)
		if x.Callee != nil {
			sb.WriteString("call(")
			showTo(sb, x.Callee, seen, depth+1)
			sb.WriteString(")")
		}
		fmt.Fprintf(sb, "%s<%s args=", x.Class, x.Construct)
		showTo(sb, x.Args, seen, depth+1)
		if x.Kwargs != nil {
			sb.WriteString(" kwargs=")
			showTo(sb, x.Kwargs, seen, depth+1)
		}
		if x.HasState {
			sb.WriteString(" state=")
			showTo(sb, x.State, seen, depth+1)
		}
		if len(x.ListItems) > 0 {
			sb.WriteString(" list=")
			showTo(sb, Tuple(x.ListItems), seen, depth+1)
		}
		for _, it := range x.DictItems {
			sb.WriteString(" ")
			showTo(sb, it.Key, seen, depth+1)
			sb.WriteString("=")
			showTo(sb, it.Value, seen, depth+1)
		}
		sb.WriteString(">")
	default:
		fmt.Fprintf(sb, "%T(%v)", v, v)
	}
}

// cleanErr checks that err is a clean decoding error: a *FormatError, or
// one wrapping io.ErrUnexpectedEOF.
func cleanErr(err error) bool {
	var fe *FormatError
	return errors.As(err, &fe) || errors.Is(err, io.ErrUnexpectedEOF)
}
