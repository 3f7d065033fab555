package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// pyExec loads each file named on the command line ("pickle" or "joblib",
// then the path) in a fresh empty directory that is its working
// directory, and reports whether the file PWNED appeared there. Errors
// after the payload ran do not matter: Python ran it while loading.
const pyExec = `
import json, os, pickle, sys, tempfile, time
import joblib
out = {}
args = sys.argv[1:]
for how, path in zip(args[::2], args[1::2]):
    d = tempfile.mkdtemp()
    os.chdir(d)
    err = None
    try:
        if how == "joblib":
            joblib.load(path)
        else:
            with open(path, "rb") as f:
                pickle.load(f)
    except BaseException as e:
        err = repr(e)
    for _ in range(100):  # subprocess.Popen runs in the background
        if os.path.exists("PWNED"):
            break
        time.sleep(0.02)
    out[path] = {"ran": os.path.exists("PWNED"), "error": err}
print(json.dumps(out))
`

// TestExecIsRealInPython proves that the exec family is not a strawman:
// loading each file with Python's pickle or joblib runs its command
// (creating PWNED in a scratch directory), while TestHostileCorpus shows
// that jlstore loads the same bytes as inert objects. The payloads only
// ever touch a file in a fresh temporary directory.
func TestExecIsRealInPython(t *testing.T) {
	pyenv.Python(t)
	var args []string
	want := map[string]bool{}
	for _, h := range corpus(t) {
		if h.global == "" {
			continue
		}
		p := filepath.Join(corruptAbs, filepath.FromSlash(h.name))
		args = append(args, h.py, p)
		want[p] = h.run
	}
	if len(want) < 20 {
		t.Fatalf("only %d exec inputs", len(want))
	}
	var got map[string]struct {
		Ran   bool
		Error *string
	}
	if err := json.Unmarshal(pyenv.Run(t, pyExec, args...), &got); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for p, w := range want {
		g := got[p]
		if g.Ran != w {
			e := "<nil>"
			if g.Error != nil {
				e = *g.Error
			}
			t.Errorf("%s: Python ran it = %v, want %v (error %s)", filepath.Base(p), g.Ran, w, e)
		}
		if g.Ran {
			ran++
		}
	}
	t.Logf("Python ran %d of %d exec inputs; jlstore ran none", ran, len(want))
}

// pyControls loads the honest controls with Python's joblib and prints
// each file's arrays as lists.
const pyControls = `
import json, sys
import joblib, numpy as np
def plain(v):
    if isinstance(v, np.ndarray):
        return {"dtype": v.dtype.str, "shape": list(v.shape), "values": v.ravel(order="C").tolist() if v.dtype != object else [str(x) for x in v.ravel()]}
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v
print(json.dumps({p: plain(joblib.load(p)) for p in sys.argv[1:]}))
`

// TestCorpusControlsInPython loads the honest controls with Python's
// joblib: the templates the size lies are cut from are files joblib
// reads, and Go reads the same values from them.
func TestCorpusControlsInPython(t *testing.T) {
	pyenv.Python(t)
	var paths []string
	for _, h := range corpus(t) {
		if h.py == "joblib" && h.global == "" {
			paths = append(paths, filepath.Join(corruptAbs, filepath.FromSlash(h.name)))
		}
	}
	out := pyenv.Run(t, pyControls, paths...)
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		v, err := Load(p)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			continue
		}
		goJSON, _ := json.Marshal(plainGo(v))
		pyJSON, _ := json.Marshal(got[p])
		if !bytes.Equal(goJSON, pyJSON) {
			t.Errorf("%s:\nGo     %s\nPython %s", filepath.Base(p), goJSON, pyJSON)
		}
	}
	t.Logf("%d controls load equal in Python and Go", len(paths))
}

// plainGo renders a loaded value the way pyControls does.
func plainGo(v any) any {
	switch x := v.(type) {
	case *ndarray.Array:
		out := map[string]any{"dtype": x.DType.String(), "shape": x.Shape}
		if x.DType.HasObject() {
			var vals []any
			for _, o := range x.Objects {
				vals = append(vals, o)
			}
			out["values"] = vals
			return out
		}
		var vals []any
		idx := make([]int, len(x.Shape))
		for range x.Size() {
			vals = append(vals, x.At(idx...))
			for d := len(idx) - 1; d >= 0; d-- { // next index in C order
				if idx[d]++; idx[d] < x.Shape[d] {
					break
				}
				idx[d] = 0
			}
		}
		if vals == nil {
			vals = []any{}
		}
		out["values"] = vals
		return out
	case *pickle.Dict:
		m := map[string]any{}
		for k, v := range x.All() {
			if s, ok := k.(string); ok {
				m[s] = plainGo(v)
			}
		}
		return m
	case *pickle.List:
		var l []any
		for _, it := range x.Items {
			l = append(l, plainGo(it))
		}
		return l
	case pickle.Tuple:
		var l []any
		for _, it := range x {
			l = append(l, plainGo(it))
		}
		return l
	}
	return v
}

// TestObjectFlagsCrashPython shows what trusting a file costs: joblib
// reads the payload of an object array whose dtype state carries flags 0
// as raw bytes, numpy takes eight bytes of 0x41 for a PyObject pointer,
// and Python dies with SIGSEGV. jlstore reports a corrupt file
// (TestHostileCorpus, numpy/objarray_flags0_p4.pkl).
func TestObjectFlagsCrashPython(t *testing.T) {
	py := pyenv.Python(t)
	p := filepath.Join(corruptAbs, "numpy", "objarray_flags0_p4.pkl")
	cmd := exec.Command(py, "-c", "import joblib, sys; joblib.load(sys.argv[1])", p)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("Python: err = %v, want a crash", err)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSEGV {
		t.Skipf("Python did not die of SIGSEGV (%v): numpy may check object flags now", err)
	}
	if _, err := Load(p); !errors.Is(err, ErrCorrupt) {
		t.Errorf("jlstore: err = %v, want ErrCorrupt", err)
	}
}
