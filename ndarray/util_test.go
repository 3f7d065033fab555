package ndarray

import (
	"unsafe"

	"gonum.org/v1/gonum/blas/blas64"
)

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

type blas64General = blas64.General
