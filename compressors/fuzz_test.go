package compressors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pierrec/lz4/v4"
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
	for _, enc := range lz4Seeds(f) {
		f.Add(enc)
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
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}

// lz4Seeds are small lz4 inputs that reach every part of the frame
// reader: linked blocks whose matches reach into earlier blocks, stored
// blocks, block and content checksums, a content size, skippable and
// concatenated frames.
func lz4Seeds(tb testing.TB) [][]byte {
	linked, _ := lz4LinkedOffset(6, 100, 250, lz4Opts{size: -1})
	sums, _ := lz4LinkedOffset(6, 100, 250, lz4Opts{size: 600, blockSum: true, contentSum: true})
	small := []byte("hello, hello, hello")
	stored := lz4Build(lz4Opts{bd: 5, size: -1, blockSum: true, contentSum: true}, []lz4Block{{data: small, stored: true}, {data: lz4Seq(nil, small, 0, 0)}}, slices2(small, small))
	skip := binary.LittleEndian.AppendUint32(nil, lz4SkipMagic+1)
	skip = binary.LittleEndian.AppendUint32(skip, 3)
	skip = append(skip, 1, 2, 3)
	floats := floatBytes(2048)
	return [][]byte{
		linked, sums, stored,
		slices2(linked, skip, stored),
		pierrecFrame(tb, floats, lz4.BlockSizeOption(lz4.Block64Kb), lz4.BlockChecksumOption(true), lz4.SizeOption(uint64(len(floats)))),
	}
}

// FuzzLZ4 decodes arbitrary bytes with the lz4 frame reader and with
// pierrec/lz4's, which it replaced: when both succeed they must agree.
func FuzzLZ4(f *testing.F) {
	for _, enc := range lz4Seeds(f) {
		f.Add(enc)
	}
	f.Add(compress(f, mustLookup(LZ4), -1, floatBytes(2048)))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := newLZ4Reader(bytes.NewReader(in), limits{maxOutput: fuzzLimit})
		var got []byte
		if err == nil {
			got, err = io.ReadAll(limit(r, LZ4, fuzzLimit))
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		want, werr := io.ReadAll(io.LimitReader(lz4.NewReader(bytes.NewReader(in)), fuzzLimit+1))
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("decoded %d bytes, pierrec/lz4 %d", len(got), len(want))
		}
	})
}
