package bench_test

import (
	"fmt"
	"strings"

	"github.com/jlstore/jlstore/bench"
)

// The driver runs the embedded Python half with the interpreter's -c flag;
// its docstring says what it does.
func Example() {
	doc := strings.SplitN(bench.PyScript, "\n", 3)[1]
	fmt.Println(doc)
	fmt.Println(strings.Contains(bench.PickleCPython, "1,000,000 small dicts"))
	// Output:
	// """The Python half of the jlstore benchmark suite (bench/cmd/jlbench).
	// true
}
