package store

import (
	"bytes"
	"io"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// fuzzDir is this fuzz worker's scratch folder: FuzzLoad writes each input
// there to load it as a file.
var fuzzDir = sync.OnceValue(func() string {
	d, err := os.MkdirTemp("", "jlstore-fuzz-")
	if err != nil {
		panic(err)
	}
	return d
})

// FuzzLoad loads arbitrary bytes as a file with Load and Open, and as a
// stream with Decode, in every codec (the seeds cover them all, the
// hostile corpus included). Every error must be clean, and the three
// ways in must agree: when Load succeeds, Open and Decode give the same
// value.
func FuzzLoad(f *testing.F) {
	for _, name := range joblibFixtures(f) {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 64<<10 {
			f.Add(b)
		}
	}
	for _, h := range corpus(f) {
		if h.sidecar || len(h.data) > 64<<10 || h.data == nil {
			continue
		}
		// Inputs that take a second each are TestHostileCorpus's: the
		// compressed deep ones (a million levels) and the 4 GiB xz
		// dictionary (of which Decode allocates 256 MiB).
		if strings.HasPrefix(h.name, "deep/") && strings.HasSuffix(h.name, ".z") || h.name == "codec/xz_dict_4g.xz" {
			continue
		}
		f.Add(h.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(fuzzDir(), "input.pkl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		keep := WithByteOrder(ByteOrderKeep)
		loaded, errL := Load(path, keep)
		clean(t, "Load", errL, false)
		var opened any
		fh, errO := Open(path, keep)
		clean(t, "Open", errO, false)
		if errO == nil {
			opened = fh.Root()
			touchArrays(fh.Arrays())
			defer fh.Close()
		}
		decoded, errD := Decode(struct{ io.Reader }{bytes.NewReader(data)}, keep)
		clean(t, "Decode", errD, len(data) == 0)
		// StreamArrays: the same outcome, with every payload read through.
		_, errS := Load(path, keep, StreamArrays(func(a *ndarray.Array, r io.Reader) error {
			n, err := io.Copy(io.Discard, r)
			if err == nil && n != int64(a.NBytes()) {
				t.Fatalf("StreamArrays: %d bytes for a %v %v array", n, a.DType, a.Shape)
			}
			return err
		}))
		clean(t, "Load(StreamArrays)", errS, false)
		if errL == nil && errS != nil {
			t.Fatalf("Load succeeded, Load with StreamArrays failed: %v", errS)
		}
		if errL == nil {
			if errO != nil {
				t.Fatalf("Load succeeded, Open failed: %v", errO)
			}
			if !sameValue(loaded, opened) {
				t.Fatalf("Load and Open give different %s values", pickle.TypeName(loaded))
			}
			if errD == nil && !sameValue(loaded, decoded) {
				t.Fatalf("Load and Decode give different %s values", pickle.TypeName(loaded))
			}
		}
	})
}

// clean fails the test unless err is nil or a clean error.
func clean(t *testing.T, what string, err error, empty bool) {
	t.Helper()
	if empty && err == io.EOF {
		return
	}
	if k := kindOf(err); strings.HasPrefix(k, "unclean") {
		t.Fatalf("%s: %s", what, k)
	}
}

// sameValue is pickle.Equal, except that graphs it cannot compare are
// taken as equal: those holding a NaN float (which Python's == never finds
// equal to itself) or nested deeper than Equal follows.
func sameValue(a, b any) bool {
	return pickle.Equal(a, b) || incomparable(a, map[any]bool{}, 0)
}

func incomparable(v any, seen map[any]bool, depth int) bool {
	if depth > 10000 {
		return true
	}
	var items []any
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case complex128:
		return cmplx.IsNaN(x)
	case *pickle.List:
		if seen[x] {
			return false
		}
		seen[x] = true
		items = x.Items
	case pickle.Tuple:
		items = x
	case *pickle.Dict:
		if seen[x] {
			return false
		}
		seen[x] = true
		items = append(append(items, x.Keys()...), x.Values()...)
	case *pickle.Set:
		items = x.Items()
	case *pickle.Object:
		if seen[x] {
			return false
		}
		seen[x] = true
		items = append(append(items, x.Args...), x.State)
		items = append(items, x.ListItems...)
		for _, it := range x.DictItems {
			items = append(items, it.Key, it.Value)
		}
	case *ndarray.Array:
		items = x.Objects
	case *ndarray.Scalar:
		return true // may hold a NaN; not worth decoding here
	}
	for _, it := range items {
		if incomparable(it, seen, depth+1) {
			return true
		}
	}
	return false
}
