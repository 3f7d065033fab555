package compressors

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/klauspost/compress/zlib"

	"github.com/jlstore/jlstore/internal/pyenv"
)

func TestRegistry(t *testing.T) {
	want := []string{Zlib, Gzip, BZ2, LZMA, XZ, LZ4, Zstd, ZF}
	if got := Names(); !slices.Equal(got[:len(want)], want) {
		t.Fatalf("Names() = %v, want %v first", got, want)
	}
	gz, ok := Lookup(Gzip)
	if !ok || gz.DefaultLevel != 3 || gz.Ext != ".gz" || !bytes.Equal(gz.Magic, []byte{0x1f, 0x8b}) {
		t.Fatalf("Lookup(gzip) = %+v, %v", gz, ok)
	}
	if err := Register(gz, false); !errors.Is(err, ErrExists) {
		t.Fatalf("registering gzip twice: %v, want ErrExists", err)
	}
	if err := Register(Codec{Name: "x"}, false); err == nil {
		t.Fatal("codec without NewReader accepted")
	}
	if err := Register(Codec{Name: "x", NewReader: gz.NewReader, NewWriter: gz.NewWriter, DefaultLevel: 11, Levels: [2]int{1, 9}}, false); err == nil {
		t.Fatal("default level out of range accepted")
	}
	if err := Register(Codec{Name: "x", Magic: make([]byte, 17), NewReader: gz.NewReader}, false); err == nil {
		t.Fatal("17-byte magic accepted")
	}

	// A codec of our own: gzip under another name and magic-less, with
	// its own extension; then replaced with force.
	mine := Codec{Name: "test-gz", Ext: ".tgzx", DefaultLevel: 1, Levels: [2]int{1, 9}, NewReader: gz.NewReader, NewWriter: gz.NewWriter}
	if err := Register(mine, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unregister(mine.Name) })
	if c, ok := ByExtension("data.tgzx"); !ok || c.Name != "test-gz" {
		t.Fatalf("ByExtension(.tgzx) = %q, %v", c.Name, ok)
	}
	mine.DefaultLevel = 2
	if err := Register(mine, true); err != nil {
		t.Fatalf("force: %v", err)
	}
	if c, _ := Lookup("test-gz"); c.DefaultLevel != 2 {
		t.Fatal("force did not replace the codec")
	}
	if n := len(Names()); n != len(want)+1 {
		t.Fatalf("Names() has %d entries after a forced replace, want %d", n, len(want)+1)
	}
	// Without a magic it is never detected: gzip data still reads as gzip.
	c, ok, _ := Detect(bufio.NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 8})))
	if !ok || c.Name != Gzip {
		t.Fatalf("Detect = %q", c.Name)
	}
}

func TestByExtension(t *testing.T) {
	for path, want := range map[string]string{
		"a.z": Zlib, "a.gz": Gzip, "a.pkl.gz": Gzip, "a.bz2": BZ2, "a.lzma": LZMA, "a.xz": XZ,
		"a.lz4": LZ4, "a.zst": Zstd, "a.pkl": "", "a.GZ": "", "a.npy.z": Zlib, "": "", "z": "",
	} {
		c, ok := ByExtension(path)
		if got := map[bool]string{true: c.Name}[ok]; got != want {
			t.Errorf("ByExtension(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name      string
		level     int
		path      string
		wantCodec string
		wantLevel int
		wantErr   error
	}{
		{"", -1, "a.pkl", Zlib, 3, nil},   // compress=True
		{"", 5, "a.pkl", Zlib, 5, nil},    // compress=5
		{"", 0, "a.pkl", "", 0, nil},      // compress=0 / False
		{"", 0, "a.pkl.gz", Gzip, 3, nil}, // the extension alone compresses
		{"", -1, "a.bz2", BZ2, 9, nil},
		{"", 2, "a.lz4", LZ4, 2, nil},
		{"", 7, "a.xz", XZ, 7, nil},
		{"", 0, "a.zst", Zstd, 3, nil},
		{"", -1, "a.Z", Zlib, 3, nil},
		{"gzip", -1, "a.pkl", Gzip, 3, nil}, // compress="gzip"
		{"gzip", -1, "a.bz2", Gzip, 3, nil}, // a name beats the extension
		{"lzma", 0, "a.xz", "", 0, nil},     // ("lzma", 0) is no compression
		{"xz", 9, "", XZ, 9, nil},
		{"lz4", 16, "", LZ4, 16, nil},
		{"zf", -1, "", "", 0, ErrUnknown}, // read-only
		{"nope", -1, "", "", 0, ErrUnknown},
		{"bz2", 10, "", "", 0, ErrLevel},
		{"", 12, "a.pkl", "", 0, ErrLevel},
		{"", -2, "a.pkl", "", 0, ErrLevel},
	} {
		t.Run(fmt.Sprintf("%s_%d_%s", tc.name, tc.level, tc.path), func(t *testing.T) {
			c, level, err := Resolve(tc.name, tc.level, tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.Name != tc.wantCodec || level != tc.wantLevel {
				t.Fatalf("got %q %d %v, want %q %d", c.Name, level, err, tc.wantCodec, tc.wantLevel)
			}
		})
	}
}

// pyDumpScript calls joblib.dump with many compress= values and file
// names, and lists the files.
const pyDumpScript = `
import json, os, sys, joblib
d = sys.argv[1]
compress = [True, False, 0, 1, 3, 9, "zlib", "gzip", "bz2", "lzma", "xz", "lz4",
            ("gzip", 0), ("gzip", 5), ("bz2", 1), ("lz4", 3), ("xz", 2), ("zlib", 9)]
names = ["a.pkl", "a.pkl.gz", "a.z", "a.bz2", "a.lzma", "a.xz", "a.lz4", "a.joblib"]
out = []
for i, c in enumerate(compress):
    for n in names:
        f = "%02d_%s" % (i, n)
        joblib.dump([1, 2, 3], os.path.join(d, f), compress=c)
        out.append({"file": f, "compress": c, "path": n})
print(json.dumps(out))
`

// TestResolveMatchesJoblib checks Resolve's codec against the one
// joblib.dump picks for the same compress= and file name.
func TestResolveMatchesJoblib(t *testing.T) {
	pyenv.Python(t)
	dir := t.TempDir()
	var cases []struct {
		File     string
		Compress any
		Path     string
	}
	if err := json.Unmarshal(pyenv.Run(t, pyDumpScript, dir), &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		name, level := "", -1
		switch v := tc.Compress.(type) {
		case bool:
			if !v {
				level = 0
			}
		case float64:
			level = int(v)
		case string:
			name = v
		case []any:
			name, level = v[0].(string), int(v[1].(float64))
		}
		c, _, err := Resolve(name, level, tc.Path)
		if err != nil {
			t.Errorf("%s: Resolve(%q, %d, %q): %v", tc.File, name, level, tc.Path, err)
			continue
		}
		f, err := os.Open(filepath.Join(dir, tc.File))
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := NewReader(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.Name {
			t.Errorf("compress=%v path %s: joblib wrote %q, Resolve says %q", tc.Compress, tc.Path, got, c.Name)
		}
	}
}

func TestWriterLevelDefault(t *testing.T) {
	// -1 is the default level for every built-in writer.
	for _, name := range []string{Zlib, Gzip, BZ2, LZMA, XZ, LZ4, Zstd} {
		c, _ := Lookup(name)
		var a, b bytes.Buffer
		for _, x := range []struct {
			buf   *bytes.Buffer
			level int
		}{{&a, -1}, {&b, c.DefaultLevel}} {
			w, err := c.NewWriter(x.buf, x.level)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(w, bytes.NewReader(floatBytes(4096)))
			w.Close()
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: level -1 and %d differ", name, c.DefaultLevel)
		}
	}
}

// TestUserCodec registers a codec of its own with a magic: NewReader
// detects it, and its errors come back classified like the built-ins'.
func TestUserCodec(t *testing.T) {
	magic := []byte("ZLB!")
	c := Codec{
		Name: "test-zlb", Magic: magic, Ext: ".zlb", DefaultLevel: 6, Levels: [2]int{1, 9},
		NewReader: func(r io.Reader) (io.ReadCloser, error) {
			head := make([]byte, len(magic))
			if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, magic) {
				return nil, fmt.Errorf("bad magic: %w", err)
			}
			return zlib.NewReader(r)
		},
		NewWriter: func(w io.Writer, level int) (io.WriteCloser, error) {
			if _, err := w.Write(magic); err != nil {
				return nil, err
			}
			return zlib.NewWriterLevel(w, level)
		},
	}
	if err := Register(c, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unregister(c.Name) })
	enc := compress(t, c, 6, floatBytes(1000))
	got, name, err := readDetect(enc, MaxOutput(8000))
	if err != nil || name != c.Name || !bytes.Equal(got, floatBytes(1000)) {
		t.Fatalf("round trip: %q, %v", name, err)
	}
	if _, _, err := readDetect(enc, MaxOutput(7999)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit: %v", err)
	}
	_, _, err = readDetect(enc[:len(enc)-3])
	checkBadInput(t, "cut", err)
	var fe *FormatError
	if errors.As(err, &fe); fe.Layer != c.Name || fe.Offset <= 0 {
		t.Fatalf("error %+v: want Layer %q and an offset", fe, c.Name)
	}
}
