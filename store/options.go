package store

import (
	"fmt"
	"io"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/internal/sysmem"
	"github.com/jlstore/jlstore/mmap"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// DefaultMaxRatio is the default cap on declared array bytes per byte of
// compressed input. Deflate cannot exceed about 1032:1 and lz4 about 255:1,
// so no genuine zlib, gzip or lz4 file reaches it, while a few KiB of bz2 or
// xz that declares gigabytes does.
const DefaultMaxRatio = 2048

// DefaultAlignment is the payload alignment joblib 1.2 and later write.
const DefaultAlignment = 16

// ByteOrder says what Load does with arrays whose byte order is not the
// machine's.
type ByteOrder uint8

const (
	// ByteOrderNative converts them to native order (joblib 1.5's "auto"),
	// the default of Load. In Open it applies to copies only: a mapped view
	// keeps the file's order unless ConvertViews is set too.
	ByteOrderNative ByteOrder = iota
	// ByteOrderKeep keeps the order of the file; the dtype says which.
	ByteOrderKeep
)

type loadConfig struct {
	mode         mmap.Mode
	byteOrder    ByteOrder
	convertViews bool
	strict       bool
	strictCopy   bool
	maxBytes     int64
	maxRatio     float64
	maxDepth     int
	maxMemo      int
	py2          pickle.Py2Strings
	sidecars     bool
	sink         func(*ndarray.Array, io.Reader) error
	noIndex      bool // Load: nothing will list the arrays
}

// A LoadOption configures Load, Open and Decode. Options check their
// values; a bad one makes the call fail before it reads anything.
type LoadOption func(*loadConfig) error

func newLoadConfig(opts []LoadOption) (loadConfig, error) {
	c := loadConfig{
		mode:     mmap.ReadOnly,
		maxRatio: DefaultMaxRatio,
		maxDepth: pickle.DefaultMaxDepth,
		maxMemo:  pickle.DefaultMaxMemo,
		sidecars: true,
	}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if c.maxBytes == 0 {
		c.maxBytes = sysmem.Available()
	}
	return c, nil
}

// StreamArrays hands the data of every array that joblib spliced into the
// stream to fn as it is read, instead of keeping it: Load, Open and Decode
// then hold one array's bytes at a time at most (64 KiB of buffers for a
// compressed file or a stream, nothing for a mapped one), whatever the
// file holds. It is how `jlstore ls` hashes a compressed file of any size.
//
// fn is called in stream order with the array (dtype in the file's byte
// order, whatever WithByteOrder says; shape, order, subclass) and a reader
// of exactly its data bytes, in storage order (C or F). A payload that
// Open can map stays a view in the returned graph and fn reads that view;
// any other array comes back with Data nil, noted "streamed" in
// File.Arrays ("streamed (zlib)", "streamed: unaligned ..."). fn need not read everything: the rest is skipped. Input
// that ends early fails the reader with io.ErrUnexpectedEOF and the load
// with a *FormatError; an error from fn ends the load, wrapped.
//
// fn is not called for object arrays and for arrays that numpy pickled
// itself (their bytes are part of the pickle, bounded by MaxBytes), or for
// the sidecar files of joblib before 0.10: those load as usual.
func StreamArrays(fn func(a *ndarray.Array, data io.Reader) error) LoadOption {
	return func(c *loadConfig) error {
		if fn == nil {
			return fmt.Errorf("jlstore: StreamArrays(nil)")
		}
		c.sink = fn
		return nil
	}
}

// MmapMode sets the mode Open maps the file in: "r" (read-only, shared; the
// default), "r+" (read-write, shared) or "c" (copy-on-write). "w+" means
// "r+", as in joblib. Writing into an "r" view kills the process: use "c"
// for arrays you want to change without changing the file.
func MmapMode(mode string) LoadOption {
	return func(c *loadConfig) error {
		m, err := mmap.ParseMode(mode)
		if err != nil {
			return fmt.Errorf("jlstore: %w", err)
		}
		c.mode = m
		return nil
	}
}

// WithByteOrder sets what happens to non-native arrays (default
// ByteOrderNative).
func WithByteOrder(o ByteOrder) LoadOption {
	return func(c *loadConfig) error {
		if o > ByteOrderKeep {
			return fmt.Errorf("jlstore: bad ByteOrder %d", o)
		}
		c.byteOrder = o
		return nil
	}
}

// ConvertViews makes Open copy non-native arrays into native order
// instead of handing out a view in the file's order.
func ConvertViews(on bool) LoadOption {
	return func(c *loadConfig) error { c.convertViews = on; return nil }
}

// Strict makes a global that jlstore does not know (anything but numpy's
// and joblib's constructors and the builtins) an error wrapping ErrUnsafe
// that names it. Without it such globals load as inert *pickle.Object values.
// Nothing is ever executed either way.
func Strict(on bool) LoadOption {
	return func(c *loadConfig) error { c.strict = on; return nil }
}

// StrictZeroCopy makes Open fail with ErrNotZeroCopy for an array it would
// have to copy (unaligned, converted, or in a compressed file) instead of
// copying it.
func StrictZeroCopy(on bool) LoadOption {
	return func(c *loadConfig) error { c.strictCopy = on; return nil }
}

// MaxBytes caps the bytes the file may make jlstore allocate, arrays and
// strings together. The default is what the process can really get: the
// smaller of MemAvailable and the headroom under RLIMIT_AS and RLIMIT_DATA.
// A file that declares more fails with ErrTooLarge before anything is
// allocated.
func MaxBytes(n int64) LoadOption {
	return func(c *loadConfig) error {
		if n < 1 {
			return fmt.Errorf("jlstore: MaxBytes %d < 1", n)
		}
		c.maxBytes = n
		return nil
	}
}

// MaxRatio caps the declared array bytes per byte of compressed input
// (default DefaultMaxRatio), so that a decompression bomb is refused before
// it is decompressed. It also caps what any compressed stream decodes to,
// at that ratio to the compressed bytes read so far plus 1 MiB, which
// stops bombs that declare nothing (a bytes object of zeros, a stream of
// unknown size) after bounded work. Either fails with ErrTooLarge.
func MaxRatio(r float64) LoadOption {
	return func(c *loadConfig) error {
		if !(r >= 1) {
			return fmt.Errorf("jlstore: MaxRatio %v < 1", r)
		}
		c.maxRatio = r
		return nil
	}
}

// MaxDepth bounds the pickle stack plus marks (see pickle.MaxDepth).
func MaxDepth(n int) LoadOption {
	return func(c *loadConfig) error {
		if n < 1 {
			return fmt.Errorf("jlstore: MaxDepth %d < 1", n)
		}
		c.maxDepth = n
		return nil
	}
}

// MaxMemo bounds the pickle memo (see pickle.MaxMemo).
func MaxMemo(n int) LoadOption {
	return func(c *loadConfig) error {
		if n < 1 {
			return fmt.Errorf("jlstore: MaxMemo %d < 1", n)
		}
		c.maxMemo = n
		return nil
	}
}

// Py2Strings sets how Python 2 str values decode (default: bytes).
func Py2Strings(m pickle.Py2Strings) LoadOption {
	return func(c *loadConfig) error {
		if m > pickle.Py2ASCII {
			return fmt.Errorf("jlstore: bad Py2Strings %d", m)
		}
		c.py2 = m
		return nil
	}
}

type dumpConfig struct {
	codec     string // "" = by extension
	level     int    // -1 = codec default
	explicit  bool   // Compress was given
	proto     int
	alignment int
	noSync    bool
}

// A DumpOption configures Dump and Encode.
type DumpOption func(*dumpConfig) error

func newDumpConfig(opts []DumpOption) (dumpConfig, error) {
	c := dumpConfig{level: -1, proto: pickle.DefaultProtocol, alignment: DefaultAlignment}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Compress sets the codec and level: "zlib", "gzip", "bz2", "lzma", "xz",
// "lz4", or any registered codec ("zstd"). A level of -1 means the codec's
// default (joblib's: 3 for zlib and gzip, 9 for bz2, 6 for lzma and xz, 0
// for lz4). Level 0 means no compression for every codec but lz4, as in
// joblib; name "" with level 0 forces an uncompressed file. Without this
// option Dump picks the codec from the file's extension (.z .gz .bz2 .lzma
// .xz .lz4 .zst), as joblib does.
func Compress(name string, level int) DumpOption {
	return func(c *dumpConfig) error {
		if name != "" {
			if _, ok := compressors.Lookup(name); !ok {
				return fmt.Errorf("jlstore: unknown codec %q (have %v)", name, compressors.Names())
			}
		}
		if level < -1 {
			return fmt.Errorf("jlstore: bad level %d", level)
		}
		c.codec, c.level, c.explicit = name, level, true
		return nil
	}
}

// Protocol sets the pickle protocol, 2 to 5 (default 4, what Python 3.8 to
// 3.13 writes).
func Protocol(n int) DumpOption {
	return func(c *dumpConfig) error {
		if n < 2 || n > pickle.HighestProtocol {
			return fmt.Errorf("jlstore: protocol %d: jlstore writes 2 to %d", n, pickle.HighestProtocol)
		}
		c.proto = n
		return nil
	}
}

// Alignment sets the alignment of array payloads in the uncompressed stream
// (default 16, what joblib writes; at most 255). 0 writes no padding and
// leaves numpy_array_alignment_bytes out, as joblib 1.1 and older did.
func Alignment(n int) DumpOption {
	return func(c *dumpConfig) error {
		if n < 0 || n > 255 {
			return fmt.Errorf("jlstore: alignment %d out of 0..255", n)
		}
		c.alignment = n
		return nil
	}
}

// NoSync leaves out Dump's two fsyncs (of the file, then of its folder).
// The temporary file is still renamed over path only once it is complete,
// so a process that dies mid-Dump still leaves the old file; but after a
// power loss or kernel crash the renamed file may be empty or hold part
// of its data, since its bytes may not have reached the disk. Python's
// joblib.dump never syncs. Use it for scratch files and caches that can
// be rebuilt; on most disks it makes Dump several times faster (see
// bench/RESULTS.md). Encode never syncs.
func NoSync() DumpOption {
	return func(c *dumpConfig) error {
		c.noSync = true
		return nil
	}
}
