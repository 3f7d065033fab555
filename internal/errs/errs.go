// Package errs holds the error kinds that every jlstore package shares, so
// that errors.Is works the same whichever layer failed. The public packages
// re-export these values under their own names (pickle.ErrTooLarge,
// store.ErrTooLarge, ...); they are the same values.
package errs

import (
	"errors"
	"fmt"
)

var (
	// Format reports input that is not in the expected format at all.
	Format = errors.New("jlstore: bad format")
	// Corrupt reports input that starts well but is damaged.
	Corrupt = errors.New("jlstore: corrupt input")
	// TooLarge reports input that declares more than a configured limit.
	TooLarge = errors.New("jlstore: too large")
	// Unsafe reports a global refused under the strict option.
	Unsafe = errors.New("jlstore: unsafe global")
	// Unsupported reports a valid construct that jlstore does not handle.
	Unsupported = errors.New("jlstore: unsupported")
)

// FormatError describes bad input at a byte offset in one stream.
type FormatError struct {
	// Layer names the stream the offset counts in, e.g. "pickle",
	// "zlib", "npy" or a file name.
	Layer string
	// Offset is the byte offset in that stream, or -1 when unknown.
	Offset int64
	// Op is the pickle opcode name, when there is one.
	Op string
	// What says what went wrong.
	What string
	// Err is the kind (a sentinel) or the cause.
	Err error
}

func (e *FormatError) Error() string {
	s := e.Layer
	if s == "" {
		s = "input"
	}
	if e.Op != "" {
		s += ": " + e.Op
	}
	if e.What != "" {
		s += ": " + e.What
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (at byte %d)", e.Offset)
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// Is makes every FormatError match Format, except those that report a
// limit (TooLarge) or a refusal (Unsafe, Unsupported), which are not about
// the format.
func (e *FormatError) Is(target error) bool {
	if target != Format {
		return false
	}
	return !errors.Is(e.Err, TooLarge) && !errors.Is(e.Err, Unsafe) && !errors.Is(e.Err, Unsupported)
}
