package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Pickler is implemented by values that write their own opcodes, such as
// numpy arrays and joblib's array wrapper. PickleTo must leave exactly one
// value on the unpickler's stack. It may call [Encoder.Memoize] so that
// later references to the same pointer become memo gets.
type Pickler interface {
	PickleTo(e *Encoder) error
}

// frameTarget is the frame size Python aims for at protocol 4 and above.
const frameTarget = 64 << 10

// batchSize is how many items go in one APPENDS, SETITEMS or ADDITEMS.
const batchSize = 1000

// DefaultMaxEncodeDepth bounds how deeply values may nest when encoding.
const DefaultMaxEncodeDepth = 1 << 16

type encodeConfig struct {
	proto     int
	structTag string
	hook      func(e *Encoder, v any) (bool, error)
	maxDepth  int
}

// An EncodeOption configures an Encoder.
type EncodeOption func(*encodeConfig) error

// Protocol sets the pickle protocol, 2 to 5 (default 4, what Python 3.8 to
// 3.13 writes).
func Protocol(n int) EncodeOption {
	return func(c *encodeConfig) error {
		if n < 2 || n > HighestProtocol {
			return fmt.Errorf("pickle: protocol %d: jlstore writes 2 to %d", n, HighestProtocol)
		}
		c.proto = n
		return nil
	}
}

// StructTag sets the struct tag that names fields when a Go struct is
// written as a dict (default "pickle"). Untagged exported fields use their
// Go name; a tag of "-" skips the field.
func StructTag(name string) EncodeOption {
	return func(c *encodeConfig) error {
		if name == "" {
			return errors.New("pickle: empty struct tag")
		}
		c.structTag = name
		return nil
	}
}

// Hook lets the caller write values that are not of the value model
// (Picklers included) before the encoder's own handling. The hook returns true when it wrote v (leaving
// one value on the stack, as a Pickler does).
func Hook(f func(e *Encoder, v any) (bool, error)) EncodeOption {
	return func(c *encodeConfig) error { c.hook = f; return nil }
}

// MaxEncodeDepth bounds nesting when encoding (default
// DefaultMaxEncodeDepth); deeper values fail with ErrTooLarge.
func MaxEncodeDepth(n int) EncodeOption {
	return func(c *encodeConfig) error {
		if n < 1 {
			return fmt.Errorf("pickle: MaxEncodeDepth %d < 1", n)
		}
		c.maxDepth = n
		return nil
	}
}

// Encoder writes pickles that Python's pickle.load reads back equal.
type Encoder struct {
	w       io.Writer
	cfg     encodeConfig
	cfgErr  error
	buf     []byte // pending output: the current frame at protocol 4+
	written int64
	memo    map[any]int            // memo index of Picklers and other pointers
	ptrs    map[unsafe.Pointer]int // memo index of *Dict, *List, *Set and *Object
	strs    map[string]int         // memo index of each str written
	recent  [256]recentStr         // strs by data pointer, to skip hashing
	globals map[Global]int
	memoN   int
	depth   int
	err     error
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer, opts ...EncodeOption) *Encoder {
	e := &Encoder{w: w, cfg: encodeConfig{proto: DefaultProtocol, structTag: "pickle", maxDepth: DefaultMaxEncodeDepth}}
	for _, o := range opts {
		if err := o(&e.cfg); err != nil && e.cfgErr == nil {
			e.cfgErr = err
		}
	}
	return e
}

// Protocol returns the protocol being written.
func (e *Encoder) Protocol() int { return e.cfg.proto }

// Offset returns the number of bytes written so far in this stream,
// including output not yet flushed.
func (e *Encoder) Offset() int64 { return e.written + int64(len(e.buf)) }

// Encode writes v as one complete pickle (PROTO ... STOP). Calling it again
// writes another pickle after the first, with a fresh memo.
func (e *Encoder) Encode(v any) error {
	if e.cfgErr != nil {
		return e.cfgErr
	}
	e.memo = map[any]int{}
	e.ptrs = map[unsafe.Pointer]int{}
	e.strs = map[string]int{}
	e.recent = [256]recentStr{}
	e.globals = map[Global]int{}
	e.memoN = 0
	e.buf = append(e.buf[:0], opPROTO, byte(e.cfg.proto))
	if err := e.flush(); err != nil {
		return err
	}
	if err := e.Value(v); err != nil {
		return err
	}
	e.buf = append(e.buf, opSTOP)
	if e.cfg.proto >= 4 {
		return e.commitFrame()
	}
	return e.flush()
}

// flush writes pending output as is.
func (e *Encoder) flush() error {
	if len(e.buf) == 0 {
		return nil
	}
	n, err := e.w.Write(e.buf)
	e.written += int64(n)
	e.buf = e.buf[:0]
	if err != nil {
		e.err = err
	}
	return err
}

// commitFrame ends the current frame: it writes it with a FRAME header
// (when it holds at least 4 bytes, as Python does).
func (e *Encoder) commitFrame() error {
	if len(e.buf) == 0 {
		return nil
	}
	if len(e.buf) >= 4 {
		var hdr [9]byte
		hdr[0] = opFRAME
		binary.LittleEndian.PutUint64(hdr[1:], uint64(len(e.buf)))
		n, err := e.w.Write(hdr[:])
		e.written += int64(n)
		if err != nil {
			e.err = err
			return err
		}
	}
	return e.flush()
}

// Raw ends the current frame and writes p straight to the output, outside
// every frame. joblib's array data is written this way, right after the
// wrapper's BUILD.
func (e *Encoder) Raw(p []byte) error {
	if err := e.endPending(); err != nil {
		return err
	}
	n, err := e.w.Write(p)
	e.written += int64(n)
	if err != nil {
		e.err = err
	}
	return err
}

// endPending writes out pending output, as a frame at protocol 4+.
func (e *Encoder) endPending() error {
	if e.cfg.proto >= 4 {
		return e.commitFrame()
	}
	return e.flush()
}

func (e *Encoder) op(op byte) { e.buf = append(e.buf, op) }

// Op writes one opcode byte. It is for Picklers that need an opcode the
// helpers do not cover; pass the byte value pickletools gives.
func (e *Encoder) Op(op byte) { e.op(op) }

func (e *Encoder) maybeCommit() error {
	if len(e.buf) < frameTarget {
		return nil
	}
	if e.cfg.proto >= 4 {
		return e.commitFrame()
	}
	return e.flush()
}

// Memoize records v (a pointer) in the memo, so that later references to it
// are written as memo gets, and writes the MEMOIZE or PUT opcode.
func (e *Encoder) Memoize(v any) {
	idx := e.memoN
	e.memoN++
	if v != nil {
		if p := modelPointer(v); p != nil {
			e.ptrs[p] = idx
		} else {
			e.memo[v] = idx
		}
	}
	e.putMemo(idx)
}

// modelPointer returns the address of a *Dict, *List, *Set or *Object,
// which key the memo faster than an interface does.
func modelPointer(v any) unsafe.Pointer {
	switch x := v.(type) {
	case *Dict:
		return unsafe.Pointer(x)
	case *List:
		return unsafe.Pointer(x)
	case *Set:
		return unsafe.Pointer(x)
	case *Object:
		return unsafe.Pointer(x)
	}
	return nil
}

// recentStr remembers the memo index of a str by its data pointer: equal
// pointers and lengths mean equal strings, with no hashing.
type recentStr struct {
	p   *byte
	n   int
	idx int
}

func (e *Encoder) putMemo(idx int) {
	if e.cfg.proto >= 4 {
		e.op(opMEMOIZE)
		return
	}
	if idx < 256 {
		e.buf = append(e.buf, opBINPUT, byte(idx))
		return
	}
	e.buf = append(e.buf, opLONG_BINPUT)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(idx))
}

func (e *Encoder) getMemo(idx int) {
	if idx < 256 {
		e.buf = append(e.buf, opBINGET, byte(idx))
		return
	}
	e.buf = append(e.buf, opLONG_BINGET)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(idx))
}

// memoized writes a memo get for v when v was memoized before.
func (e *Encoder) memoized(v any) bool {
	if p := modelPointer(v); p != nil {
		if idx, ok := e.ptrs[p]; ok {
			e.getMemo(idx)
			return true
		}
		return false
	}
	if idx, ok := e.memo[v]; ok {
		e.getMemo(idx)
		return true
	}
	return false
}

var py3to2Modules = map[string]string{"builtins": "__builtin__", "copyreg": "copy_reg"}

// Global writes a reference to a global.
func (e *Encoder) Global(g Global) error {
	if idx, ok := e.globals[g]; ok {
		e.getMemo(idx)
		return nil
	}
	// Python reads the Python 2 names of renamed modules only below
	// protocol 3 (fix_imports), and writes them there: do the same.
	mod := g.Module
	if e.cfg.proto < 3 {
		if m, ok := py3to2Modules[mod]; ok {
			mod = m
		}
	} else if m, ok := py2Modules[mod]; ok {
		mod = m
	}
	if e.cfg.proto >= 4 {
		if err := e.text(mod); err != nil {
			return err
		}
		if err := e.text(g.Name); err != nil {
			return err
		}
		e.op(opSTACK_GLOBAL)
	} else {
		if strings.ContainsRune(mod, '\n') || strings.ContainsRune(g.Name, '\n') {
			return fmt.Errorf("pickle: global %q has a newline", g)
		}
		e.op(opGLOBAL)
		e.buf = append(e.buf, mod...)
		e.buf = append(e.buf, '\n')
		e.buf = append(e.buf, g.Name...)
		e.buf = append(e.buf, '\n')
	}
	e.globals[g] = e.memoN
	e.Memoize(nil)
	return nil
}

// Reduce writes callable(*args), as REDUCE.
func (e *Encoder) Reduce(callable Global, args Tuple) error {
	if err := e.Global(callable); err != nil {
		return err
	}
	if err := e.Value(args); err != nil {
		return err
	}
	e.op(opREDUCE)
	return nil
}

// NewObj writes cls.__new__(cls, *args), as NEWOBJ.
func (e *Encoder) NewObj(cls Global, args Tuple) error {
	if err := e.Global(cls); err != nil {
		return err
	}
	if err := e.Value(args); err != nil {
		return err
	}
	e.op(opNEWOBJ)
	return nil
}

// Build writes state and a BUILD opcode.
func (e *Encoder) Build(state any) error {
	if err := e.Value(state); err != nil {
		return err
	}
	e.op(opBUILD)
	return nil
}

// Value writes v, whatever its type, leaving it on the unpickler's stack.
// See the package documentation for how Go types map to Python.
func (e *Encoder) Value(v any) error {
	if e.err != nil {
		return e.err
	}
	if e.depth >= e.cfg.maxDepth {
		return fmt.Errorf("pickle: values nest deeper than %d: %w", e.cfg.maxDepth, ErrTooLarge)
	}
	e.depth++
	err := e.value(v)
	e.depth--
	return err
}

func (e *Encoder) value(v any) error {
	if err := e.maybeCommit(); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		e.op(opNONE)
	case bool:
		if x {
			e.op(opNEWTRUE)
		} else {
			e.op(opNEWFALSE)
		}
	case int:
		e.int(int64(x))
	case int64:
		e.int(x)
	case int32:
		e.int(int64(x))
	case int16:
		e.int(int64(x))
	case int8:
		e.int(int64(x))
	case uint8:
		e.int(int64(x))
	case uint16:
		e.int(int64(x))
	case uint32:
		e.int(int64(x))
	case uint:
		e.bigOrInt(new(big.Int).SetUint64(uint64(x)))
	case uint64:
		e.bigOrInt(new(big.Int).SetUint64(x))
	case *big.Int:
		if x == nil {
			e.op(opNONE)
		} else {
			e.bigOrInt(x)
		}
	case float64:
		e.float(x)
	case float32:
		e.float(float64(x))
	case complex128:
		return e.complex(x)
	case complex64:
		return e.complex(complex128(x))
	case string:
		return e.text(x)
	case []byte:
		return e.bytes(x)
	case ByteArray:
		return e.byteArray(x)
	case Tuple:
		return e.tuple(x)
	case []any:
		return e.list(nil, x)
	case *List:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		if e.memoized(x) {
			return nil
		}
		return e.list(x, x.Items)
	case *Dict:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		return e.dict(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := &Dict{}
		for _, k := range keys {
			d.t.put(k, x[k], true)
		}
		return e.dictItems(d)
	case *Set:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		return e.set(x)
	case Global:
		return e.Global(x)
	case *Object:
		if x == nil {
			e.op(opNONE)
			return nil
		}
		return e.object(x)
	default:
		// The hook comes first, so that a caller can write a Pickler in
		// another form (joblib writes numpy arrays as its wrapper).
		if e.cfg.hook != nil {
			ok, err := e.cfg.hook(e, v)
			if ok || err != nil {
				return err
			}
		}
		if p, ok := v.(Pickler); ok {
			rv := reflect.ValueOf(v)
			if rv.Kind() == reflect.Pointer {
				if rv.IsNil() {
					e.op(opNONE)
					return nil
				}
				if e.memoized(v) {
					return nil
				}
			}
			return p.PickleTo(e)
		}
		return e.reflectValue(reflect.ValueOf(v))
	}
	return nil
}

func (e *Encoder) int(x int64) {
	switch {
	case x >= 0 && x < 256:
		e.buf = append(e.buf, opBININT1, byte(x))
	case x >= 0 && x < 65536:
		e.buf = append(e.buf, opBININT2, byte(x), byte(x>>8))
	case x >= math.MinInt32 && x <= math.MaxInt32:
		e.buf = append(e.buf, opBININT)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(x))
	default:
		e.long(encodeLong(big.NewInt(x)))
	}
}

func (e *Encoder) bigOrInt(x *big.Int) {
	if x.IsInt64() {
		e.int(x.Int64())
		return
	}
	e.long(encodeLong(x))
}

func (e *Encoder) long(b []byte) {
	if len(b) < 256 {
		e.buf = append(e.buf, opLONG1, byte(len(b)))
	} else {
		e.buf = append(e.buf, opLONG4)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(b)))
	}
	e.buf = append(e.buf, b...)
}

// encodeLong returns x as little-endian two's complement in the fewest
// bytes, as Python's pickle.encode_long does.
func encodeLong(x *big.Int) []byte {
	if x.Sign() == 0 {
		return nil
	}
	n := x.BitLen()/8 + 1
	var be []byte
	if x.Sign() > 0 {
		be = x.FillBytes(make([]byte, n))
	} else {
		// two's complement: 2^(8n) + x
		t := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
		t.Add(t, x)
		be = t.FillBytes(make([]byte, n))
		if n > 1 && be[0] == 0xff && be[1]&0x80 != 0 {
			be = be[1:]
		}
	}
	out := make([]byte, len(be))
	for i, c := range be {
		out[len(be)-1-i] = c
	}
	return out
}

func (e *Encoder) complex(c complex128) error {
	if err := e.Reduce(Global{"builtins", "complex"}, Tuple{real(c), imag(c)}); err != nil {
		return err
	}
	e.Memoize(nil)
	return nil
}

func (e *Encoder) float(f float64) {
	e.op(opBINFLOAT)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// validText reports whether s is UTF-8 that Python reads back, allowing
// lone surrogates as Python's surrogatepass writes them.
func validText(s string) bool {
	if utf8.ValidString(s) {
		return true
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2]&0xC0 == 0x80 {
				i += 3
				continue
			}
			return false
		}
		i += n
	}
	return true
}

func (e *Encoder) str(s string) {
	if len(s) < 256 && e.cfg.proto >= 4 {
		e.buf = append(e.buf, opSHORT_BINUNICODE, byte(len(s)))
	} else {
		e.buf = append(e.buf, opBINUNICODE)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(s)))
	}
	e.buf = append(e.buf, s...)
}

// text writes s, or a memo get when an equal str was written before:
// strings are immutable, so sharing them is safe, and Python does the same
// for the strings it shares (dict keys, names).
func (e *Encoder) text(s string) error {
	var r *recentStr
	if len(s) > 0 {
		p := unsafe.StringData(s)
		r = &e.recent[(uintptr(unsafe.Pointer(p))>>3)%uintptr(len(e.recent))]
		if r.p == p && r.n == len(s) {
			e.getMemo(r.idx)
			return nil
		}
	}
	if idx, ok := e.strs[s]; ok {
		if r != nil {
			*r = recentStr{unsafe.StringData(s), len(s), idx}
		}
		e.getMemo(idx)
		return nil
	}
	if !validText(s) {
		return fmt.Errorf("pickle: string is not valid UTF-8, so Python cannot read it (use []byte for binary data)")
	}
	e.strs[s] = e.memoN
	if r != nil {
		*r = recentStr{unsafe.StringData(s), len(s), e.memoN}
	}
	switch {
	case len(s) < frameTarget:
		e.str(s)
	case e.cfg.proto >= 4 && uint64(len(s)) > math.MaxUint32:
		var hdr [9]byte
		hdr[0] = opBINUNICODE8
		binary.LittleEndian.PutUint64(hdr[1:], uint64(len(s)))
		return e.large(hdr[:], []byte(s))
	case uint64(len(s)) > math.MaxUint32:
		return fmt.Errorf("pickle: string of %d bytes needs protocol 4: %w", len(s), ErrTooLarge)
	default:
		var hdr [5]byte
		hdr[0] = opBINUNICODE
		binary.LittleEndian.PutUint32(hdr[1:], uint32(len(s)))
		return e.large(hdr[:], []byte(s))
	}
	e.Memoize(nil)
	return nil
}

// large writes a header and a big payload, the payload outside any frame
// (Python's write_large_bytes).
func (e *Encoder) large(hdr, payload []byte) error {
	if e.cfg.proto >= 4 && len(payload) >= frameTarget {
		if err := e.Raw(hdr); err != nil {
			return err
		}
		if err := e.Raw(payload); err != nil {
			return err
		}
	} else {
		e.buf = append(e.buf, hdr...)
		e.buf = append(e.buf, payload...)
	}
	e.Memoize(nil)
	return nil
}

func (e *Encoder) bytes(b []byte) error {
	if e.cfg.proto < 3 {
		var err error
		if len(b) == 0 {
			err = e.Reduce(Global{"builtins", "bytes"}, Tuple{})
		} else {
			err = e.Reduce(Global{"_codecs", "encode"}, Tuple{latin1(b), "latin1"})
		}
		if err != nil {
			return err
		}
		e.Memoize(nil)
		return nil
	}
	switch {
	case len(b) < 256:
		e.buf = append(e.buf, opSHORT_BINBYTES, byte(len(b)))
		e.buf = append(e.buf, b...)
		e.Memoize(nil)
		return nil
	case uint64(len(b)) <= math.MaxUint32:
		var hdr [5]byte
		hdr[0] = opBINBYTES
		binary.LittleEndian.PutUint32(hdr[1:], uint32(len(b)))
		return e.large(hdr[:], b)
	case e.cfg.proto >= 4:
		var hdr [9]byte
		hdr[0] = opBINBYTES8
		binary.LittleEndian.PutUint64(hdr[1:], uint64(len(b)))
		return e.large(hdr[:], b)
	}
	return fmt.Errorf("pickle: bytes of %d bytes need protocol 4: %w", len(b), ErrTooLarge)
}

func (e *Encoder) byteArray(b ByteArray) error {
	if e.cfg.proto >= 5 {
		var hdr [9]byte
		hdr[0] = opBYTEARRAY8
		binary.LittleEndian.PutUint64(hdr[1:], uint64(len(b)))
		return e.large(hdr[:], b)
	}
	args := Tuple{}
	if len(b) > 0 {
		args = Tuple{[]byte(b)}
	}
	if err := e.Reduce(Global{"builtins", "bytearray"}, args); err != nil {
		return err
	}
	e.Memoize(nil)
	return nil
}

func (e *Encoder) tuple(t Tuple) error {
	if len(t) == 0 {
		e.op(opEMPTY_TUPLE)
		return nil
	}
	if len(t) > 3 {
		e.op(opMARK)
	}
	for _, it := range t {
		if err := e.Value(it); err != nil {
			return err
		}
	}
	if len(t) > 3 {
		e.op(opTUPLE)
	} else {
		e.op(opTUPLE1 + byte(len(t)-1))
	}
	// Python memoizes every non-empty tuple; a Tuple has no identity to
	// share, but doing the same keeps the bytes identical to Python's.
	e.Memoize(nil)
	return nil
}

// list writes a list; l is the *List to memoize, or nil for a Go slice.
func (e *Encoder) list(l *List, items []any) error {
	e.op(opEMPTY_LIST)
	if l != nil {
		e.Memoize(l)
	} else {
		e.Memoize(nil)
	}
	return e.appends(items)
}

func (e *Encoder) appends(items []any) error {
	for start := 0; start < len(items); start += batchSize {
		batch := items[start:min(start+batchSize, len(items))]
		if len(batch) == 1 {
			if err := e.Value(batch[0]); err != nil {
				return err
			}
			e.op(opAPPEND)
			continue
		}
		e.op(opMARK)
		for _, it := range batch {
			if err := e.Value(it); err != nil {
				return err
			}
		}
		e.op(opAPPENDS)
	}
	return nil
}

func (e *Encoder) dict(d *Dict) error {
	if e.memoized(d) {
		return nil
	}
	if d.Class != (Global{}) {
		if err := e.Reduce(d.Class, Tuple{}); err != nil {
			return err
		}
	} else {
		e.op(opEMPTY_DICT)
	}
	e.Memoize(d)
	return e.setitemsKV(d.t.keys, d.t.vals)
}

// dictItems writes the items of a dict made from a Go map or struct, which
// has no identity to share.
func (e *Encoder) dictItems(d *Dict) error {
	e.op(opEMPTY_DICT)
	e.Memoize(nil)
	return e.setitemsKV(d.t.keys, d.t.vals)
}

// setitemsKV is setitems for parallel keys and values.
func (e *Encoder) setitemsKV(keys, vals []any) error {
	for start := 0; start < len(keys); start += batchSize {
		end := min(start+batchSize, len(keys))
		if end-start > 1 {
			e.op(opMARK)
		}
		for i := start; i < end; i++ {
			if err := e.Value(keys[i]); err != nil {
				return err
			}
			if err := e.Value(vals[i]); err != nil {
				return err
			}
		}
		if end-start > 1 {
			e.op(opSETITEMS)
		} else {
			e.op(opSETITEM)
		}
	}
	return nil
}

func (e *Encoder) setitems(items []DictItem) error {
	for start := 0; start < len(items); start += batchSize {
		batch := items[start:min(start+batchSize, len(items))]
		if len(batch) > 1 {
			e.op(opMARK)
		}
		for _, it := range batch {
			if err := e.Value(it.Key); err != nil {
				return err
			}
			if err := e.Value(it.Value); err != nil {
				return err
			}
		}
		if len(batch) > 1 {
			e.op(opSETITEMS)
		} else {
			e.op(opSETITEM)
		}
	}
	return nil
}

func (e *Encoder) set(s *Set) error {
	if e.memoized(s) {
		return nil
	}
	items := s.Items()
	if e.cfg.proto < 4 {
		name := "set"
		if s.Frozen {
			name = "frozenset"
		}
		if err := e.Reduce(Global{"builtins", name}, Tuple{items}); err != nil {
			return err
		}
		e.Memoize(s)
		return nil
	}
	if s.Frozen {
		e.op(opMARK)
		for _, it := range items {
			if err := e.Value(it); err != nil {
				return err
			}
		}
		e.op(opFROZENSET)
		e.Memoize(s)
		return nil
	}
	e.op(opEMPTY_SET)
	e.Memoize(s)
	for start := 0; start < len(items); start += batchSize {
		e.op(opMARK)
		for _, it := range items[start:min(start+batchSize, len(items))] {
			if err := e.Value(it); err != nil {
				return err
			}
		}
		e.op(opADDITEMS)
	}
	return nil
}

func (e *Encoder) object(o *Object) error {
	if e.memoized(o) {
		return nil
	}
	var err error
	switch o.Construct {
	case Reduce:
		if o.Callee != nil {
			if err = e.Value(o.Callee); err == nil {
				if err = e.Value(o.Args); err == nil {
					e.op(opREDUCE)
				}
			}
			break
		}
		err = e.Reduce(o.Class, o.Args)
	case NewObj:
		err = e.NewObj(o.Class, o.Args)
	case NewObjEx:
		kw := o.Kwargs
		if kw == nil {
			kw = &Dict{}
		}
		if e.cfg.proto >= 4 {
			if err = e.Global(o.Class); err == nil {
				if err = e.Value(o.Args); err == nil {
					if err = e.Value(kw); err == nil {
						e.op(opNEWOBJ_EX)
					}
				}
			}
		} else {
			err = e.Reduce(Global{"copyreg", "__newobj_ex__"}, Tuple{o.Class, o.Args, kw})
		}
	case Reconstructor:
		args := append(Tuple{o.Class}, o.Args...)
		err = e.Reduce(Global{"copyreg", "_reconstructor"}, args)
	default:
		err = fmt.Errorf("pickle: object of %s has unknown construct %d", o.Class, o.Construct)
	}
	if err != nil {
		return err
	}
	e.Memoize(o)
	if len(o.ListItems) > 0 {
		if err := e.appends(o.ListItems); err != nil {
			return err
		}
	}
	if len(o.DictItems) > 0 {
		if err := e.setitems(o.DictItems); err != nil {
			return err
		}
	}
	if o.HasState {
		return e.Build(o.State)
	}
	return nil
}

func (e *Encoder) reflectValue(rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.Invalid:
		e.op(opNONE)
		return nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			e.op(opNONE)
			return nil
		}
		return e.Value(rv.Elem().Interface())
	case reflect.Bool:
		return e.Value(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(rv.Int())
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.bigOrInt(new(big.Int).SetUint64(rv.Uint()))
		return nil
	case reflect.Float32, reflect.Float64:
		e.float(rv.Float())
		return nil
	case reflect.Complex64, reflect.Complex128:
		return e.Value(rv.Complex())
	case reflect.String:
		return e.text(rv.String())
	case reflect.Slice:
		if rv.IsNil() {
			e.op(opNONE)
			return nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return e.bytes(rv.Bytes())
		}
		fallthrough
	case reflect.Array:
		items := make([]any, rv.Len())
		for i := range items {
			items[i] = rv.Index(i).Interface()
		}
		return e.list(nil, items)
	case reflect.Map:
		if rv.IsNil() {
			e.op(opNONE)
			return nil
		}
		items := make([]DictItem, 0, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			k, err := mapKey(it.Key())
			if err != nil {
				return err
			}
			items = append(items, DictItem{k, it.Value().Interface()})
		}
		// Sorted, so that the output does not depend on Go's map order.
		sort.SliceStable(items, func(i, j int) bool { return keyLess(items[i].Key, items[j].Key) })
		d := &Dict{}
		for _, it := range items {
			if err := d.Set(it.Key, it.Value); err != nil {
				return fmt.Errorf("pickle: map key: %w", err)
			}
		}
		return e.dictItems(d)
	case reflect.Struct:
		d := &Dict{}
		t := rv.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, ok := f.Tag.Lookup(e.cfg.structTag); ok {
				tag, _, _ = strings.Cut(tag, ",")
				if tag == "-" {
					continue
				}
				if tag != "" {
					name = tag
				}
			}
			d.t.put(name, rv.Field(i).Interface(), true)
		}
		return e.dictItems(d)
	}
	return fmt.Errorf("pickle: cannot encode a Go %s: %w", rv.Type(), ErrUnsupported)
}

// mapKey converts a Go map key to a hashable value of the model: arrays
// become tuples, named strings and numbers their base type. Keys that
// would be a list or a dict in Python are refused.
func mapKey(k reflect.Value) (any, error) {
	if k.Kind() == reflect.Interface {
		if k.IsNil() {
			return nil, nil
		}
		k = k.Elem()
	}
	switch x := k.Interface().(type) {
	case string, bool, int64, float64, complex128, []byte, Tuple, Global, *Set, *Object, *big.Int:
		return x, nil
	}
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Bool:
		return k.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return k.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := k.Uint(); u > math.MaxInt64 {
			return new(big.Int).SetUint64(u), nil
		} else {
			return int64(u), nil
		}
	case reflect.Float32, reflect.Float64:
		return k.Float(), nil
	case reflect.Complex64, reflect.Complex128:
		return k.Complex(), nil
	case reflect.Array:
		t := make(Tuple, k.Len())
		for i := range t {
			v, err := mapKey(k.Index(i))
			if err != nil {
				return nil, err
			}
			t[i] = v
		}
		return t, nil
	case reflect.Pointer:
		if k.IsNil() {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("pickle: a Go %s map key would be unhashable in Python: %w", k.Type(), ErrUnsupported)
}

// keyLess orders map keys: numbers by value, strings and bytes by
// content, other kinds by their type name and then their text.
func keyLess(a, b any) bool {
	na, oka := number(a)
	nb, okb := number(b)
	if oka && okb && na.isInt && nb.isInt {
		return na.i.Cmp(nb.i) < 0
	}
	if oka && okb && imag(na.f) == 0 && imag(nb.f) == 0 && !na.isInt && !nb.isInt {
		return real(na.f) < real(nb.f)
	}
	ta, tb := TypeName(a), TypeName(b)
	if ta != tb {
		return ta < tb
	}
	switch x := a.(type) {
	case string:
		return x < b.(string)
	case []byte:
		return string(x) < string(b.([]byte))
	}
	return fmt.Sprint(a) < fmt.Sprint(b)
}
