package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// historyDir holds files that joblib 0.8 to 0.12 wrote on Python 2.7 to
// 3.6. CI puts shared/ beside the clone.
func historyDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "joblib-testdata")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing: %v", dir, err)
		}
		t.Skipf("no %s: %v", dir, err)
	}
	return dir
}

// TestHistoricalFiles loads every file of shared/joblib-testdata and checks
// the content its README gives:
//
//	[np.arange(5, dtype='<i8'), np.arange(5, dtype='<f8'),
//	 np.array([1, 'abc', {'a': 1, 'b': 2}], dtype='O'),
//	 np.arange(256, dtype=np.uint8).tobytes(),
//	 np.matrix([0, 1, 2], dtype='<i8'), u"C'est l'\xe9t\xe9 !"]
func TestHistoricalFiles(t *testing.T) {
	dir := historyDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "joblib_") || strings.Contains(name, ".npy") {
			continue
		}
		n++
		path := filepath.Join(dir, name)
		for _, mode := range []string{"load", "open"} {
			t.Run(name+"/mode="+mode, func(t *testing.T) {
				var root any
				if mode == "load" {
					root, err = Load(path)
				} else {
					var f *File
					f, err = Open(path)
					if err == nil {
						defer f.Close()
						root = f.Root()
						if len(f.Arrays()) != 4 {
							t.Errorf("Arrays() lists %d arrays, want 4", len(f.Arrays()))
						}
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				checkHistorical(t, root)
			})
		}
	}
	if n < 30 {
		t.Fatalf("only %d historical files found", n)
	}
}

func checkHistorical(t *testing.T, root any) {
	t.Helper()
	l, ok := root.(*pickle.List)
	if !ok || l.Len() != 6 {
		t.Fatalf("root is %s, want a list of 6", pickle.TypeName(root))
	}
	it := l.Items
	i8, ok := it[0].(*ndarray.Array)
	if !ok {
		t.Fatalf("item 0 is %s", pickle.TypeName(it[0]))
	}
	if v, err := i8.Int64s(); err != nil || !slices.Equal(v, []int64{0, 1, 2, 3, 4}) {
		t.Errorf("item 0: %v %v", v, err)
	}
	f8, ok := it[1].(*ndarray.Array)
	if !ok {
		t.Fatalf("item 1 is %s", pickle.TypeName(it[1]))
	}
	if v, err := f8.Float64s(); err != nil || len(v) != 5 || v[4] != 4 {
		t.Errorf("item 1: %v %v", v, err)
	}
	obj, ok := it[2].(*ndarray.Array)
	if !ok || len(obj.Objects) != 3 {
		t.Fatalf("item 2 is %s", pickle.TypeName(it[2]))
	}
	if !pickle.Equal(obj.Objects[0], int64(1)) {
		t.Errorf("object[0] = %v", obj.Objects[0])
	}
	if s, _ := text(obj.Objects[1]); s != "abc" {
		t.Errorf("object[1] = %v", obj.Objects[1])
	}
	if d, ok := obj.Objects[2].(*pickle.Dict); !ok || d.Len() != 2 {
		t.Errorf("object[2] = %v", obj.Objects[2])
	}
	b, ok := it[3].([]byte)
	if !ok || len(b) != 256 || b[255] != 255 {
		t.Errorf("item 3 is %s of %d", pickle.TypeName(it[3]), len(b))
	}
	m, ok := it[4].(*ndarray.Array)
	if !ok || m.Subclass != "matrix" || len(m.Shape) != 2 {
		t.Errorf("item 4 is %v", it[4])
	} else if v, err := m.Int64s(); err != nil || !slices.Equal(v, []int64{0, 1, 2}) {
		t.Errorf("item 4: %v %v", v, err)
	}
	if s, ok := it[5].(string); !ok || s != "C'est l'\u00e9t\u00e9 !" {
		t.Errorf("item 5 = %#v", it[5])
	}
}

// TestSidecarEscape: a 0.9 pickle whose NDArrayWrapper names a file outside
// its folder is refused.
func TestSidecarEscape(t *testing.T) {
	dir := historyDir(t)
	orig, err := os.ReadFile(filepath.Join(dir, "joblib_0.9.2_pickle_py35_np19.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"../../etc/passwd", "/etc/passwd"} {
		name := "joblib_0.9.2_pickle_py35_np19.pkl_01.npy"
		// Same length keeps the BINUNICODE length field valid.
		repl := bad + strings.Repeat("/", len(name)-len(bad))
		if len(repl) != len(name) {
			t.Fatal("bad test name")
		}
		b := bytes.Replace(orig, []byte(name), []byte(repl), 1)
		p := filepath.Join(t.TempDir(), "evil.pkl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if !errors.Is(err, ErrUnsafe) {
			t.Errorf("%s: err = %v, want ErrUnsafe", bad, err)
		}
	}
}
