package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/jlstore/jlstore/ndarray"
)

// manifest is testdata/joblib/manifest.json, written by testdata/gen.py.
type manifest struct {
	Files []struct {
		Name     string  `json:"name"`
		File     string  `json:"file"`
		Protocol int     `json:"protocol"`
		Compress *string `json:"compress"`
		RootType string  `json:"root_type"`
		Objects  []struct {
			RootType string `json:"root_type"`
		} `json:"objects"`
		Arrays []manifestArray `json:"arrays"`
	} `json:"files"`
}

type manifestArray struct {
	Object   int    `json:"object"`
	Path     string `json:"path"`
	Subclass string `json:"subclass"`
	DType    string `json:"dtype"`
	Shape    []int  `json:"shape"`
	Order    string `json:"order"`
	NBytes   int64  `json:"nbytes"`
	SHA256   string `json:"sha256"`
	Offset   *int64 `json:"offset"`
}

func readManifest(t testing.TB) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "joblib", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sha(t testing.TB, a *ndarray.Array) string {
	t.Helper()
	if a.DType.HasObject() {
		return ""
	}
	b, err := a.ContiguousBytes()
	if err != nil {
		t.Fatalf("ContiguousBytes: %v", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// checkArrays compares what Arrays lists with the manifest: path, dtype,
// shape, order, bytes and offset.
func checkArrays(t *testing.T, got []ArrayInfo, want []manifestArray, compressed, checkOffsets bool) {
	t.Helper()
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("got %s %s %v", g.Path, g.Array.DType, g.Array.Shape)
		}
		t.Fatalf("%d arrays, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Path != w.Path {
			t.Errorf("array %d: path %s, want %s", i, g.Path, w.Path)
		}
		if s := g.Array.DType.String(); s != w.DType {
			t.Errorf("%s: dtype %s, want %s", w.Path, s, w.DType)
		}
		if !slices.Equal(g.Array.Shape, w.Shape) {
			t.Errorf("%s: shape %v, want %v", w.Path, g.Array.Shape, w.Shape)
		}
		if w.SHA256 != "" && w.DType != "|O" {
			if h := sha(t, g.Array); h != w.SHA256 {
				t.Errorf("%s: sha256 %s, want %s", w.Path, h, w.SHA256)
			}
			if string(g.Array.Order) != w.Order && g.Array.Size() > 1 {
				t.Errorf("%s: order %c, want %s", w.Path, g.Array.Order, w.Order)
			}
		}
		if checkOffsets && w.Offset != nil && g.Offset != *w.Offset {
			t.Errorf("%s: offset %d, want %d", w.Path, g.Offset, *w.Offset)
		}
	}
}

func TestFixturesOpenAndLoad(t *testing.T) {
	m := readManifest(t)
	for _, mf := range m.Files {
		if len(mf.Objects) > 1 {
			continue // several objects in one file: see TestDecodeConcatenated
		}
		path := filepath.Join("..", "testdata", "joblib", mf.File)
		t.Run(mf.File+"/mode=open", func(t *testing.T) {
			f, err := Open(path, WithByteOrder(ByteOrderKeep))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			compressed := mf.Compress != nil
			if f.Mapped() == compressed {
				t.Errorf("Mapped() = %v for compress=%v", f.Mapped(), mf.Compress)
			}
			checkArrays(t, f.Arrays(), mf.Arrays, compressed, true)
			for _, a := range f.Arrays() {
				if !compressed && a.Offset >= 0 && a.Offset%16 == 0 && a.Array.DType.Alignment() <= 16 && !a.ZeroCopy && a.NBytes > 0 {
					t.Errorf("%s: aligned array in an uncompressed file is not zero-copy: %s", a.Path, a.Note)
				}
			}
		})
		t.Run(mf.File+"/mode=load", func(t *testing.T) {
			f, err := loadFileForTest(path)
			if err != nil {
				t.Fatal(err)
			}
			checkArrays(t, f.Arrays(), mf.Arrays, true, true)
		})
	}
}

func loadFileForTest(path string) (*File, error) {
	cfg, err := newLoadConfig([]LoadOption{WithByteOrder(ByteOrderKeep)})
	if err != nil {
		return nil, err
	}
	return loadFile(path, cfg, false)
}
