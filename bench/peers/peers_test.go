// Package peers compares jlstore's pickle decoder with other Go decoders
// and with CPython on the benchmark of issue #2. It is its own module so
// that the library's go.mod does not depend on the peers.
package peers

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
	"github.com/jlstore/jlstore/pickle"
	ogrek "github.com/kisielk/og-rek"
	gopickle "github.com/nlpodyssey/gopickle/pickle"
)

// million returns the benchmark input, a list of 1,000,000 small dicts
// that Python pickled at protocol 4, making it with Python when missing.
func million(b *testing.B) (string, []byte) {
	b.Helper()
	path := filepath.Join(os.TempDir(), "jlstore-bench", "million_p4.pkl")
	if _, err := os.Stat(path); err != nil {
		py := pyenv.Python(b)
		if out, err := exec.Command(py, "../pickle_cpython.py", "make", path).CombinedOutput(); err != nil {
			b.Fatalf("making %s: %v\n%s", path, err, out)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, data
}

// BenchmarkMillion decodes the same pickle with each implementation.
// impl=cpython runs bench/pickle_cpython.py, which times CPython's C
// unpickler; it reports the median of its runs as ns/op and MB/s.
func BenchmarkMillion(b *testing.B) {
	path, data := million(b)
	impls := []struct {
		name   string
		decode func([]byte) (any, error)
	}{
		{"jlstore", func(p []byte) (any, error) { return pickle.NewDecoderBytes(p).Decode() }},
		{"gopickle", func(p []byte) (any, error) {
			u := gopickle.NewUnpickler(bytes.NewReader(p))
			return u.Load()
		}},
		{"ogrek", func(p []byte) (any, error) { return ogrek.NewDecoder(bytes.NewReader(p)).Decode() }},
	}
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("impl=cpython", func(b *testing.B) {
		py := pyenv.Python(b)
		var report struct {
			Median float64 `json:"median_seconds"`
			MBps   float64 `json:"mb_per_s"`
		}
		for b.Loop() {
			out, err := exec.Command(py, "../pickle_cpython.py", "time", path, "5").Output()
			if err != nil {
				b.Fatal(err)
			}
			if err := json.Unmarshal(out, &report); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(report.Median*1e9, "ns/op")
		b.ReportMetric(report.MBps, "MB/s")
	})
}
