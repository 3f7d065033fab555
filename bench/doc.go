// Package bench holds jlstore's benchmark suite: it puts jlstore's Open,
// Load and Dump beside Python's joblib and numpy, the Go peers
// (codeberg.org/sbinet/npyio, nlpodyssey/gopickle, kisielk/og-rek) and the
// machine's physical limits, in one run, and publishes the result as
// RESULTS.md and PNG plots.
//
// # Running it
//
// It is its own module, so that the library's go.mod does not depend on
// the peers or on gonum/plot. Run it from the repository root with
// "make bench", or from this folder with
//
//	go run ./cmd/jlbench            # default sizes (16, 64 and 256 MiB)
//	go run ./cmd/jlbench -full      # adds 1 GiB and 4 GiB
//	go run ./cmd/jlbench report     # RESULTS.md and plots from results.json
//
// # What is here
//
// This package only carries the Python half of the suite (jlbench.py) and
// the CPython side of the pickle benchmark (pickle_cpython.py), embedded
// so that the driver runs from any folder. cmd/jlbench is the driver, and
// peers holds issue #2's pickle comparison as a Go benchmark. README.md
// lists the cases.
package bench

import _ "embed"

// PyScript is jlbench.py, the Python half of the suite.
//
//go:embed jlbench.py
var PyScript string

// PickleCPython is pickle_cpython.py, which makes the million-dict pickle
// of the pickle benchmark and times CPython's unpickler on it.
//
//go:embed pickle_cpython.py
var PickleCPython string
