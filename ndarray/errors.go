package ndarray

import (
	"errors"
	"fmt"

	"github.com/jlstore/jlstore/internal/errs"
)

// Error kinds, shared with every jlstore package so that errors.Is works
// whichever layer failed.
var (
	ErrFormat      = errs.Format
	ErrCorrupt     = errs.Corrupt
	ErrTooLarge    = errs.TooLarge
	ErrUnsafe      = errs.Unsafe
	ErrUnsupported = errs.Unsupported
)

var (
	// ErrNoView reports that a zero-copy view was asked for (with
	// [NoCopy] or [Slice]) but the array is not in native byte order, not
	// aligned for the element type, or not laid out as the view needs.
	ErrNoView = errors.New("ndarray: no zero-copy view")
	// ErrType reports an array whose dtype or shape does not fit the
	// requested view or conversion.
	ErrType = errors.New("ndarray: wrong dtype or shape")
	// ErrEmpty reports a zero-sized shape where gonum needs at least one
	// row and one column (gonum's constructors panic on them).
	ErrEmpty = errors.New("ndarray: zero-sized matrix")
	// ErrClosed reports use of an array or file after Close.
	ErrClosed = errors.New("ndarray: closed")
)

// FormatError describes bad input at a byte offset. Layer is "npy" for
// .npy headers (offsets count from the start of the .npy data), "npz" for
// .npz archives, and "dtype" for dtype descriptions (offset -1).
type FormatError = errs.FormatError

func formatErr(layer string, off int64, kind error, format string, args ...any) error {
	return &FormatError{Layer: layer, Offset: off, What: fmt.Sprintf(format, args...), Err: kind}
}

// dtypeErr reports a bad dtype description or state.
func dtypeErr(kind error, format string, args ...any) error {
	return formatErr("dtype", -1, kind, format, args...)
}
