package compressors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// input is one payload of the conformance suite.
type input struct {
	name string
	data []byte
}

var (
	inputsOnce sync.Once
	inputsList []input
)

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

// floatBytes returns n little-endian float64 values of a smooth signal
// with few distinct values: compressible, like many real arrays.
func floatBytes(n int) []byte {
	b := make([]byte, 8*n)
	for i := range n {
		v := math.Round(1000*math.Sin(float64(i)/100)) / 8
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b
}

func inputs() []input {
	inputsOnce.Do(func() {
		inputsList = []input{
			{"empty", nil},
			{"small", []byte("joblib compressor conformance: hello, hello, hello!\n")},
			{"random_1MiB", randomBytes(1<<20, 1)},
			{"float64_1MiB", floatBytes(1 << 17)},
		}
	})
	return inputsList
}

// writableCodecs returns the registered codecs that can write, plus "zf".
func writableCodecs(t testing.TB) []Codec {
	var cs []Codec
	for _, n := range Names() {
		c, _ := Lookup(n)
		if c.NewWriter != nil || c.Name == ZF {
			cs = append(cs, c)
		}
	}
	if len(cs) < 8 {
		t.Fatalf("only %d codecs registered: %v", len(cs), Names())
	}
	return cs
}

// compress encodes data with c at level (-1: default). The z-file needs
// the size up front.
func compress(t testing.TB, c Codec, level int, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	if c.Name == ZF {
		w, err = NewZFWriter(&buf, level, int64(len(data)))
	} else {
		w, err = c.NewWriter(&buf, level)
	}
	if err != nil {
		t.Fatalf("%s: NewWriter(%d): %v", c.Name, level, err)
	}
	// Write in uneven pieces to exercise buffering.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 100_003)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatalf("%s: Write: %v", c.Name, err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("%s: Close: %v", c.Name, err)
	}
	return buf.Bytes()
}

var encCache sync.Map // codec name + "/" + input name -> []byte

// encoded returns in compressed with c at its default level, compressing
// once per test binary.
func encoded(t testing.TB, c Codec, in input) []byte {
	key := c.Name + "/" + in.name
	if b, ok := encCache.Load(key); ok {
		return b.([]byte)
	}
	b := compress(t, c, -1, in.data)
	encCache.Store(key, b)
	return b
}

// readAll decodes with the codec's own reader.
func readAll(c Codec, enc []byte) ([]byte, error) {
	r, err := c.NewReader(bytes.NewReader(enc))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// readDetect decodes through NewReader and checks the detected codec.
func readDetect(enc []byte, opts ...ReadOption) ([]byte, string, error) {
	r, name, err := NewReader(bytes.NewReader(enc), opts...)
	if err != nil {
		return nil, name, err
	}
	defer r.Close()
	out, err := io.ReadAll(r)
	return out, name, err
}

func TestConformanceRoundTrip(t *testing.T) {
	for _, c := range writableCodecs(t) {
		for _, in := range inputs() {
			t.Run(fmt.Sprintf("codec=%s/data=%s", c.Name, in.name), func(t *testing.T) {
				t.Parallel()
				enc := encoded(t, c, in)
				if !bytes.HasPrefix(enc, c.Magic) {
					t.Fatalf("output % x does not start with the magic % x", enc[:min(len(enc), 8)], c.Magic)
				}
				got, err := readAll(c, enc)
				if err != nil {
					t.Fatalf("codec reader: %v", err)
				}
				if !bytes.Equal(got, in.data) {
					t.Fatalf("codec reader: got %d bytes, want %d", len(got), len(in.data))
				}
				// Detected, then the caller's own buffer filled by
				// io.ReadFull, then EOF.
				r, name, err := NewReader(bytes.NewReader(enc))
				if err != nil || name != c.Name {
					t.Fatalf("NewReader: codec %q, err %v", name, err)
				}
				dst := make([]byte, len(in.data))
				if _, err := io.ReadFull(r, dst); err != nil || !bytes.Equal(dst, in.data) {
					t.Fatalf("ReadFull: %v", err)
				}
				if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Fatalf("after the data: %d, %v; want 0, EOF", n, err)
				}
				if err := r.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if err := r.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
			})
		}
	}
}

func TestConformanceLevels(t *testing.T) {
	data := floatBytes(1024)
	for _, c := range writableCodecs(t) {
		t.Run("codec="+c.Name, func(t *testing.T) {
			t.Parallel()
			for level := c.Levels[0]; level <= c.Levels[1]; level++ {
				enc := compress(t, c, level, data)
				got, err := readAll(c, enc)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("level %d: %v", level, err)
				}
			}
			for _, bad := range []int{c.Levels[0] - 2, c.Levels[1] + 1} {
				if bad == -1 {
					continue
				}
				var err error
				if c.Name == ZF {
					_, err = NewZFWriter(io.Discard, bad, 0)
				} else {
					_, err = c.NewWriter(io.Discard, bad)
				}
				if !errors.Is(err, ErrLevel) {
					t.Errorf("level %d: got %v, want ErrLevel", bad, err)
				}
			}
		})
	}
}

// checkBadInput fails unless err reports damaged input the documented way.
func checkBadInput(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrFormat) {
		t.Fatalf("%s: error %v is neither ErrCorrupt nor io.ErrUnexpectedEOF", what, err)
	}
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: error %v is not a *FormatError", what, err)
	}
}

// cuts returns the truncation lengths for n encoded bytes: every length
// near both ends, and a spread in between.
func cuts(n int) []int {
	if n > 16<<10 {
		// Large streams: the header region and a few long cuts, which
		// decode most of the stream each.
		out := []int{n / 2, n - 1}
		for i := range 24 {
			out = append(out, i)
		}
		return out
	}
	seen := map[int]bool{}
	var out []int
	add := func(i int) {
		if i >= 0 && i < n && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	for i := range 40 {
		add(i)
		add(n - 1 - i)
	}
	for i := 1; i < 40; i++ {
		add(n * i / 40)
	}
	return out
}

func TestConformanceTruncated(t *testing.T) {
	for _, c := range writableCodecs(t) {
		for _, in := range inputs() {
			t.Run(fmt.Sprintf("codec=%s/data=%s", c.Name, in.name), func(t *testing.T) {
				t.Parallel()
				enc := encoded(t, c, in)
				for _, n := range cuts(len(enc)) {
					_, err := readAll(c, enc[:n])
					checkBadInput(t, fmt.Sprintf("cut at %d of %d", n, len(enc)), err)
					// Long cuts of long streams cost a whole decode
					// each: once is enough for them.
					if n >= len(c.Magic) && (n < 64 || len(enc) <= 16<<10) {
						_, _, err := readDetect(enc[:n])
						checkBadInput(t, fmt.Sprintf("NewReader, cut at %d of %d", n, len(enc)), err)
					}
				}
			})
		}
	}
}

// framingDamage lists, per codec, edits of the encoded "small" input that
// break its framing or checksums: each must be reported.
var framingDamage = map[string][]struct {
	name string
	edit func(b []byte)
}{
	Zlib: {{"header check", func(b []byte) { b[1] ^= 1 }}, {"adler32", func(b []byte) { b[len(b)-1] ^= 1 }}},
	Gzip: {{"method", func(b []byte) { b[2] = 7 }}, {"crc32", func(b []byte) { b[len(b)-8] ^= 1 }}, {"size", func(b []byte) { b[len(b)-1] ^= 1 }}},
	BZ2:  {{"block size", func(b []byte) { b[3] = '0' }}, {"block magic", func(b []byte) { b[4] ^= 1 }}, {"stream crc", func(b []byte) { b[len(b)-3] ^= 0x10 }}},
	LZMA: {{"properties", func(b []byte) { b[0] = 0xe1 }}, {"payload", func(b []byte) { b[len(b)/2] ^= 0xff }}},
	XZ:   {{"stream flags", func(b []byte) { b[7] ^= 1 }}, {"footer magic", func(b []byte) { b[len(b)-1] ^= 1 }}, {"crc64", func(b []byte) { b[len(b)-30] ^= 1 }}},
	LZ4:  {{"version", func(b []byte) { b[4] ^= 0x80 }}, {"descriptor checksum", func(b []byte) { b[6] ^= 1 }}, {"content checksum", func(b []byte) { b[len(b)-1] ^= 1 }}},
	Zstd: {{"reserved bit", func(b []byte) { b[4] |= 0x08 }}, {"checksum", func(b []byte) { b[len(b)-1] ^= 1 }}},
	ZF:   {{"length", func(b []byte) { b[4] = 'g' }}, {"zlib start", func(b []byte) { b[21] = 0x79 }}, {"adler32", func(b []byte) { b[len(b)-1] ^= 1 }}},
}

func TestConformanceCorrupt(t *testing.T) {
	data := inputs()[1].data
	for _, c := range writableCodecs(t) {
		damage, ok := framingDamage[c.Name]
		if !ok {
			t.Errorf("codec %s has no framing damage cases", c.Name)
			continue
		}
		enc := compress(t, c, -1, data)
		for _, d := range damage {
			t.Run(fmt.Sprintf("codec=%s/damage=%s", c.Name, strings.ReplaceAll(d.name, " ", "_")), func(t *testing.T) {
				b := bytes.Clone(enc)
				d.edit(b)
				got, err := readAll(c, b)
				if err == nil && bytes.Equal(got, data) {
					t.Fatalf("damage went unnoticed")
				}
				checkBadInput(t, d.name, err)
			})
		}
		t.Run(fmt.Sprintf("codec=%s/damage=trailing_garbage", c.Name), func(t *testing.T) {
			if c.Name == ZF {
				// Python's zlib.decompress ignores what follows.
				got, err := readAll(c, append(bytes.Clone(enc), "garbage!"...))
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("z-file with trailing bytes: %v", err)
				}
				return
			}
			_, err := readAll(c, append(bytes.Clone(enc), "garbage!"...))
			checkBadInput(t, "trailing garbage", err)
		})
	}
}

func TestConformanceMaxOutput(t *testing.T) {
	const bombSize = 4 << 20
	zeros := make([]byte, bombSize)
	exact := inputs()[3]
	for _, c := range writableCodecs(t) {
		t.Run("codec="+c.Name, func(t *testing.T) {
			t.Parallel()
			level := c.Levels[0]
			if c.Name == BZ2 || c.Name == LZMA || c.Name == XZ {
				level = max(level, 1)
			} else if level == 0 && c.Name != LZ4 {
				level = 1
			}
			enc := compress(t, c, level, zeros)
			if len(enc) > bombSize/100 {
				t.Fatalf("bomb of %d bytes compresses to %d", bombSize, len(enc))
			}
			for _, limit := range []int64{1, 256 << 10} {
				_, _, err := readDetect(enc, MaxOutput(limit))
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("MaxOutput(%d): got %v, want ErrTooLarge", limit, err)
				}
			}
			// The limit is exact: n bytes read, n+1 do not.
			enc = encoded(t, c, exact)
			n := int64(len(exact.data))
			if _, _, err := readDetect(enc, MaxOutput(n-1)); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("MaxOutput(size-1): got %v, want ErrTooLarge", err)
			}
			got, _, err := readDetect(enc, MaxOutput(n))
			if err != nil || !bytes.Equal(got, exact.data) {
				t.Fatalf("MaxOutput(size): %d bytes, %v", len(got), err)
			}
		})
	}
	t.Run("codec=none", func(t *testing.T) {
		_, _, err := readDetect([]byte("plain bytes"), MaxOutput(5))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
	})
	t.Run("negative", func(t *testing.T) {
		if _, _, err := NewReader(bytes.NewReader(nil), MaxOutput(-1)); err == nil {
			t.Fatal("MaxOutput(-1) accepted")
		}
	})
}

func TestDetectShortAndPlain(t *testing.T) {
	for _, in := range []string{"", "x", "\x80\x04\x95", "ZF", "BZ"} {
		c, ok, err := Detect(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		want := map[string]string{"x": Zlib, "ZF": ZF}[in]
		if got := map[bool]string{true: c.Name}[ok]; got != want {
			t.Errorf("%q: detected %q, want %q", in, got, want)
		}
	}
	// Plain data passes through.
	got, name, err := readDetect([]byte("\x80\x04\x95plain pickle"))
	if err != nil || name != "" || string(got) != "\x80\x04\x95plain pickle" {
		t.Fatalf("passthrough: %q %q %v", got, name, err)
	}
}
