// Command jlstore inspects joblib files and pickles from the shell.
package main

import (
	_ "embed"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"strings"

	"github.com/jlstore/jlstore/pickle"
)

//go:embed demo_default.pkl
var demoDefault []byte

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "jlstore:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: jlstore show FILE | jlstore demo")
	}
	switch args[0] {
	case "demo":
		fmt.Fprintln(out, "# a pickle written by Python (testdata/pickle/nested_p4.pkl), decoded:")
		v, err := pickle.NewDecoderBytes(demoDefault).Decode()
		if err != nil {
			return err
		}
		show(out, v, 0)
		return nil
	case "show":
		if len(args) != 2 {
			return fmt.Errorf("usage: jlstore show FILE")
		}
		b, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		v, err := pickle.NewDecoderBytes(b).Decode()
		if err != nil {
			return fmt.Errorf("%s: %w", args[1], err)
		}
		show(out, v, 0)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func show(out io.Writer, v any, depth int) {
	pad := strings.Repeat("  ", depth)
	switch x := v.(type) {
	case *pickle.Dict:
		fmt.Fprintf(out, "%s%s (%d items)\n", pad, pickle.TypeName(v), x.Len())
		for k, val := range x.All() {
			fmt.Fprintf(out, "%s  %v:\n", pad, k)
			show(out, val, depth+2)
		}
	case *pickle.List:
		fmt.Fprintf(out, "%slist (%d items)\n", pad, x.Len())
		for _, it := range x.Items {
			show(out, it, depth+1)
		}
	case pickle.Tuple:
		fmt.Fprintf(out, "%stuple (%d items)\n", pad, len(x))
		for _, it := range x {
			show(out, it, depth+1)
		}
	case *pickle.Set:
		items := make([]string, 0, x.Len())
		for _, it := range x.Items() {
			items = append(items, fmt.Sprint(it))
		}
		sort.Strings(items)
		fmt.Fprintf(out, "%s%s {%s}\n", pad, pickle.TypeName(v), strings.Join(items, ", "))
	case *big.Int:
		fmt.Fprintf(out, "%sint %s\n", pad, x)
	case string:
		fmt.Fprintf(out, "%sstr %q\n", pad, x)
	default:
		fmt.Fprintf(out, "%s%s %v\n", pad, pickle.TypeName(v), v)
	}
}
