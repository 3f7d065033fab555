package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// manifestArray is what Python recorded about one array it dumped.
type manifestArray struct {
	Object   int             `json:"object"`
	Path     string          `json:"path"`
	Subclass string          `json:"subclass"`
	Descr    json.RawMessage `json:"descr"`
	Shape    []int           `json:"shape"`
	Order    string          `json:"order"`
	NBytes   int64           `json:"nbytes"`
	SHA256   *string         `json:"sha256"`
	Offset   *int64          `json:"offset"`
}

type manifestFile struct {
	File     string          `json:"file"`
	Compress *string         `json:"compress"`
	Arrays   []manifestArray `json:"arrays"`
	Sklearn  json.RawMessage `json:"sklearn"`
}

func readManifest(t testing.TB) []manifestFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files []manifestFile `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) == 0 {
		t.Fatal("empty manifest")
	}
	return m.Files
}

// lsJSON runs ls --json and decodes it, checking the contract's keys.
func lsJSON(t testing.TB, path string) []map[string]json.RawMessage {
	t.Helper()
	out := jlOK(t, "ls", "--json", path)
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("ls --json %s: %v\n%s", path, err, out)
	}
	for _, e := range entries {
		for _, k := range []string{"path", "dtype", "shape", "order", "nbytes", "offset", "sha256"} {
			if _, ok := e[k]; !ok {
				t.Fatalf("ls --json %s: entry without %q: %v", path, k, e)
			}
		}
	}
	return entries
}

// sameJSON compares two JSON texts as values.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestManifest checks ls --json against what Python recorded when it made
// each fixture: path, dtype (numpy's descr for structured dtypes), shape,
// order, nbytes, offset and the SHA-256 of the C-order bytes, array by
// array in pickle order.
func TestManifest(t *testing.T) {
	for _, mf := range readManifest(t) {
		t.Run(mf.File, func(t *testing.T) {
			got := lsJSON(t, filepath.Join(fixtures, mf.File))
			var want []manifestArray
			for _, a := range mf.Arrays {
				// ls reads the first object of a stream, as joblib.load does.
				if a.Object == 0 {
					want = append(want, a)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d arrays, want %d", len(got), len(want))
			}
			for i, w := range want {
				g := got[i]
				check := func(key string, want any) {
					t.Helper()
					wb, _ := json.Marshal(want)
					if !sameJSON(g[key], wb) {
						t.Errorf("array %d (%s): %s = %s, want %s", i, w.Path, key, g[key], wb)
					}
				}
				check("path", w.Path)
				if !sameJSON(g["dtype"], w.Descr) {
					t.Errorf("array %d (%s): dtype = %s, want %s", i, w.Path, g["dtype"], w.Descr)
				}
				check("shape", w.Shape)
				check("order", w.Order)
				check("nbytes", w.NBytes)
				check("offset", w.Offset)
				check("sha256", w.SHA256)
				check("subclass", w.Subclass)
			}
		})
	}
}

// historical is the folder of files written by old joblib releases.
const historical = "../../../shared/joblib-testdata"

// sidecar matches the companion files of pre-0.10 pickles, which are not
// inputs of their own.
var sidecar = regexp.MustCompile(`_\d+\.npy(\.z)?$`)

// TestHistorical runs ls, show and dis over every file that old joblib
// releases wrote (joblib 0.8.4 to 0.12, Python 2.7 and 3.3-3.6): each
// must load, list its arrays and disassemble.
func TestHistorical(t *testing.T) {
	entries, err := os.ReadDir(historical)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing: %v", historical, err)
		}
		t.Skipf("no historical files: %v", err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".md") || sidecar.MatchString(name) {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(historical, name)
			got := lsJSON(t, path)
			// Every file holds the same list: two int64/float64
			// arange(5), an object array, bytes, a matrix and a str.
			if len(got) != 4 {
				t.Fatalf("%d arrays, want 4:\n%v", len(got), got)
			}
			var paths []string
			for _, g := range got {
				var p string
				json.Unmarshal(g["path"], &p)
				paths = append(paths, p)
			}
			if want := "$[0] $[1] $[2] $[4]"; strings.Join(paths, " ") != want {
				t.Errorf("paths %v, want %s", paths, want)
			}
			if !bytes.Contains(got[0]["dtype"], []byte(`i8`)) || !bytes.Contains(got[2]["sha256"], []byte("null")) {
				t.Errorf("unexpected arrays: %s %s", got[0]["dtype"], got[2]["sha256"])
			}
			if out := jlOK(t, "show", path); !strings.Contains(out, "C'est l'été !") {
				t.Errorf("show lacks the str:\n%s", out)
			}
			if out := jlOK(t, "dis", path); !strings.Contains(out, "STOP") {
				t.Errorf("dis lacks STOP:\n%s", out)
			}
		})
	}
	if n < 30 {
		t.Errorf("only %d historical files", n)
	}
}

// TestNumpyPickles runs ls over plain pickles of numpy arrays, every dtype
// at protocols 2 to 5, against what numpy recorded.
func TestNumpyPickles(t *testing.T) {
	const dir = "../../testdata/numpy"
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files []struct {
			File    string   `json:"file"`
			Format  string   `json:"format"`
			Buffers []string `json:"buffers"`
			Arrays  []struct {
				Kind   string          `json:"kind"`
				Descr  json.RawMessage `json:"descr"`
				Shape  []int           `json:"shape"`
				Order  string          `json:"order"`
				NBytes int64           `json:"nbytes"`
				SHA256 *string         `json:"sha256"`
			} `json:"arrays"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range m.Files {
		if f.Format != "pickle" || len(f.Buffers) > 0 {
			continue
		}
		n++
		t.Run(f.File, func(t *testing.T) {
			got := lsJSON(t, filepath.Join(dir, f.File))
			i := 0
			for _, w := range f.Arrays {
				if w.Kind != "ndarray" && w.Kind != "matrix" {
					continue
				}
				if i >= len(got) {
					t.Fatalf("%d arrays listed, want more", len(got))
				}
				g := got[i]
				i++
				for k, want := range map[string]any{"shape": w.Shape, "order": w.Order, "nbytes": w.NBytes, "sha256": w.SHA256} {
					wb, _ := json.Marshal(want)
					if !sameJSON(g[k], wb) {
						t.Errorf("%s = %s, want %s", k, g[k], wb)
					}
				}
				if !sameJSON(g["dtype"], w.Descr) {
					t.Errorf("dtype = %s, want %s", g["dtype"], w.Descr)
				}
				if string(g["offset"]) != "null" {
					t.Errorf("offset = %s for an array pickled by numpy", g["offset"])
				}
			}
			if i != len(got) {
				t.Errorf("%d arrays listed, want %d", len(got), i)
			}
		})
	}
	if n < 100 {
		t.Errorf("only %d numpy pickles", n)
	}
}
