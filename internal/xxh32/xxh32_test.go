package xxh32

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// Published values: xxHash's own tests and python-xxhash's README.
func TestVectors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
	}{
		{"", 0x02CC5D05},
		{"abc", 0x32D153FF},
		{"Nobody inspects the spammish repetition", 0xE2293B2F},
	} {
		if got := Checksum([]byte(tc.in)); got != tc.want {
			t.Errorf("Checksum(%q) = %#08x, want %#08x", tc.in, got, tc.want)
		}
	}
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

// TestAgainstLZ4Frames checks the content checksum that pierrec/lz4's
// writer (its own XXH32) puts at the end of a frame, and the header
// checksum, for every length up to 300 and some longer ones.
func TestAgainstLZ4Frames(t *testing.T) {
	lengths := []int{1000, 4095, 4096, 65536, 1 << 20}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		data := randomBytes(n, uint64(n))
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if err := w.Apply(lz4.ChecksumOption(true)); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		frame := buf.Bytes()
		want := binary.LittleEndian.Uint32(frame[len(frame)-4:])
		if got := Checksum(data); got != want {
			t.Fatalf("%d bytes: %#08x, the frame says %#08x", n, got, want)
		}
		// FLG, BD, then the header checksum (no content size here).
		if hc := byte(Checksum(frame[4:6]) >> 8); hc != frame[6] {
			t.Fatalf("header checksum %#02x, the frame says %#02x", hc, frame[6])
		}
	}
}

// TestStreaming: any split of the input gives the one-shot checksum.
func TestStreaming(t *testing.T) {
	data := randomBytes(1000, 7)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		n := r.IntN(len(data) + 1)
		want := Checksum(data[:n])
		var d Digest
		for rest := data[:n]; len(rest) > 0; {
			k := min(len(rest), r.IntN(40))
			d.Write(rest[:k])
			rest = rest[k:]
		}
		if got := d.Sum32(); got != want {
			t.Fatalf("case %d, %d bytes in pieces: %#08x, want %#08x", i, n, got, want)
		}
		// Sum32 does not change the state.
		d.Write(data[n:])
		if got, want := d.Sum32(), Checksum(data); got != want {
			t.Fatalf("case %d, after Sum32: %#08x, want %#08x", i, got, want)
		}
		d.Reset()
		if d.Sum32() != Checksum(nil) {
			t.Fatal("Reset does not start over")
		}
	}
}

func TestChecksumAllocs(t *testing.T) {
	data := randomBytes(100, 1)
	if a := testing.AllocsPerRun(100, func() { Checksum(data) }); a != 0 {
		t.Fatalf("%v allocations per Checksum", a)
	}
}

func FuzzDigest(f *testing.F) {
	f.Add([]byte("abc"), 1)
	f.Add(randomBytes(100, 3), 17)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		if split < 0 || split > len(b) {
			split = len(b) / 2
		}
		var d Digest
		d.Write(b[:split])
		d.Write(b[split:])
		if d.Sum32() != Checksum(b) {
			t.Fatal("split differs from one shot")
		}
	})
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{64, 64 << 10} {
		data := randomBytes(n, 2)
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				Checksum(data)
			}
		})
	}
}
