package store

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
	"github.com/jlstore/jlstore/pickle"
)

// TestSklearnThroughGo: scikit-learn models (and a sparse matrix and a
// shared-reference graph) that Go loads and dumps again, in every codec
// and protocol, load in Python and still predict what they predicted
// before.
func TestSklearnThroughGo(t *testing.T) {
	pyenv.Python(t)
	m := readManifest(t)
	dir := t.TempDir()
	type job struct{ Orig, Copy string }
	var jobs []job
	codecs := []string{".pkl", ".z", ".lz4", ".xz"}
	i := 0
	for _, mf := range m.Files {
		isModel := strings.Contains(mf.RootType, "sklearn") || strings.Contains(mf.RootType, "scipy") || strings.HasPrefix(mf.Name, "graph")
		if !isModel || len(mf.Objects) > 1 {
			continue
		}
		orig := fixture(mf.File)
		root, err := Load(orig, WithByteOrder(ByteOrderKeep))
		if err != nil {
			t.Fatalf("%s: %v", mf.File, err)
		}
		if o, ok := root.(*pickle.Object); ok && !strings.Contains(mf.RootType, o.Class.Name) {
			t.Errorf("%s: root class %s, manifest says %s", mf.File, o.Class, mf.RootType)
		}
		for proto := 2; proto <= 5; proto++ {
			ext := codecs[i%len(codecs)]
			i++
			out := filepath.Join(dir, strings.TrimSuffix(mf.File, filepath.Ext(mf.File))+"_go_p"+string(rune('0'+proto))+ext)
			if err := Dump(out, root, Protocol(proto)); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			abs, _ := filepath.Abs(orig)
			jobs = append(jobs, job{abs, out})
		}
	}
	if len(jobs) < 20 {
		t.Fatalf("only %d jobs", len(jobs))
	}
	args, _ := json.Marshal(jobs)
	out := pyenv.Run(t, pySklearnCheck, string(args), filepath.Join("..", "testdata", "joblib", "manifest.json"))
	var res map[string]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, j := range jobs {
		if r := res[j.Copy]; r != "ok" {
			t.Errorf("%s: %s", filepath.Base(j.Copy), r)
		}
	}
}

const pySklearnCheck = `
import sys, json, os, joblib, numpy as np
jobs = json.loads(sys.argv[1])
man = {os.path.basename(f["file"]): f for f in json.load(open(sys.argv[2]))["files"]}
def same(a, b, seen=None):
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype.newbyteorder('=') == b.dtype.newbyteorder('=')
                and (a.dtype.hasobject and all(same(x, y) for x, y in zip(a.ravel(), b.ravel())) or
                     not a.dtype.hasobject and np.array_equal(a, b, equal_nan=a.dtype.kind in 'fc')))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) == type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b) if x is not a)
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return type(a) == type(b) and same(vars(a), vars(b))
    if type(a).__module__.startswith("sklearn.tree"):
        # Cython trees have no __dict__: compare what they pickle.
        return type(a) == type(b) and same(a.__reduce__()[1:], b.__reduce__()[1:])
    if hasattr(a, "toarray"):
        return type(a) == type(b) and (a != b).nnz == 0
    try:
        return bool(a == b)
    except Exception:
        return type(a) == type(b)
res = {}
for j in jobs:
    try:
        orig = joblib.load(j["Orig"])
        copy = joblib.load(j["Copy"])
        if type(orig) is not type(copy):
            res[j["Copy"]] = "type %s, want %s" % (type(copy), type(orig)); continue
        f = man[os.path.basename(j["Orig"])]
        sk = f.get("sklearn")
        if sk:
            X = np.array(sk["X"])
            got = getattr(copy, sk["method"])(X)
            if not np.allclose(got, np.array(sk["expected"]), rtol=0, atol=0):
                res[j["Copy"]] = "predictions differ"; continue
            if hasattr(copy, "__dict__") and not same(vars(orig), vars(copy)):
                res[j["Copy"]] = "attributes differ"; continue
        elif hasattr(orig, "toarray"):
            if (orig != copy).nnz != 0:
                res[j["Copy"]] = "sparse matrix differs"; continue
        elif not same(orig, copy):
            res[j["Copy"]] = "graph differs"; continue
        res[j["Copy"]] = "ok"
    except Exception as e:
        res[j["Copy"]] = "error: " + repr(e)
print(json.dumps(res))
`
