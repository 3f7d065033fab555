package compressors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"testing"

	"github.com/ulikunitz/xz"
)

// xzWrite compresses data with ulikunitz/xz's writer.
func xzWrite(t testing.TB, data []byte, cfg xz.WriterConfig) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := cfg.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// xzTool compresses data with the xz command, skipping the test when
// there is none.
func xzTool(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("xz")
	if err != nil {
		t.Skip("no xz command")
	}
	cmd := exec.Command(path, append([]string{"-c"}, args...)...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz %v: %v", args, err)
	}
	return out
}

// TestXZContainer decodes the variants of the container: every check,
// several blocks, block headers that declare their sizes (xz -T writes
// them), several streams with padding, an empty stream.
func TestXZContainer(t *testing.T) {
	data := slices2(floatBytes(40000), randomBytes(100000, 7))
	cases := map[string][]byte{
		"check=none":   xzWrite(t, data, xz.WriterConfig{CheckSum: xz.None}),
		"check=crc32":  xzWrite(t, data, xz.WriterConfig{CheckSum: xz.CRC32}),
		"check=crc64":  xzWrite(t, data, xz.WriterConfig{CheckSum: xz.CRC64}),
		"check=sha256": xzWrite(t, data, xz.WriterConfig{CheckSum: xz.SHA256}),
		"blocks=many":  xzWrite(t, data, xz.WriterConfig{BlockSize: 50000}),
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := readAll(mustLookup(XZ), enc)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%d bytes, %v", len(got), err)
			}
		})
	}
	tool := map[string][]string{
		"tool/sizes":        {"-T2", "--block-size=100000"},
		"tool/check=none":   {"--check=none", "-1"},
		"tool/check=sha256": {"--check=sha256", "-1"},
		"tool/extreme":      {"-1e"},
	}
	for name, args := range tool {
		t.Run(name, func(t *testing.T) {
			enc := xzTool(t, data, args...)
			got, err := readAll(mustLookup(XZ), enc)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%d bytes, %v", len(got), err)
			}
		})
	}
	t.Run("streams", func(t *testing.T) {
		one := xzWrite(t, data[:1000], xz.WriterConfig{})
		empty := xzTool(t, nil)
		enc := slices2(one, make([]byte, 8), empty, one, make([]byte, 4))
		got, err := readAll(mustLookup(XZ), enc)
		if err != nil || !bytes.Equal(got, slices2(data[:1000], data[:1000])) {
			t.Fatalf("%d bytes, %v", len(got), err)
		}
		for _, bad := range [][]byte{make([]byte, 3), make([]byte, maxXZPadding+4), {0, 0, 0, 0, 1}} {
			_, err := readAll(mustLookup(XZ), slices2(one, bad))
			checkBadInput(t, fmt.Sprintf("%d bytes of padding", len(bad)), err)
		}
	})
}

// TestXZEveryByte: a change of any byte of an xz stream is reported, as
// the format covers every byte with a CRC, a check or a rule, except the
// packed sizes of LZMA2 chunks, which lzma.Reader2 does not hold against
// what the decoder takes: a change there that leaves the decoded bytes
// as they were may pass (liblzma reports it).
func TestXZEveryByte(t *testing.T) {
	data := slices2(floatBytes(300), []byte("x"))
	enc := slices2(xzWrite(t, data[:2400], xz.WriterConfig{}), xzWrite(t, data[2400:], xz.WriterConfig{CheckSum: xz.SHA256}))
	c := mustLookup(XZ)
	passed := 0
	for i := range enc {
		for _, flip := range []byte{0x01, 0x80} {
			b := bytes.Clone(enc)
			b[i] ^= flip
			got, err := readAll(c, b)
			if err == nil && bytes.Equal(got, data) {
				passed++
				t.Logf("byte %d ^ %#02x: unnoticed, and harmless", i, flip)
				continue
			}
			checkBadInput(t, fmt.Sprintf("byte %d ^ %#02x", i, flip), err)
		}
	}
	if passed > 4 {
		t.Errorf("%d changes unnoticed", passed)
	}
}

// FuzzXZ compares the xz reader with ulikunitz/xz's, which it replaced:
// when both succeed they must agree.
func FuzzXZ(f *testing.F) {
	f.Add(xzWrite(f, floatBytes(300), xz.WriterConfig{}))
	f.Add(xzWrite(f, floatBytes(3000), xz.WriterConfig{BlockSize: 4096, CheckSum: xz.CRC32}))
	f.Add(slices2(xzWrite(f, []byte("ab"), xz.WriterConfig{CheckSum: xz.None}), make([]byte, 4), xzWrite(f, []byte("cd"), xz.WriterConfig{CheckSum: xz.SHA256})))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := newXZReader(bytes.NewReader(in), limits{maxOutput: fuzzLimit})
		var got []byte
		if err == nil {
			got, err = io.ReadAll(limit(r, XZ, fuzzLimit))
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		xr, err := xz.NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		want, werr := io.ReadAll(io.LimitReader(xr, fuzzLimit+1))
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("decoded %d bytes, ulikunitz/xz %d", len(got), len(want))
		}
	})
}
