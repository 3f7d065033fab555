package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/internal/pyenv"
	"github.com/jlstore/jlstore/ndarray"
)

// pyCompare loads pairs of files with Python's joblib and compares them
// with a numpy-aware equality: same types, containers, attributes and
// values; arrays of the same dtype up to byte order, shape and values.
// Estimators must still predict what the manifest recorded. It prints one
// JSON result per pair.
const pyCompare = `
import json, math, sys
import numpy as np
import joblib

def native(dt):
    return dt.newbyteorder("=")

class Diff(Exception):
    pass

def eq(a, b, path, seen, mapped=False):
    if mapped and isinstance(a, np.ndarray) and isinstance(b, np.memmap):
        # mmap_mode="r" gives memmaps where a load gives arrays.
        b = np.asarray(b)
    if type(a) is not type(b):
        raise Diff("%s: type %s vs %s" % (path, type(a).__name__, type(b).__name__))
    key = (id(a), id(b))
    if key in seen:
        return
    if isinstance(a, (dict, list, set, frozenset, np.ndarray)) or hasattr(a, "__dict__") or hasattr(a, "__reduce_ex__"):
        seen.add(key)
    if isinstance(a, np.ndarray):
        if native(a.dtype) != native(b.dtype):
            raise Diff("%s: dtype %s vs %s" % (path, a.dtype, b.dtype))
        if a.shape != b.shape:
            raise Diff("%s: shape %s vs %s" % (path, a.shape, b.shape))
        k = a.dtype.kind
        if k == "O":
            for i, (x, y) in enumerate(zip(a.ravel(order="K").tolist(), b.ravel(order="K").tolist())):
                eq(x, y, "%s[%d]" % (path, i), seen, mapped)
        elif k in "fc":
            if not np.array_equal(a, b, equal_nan=True):
                raise Diff("%s: values differ" % path)
        elif k in "biuMm":
            if not np.array_equal(a.view(np.int64) if k in "Mm" else a, b.view(np.int64) if k in "Mm" else b):
                raise Diff("%s: values differ" % path)
        else:
            x = np.ascontiguousarray(a.astype(native(a.dtype))).tobytes()
            y = np.ascontiguousarray(b.astype(native(b.dtype))).tobytes()
            if x != y:
                raise Diff("%s: bytes differ" % path)
        return
    if isinstance(a, np.generic):
        if not np.array_equal(np.asarray(a), np.asarray(b), equal_nan=a.dtype.kind in "fc"):
            raise Diff("%s: %r vs %r" % (path, a, b))
        return
    if isinstance(a, float):
        if not (a == b or (math.isnan(a) and math.isnan(b))):
            raise Diff("%s: %r vs %r" % (path, a, b))
        return
    if isinstance(a, dict):
        if list(a.keys()) != list(b.keys()):
            raise Diff("%s: keys %r vs %r" % (path, list(a.keys()), list(b.keys())))
        for k in a:
            eq(a[k], b[k], "%s[%r]" % (path, k), seen, mapped)
        return
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            raise Diff("%s: len %d vs %d" % (path, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            eq(x, y, "%s[%d]" % (path, i), seen, mapped)
        return
    if isinstance(a, (str, bytes, bytearray, int, bool, complex, set, frozenset, type(None), type)):
        if a != b:
            raise Diff("%s: %r vs %r" % (path, a, b))
        return
    if hasattr(a, "__dict__") and not isinstance(a, type):
        eq(vars(a), vars(b), path + ".__dict__", seen, mapped)
    # Extension types (sklearn's Tree) keep their data in __reduce__.
    ra, rb = a.__reduce_ex__(2), b.__reduce_ex__(2)
    if not isinstance(ra, tuple):
        if ra != rb:
            raise Diff("%s: reduce %r vs %r" % (path, ra, rb))
        return
    eq(list(ra[1:3]), list(rb[1:3]), path + ".__reduce__", seen, mapped)

manifest = json.load(open(sys.argv[1]))["files"]
sk = {f["file"]: f["sklearn"] for f in manifest if f["sklearn"]}
out = []
for line in sys.stdin:
    src, dst, name = line.rstrip("\n").split("\t")
    res = {"in": src, "out": dst, "ok": False, "msg": ""}
    try:
        a = joblib.load(src)
    except Exception as e:
        res["msg"] = "python cannot load IN: %r" % e
        res["skip"] = True
        out.append(res)
        continue
    try:
        b = joblib.load(dst)
        eq(a, b, "$", set())
        if name in sk:
            s = sk[name]
            X = np.asarray(s["X"])
            got = getattr(b, s["method"])(X)
            want = np.asarray(s["expected"], dtype=s["expected_dtype"])
            if got.shape != tuple(s["expected_shape"]) or not np.allclose(got, want, rtol=1e-12, atol=0):
                raise Diff("%s of OUT differs from the manifest" % s["method"])
        if dst.endswith(".pkl"):
            m = joblib.load(dst, mmap_mode="r")
            eq(a, m, "$", set(), True)
        res["ok"] = True
    except Exception as e:
        res["msg"] = "%s: %s" % (type(e).__name__, e)
    out.append(res)
json.dump(out, sys.stdout)
`

// TestConvertPython converts fixtures with every codec and protocol and
// checks with real Python that joblib.load(OUT) equals joblib.load(IN),
// and that estimators still predict what the manifest recorded.
func TestConvertPython(t *testing.T) {
	pyenv.Python(t)
	dir := t.TempDir()
	var allFiles []string
	for _, mf := range readManifest(t) {
		allFiles = append(allFiles, mf.File)
	}
	// A representative set goes through every codec.
	everyCodec := []string{"basic_p0.pkl", "basic_p4.z", "basic_p5.lz4", "pipeline_p4.pkl", "random_forest_p4.z",
		"graph_p0.pkl", "sparse_csr_p4.pkl", "matrix_memmap_p4.pkl", "logistic_regression_p4.pkl"}
	codecs := []string{"zlib", "gzip", "bz2", "lzma", "xz", "lz4"}
	type conv struct{ in, out, name string }
	var convs []conv
	add := func(in, name string, flags ...string) {
		out := filepath.Join(dir, fmt.Sprintf("%03d_%s", len(convs), strings.ReplaceAll(name, ".", "_"))) + ".pkl"
		if len(flags) > 0 && flags[0] == "--compress" {
			out += "." + strings.Split(flags[1], ":")[0]
		}
		args := append(append([]string{"convert"}, flags...), in, out)
		jlOK(t, args...)
		convs = append(convs, conv{in, out, name})
	}
	for _, f := range allFiles {
		add(filepath.Join(fixtures, f), f) // uncompressed, mmap-ready
	}
	for _, f := range everyCodec {
		for _, c := range codecs {
			add(filepath.Join(fixtures, f), f, "--compress", c)
		}
		add(filepath.Join(fixtures, f), f, "--protocol", "2")
		add(filepath.Join(fixtures, f), f, "--protocol", "5", "--compress", "zlib:9")
	}
	// Files of old joblib releases: Python 3 loads those made by
	// Python 3, and the converted ones must be equal.
	if entries, err := os.ReadDir(historical); err == nil {
		for _, e := range entries {
			if strings.Contains(e.Name(), "_py3") && !sidecar.MatchString(e.Name()) {
				add(filepath.Join(historical, e.Name()), e.Name())
			}
		}
	}
	var stdin strings.Builder
	for _, c := range convs {
		fmt.Fprintf(&stdin, "%s\t%s\t%s\n", c.in, c.out, c.name)
	}
	out := runPython(t, pyCompare, stdin.String(), filepath.Join(fixtures, "manifest.json"))
	var results []struct {
		In, Out, Msg string
		OK, Skip     bool
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(results) != len(convs) {
		t.Fatalf("%d results for %d conversions", len(results), len(convs))
	}
	skipped := 0
	for _, r := range results {
		switch {
		case r.Skip && strings.HasPrefix(r.In, historical):
			skipped++
			t.Logf("%s: %s", filepath.Base(r.In), r.Msg)
		case !r.OK:
			t.Errorf("convert %s -> %s: %s", r.In, filepath.Base(r.Out), r.Msg)
		}
	}
	t.Logf("%d conversions checked by Python, %d historical files Python cannot load", len(results)-skipped, skipped)
}

// TestConvertGo checks conversions that Python cannot read back (zstd)
// and the invariants Go can check itself: every array keeps its path,
// shape, order and values, OUT is aligned for mmap unless compressed.
func TestConvertGo(t *testing.T) {
	dir := t.TempDir()
	codecs := append([]string{""}, writableCodecs()...)
	for _, f := range []string{"basic_p4.pkl", "basic_p0.gz", "pipeline_p4.z", "many_small_p4.pkl"} {
		in := filepath.Join(fixtures, f)
		want := lsJSON(t, in)
		for _, c := range codecs {
			t.Run(f+"/codec="+c, func(t *testing.T) {
				out := filepath.Join(dir, f+"."+c+".out")
				args := []string{"convert", in, out}
				if c != "" {
					args = []string{"convert", "--compress", c, in, out}
				}
				jlOK(t, args...)
				got := lsJSON(t, out)
				if len(got) != len(want) {
					t.Fatalf("%d arrays, want %d", len(got), len(want))
				}
				for i := range want {
					for _, k := range []string{"path", "shape", "order", "nbytes"} {
						if !sameJSON(got[i][k], want[i][k]) {
							t.Errorf("%s: %s = %s, want %s", want[i]["path"], k, got[i][k], want[i][k])
						}
					}
					// Big-endian arrays become native, which changes
					// their dtype and bytes.
					if strings.Contains(string(want[i]["dtype"]), ">") {
						continue
					}
					for _, k := range []string{"dtype", "sha256"} {
						if !sameJSON(got[i][k], want[i][k]) {
							t.Errorf("%s: %s = %s, want %s", want[i]["path"], k, got[i][k], want[i][k])
						}
					}
					var off *int64
					json.Unmarshal(got[i]["offset"], &off)
					if off != nil && *off%16 != 0 {
						t.Errorf("%s: offset %d is not 16-byte aligned", want[i]["path"], *off)
					}
					var mm bool
					json.Unmarshal(got[i]["mmap"], &mm)
					if wantMM := c == "" && off != nil; mm != wantMM {
						t.Errorf("%s: mmap = %v, want %v", want[i]["path"], mm, wantMM)
					}
				}
				if c == "" {
					return
				}
				// OUT starts with the codec's magic.
				b, _ := os.ReadFile(out)
				cd, _ := compressors.Lookup(c)
				if !strings.HasPrefix(string(b), string(cd.Magic)) {
					t.Errorf("OUT does not start with %s's magic", c)
				}
			})
		}
	}
	if !slices.Contains(codecs, "lz4") {
		t.Errorf("lz4 is not writable: %v", codecs)
	}
}

// TestDisPickletools compares dis with Python's pickletools.dis over every
// pickle fixture: the same lines, but for the long arguments that dis
// shortens and its notes.
func TestDisPickletools(t *testing.T) {
	pyenv.Python(t)
	files, err := filepath.Glob("../../testdata/pickle/*.pkl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no pickle fixtures: %v", err)
	}
	script := `
import io, json, pickletools, sys
out = {}
for path in sys.argv[1:]:
    buf = io.StringIO()
    try:
        pickletools.dis(open(path, "rb").read(), out=buf)
    except Exception as e:
        out[path] = None
        continue
    out[path] = buf.getvalue()
json.dump(out, sys.stdout)
`
	raw := runPython(t, script, "", files...)
	var want map[string]*string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, f := range files {
		w := want[f]
		if w == nil {
			continue // pickletools refuses it too (py2 strings)
		}
		compared++
		got := jlOK(t, "dis", f)
		gl := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		wl := strings.Split(strings.TrimSuffix(*w, "\n"), "\n")
		if n := len(gl); n > 0 && strings.HasPrefix(gl[n-1], "[note: ") {
			gl = gl[:n-1]
		}
		if len(gl) != len(wl) {
			t.Errorf("%s: %d lines, pickletools %d:\n%s", f, len(gl), len(wl), firstDiff(*w, got))
			continue
		}
		for i := range wl {
			if gl[i] == wl[i] || shortened(gl[i], wl[i]) {
				continue
			}
			t.Errorf("%s line %d:\npickletools: %s\njlstore:     %s", f, i+1, wl[i], gl[i])
			break
		}
	}
	if compared < 200 {
		t.Errorf("only %d files compared", compared)
	}
}

// shortened reports whether got is want with its argument shortened.
func shortened(got, want string) bool {
	if i := strings.Index(got, "<int of "); i > 0 {
		return strings.HasPrefix(want, got[:i])
	}
	g := got
	if i := strings.LastIndex(g, "... ("); i > 0 && strings.HasSuffix(g, " bytes)") {
		g = g[:i]
	} else if strings.HasSuffix(g, "...") {
		g = strings.TrimSuffix(g, "...")
	} else {
		return false
	}
	return len(want) > len(g) && strings.HasPrefix(want, g)
}

// runPython runs script with stdin and args and returns its stdout,
// failing the test with its stderr when it fails.
func runPython(t testing.TB, script, stdin string, args ...string) []byte {
	t.Helper()
	py := pyenv.Python(t)
	f := filepath.Join(t.TempDir(), "script.py")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, append([]string{f}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}

// TestExport writes every array of fixtures to .npz and .npy files, reads
// them back with ndarray and with numpy, and checks dtype, shape and the
// SHA-256 that ls reports.
func TestExport(t *testing.T) {
	dir := t.TempDir()
	type member struct{ file, key, path string }
	var members []member
	want := map[string]map[string]json.RawMessage{} // by file+key
	for _, f := range []string{"basic_p4.pkl", "basic_p1.gz", "random_forest_p4.z", "matrix_memmap_p4.pkl"} {
		in := filepath.Join(fixtures, f)
		entries := lsJSON(t, in)
		npz := filepath.Join(dir, f+".npz")
		npyDir := filepath.Join(dir, f+"_npy")
		out := jlOK(t, "export", in, npz)
		outDir := jlOK(t, "export", "--npy-dir", npyDir, in)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		dirLines := strings.Split(strings.TrimSpace(outDir), "\n")
		if len(lines) != len(entries) || len(dirLines) != len(entries) {
			t.Fatalf("%s: %d and %d lines for %d arrays", f, len(lines), len(dirLines), len(entries))
		}
		zs, err := ndarray.LoadNpz(npz)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			var path string
			json.Unmarshal(e["path"], &path)
			p, name, _ := strings.Cut(lines[i], "\t")
			p2, npyFile, _ := strings.Cut(dirLines[i], "\t")
			if p != path || p2 != path {
				t.Errorf("%s: line %d names %q and %q, want %q", f, i, p, p2, path)
			}
			members = append(members, member{npz, name, path}, member{npyFile, "", path})
			want[npz+"|"+name], want[npyFile+"|"] = e, e
			a, ok := zs[name]
			if !ok {
				t.Errorf("%s: no member %q in %v", f, name, zs)
				continue
			}
			b, err := ndarray.LoadNpy(npyFile)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range []*ndarray.Array{a, b} {
				if x.DType.HasObject() {
					continue
				}
				sum, err := arraySHA256(x)
				if err != nil {
					t.Fatal(err)
				}
				if !sameJSON(e["sha256"], []byte(`"`+sum+`"`)) || !sameJSON(e["dtype"], dtypeJSON(x.DType)) {
					t.Errorf("%s %s: exported %s %s, ls says %s %s", f, path, dtypeJSON(x.DType), sum, e["dtype"], e["sha256"])
				}
			}
		}
	}
	pyenv.Python(t)
	script := `
import hashlib, json, sys
import numpy as np
out = []
for line in sys.stdin:
    f, key = line.rstrip("\n").split("\t")
    a = np.load(f, allow_pickle=True)
    if key:
        a = a[key]
    d = a.dtype.descr if a.dtype.names else a.dtype.str
    h = None if a.dtype.hasobject else hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    out.append({"dtype": d, "sha256": h, "shape": list(a.shape), "order": order})
json.dump(out, sys.stdout)
`
	var stdin strings.Builder
	for _, m := range members {
		fmt.Fprintf(&stdin, "%s\t%s\n", m.file, m.key)
	}
	raw := runPython(t, script, stdin.String())
	var got []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for i, m := range members {
		e := want[m.file+"|"+m.key]
		for _, k := range []string{"dtype", "sha256", "shape", "order"} {
			if !sameJSON(got[i][k], e[k]) {
				t.Errorf("numpy reads %s[%s] (%s): %s = %s, ls says %s", filepath.Base(m.file), m.key, m.path, k, got[i][k], e[k])
			}
		}
	}
}
