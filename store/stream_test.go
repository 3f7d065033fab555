package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/ndarray"
)

// hashPayloads returns a StreamArrays callback that records the SHA-256
// of each payload's elements in C order, and the arrays in call order.
func hashPayloads(t testing.TB, sums map[*ndarray.Array]string, order *[]*ndarray.Array) LoadOption {
	return StreamArrays(func(a *ndarray.Array, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		full := &ndarray.Array{DType: a.DType, Shape: a.Shape, Order: a.Order, Data: b}
		h := sha256.New()
		if _, err := full.WriteC(h); err != nil {
			t.Errorf("%v %v: %v", a.DType, a.Shape, err)
		}
		sums[a] = hex.EncodeToString(h.Sum(nil))
		*order = append(*order, a)
		return nil
	})
}

// TestStreamArraysFixtures: with StreamArrays, every fixture's payloads
// reach the callback with the manifest's bytes, in stream order, through
// Open, Load and Decode; views stay views, and other payloads are not
// kept.
func TestStreamArraysFixtures(t *testing.T) {
	m := readManifest(t)
	for _, mf := range m.Files {
		if len(mf.Objects) > 1 {
			continue
		}
		path := filepath.Join("..", "testdata", "joblib", mf.File)
		for _, mode := range []string{"open", "load", "decode"} {
			t.Run(mf.File+"/mode="+mode, func(t *testing.T) {
				sums := map[*ndarray.Array]string{}
				var calls []*ndarray.Array
				opts := []LoadOption{WithByteOrder(ByteOrderKeep), hashPayloads(t, sums, &calls)}
				var infos []ArrayInfo
				switch mode {
				case "open":
					f, err := Open(path, opts...)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					infos = f.Arrays()
				case "load":
					cfg, err := newLoadConfig(opts)
					if err != nil {
						t.Fatal(err)
					}
					f, err := loadFile(path, cfg, false)
					if err != nil {
						t.Fatal(err)
					}
					infos = f.Arrays()
				case "decode":
					in, err := os.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer in.Close()
					v, err := Decode(in, opts...)
					if err != nil {
						t.Fatal(err)
					}
					l := newLoader(loadConfig{}, "")
					infos = l.index(v)
				}
				if len(infos) != len(mf.Arrays) {
					t.Fatalf("%d arrays, want %d", len(infos), len(mf.Arrays))
				}
				payloads := 0
				for i, w := range mf.Arrays {
					g := infos[i]
					if g.Array.NBytes() != int(w.NBytes) || g.NBytes != w.NBytes {
						t.Errorf("%s: nbytes %d (info %d), want %d", w.Path, g.Array.NBytes(), g.NBytes, w.NBytes)
					}
					sum, streamed := sums[g.Array]
					if w.Offset != nil && !streamed {
						t.Errorf("%s: a payload at byte %d never reached the callback", w.Path, *w.Offset)
					}
					if !streamed {
						continue // pickled by numpy or an object array: loaded as usual
					}
					payloads++
					if w.DType != "|O" && sum != w.SHA256 {
						t.Errorf("%s: streamed sha256 %s, want %s", w.Path, sum, w.SHA256)
					}
					if mode == "decode" {
						continue // no records to check
					}
					if g.ZeroCopy != (g.Array.Data != nil) {
						t.Errorf("%s: ZeroCopy %v but Data %d bytes", w.Path, g.ZeroCopy, len(g.Array.Data))
					}
					if !g.ZeroCopy && !strings.HasPrefix(g.Note, "streamed") {
						t.Errorf("%s: note %q, want streamed", w.Path, g.Note)
					}
					if mode == "load" && g.Array.Data != nil {
						t.Errorf("%s: Load kept %d bytes of a streamed array", w.Path, len(g.Array.Data))
					}
				}
				if payloads != len(calls) {
					t.Errorf("callback called %d times for %d streamed arrays", len(calls), payloads)
				}
			})
		}
	}
}

// bigPair dumps two arrays of 32 MiB each with codec into a temp folder.
func bigPair(t *testing.T, codec string) (path string, sums [2]string) {
	t.Helper()
	var arrs [2]*ndarray.Array
	for k := range arrs {
		x := make([]float64, 4<<20)
		for i := range x {
			x[i] = float64((i*7+k)%1000) / 8
		}
		a, err := ndarray.FromFloat64s([]int{len(x) / 1024, 1024}, x)
		if err != nil {
			t.Fatal(err)
		}
		arrs[k] = a
		sum := sha256.Sum256(a.Data)
		sums[k] = hex.EncodeToString(sum[:])
	}
	path = filepath.Join(t.TempDir(), "pair.pkl")
	if err := Dump(path, []any{arrs[0], arrs[1]}, Compress(codec, -1), NoSync()); err != nil {
		t.Fatal(err)
	}
	return path, sums
}

// TestStreamArraysBounded: listing 64 MiB of compressed arrays through
// StreamArrays allocates a few MiB, not the arrays.
func TestStreamArraysBounded(t *testing.T) {
	for _, codec := range []string{"zlib", "lz4"} {
		path, want := bigPair(t, codec)
		var got []string
		fn := StreamArrays(func(a *ndarray.Array, r io.Reader) error {
			h := sha256.New()
			if _, err := io.Copy(h, r); err != nil {
				return err
			}
			got = append(got, hex.EncodeToString(h.Sum(nil)))
			return nil
		})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Load(path, fn); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s: hashes %v, want %v", codec, got, want)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%s: Load with StreamArrays allocated %d MiB for 64 MiB of arrays", codec, alloc>>20)
		}
	}
}

// TestStreamArraysErrors: the callback's error ends the load; a stream
// cut short fails the callback's reader and the load with
// io.ErrUnexpectedEOF; a callback that reads part of an array leaves the
// next one intact.
func TestStreamArraysErrors(t *testing.T) {
	path, want := bigPair(t, "zlib")
	errStop := errors.New("stop here")
	_, err := Load(path, StreamArrays(func(*ndarray.Array, io.Reader) error { return errStop }))
	var pe *PathError
	if !errors.Is(err, errStop) || !errors.As(err, &pe) {
		t.Errorf("callback error: Load = %v", err)
	}

	var got []string
	_, err = Load(path, StreamArrays(func(a *ndarray.Array, r io.Reader) error {
		if len(got) == 0 {
			got = append(got, "skipped")
			_, err := io.CopyN(io.Discard, r, 10)
			return err
		}
		h := sha256.New()
		_, err := io.Copy(h, r)
		got = append(got, hex.EncodeToString(h.Sum(nil)))
		return err
	}))
	if err != nil || len(got) != 2 || got[1] != want[1] {
		t.Errorf("partial read of the first array: %v, %v", got, err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pkl")
	if err := os.WriteFile(cut, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	var readErr error
	_, err = Load(cut, StreamArrays(func(a *ndarray.Array, r io.Reader) error {
		_, readErr = io.Copy(io.Discard, r)
		return readErr
	}))
	if !errors.Is(readErr, io.ErrUnexpectedEOF) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut stream: reader error %v, Load %v", readErr, err)
	}
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset <= 0 {
		t.Errorf("cut stream: %v is not a FormatError with an offset", err)
	}
	if _, err := Load(path, StreamArrays(nil)); err == nil {
		t.Error("StreamArrays(nil) accepted")
	}
}
