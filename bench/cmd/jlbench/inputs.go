package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/jlstore/jlstore/bench"
	"github.com/jlstore/jlstore/ndarray"
)

// The inputs live in a cache folder and are made once: a file that exists
// is never rewritten, so delete the folder after changing a generator.
//
//	<data>_<size>.npy          the array, written by jlstore (ndarray.SaveNpy)
//	<data>_<size>.pkl          joblib.dump({"x": array}) by Python, uncompressed
//	<data>_<size>.pkl.<ext>    the same, compressed by Python's joblib
//	<data>_<size>.pickle       pickle.dump({"x": array}, protocol=4) by Python
//	graph.pkl, graph.pickle    the graph-heavy case, by joblib and by pickle
//	sklearn.pkl                a fitted scikit-learn pipeline, by joblib
//	million_p4.pkl             1,000,000 small dicts (bench/pickle_cpython.py)
//
// Compressed files use each codec's joblib default level: zlib and gzip
// 3, bz2 9, lzma and xz 6, lz4 0 (its fast compressor); jlstore's Dump
// uses the same defaults.
//
// Arrays are float64, shape (size/8192, 1024), C order. "random" holds
// standard normal values (incompressible, like trained weights); "smooth"
// a slow sine plus a little noise rounded to 1e-3 (compressible, like a
// sensor signal).

// cols is the number of columns of every benchmark array.
const cols = 1024

// codecExt maps a codec to the extension joblib picks it by.
var codecExt = map[string]string{
	"zlib": ".z", "gzip": ".gz", "bz2": ".bz2", "lzma": ".lzma", "xz": ".xz", "lz4": ".lz4",
}

type inputs struct {
	dir string
	py  string
	log func(format string, args ...any)
}

func sizeName(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func (in *inputs) path(name string) string { return filepath.Join(in.dir, name) }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// npy returns the .npy file of data at size, making it when missing.
func (in *inputs) npy(data string, size int64) (string, error) {
	p := in.path(fmt.Sprintf("%s_%s.npy", data, sizeName(size)))
	if exists(p) {
		return p, nil
	}
	in.log("making %s", filepath.Base(p))
	n := int(size / 8)
	x := make([]float64, n)
	switch data {
	case "random":
		r := rand.New(rand.NewPCG(1, 2))
		for i := range x {
			x[i] = r.NormFloat64()
		}
	case "smooth":
		r := rand.New(rand.NewPCG(3, 4))
		for i := range x {
			x[i] = math.Round(1000*math.Sin(float64(i)/1000)+3*r.NormFloat64()) / 1000
		}
	default:
		return "", fmt.Errorf("unknown data %q", data)
	}
	a, err := ndarray.FromFloat64s([]int{n / cols, cols}, x)
	if err != nil {
		return "", err
	}
	return p, ndarray.SaveNpy(p, a)
}

// joblib returns the joblib file of data at size with codec ("none" for
// an uncompressed one), written by Python's joblib.dump.
func (in *inputs) joblib(data string, size int64, codec string) (string, error) {
	name := fmt.Sprintf("%s_%s.pkl", data, sizeName(size))
	if codec != "none" {
		name += codecExt[codec]
	}
	p := in.path(name)
	if exists(p) {
		return p, nil
	}
	src, err := in.npy(data, size)
	if err != nil {
		return "", err
	}
	in.log("making %s with joblib.dump", name)
	return p, in.python("make-joblib", src, p, codec)
}

// pickle returns the plain pickle (protocol 4) of data at size.
func (in *inputs) pickle(data string, size int64) (string, error) {
	p := in.path(fmt.Sprintf("%s_%s.pickle", data, sizeName(size)))
	if exists(p) {
		return p, nil
	}
	src, err := in.npy(data, size)
	if err != nil {
		return "", err
	}
	in.log("making %s with pickle.dump", filepath.Base(p))
	return p, in.python("make-pickle", src, p)
}

// graph returns the graph-heavy case as a joblib file and a plain pickle.
func (in *inputs) graph() (jl, pk string, err error) {
	jl, pk = in.path("graph.pkl"), in.path("graph.pickle")
	if exists(jl) && exists(pk) {
		return jl, pk, nil
	}
	in.log("making graph.pkl and graph.pickle")
	return jl, pk, in.python("make-graph", jl, pk)
}

// sklearn returns a joblib file of a fitted scikit-learn pipeline.
func (in *inputs) sklearn() (string, error) {
	p := in.path("sklearn.pkl")
	if exists(p) {
		return p, nil
	}
	in.log("making sklearn.pkl (fitting a random forest)")
	return p, in.python("make-sklearn", p)
}

// million returns the pickle of 1,000,000 small dicts of issue #2.
func (in *inputs) million() (string, error) {
	p := in.path("million_p4.pkl")
	if exists(p) {
		return p, nil
	}
	in.log("making million_p4.pkl")
	return p, runPython(in.py, bench.PickleCPython, "make", p)
}

func (in *inputs) python(args ...string) error {
	return runPython(in.py, bench.PyScript, args...)
}

// runPython runs a script with the interpreter and returns an error with
// its output when it fails.
func runPython(py, script string, args ...string) error {
	out, err := pythonCmd(py, script, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("python %v: %v\n%s", args, err, out)
	}
	return nil
}

// warm reads a file once so that it is in the page cache.
func warm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4<<20)
	for {
		_, err := f.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
