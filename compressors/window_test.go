package compressors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	"github.com/ulikunitz/xz"
)

// hugeDict returns a small xz stream and a small lzma stream of data
// whose headers declare a dictionary of 4 GiB - 1 and 1.5 GiB.
func hugeDict(t testing.TB, data []byte) (xzStream, lzmaStream []byte) {
	xzStream = xzWrite(t, data, xz.WriterConfig{})
	// The block header: size byte, flags, filter ID 0x21, properties
	// size 1, the dictionary code, padding, CRC32.
	bh := xzStream[xzHeaderLen : xzHeaderLen+(int(xzStream[xzHeaderLen])+1)*4]
	if bh[2] != xzLZMA2 || bh[3] != 1 {
		t.Fatalf("block header % x", bh)
	}
	bh[4] = xzMaxDictExp
	binary.LittleEndian.PutUint32(bh[len(bh)-4:], crc32.ChecksumIEEE(bh[:len(bh)-4]))
	lzmaStream = compress(t, mustLookup(LZMA), -1, data)
	binary.LittleEndian.PutUint32(lzmaStream[1:5], 3<<29) // 1.5 GiB
	return xzStream, lzmaStream
}

// decodeAlloc decodes enc with opts and returns the result and the bytes
// allocated meanwhile.
func decodeAlloc(enc []byte, opts ...ReadOption) ([]byte, uint64, error) {
	var got []byte
	var err error
	alloc := allocated(func() {
		var r io.ReadCloser
		r, _, err = NewReader(bytes.NewReader(enc), opts...)
		if err == nil {
			got, err = io.ReadAll(r)
			r.Close()
		}
	})
	return got, alloc, err
}

// TestMaxWindow: a header's huge dictionary is cut to MaxWindow, however
// large MaxOutput is; a stream that needs more than the cap fails as
// corrupt, and a zstd frame whose window is over it as too large.
func TestMaxWindow(t *testing.T) {
	data := floatBytes(1000)
	xzEnc, lzmaEnc := hugeDict(t, data)
	for name, enc := range map[string][]byte{"xz": xzEnc, "lzma": lzmaEnc} {
		t.Run("codec="+name, func(t *testing.T) {
			got, alloc, err := decodeAlloc(enc, MaxOutput(1<<40), MaxWindow(1<<20))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%d bytes, %v", len(got), err)
			}
			if alloc > 8<<20 {
				t.Errorf("allocated %d MiB with MaxWindow(1 MiB)", alloc>>20)
			}
			t.Logf("allocated %d KiB", alloc>>10)
		})
	}
	// Matches 256 KiB back.
	far := randomBytes(256<<10, 3)
	far = append(far, far...)
	for _, name := range []string{XZ, LZMA} {
		t.Run("codec="+name+"/far", func(t *testing.T) {
			enc := compress(t, mustLookup(name), 6, far)
			if _, _, err := decodeAlloc(enc, MaxWindow(512<<10)); err != nil {
				t.Fatalf("MaxWindow(512 KiB): %v", err)
			}
			_, _, err := decodeAlloc(enc, MaxWindow(128<<10))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("MaxWindow(128 KiB): %v, want ErrCorrupt", err)
			}
		})
	}
	t.Run("codec=zstd", func(t *testing.T) {
		enc := compress(t, mustLookup(Zstd), -1, far)
		if got, _, err := decodeAlloc(enc, MaxWindow(zstdMaxWindow)); err != nil || !bytes.Equal(got, far) {
			t.Fatalf("MaxWindow(128 MiB): %v", err)
		}
		_, _, err := decodeAlloc(enc, MaxWindow(16<<10))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("MaxWindow(16 KiB): %v, want ErrTooLarge", err)
		}
	})
	if _, _, err := NewReader(bytes.NewReader(nil), MaxWindow(-1)); err == nil {
		t.Fatal("MaxWindow(-1) accepted")
	}
}

func ExampleMaxWindow() {
	var buf bytes.Buffer
	w, _ := mustLookup(XZ).NewWriter(&buf, 6) // an 8 MiB dictionary
	w.Write([]byte("a stream of unknown size, from a pipe"))
	w.Close()
	r, codec, err := NewReader(&buf, MaxOutput(1<<40), MaxWindow(256<<20))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	fmt.Println(codec, string(b), err)
	// Output: xz a stream of unknown size, from a pipe <nil>
}
