package compressors

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/jlstore/jlstore/internal/errs"
)

// Shared error kinds, the same values as in every jlstore package.
var (
	ErrFormat      = errs.Format
	ErrCorrupt     = errs.Corrupt
	ErrTooLarge    = errs.TooLarge
	ErrUnsupported = errs.Unsupported
)

// FormatError describes bad compressed input; its Layer is the codec name.
type FormatError = errs.FormatError

var (
	// ErrExists is returned by Register for a name that is taken.
	ErrExists = errors.New("compressors: codec already registered")
	// ErrUnknown is returned for a codec name that is not registered.
	ErrUnknown = errors.New("compressors: unknown codec")
	// ErrLevel is returned for a compression level outside a codec's range.
	ErrLevel = errors.New("compressors: compression level out of range")
)

// Codec describes one compression format.
type Codec struct {
	// Name is the codec's name, as joblib spells it ("zlib", "gzip", ...).
	Name string
	// Magic is the prefix that identifies the format. A codec with no
	// magic is never detected.
	Magic []byte
	// Ext is the file extension, with its dot, that selects the codec when
	// writing (".gz"). Empty means none.
	Ext string
	// DefaultLevel is the level used when none is given.
	DefaultLevel int
	// Levels is the valid range of levels, both ends included.
	Levels [2]int
	// NewReader opens a decoder on r. Close releases the decoder and does
	// not close r.
	NewReader func(r io.Reader) (io.ReadCloser, error)
	// NewWriter opens an encoder on w at a level within Levels (-1 means
	// DefaultLevel). Close ends the stream and does not close w. A nil
	// NewWriter marks a read-only codec.
	NewWriter func(w io.Writer, level int) (io.WriteCloser, error)

	// newReaderLimit, set by built-in codecs, opens a decoder that knows
	// the MaxOutput and MaxWindow limits (0 for none), so that it can
	// refuse declared sizes and cap dictionaries before allocating.
	newReaderLimit func(r io.Reader, lim limits) (io.ReadCloser, error)
}

// ValidLevel reports whether level is within c.Levels.
func (c Codec) ValidLevel(level int) bool {
	return level >= c.Levels[0] && level <= c.Levels[1]
}

// level maps -1 to the default level and checks the range.
func (c Codec) level(level int) (int, error) {
	if level == -1 {
		return c.DefaultLevel, nil
	}
	if !c.ValidLevel(level) {
		return 0, fmt.Errorf("%w: %s level %d not in [%d, %d]", ErrLevel, c.Name, level, c.Levels[0], c.Levels[1])
	}
	return level, nil
}

var registry = struct {
	sync.RWMutex
	byName map[string]Codec
	order  []string // registration order, for Names and detection ties
}{byName: map[string]Codec{}}

// Register adds a codec. Registering a name that is taken fails with
// ErrExists unless force is set, in which case c replaces the old codec.
// The name, NewReader and a Levels range that holds DefaultLevel are
// required, and Magic may be at most 16 bytes long.
func Register(c Codec, force bool) error {
	if c.Name == "" || c.NewReader == nil {
		return fmt.Errorf("compressors: Register: codec needs a Name and a NewReader")
	}
	if c.NewWriter != nil && !c.ValidLevel(c.DefaultLevel) {
		return fmt.Errorf("compressors: Register %s: default level %d not in [%d, %d]", c.Name, c.DefaultLevel, c.Levels[0], c.Levels[1])
	}
	if len(c.Magic) > maxMagic {
		return fmt.Errorf("compressors: Register %s: magic longer than %d bytes", c.Name, maxMagic)
	}
	c.Magic = bytes.Clone(c.Magic)
	registry.Lock()
	defer registry.Unlock()
	if _, ok := registry.byName[c.Name]; ok {
		if !force {
			return fmt.Errorf("%w: %q", ErrExists, c.Name)
		}
	} else {
		registry.order = append(registry.order, c.Name)
	}
	registry.byName[c.Name] = c
	return nil
}

// mustRegister registers a built-in codec.
func mustRegister(c Codec) {
	if err := Register(c, false); err != nil {
		panic(err)
	}
}

// Lookup returns the codec registered under name.
func Lookup(name string) (Codec, bool) {
	registry.RLock()
	defer registry.RUnlock()
	c, ok := registry.byName[name]
	return c, ok
}

// Names returns the registered codec names in registration order.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Clone(registry.order)
}

// ByExtension returns the codec whose extension ends path. Matching is
// case-sensitive, like joblib's. Read-only codecs and codecs with no
// extension never match.
func ByExtension(path string) (Codec, bool) {
	registry.RLock()
	defer registry.RUnlock()
	var best Codec
	found := false
	for _, name := range registry.order {
		c := registry.byName[name]
		if c.Ext == "" || c.NewWriter == nil || !strings.HasSuffix(path, c.Ext) {
			continue
		}
		// The longest extension wins (".tar.gz" over ".gz").
		if !found || len(c.Ext) > len(best.Ext) {
			best, found = c, true
		}
	}
	return best, found
}

// maxMagic is the longest magic Detect peeks at.
const maxMagic = 16

// Detect peeks at the start of r, without consuming it, and returns the
// codec whose magic it begins with. The "zf" z-file is checked first, as
// joblib does; then the longest matching magic wins. ok is false for data
// that matches no codec (an uncompressed stream). err is set only when r
// fails with something other than io.EOF.
func Detect(r *bufio.Reader) (c Codec, ok bool, err error) {
	head, err := r.Peek(maxMagic)
	if err != nil {
		if err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return Codec{}, false, err
		}
		err = nil
	}
	registry.RLock()
	defer registry.RUnlock()
	if zf, has := registry.byName[ZF]; has && bytes.HasPrefix(head, zf.Magic) {
		return zf, true, nil
	}
	for _, name := range registry.order {
		m := registry.byName[name]
		if len(m.Magic) == 0 || !bytes.HasPrefix(head, m.Magic) {
			continue
		}
		if !ok || len(m.Magic) > len(c.Magic) {
			c, ok = m, true
		}
	}
	return c, ok, nil
}

// unregister removes a codec; tests use it to clean up.
func unregister(name string) {
	registry.Lock()
	defer registry.Unlock()
	delete(registry.byName, name)
	registry.order = slices.DeleteFunc(registry.order, func(n string) bool { return n == name })
}
