package store

import (
	"bytes"
	"compress/flate"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jlstore/jlstore/pickle"
)

// zeroReader yields n zero bytes.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), z.n))
	clear(p[:k])
	z.n -= int64(k)
	return k, nil
}

// countReader counts what is read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

const junkSize = 1 << 30

// TestJunkAfterStop appends a gigabyte of zeros to a compressed joblib
// stream of every codec, without storing it: Decode reads the object and
// little more (Python's joblib reads on through gzip's zero padding and
// grows without bound), and Load of a sparse file with the same gigabyte
// returns as fast as Load of the original.
func TestJunkAfterStop(t *testing.T) {
	honest := honestJoblib(honestF8)
	want, err := Decode(bytes.NewReader(honest))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, codec := range []string{"zlib", "gzip", "bz2", "lzma", "xz", "lz4", "zstd"} {
		t.Run("codec="+codec, func(t *testing.T) {
			data := compress(codec, honest)
			in := &countReader{r: io.MultiReader(bytes.NewReader(data), &zeroReader{junkSize})}
			start := time.Now()
			v, err := Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			if !pickle.Equal(v, want) {
				t.Errorf("Decode gave %v", v)
			}
			if in.n > int64(len(data))+2<<20 {
				t.Errorf("Decode read %d bytes of a %d-byte stream and %d of junk", in.n, len(data), junkSize)
			}
			t.Logf("Decode read %d bytes (stream %d) in %v", in.n, len(data), time.Since(start).Round(time.Millisecond))

			// The same as a sparse file on disk.
			p := filepath.Join(dir, "junk."+codec)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, int64(len(data))+junkSize); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []string{"load", "open"} {
				r := guarded(t, p, func() (any, []ArrayInfo, error) { return loadAs(mode, p) })
				if r.err != nil {
					t.Fatalf("%s: %v", mode, r.err)
				}
				if !pickle.Equal(r.root, want) {
					t.Errorf("%s gave %v", mode, r.root)
				}
				if r.elapsed > 5*time.Second || r.alloc > 64<<20 {
					t.Errorf("%s: %v and %d MiB for a %d-byte stream before a gigabyte of zeros", mode, r.elapsed, r.alloc>>20, len(data))
				}
			}
		})
	}
}

// zerosAfterStop is a zlib stream that holds the pickle and then 1 GiB
// of zeros, about 1 MiB compressed: one deflate chunk of 1 MiB of zeros,
// which refers only to itself, repeated 1024 times after a sync flush.
func zerosAfterStop(t *testing.T, pkl []byte) []byte {
	var head bytes.Buffer
	head.Write([]byte{0x78, 0x9c})
	fw, err := flate.NewWriter(&head, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(pkl)
	fw.Flush()
	var chunk bytes.Buffer
	cw, _ := flate.NewWriter(&chunk, flate.BestCompression)
	cw.Write(make([]byte, 1<<20))
	cw.Flush()
	return append(head.Bytes(), bytes.Repeat(chunk.Bytes(), junkSize>>20)...)
}

// TestZerosInsideStreamAfterStop: the gigabyte of zeros is inside the
// compressed stream, after the pickle's STOP. Load and Open stop at STOP
// and Decode decompresses at most 1 MiB past it to find the stream's end,
// so none of them decompresses the gigabyte.
func TestZerosInsideStreamAfterStop(t *testing.T) {
	honest := honestJoblib(honestF8)
	want, err := Decode(bytes.NewReader(honest))
	if err != nil {
		t.Fatal(err)
	}
	data := zerosAfterStop(t, honest)
	in := &countReader{r: bytes.NewReader(data)}
	start := time.Now()
	v, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if !pickle.Equal(v, want) {
		t.Errorf("Decode gave %v", v)
	}
	// 1 MiB of zeros is about 1 KiB of deflate.
	if in.n > 64<<10 {
		t.Errorf("Decode read %d of %d compressed bytes", in.n, len(data))
	}
	t.Logf("Decode read %d of %d compressed bytes (1 GiB of zeros) in %v", in.n, len(data), time.Since(start).Round(time.Millisecond))
	p := filepath.Join(t.TempDir(), "zeros.z")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"load", "open"} {
		r := guarded(t, p, func() (any, []ArrayInfo, error) { return loadAs(mode, p) })
		if r.err != nil {
			t.Fatalf("%s: %v", mode, r.err)
		}
		if r.elapsed > 5*time.Second || r.alloc > 64<<20 {
			t.Errorf("%s: %v and %d MiB", mode, r.elapsed, r.alloc>>20)
		}
	}
	// Proof that the stream does hold a gigabyte: decompress it all
	// (seconds under the race detector, so not there).
	if testing.Short() || raceEnabled {
		return
	}
	n, err := io.Copy(io.Discard, flate.NewReader(bytes.NewReader(data[2:])))
	if n != int64(len(honest))+junkSize {
		t.Errorf("the stream inflates to %d bytes (%v), want %d", n, err, len(honest)+junkSize)
	}
}
