package ndarray

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestWriteC: WriteC writes what ContiguousBytes returns (numpy's
// tobytes()) for C and F arrays of every rank and several item sizes,
// including rows larger than its buffer and empty arrays.
func TestWriteC(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := [][]int{{}, {0}, {7}, {3, 4}, {1, 9}, {9, 1}, {0, 5}, {513, 300}, {2, 3, 4}, {5, 1, 7, 2}, {3, 200000}, {200000, 3}}
	for _, dt := range []*DType{Uint8, Int16, Float32, Float64, Complex128} {
		for _, shape := range shapes {
			for _, order := range []Order{OrderC, OrderF} {
				a, err := New(dt, shape, order)
				if err != nil {
					t.Fatal(err)
				}
				for i := range a.Data {
					a.Data[i] = byte(rng.Uint32())
				}
				name := fmt.Sprintf("%s_%v_%s", dt, shape, order)
				want, err := a.ContiguousBytes()
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				n, err := a.WriteC(&got)
				if err != nil || n != int64(len(want)) {
					t.Fatalf("%s: WriteC = %d, %v; want %d bytes", name, n, err, len(want))
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Fatalf("%s: WriteC bytes differ from ContiguousBytes", name)
				}
			}
		}
	}
	obj := &Array{DType: Object, Shape: []int{1}, Objects: []any{nil}}
	if _, err := obj.WriteC(&bytes.Buffer{}); !errors.Is(err, ErrType) {
		t.Errorf("object array: err = %v, want ErrType", err)
	}
}

// TestWriteCBounded: writing a 64 MiB F-order array allocates about its
// 1 MiB buffer, not a copy of the array.
func TestWriteCBounded(t *testing.T) {
	for _, shape := range [][]int{{4096, 2048}, {64, 128, 1024}} {
		a, err := New(Float64, shape, OrderF)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		n, err := a.WriteC(discard{})
		runtime.ReadMemStats(&after)
		if err != nil || n != int64(len(a.Data)) {
			t.Fatalf("%v: WriteC = %d, %v", shape, n, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
			t.Errorf("%v: WriteC of %d MiB allocated %d KiB", shape, len(a.Data)>>20, alloc>>10)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
