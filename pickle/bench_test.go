package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
)

// millionPath returns the input of the speed benchmark of issue #2: a list
// of 1,000,000 small dicts that Python pickled at protocol 4. Python
// writes it once into $TMPDIR/jlstore-bench (it is not committed).
func millionPath(b *testing.B) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), "jlstore-bench", "million_p4.pkl")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	py := pyenv.Python(b)
	out, err := exec.Command(py, "../bench/pickle_cpython.py", "make", path).CombinedOutput()
	if err != nil {
		b.Fatalf("making %s: %v\n%s", path, err, out)
	}
	return path
}

// BenchmarkDecodeMillion decodes the million-dict pickle from memory.
// bench/pickle_cpython.py times CPython's C unpickler on the same file, and
// the bench/peers module times other Go decoders.
func BenchmarkDecodeMillion(b *testing.B) {
	data, err := os.ReadFile(millionPath(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, input := range []string{"bytes", "reader"} {
		b.Run("input="+input, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var d *Decoder
				if input == "bytes" {
					d = NewDecoderBytes(data)
				} else {
					d = NewDecoder(bytes.NewReader(data))
				}
				v, err := d.Decode()
				if err != nil {
					b.Fatal(err)
				}
				if v.(*List).Len() != 1_000_000 {
					b.Fatal("wrong length")
				}
			}
		})
	}
}

// BenchmarkEncodeMillion encodes the decoded million-dict list at
// protocol 4.
func BenchmarkEncodeMillion(b *testing.B) {
	data, err := os.ReadFile(millionPath(b))
	if err != nil {
		b.Fatal(err)
	}
	benchEncode(b, data)
}

// benchEncode decodes data once, then times encoding the value again.
func benchEncode(b *testing.B, data []byte) {
	v, err := NewDecoderBytes(data).Decode()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := NewEncoder(&buf).Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}

// The inputs of BenchmarkDecode and BenchmarkEncode, made by the encoder
// once per process.
var (
	dictsPickle = sync.OnceValue(func() []byte { return mustEncode(dictsValue(1_000_000)) })
	graphPickle = sync.OnceValue(func() []byte { return mustEncode(graphValue(10_000)) })
)

func mustEncode(v any) []byte {
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// dictsValue is the value of bench/pickle_cpython.py with n dicts: a list
// of small dicts of an int, a float and two short strings.
func dictsValue(n int) *List {
	kinds := []string{"red", "green", "blue"}
	items := make([]any, n)
	for i := range items {
		d := NewDict()
		d.Set("id", int64(i))
		d.Set("value", float64(i)*0.25)
		d.Set("name", fmt.Sprintf("n%d", i))
		d.Set("kind", kinds[i%3])
		items[i] = d
	}
	return NewList(items...)
}

// graphValue is the graph-heavy case of bench/jlbench.py as a plain
// pickle, with n arrays of 100 float64 (as inert numpy objects: the
// _reconstruct call and the BUILD state Python writes), n strings and a
// dict of n short lists.
func graphValue(n int) *Dict {
	dtype := &Object{Class: Global{"numpy", "dtype"}, Args: Tuple{"f8", false, true},
		State: Tuple{int64(3), "<", nil, nil, nil, int64(-1), int64(-1), int64(0)}, HasState: true}
	rng := rand.New(rand.NewPCG(7, 7))
	arrays := make([]any, n)
	for i := range arrays {
		data := make([]byte, 800)
		for j := 0; j < len(data); j += 8 {
			binary.LittleEndian.PutUint64(data[j:], math.Float64bits(rng.NormFloat64()))
		}
		arrays[i] = &Object{
			Class: Global{"numpy.core.multiarray", "_reconstruct"},
			Args:  Tuple{Global{"numpy", "ndarray"}, Tuple{int64(0)}, []byte("b")},
			State: Tuple{int64(1), Tuple{int64(100)}, dtype, false, data}, HasState: true,
		}
	}
	names := make([]any, n)
	meta := NewDict()
	for i := range n {
		names[i] = fmt.Sprintf("feature_%05d", i)
		meta.Set(fmt.Sprintf("row_%05d", i), NewList(int64(i), float64(i)*0.5, fmt.Sprintf("tag%d", i%17)))
	}
	params := NewDict()
	params.Set("alpha", 0.1)
	params.Set("n_iter", int64(100))
	params.Set("solver", "lbfgs")
	v := NewDict()
	v.Set("arrays", NewList(arrays...))
	v.Set("names", NewList(names...))
	v.Set("meta", meta)
	v.Set("params", params)
	return v
}

// BenchmarkDecode decodes pickles that the encoder made, from memory:
// dicts is the million-dict list of BenchmarkDecodeMillion, graph the
// graph-heavy case of the benchmark suite (its arrays inert objects).
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct {
		name string
		data func() []byte
	}{{"dicts", dictsPickle}, {"graph", graphPickle}} {
		b.Run("case="+c.name, func(b *testing.B) {
			data := c.data()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewDecoderBytes(data).Decode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode encodes the values of BenchmarkDecode.
func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct {
		name string
		data func() []byte
	}{{"dicts", dictsPickle}, {"graph", graphPickle}} {
		b.Run("case="+c.name, func(b *testing.B) { benchEncode(b, c.data()) })
	}
}
