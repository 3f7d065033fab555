package mmap

import (
	"errors"
	"fmt"
)

// Mode is a numpy memmap mode. Only the three modes that map an existing
// file have constants; ParseMode turns "w+" and numpy's long names into one
// of them.
type Mode string

const (
	// ReadOnly ("r") maps the file shared and read-only. Writing through a
	// view kills the process with SIGSEGV; use CopyOnWrite to get writable
	// views of a file you must not change.
	ReadOnly Mode = "r"
	// ReadWrite ("r+") maps the file shared and writable: writes reach the
	// page cache at once, other mappings of the file see them, and Flush or
	// Close forces them to disk.
	ReadWrite Mode = "r+"
	// CopyOnWrite ("c") maps the file private and writable: a write copies
	// the page for this mapping only and never reaches the file.
	CopyOnWrite Mode = "c"
)

// ErrMode reports a mode string that numpy would refuse too.
var ErrMode = errors.New("mmap: invalid mode")

// ParseMode accepts the modes numpy.memmap accepts: "r", "r+", "c", "w+"
// and the long names "readonly", "readwrite", "copyonwrite" and "write".
// Like joblib's load, it turns "w+" (create or overwrite) into "r+", so an
// existing file is never truncated. Anything else gives an error wrapping
// ErrMode.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "r", "readonly":
		return ReadOnly, nil
	case "r+", "readwrite", "w+", "write":
		return ReadWrite, nil
	case "c", "copyonwrite":
		return CopyOnWrite, nil
	}
	return "", fmt.Errorf("mmap: mode %q is not one of r, r+, w+, c: %w", s, ErrMode)
}

// String returns the numpy spelling of m.
func (m Mode) String() string { return string(m) }
