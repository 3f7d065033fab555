package pickle

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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
