package store

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/pickle"
)

// TestPayloads lists the payloads of every joblib fixture, from memory
// (views) and from a reader (copies): both agree, every array that Open
// finds at an offset is listed there, and the bytes between Start and
// Offset are joblib's padding.
func TestPayloads(t *testing.T) {
	paths, err := filepath.Glob("../testdata/joblib/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		if strings.HasSuffix(path, ".json") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rc, _, err := compressors.NewReader(bufio.NewReader(f))
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			views, err := Payloads(pickle.NewStreamBytes(data))
			if err != nil {
				t.Fatal(err)
			}
			copies, err := Payloads(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(views) != len(copies) {
				t.Fatalf("%d payloads from memory, %d from a reader", len(views), len(copies))
			}
			for i, p := range views {
				c := copies[i]
				if p.Start != c.Start || p.Offset != c.Offset || p.NBytes != c.NBytes || p.DType.String() != c.DType.String() || !slices.Equal(p.Shape, c.Shape) || p.Order != c.Order {
					t.Fatalf("payload %d: %+v from memory, %+v from a reader", i, p, c)
				}
				switch {
				case p.Offset < 0:
					if !p.DType.HasObject() || data[p.Start] != 0x80 {
						t.Errorf("object array at %d: dtype %s, first byte %#x", p.Start, p.DType, data[p.Start])
					}
				case p.Offset > p.Start:
					pad := data[p.Start:p.Offset]
					if int(pad[0]) != len(pad)-1 || len(bytes.Trim(pad[1:], "\xff")) != 0 || p.Offset%16 != 0 {
						t.Errorf("padding % x before data at %d", pad, p.Offset)
					}
				}
			}
			if strings.HasPrefix(filepath.Base(path), "basic_") && len(views) < 10 {
				t.Errorf("%d payloads", len(views))
			}
			file, err := Open(path, WithByteOrder(ByteOrderKeep))
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			for _, a := range file.Arrays() {
				if a.Offset < 0 {
					continue
				}
				i := slices.IndexFunc(views, func(p Payload) bool { return p.Offset == a.Offset })
				if i < 0 || views[i].NBytes != a.NBytes || views[i].DType.String() != a.Array.DType.String() || !slices.Equal(views[i].Shape, a.Array.Shape) {
					t.Errorf("%s: array at %d (%d bytes) is not listed", a.Path, a.Offset, a.NBytes)
				}
			}
		})
	}
}

// TestPayloadsDamaged: a cut stream gives the payloads before the cut and
// a *PathError; an empty one, an error.
func TestPayloadsDamaged(t *testing.T) {
	data, err := os.ReadFile("../testdata/joblib/basic_p4.pkl")
	if err != nil {
		t.Fatal(err)
	}
	all, err := Payloads(pickle.NewStreamBytes(data))
	if err != nil || len(all) < 3 {
		t.Fatalf("%d payloads, %v", len(all), err)
	}
	cut := all[2].Offset + 1
	got, err := Payloads(pickle.NewStreamBytes(data[:cut]))
	var pe *PathError
	if !errors.As(err, &pe) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut at %d: %v", cut, err)
	}
	if len(got) != 2 || got[1].Start != all[1].Start || got[1].Offset != all[1].Offset {
		t.Errorf("cut at %d: %+v", cut, got)
	}
	// The nested pickle of this object array is damaged: it is listed,
	// and the error follows.
	bad, err := os.ReadFile("../testdata/corrupt/numpy/objarray_flags0_p4.pkl")
	if err != nil {
		t.Fatal(err)
	}
	got, err = Payloads(pickle.NewStreamBytes(bad))
	if n := len(got); err == nil || n == 0 || got[n-1].Offset != -1 || !got[n-1].DType.HasObject() || !slices.Equal(got[n-1].Shape, []int{1}) {
		t.Errorf("damaged object array: %+v, %v", got, err)
	}
	if _, err := Payloads(bytes.NewReader(nil)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("empty stream: %v", err)
	}
	if _, err := Payloads(bytes.NewReader(data), MaxBytes(-1)); err == nil {
		t.Error("a bad option is accepted")
	}
}
