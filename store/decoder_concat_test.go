package store

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/jlstore/jlstore/pickle"
)

// concatValue is the i-th object of the concatenation tests.
func concatValue(i int) map[string]any {
	return map[string]any{"i": int64(i), "x": []float64{1, 2, 3}}
}

// checkConcatValue checks that v is concatValue(i) as Decode gives it
// for the object alone, uncompressed.
func checkConcatValue(t *testing.T, v any, i int) {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, concatValue(i)); err != nil {
		t.Fatal(err)
	}
	want, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !pickle.Equal(v, want) {
		t.Fatalf("object %d is %s %v, want %v", i, pickle.TypeName(v), v, want)
	}
}

// decodeAll decodes n objects from r, then expects io.EOF.
func decodeAll(t *testing.T, r io.Reader, n int) {
	t.Helper()
	dec := NewDecoder(r)
	for i := range n {
		v, err := dec.Decode()
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		checkConcatValue(t, v, i)
	}
	if v, err := dec.Decode(); err != io.EOF {
		t.Fatalf("after %d objects: %v, %v; want io.EOF", n, pickle.TypeName(v), err)
	}
}

// TestDecodeSameCodecBackToBack: objects compressed with the same codec
// one after another in one stream decode one after another. The readers
// take a gzip member, lz4 frame, bz2 or xz stream or zstd frame that
// follows as the same stream's continuation; Decode finishes each
// object's member and leaves the next one alone.
func TestDecodeSameCodecBackToBack(t *testing.T) {
	for _, c := range []string{"zlib", "gzip", "lz4", "bz2", "xz", "lzma", "zstd"} {
		t.Run("codec="+c, func(t *testing.T) {
			var buf bytes.Buffer
			for i := range 3 {
				if err := Encode(&buf, concatValue(i), Compress(c, -1)); err != nil {
					t.Fatal(err)
				}
			}
			data := buf.Bytes()
			decodeAll(t, bytes.NewReader(data), 3)
			// Through a reader that hands out one byte at a time.
			decodeAll(t, &oneByteReader{data}, 3)
		})
	}
}

// oneByteReader returns one byte per Read.
type oneByteReader struct{ b []byte }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}

// TestDecodeMixedCodecs: gzip, then lz4, then uncompressed, then zlib,
// then gzip again, in one stream.
func TestDecodeMixedCodecs(t *testing.T) {
	codecs := []string{"gzip", "lz4", "", "zlib", "gzip", "", "", "xz", "bz2", "zstd", "lzma", "lz4"}
	var buf bytes.Buffer
	for i, c := range codecs {
		var opts []DumpOption
		if c != "" {
			opts = append(opts, Compress(c, -1))
		}
		if err := Encode(&buf, concatValue(i), opts...); err != nil {
			t.Fatal(err)
		}
	}
	decodeAll(t, bytes.NewReader(buf.Bytes()), len(codecs))
	decodeAll(t, &oneByteReader{buf.Bytes()}, len(codecs))
}

// gzipMembers splits b into gzip members at the given offsets.
func gzipMembers(t *testing.T, b []byte, cuts ...int) []byte {
	var out bytes.Buffer
	prev := 0
	for _, c := range append(cuts, len(b)) {
		zw := gzip.NewWriter(&out)
		zw.Write(b[prev:c])
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		prev = c
	}
	return out.Bytes()
}

// TestDecodePickleAcrossMembers: a pickle split over gzip members (as
// bgzip writes them) decodes as one object, and the object after it
// still decodes.
func TestDecodePickleAcrossMembers(t *testing.T) {
	var plain bytes.Buffer
	if err := Encode(&plain, concatValue(0)); err != nil {
		t.Fatal(err)
	}
	pkl := plain.Bytes()
	var next bytes.Buffer
	if err := Encode(&next, concatValue(1), Compress("gzip", -1)); err != nil {
		t.Fatal(err)
	}
	for _, cuts := range [][]int{{len(pkl) / 2}, {1, len(pkl) - 1}, {len(pkl) - 1}, {3, 4, 5, 20}} {
		t.Run(fmt.Sprint("cuts=", cuts), func(t *testing.T) {
			data := append(gzipMembers(t, pkl, cuts...), next.Bytes()...)
			decodeAll(t, bytes.NewReader(data), 2)
			decodeAll(t, &oneByteReader{data}, 2)
		})
	}
	// An empty member after the pickle's last member belongs to the next
	// object, which it fails: an empty pickle.
	data := append(gzipMembers(t, pkl, len(pkl)/2), gzipMembers(t, nil)...)
	dec := NewDecoder(bytes.NewReader(data))
	v, err := dec.Decode()
	if err != nil {
		t.Fatal(err)
	}
	checkConcatValue(t, v, 0)
	if _, err := dec.Decode(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("an empty member as the next object: %v", err)
	}
}

// TestDecodeTrailerChecked: Decode reads the trailer of an object's
// member, so a damaged checksum after the pickle fails that Decode.
func TestDecodeTrailerChecked(t *testing.T) {
	for _, c := range []string{"zlib", "gzip", "lz4", "bz2", "xz", "zstd"} {
		t.Run("codec="+c, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Encode(&buf, concatValue(0), Compress(c, -1)); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			switch c {
			case "gzip":
				b[len(b)-8] ^= 1 // CRC32
			case "xz":
				b[len(b)-13] ^= 1 // in the index's CRC32
			case "bz2":
				b[len(b)-3] ^= 0x10 // the stream's CRC
			default:
				b[len(b)-1] ^= 1
			}
			_, err := Decode(bytes.NewReader(b))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("a damaged trailer: %v, want ErrCorrupt", err)
			}
		})
	}
}

// hugeDictStreams returns small xz and lzma joblib streams whose headers
// declare a 4 GiB and a 1.5 GiB dictionary.
func hugeDictStreams(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	for _, c := range []string{"xz", "lzma"} {
		var buf bytes.Buffer
		if err := Encode(&buf, concatValue(0), Compress(c, -1)); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		switch c {
		case "xz":
			// Stream header (12 bytes), then the block header: size
			// byte, flags, filter 0x21, properties size 1, the
			// dictionary code, padding, CRC32.
			bh := b[12 : 12+(int(b[12])+1)*4]
			if bh[2] != 0x21 || bh[3] != 1 {
				t.Fatalf("xz block header % x", bh)
			}
			bh[4] = 40 // 4 GiB - 1
			binary.LittleEndian.PutUint32(bh[len(bh)-4:], crc32.ChecksumIEEE(bh[:len(bh)-4]))
		case "lzma":
			binary.LittleEndian.PutUint32(b[1:5], 3<<29) // 1.5 GiB
		}
		out[c] = b
	}
	return out
}

// TestDecodeHugeDictionary: Decode of a stream whose size it cannot know
// caps the dictionary a header declares (at 256 MiB); of a file, at what
// MaxRatio allows for the file's size, as Load does.
func TestDecodeHugeDictionary(t *testing.T) {
	dir := t.TempDir()
	for c, data := range hugeDictStreams(t) {
		t.Run("codec="+c, func(t *testing.T) {
			var v any
			var err error
			alloc := allocDuring(func() { v, err = Decode(bytes.NewReader(data)) })
			if err != nil {
				t.Fatal(err)
			}
			checkConcatValue(t, v, 0)
			if alloc > 600<<20 {
				t.Errorf("Decode of a %d-byte stream allocated %d MiB", len(data), alloc>>20)
			}
			t.Logf("stream: %d MiB allocated", alloc>>20)

			path := filepath.Join(dir, "huge."+c)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			fh, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			alloc = allocDuring(func() { v, err = Decode(fh) })
			if err != nil {
				t.Fatal(err)
			}
			checkConcatValue(t, v, 0)
			if alloc > 16<<20 {
				t.Errorf("Decode of a %d-byte file allocated %d MiB", len(data), alloc>>20)
			}
			t.Logf("file: %d KiB allocated", alloc>>10)
		})
	}
}

// allocDuring returns the bytes f allocates.
func allocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
