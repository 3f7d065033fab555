package pickle

import (
	"errors"
	"fmt"
	"sync"

	"github.com/jlstore/jlstore/internal/sysmem"
)

// Py2Strings says how Python 2 str values (STRING, BINSTRING,
// SHORT_BINSTRING) decode.
type Py2Strings uint8

const (
	// Py2Bytes decodes them as []byte, which loses nothing (the default).
	Py2Bytes Py2Strings = iota
	// Py2Latin1 decodes them as text, one code point per byte, as Python's
	// pickle.load(encoding='latin1') does.
	Py2Latin1
	// Py2ASCII decodes them as text and fails on bytes above 127, as
	// Python 3's pickle.load does by default.
	Py2ASCII
)

// Default limits of a Decoder.
const (
	// DefaultMaxDepth bounds the values held open at once (the stack plus
	// the marks), which bounds the nesting depth.
	DefaultMaxDepth = 1 << 20
	// DefaultMaxMemo bounds the number of memo entries.
	DefaultMaxMemo = 1 << 26
)

type decodeConfig struct {
	registry       *Registry
	strict         bool
	maxDepth       int
	maxMemo        int
	maxBytes       int64
	lazyMax        bool // maxBytes is the default, not yet looked up
	py2            Py2Strings
	buffers        [][]byte
	persistentLoad func(pid any) (any, error)
	ext            map[int32]Global
	context        any
}

// A DecodeOption configures a Decoder. Options check their values: a bad one
// makes NewDecoder's Decode fail.
type DecodeOption func(*decodeConfig) error

func defaultDecodeConfig() decodeConfig {
	return decodeConfig{
		maxDepth: DefaultMaxDepth,
		maxMemo:  DefaultMaxMemo,
	}
}

// WithRegistry makes the decoder resolve globals through r. The default
// is a fresh [NewRegistry], which knows the builtins only.
func WithRegistry(r *Registry) DecodeOption {
	return func(c *decodeConfig) error {
		if r == nil {
			return errors.New("pickle: nil registry")
		}
		c.registry = r
		return nil
	}
}

// Strict makes a global that is neither registered nor allowed an error
// wrapping ErrUnsafe that names it, rather than an inert object.
func Strict(on bool) DecodeOption {
	return func(c *decodeConfig) error { c.strict = on; return nil }
}

// MaxDepth bounds the stack plus the marks (default DefaultMaxDepth).
func MaxDepth(n int) DecodeOption {
	return func(c *decodeConfig) error {
		if n < 1 {
			return fmt.Errorf("pickle: MaxDepth %d < 1", n)
		}
		c.maxDepth = n
		return nil
	}
}

// MaxMemo bounds the number of memo entries (default DefaultMaxMemo).
func MaxMemo(n int) DecodeOption {
	return func(c *decodeConfig) error {
		if n < 1 {
			return fmt.Errorf("pickle: MaxMemo %d < 1", n)
		}
		c.maxMemo = n
		return nil
	}
}

// MaxBytes bounds the memory that the pickles a Decoder reads may make it
// allocate, in total:
//
//   - the bytes that length fields claim (str, bytes, big ints, frames),
//     checked before they are read;
//   - what registered constructors claim with [Decoder.Reserve];
//   - the decoder's own structures, at fixed costs: 16 bytes for each
//     memo slot, item of a list, tuple or set, and key or value of a dict;
//     64 for each key in the hash index of a dict or set of more than 8
//     items; 48 for a memo entry far from the others; the size of each
//     list, dict, set, object, global and boxed number or string; and the
//     encoding of each dict key or set item that is neither str nor int.
//     Growing slices are charged their new capacity when they grow, and
//     blocks of small values when a block is allocated.
//
// The stack and the marks are bounded by [MaxDepth] instead. A pickle that
// goes over fails with ErrTooLarge at the opcode that did. Decoded values
// take about the size of their pickle when it holds arrays or long
// strings, and up to ten times it for many small containers (a list of
// dicts of short strings and numbers), so set the budget with room for
// that.
//
// The default is what the process can really get: the smaller of
// MemAvailable and the headroom under RLIMIT_AS and RLIMIT_DATA, looked up
// once a pickle claims more than 16 MiB.
func MaxBytes(n int64) DecodeOption {
	return func(c *decodeConfig) error {
		if n < 1 {
			return fmt.Errorf("pickle: MaxBytes %d < 1", n)
		}
		c.maxBytes = n
		return nil
	}
}

// WithPy2Strings sets how Python 2 str values decode (default Py2Bytes).
func WithPy2Strings(m Py2Strings) DecodeOption {
	return func(c *decodeConfig) error {
		if m > Py2ASCII {
			return fmt.Errorf("pickle: bad Py2Strings %d", m)
		}
		c.py2 = m
		return nil
	}
}

// Buffers supplies the out-of-band buffers that NEXT_BUFFER takes, in
// order (protocol 5's buffer_callback on the writing side). They are not
// copied.
func Buffers(bufs ...[]byte) DecodeOption {
	return func(c *decodeConfig) error { c.buffers = bufs; return nil }
}

// PersistentLoad sets the hook that resolves PERSID and BINPERSID. Without
// it those opcodes fail with ErrUnsupported.
func PersistentLoad(f func(pid any) (any, error)) DecodeOption {
	return func(c *decodeConfig) error { c.persistentLoad = f; return nil }
}

// Extensions maps the codes of EXT1, EXT2 and EXT4 to globals (Python's
// copyreg extension registry). Without a mapping those opcodes fail.
func Extensions(m map[int32]Global) DecodeOption {
	return func(c *decodeConfig) error { c.ext = m; return nil }
}

// Context attaches a caller's value to the decoder, which registered
// constructors get back from [Decoder.Context]. It lets one registry,
// built once, serve many decodes that each carry their own state.
func Context(v any) DecodeOption {
	return func(c *decodeConfig) error { c.context = v; return nil }
}

// Context returns the value given with the Context option, or nil.
func (d *Decoder) Context() any { return d.cfg.context }

func (c *decodeConfig) finish() {
	if c.registry == nil {
		c.registry = builtinRegistry()
	}
	c.finishLimits()
}

// finishLimits sets the default MaxBytes budget.
func (c *decodeConfig) finishLimits() {
	if c.maxBytes == 0 {
		// Asking the system costs tens of microseconds: do it only
		// when a pickle claims more than lazyMaxBytes (see budget).
		c.maxBytes = lazyMaxBytes
		c.lazyMax = true
	}
}

// lazyMaxBytes is the budget before the system's memory is looked up.
const lazyMaxBytes = 16 << 20

// budget returns the bytes that may still be claimed when used are
// claimed already and n more are wanted: the MaxBytes budget, looked up
// from the system once the default's floor is exceeded.
func (c *decodeConfig) budget(used, n int64) int64 {
	if n > c.maxBytes-used && c.lazyMax {
		c.lazyMax = false
		c.maxBytes = max(sysmem.Available(), lazyMaxBytes)
	}
	return c.maxBytes - used
}

var builtinRegistry = sync.OnceValue(NewRegistry)
