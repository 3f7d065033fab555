package compressors

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimit is the MaxOutput of the fuzz target.
const fuzzLimit = 1 << 20

// FuzzReader detects and decodes arbitrary bytes with a small MaxOutput.
// It must never panic, never return more than the limit, and report bad
// input only as the documented error kinds.
func FuzzReader(f *testing.F) {
	small := inputs()[1].data
	floats := floatBytes(2048)
	for _, name := range Names() {
		c, _ := Lookup(name)
		for _, data := range [][]byte{nil, small, floats} {
			enc := compress(f, c, -1, data)
			f.Add(enc)
			f.Add(enc[:len(enc)/2])
		}
	}
	if entries, err := os.ReadDir(historicalDir); err == nil {
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(historicalDir, e.Name())); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, _, err := NewReader(bytes.NewReader(in), MaxOutput(fuzzLimit))
		if err == nil {
			var n int64
			n, err = io.Copy(io.Discard, r)
			if n > fuzzLimit {
				t.Fatalf("decoded %d bytes past the limit", n)
			}
			if cerr := r.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrFormat) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}
