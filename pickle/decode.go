package pickle

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/big"
	"unicode/utf8"
	"unsafe"

	"github.com/jlstore/jlstore/internal/errs"
)

// Error kinds. They are shared by every jlstore package, so errors.Is
// works whichever layer failed.
var (
	ErrFormat      = errs.Format
	ErrCorrupt     = errs.Corrupt
	ErrTooLarge    = errs.TooLarge
	ErrUnsafe      = errs.Unsafe
	ErrUnsupported = errs.Unsupported
)

// FormatError describes bad input at a byte offset. Layer is "pickle" for
// errors of this package, Op the opcode's pickletools name.
type FormatError = errs.FormatError

// Costs of the containers the decoder makes (see costAny).
const (
	costList   = int64(unsafe.Sizeof(List{}))
	costDict   = int64(unsafe.Sizeof(Dict{}))
	costSet    = int64(unsafe.Sizeof(Set{}))
	costGlobal = int64(unsafe.Sizeof(Global{}))
)

// emptyTuple is the value of EMPTY_TUPLE: one interface value for all, as
// converting a fresh Tuple{} allocates.
var emptyTuple any = Tuple{}

// memoHole marks an unset memo slot.
type memoHoleT struct{}

var memoHole any = memoHoleT{}

// Decoder reads pickles. It never runs anything the pickle names: globals
// resolve through a [Registry] to registered Go constructors, or become inert
// [Object] values.
type Decoder struct {
	argReader
	cfg       decodeConfig
	cfgErr    error
	stack     []any
	marks     []int
	memo      memoTable
	dicts     slab[Dict]
	items     anySlab
	arena     textArena
	boxes     boxes
	lists     slab[List]
	objects   slab[Object]
	shape     []any // the keys of the last small dict of str keys
	last      lastLookup
	memoMap   map[int64]any
	memoN     int
	memoHoles int
	frameEnd  int64 // stream offset where the last FRAME ends
	room      int   // cfg.maxDepth - len(marks): the stack's limit
	used      int64 // bytes claimed against cfg.maxBytes
	keyWork   int64 // bytes of dict key and set item encodings computed (maxKeyWork)
	proto     int
	bufIndex  int
	nested    int
}

// NewDecoder returns a decoder reading from r. When r is a *[Stream], the
// decoder reads from it directly, so several pickles in a row can be
// decoded from one stream.
func NewDecoder(r io.Reader, opts ...DecodeOption) *Decoder {
	return newDecoder(NewStream(r), opts)
}

// NewDecoderBytes returns a decoder over b, which it does not copy.
func NewDecoderBytes(b []byte, opts ...DecodeOption) *Decoder {
	return newDecoder(NewStreamBytes(b), opts)
}

func newDecoder(s *Stream, opts []DecodeOption) *Decoder {
	d := &Decoder{argReader: argReader{s: s}, cfg: defaultDecodeConfig()}
	for _, o := range opts {
		if err := o(&d.cfg); err != nil && d.cfgErr == nil {
			d.cfgErr = err
		}
	}
	d.cfg.finish()
	d.meter()
	return d
}

// meter makes the decoder's allocators charge their blocks to d.used.
func (d *Decoder) meter() {
	d.memo.used = &d.used
	d.dicts.used = &d.used
	d.lists.used = &d.used
	d.objects.used = &d.used
	d.items.used = &d.used
	d.boxes.used = &d.used
}

// Stream returns the decoder's input, positioned after the last opcode
// read. Registered constructors use it to read spliced payloads.
func (d *Decoder) Stream() *Stream { return d.s }

// Protocol returns the protocol the current pickle declared (0 when it has
// no PROTO opcode).
func (d *Decoder) Protocol() int { return d.proto }

// Py2Strings returns how Python 2 str values decode.
func (d *Decoder) Py2Strings() Py2Strings { return d.cfg.py2 }

// Registry returns the registry globals resolve through.
func (d *Decoder) Registry() *Registry { return d.cfg.registry }

// Reserve claims n bytes against the MaxBytes budget before a constructor
// allocates them. It fails with ErrTooLarge when the budget would be
// exceeded, or with io.ErrUnexpectedEOF when the input is known to hold
// fewer than need bytes (pass need 0 when the bytes do not come from the
// input).
func (d *Decoder) Reserve(n, need int64) error {
	if err := d.claim(n, need, d.cfg.budget(d.used, n)); err != nil {
		return err
	}
	d.used += n
	return nil
}

// charge claims n bytes against the MaxBytes budget before the decoder
// allocates them for its own structures.
func (d *Decoder) charge(n int64) error {
	if n > d.cfg.maxBytes-d.used && n > d.cfg.budget(d.used, n) {
		return d.budgetError()
	}
	d.used += n
	return nil
}

// Small allocations of a known bound are added to d.used as they are made
// (see spend), and run checks the total before each opcode, so that the
// opcode which went over the budget is the one named.
func (d *Decoder) budgetError() error {
	return d.Errorf(ErrTooLarge, "decoded values take more than %d bytes (MaxBytes)", d.cfg.maxBytes)
}

// valueCost returns the bytes that a value decoded from a protocol 0 line
// or a Python 2 str takes, as charged against the budget.
func valueCost(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(len(x)) + 16
	case []byte:
		return int64(len(x)) + costSlice
	case *big.Int:
		return int64(len(x.Bits()))*8 + 32
	}
	return 8
}

// Errorf returns a *FormatError at the current opcode wrapping kind.
func (d *Decoder) Errorf(kind error, format string, args ...any) error {
	return d.errorf(kind, format, args...)
}

// Decode reads one pickle, up to and including its STOP opcode, and
// returns the value it holds. It reads nothing past STOP.
func (d *Decoder) Decode() (v any, err error) {
	if d.cfgErr != nil {
		return nil, d.cfgErr
	}
	d.stack = d.stack[:0]
	d.marks = d.marks[:0]
	d.room = d.cfg.maxDepth
	d.memo.reset()
	d.last.ok = false // the registry may have changed
	d.memoMap = nil
	d.memoN = 0
	d.memoHoles = 0
	d.frameEnd = 0
	d.proto = 0
	d.op = 0
	d.opStart = d.s.Offset()
	if _, perr := d.s.Peek(1); perr != nil {
		if d.s.err == nil || d.s.err == io.EOF {
			return nil, io.EOF
		}
		return nil, d.eof()
	}
	return d.run()
}

// DecodeNested decodes a complete pickle (PROTO ... STOP) that follows in
// the same stream, with the same options and budget, and returns its value.
// joblib writes object arrays this way.
func (d *Decoder) DecodeNested() (any, error) {
	if d.nested > 16 {
		return nil, d.Errorf(ErrTooLarge, "nested pickles deeper than 16")
	}
	n := &Decoder{argReader: argReader{s: d.s}, cfg: d.cfg, used: d.used, nested: d.nested + 1}
	n.meter()
	v, err := n.Decode()
	d.used = n.used
	if err == io.EOF {
		err = d.Errorf(io.ErrUnexpectedEOF, "nested pickle missing")
	}
	return v, err
}

func (d *Decoder) push(v any) error {
	if len(d.stack) >= d.room {
		return errDepth
	}
	d.stack = append(d.stack, v)
	return nil
}

// errDepth is what push returns when the stack is full; run turns it
// into a *FormatError (a small push inlines).
var errDepth = errors.New("depth")

func (d *Decoder) depthError() error {
	return d.Errorf(ErrTooLarge, "more than %d values open at once (MaxDepth)", d.cfg.maxDepth)
}

func (d *Decoder) pop() (any, error) {
	n := len(d.stack)
	base := 0
	if len(d.marks) > 0 {
		base = d.marks[len(d.marks)-1]
	}
	if n <= base {
		return nil, d.Errorf(ErrCorrupt, "stack underflow")
	}
	v := d.stack[n-1]
	d.stack = d.stack[:n-1]
	return v, nil
}

func (d *Decoder) top() (any, error) {
	n := len(d.stack)
	base := 0
	if len(d.marks) > 0 {
		base = d.marks[len(d.marks)-1]
	}
	if n <= base {
		return nil, d.Errorf(ErrCorrupt, "stack underflow")
	}
	return d.stack[n-1], nil
}

// popMark returns the items pushed since the last MARK and removes them
// and the mark. The slice aliases the stack: copy it to keep it.
func (d *Decoder) popMark() ([]any, error) {
	if len(d.marks) == 0 {
		return nil, d.Errorf(ErrCorrupt, "no MARK on the stack")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	d.room++
	items := d.stack[m:]
	d.stack = d.stack[:m]
	return items, nil
}

func (d *Decoder) memoPut(idx int64, v any) error {
	if idx < 0 {
		return d.Errorf(ErrCorrupt, "negative memo index %d", idx)
	}
	if idx < int64(d.memo.len()) {
		if d.memo.get(int(idx)) == memoHole {
			d.memoHoles--
			// The index may have gone to the map before the slice
			// grew past it: move it, counting it once.
			if _, ok := d.memoMap[idx]; ok {
				delete(d.memoMap, idx)
			} else {
				d.memoN++
			}
		}
		d.memo.set(int(idx), v)
		return d.memoLimit()
	}
	// Grow the slice over a gap only while holes stay few next to the
	// entries, so that sparse indexes cannot make memory out of nothing.
	if gap := idx - int64(d.memo.len()); gap < 1024 && int64(d.memoHoles)+gap <= int64(d.memoN)+64 {
		for int64(d.memo.len()) < idx {
			d.memo.append(memoHole)
		}
		d.memoHoles += int(gap)
		d.memo.append(v)
		if _, ok := d.memoMap[idx]; ok {
			delete(d.memoMap, idx)
		} else {
			d.memoN++
		}
		return d.memoLimit()
	}
	if d.memoMap == nil {
		d.memoMap = map[int64]any{}
	}
	if _, ok := d.memoMap[idx]; !ok {
		d.memoN++
		d.used += costMemoMap
	}
	d.memoMap[idx] = v
	return d.memoLimit()
}

func (d *Decoder) memoLimit() error {
	if d.memoN > d.cfg.maxMemo {
		return d.Errorf(ErrTooLarge, "more than %d memo entries (MaxMemo)", d.cfg.maxMemo)
	}
	return nil
}

func (d *Decoder) memoGet(idx int64) error {
	if uint64(idx) < uint64(d.memo.len()) {
		if v := d.memo.get(int(idx)); v != memoHole {
			return d.push(v)
		}
	}
	return d.memoGetSlow(idx)
}

func (d *Decoder) memoGetSlow(idx int64) error {
	var v any = memoHole
	if idx >= 0 && idx < int64(d.memo.len()) {
		v = d.memo.get(int(idx))
	}
	if v == memoHole && d.memoMap != nil {
		if x, ok := d.memoMap[idx]; ok {
			v = x
		}
	}
	if v == memoHole {
		return d.Errorf(ErrCorrupt, "memo index %d was never set", idx)
	}
	return d.push(v)
}

// readData reads a length-prefixed payload of n bytes into fresh memory,
// claiming it against the budget first.
func (d *Decoder) readData(n int64) ([]byte, error) {
	if err := d.Reserve(n, n); err != nil {
		return nil, err
	}
	return d.readN(n)
}

// readText reads n bytes of UTF-8 text (with surrogates allowed, as Python
// writes them) into a string.
func (d *Decoder) readText(n int64) (string, error) {
	if n <= streamBufSize {
		if err := d.Reserve(n, n); err != nil {
			return "", err
		}
		b, err := d.next(int(n))
		if err != nil {
			return "", err
		}
		if !utf8.Valid(b) {
			return d.text(string(b))
		}
		return d.arena.string(b), nil
	}
	b, err := d.readData(n)
	if err != nil {
		return "", err
	}
	return d.text(string(b))
}

func (d *Decoder) py2String(b []byte) (any, error) {
	switch d.cfg.py2 {
	case Py2Latin1:
		return latin1(b), nil
	case Py2ASCII:
		for _, c := range b {
			if c >= 0x80 {
				return nil, d.Errorf(ErrCorrupt, "Python 2 str is not ASCII (use Py2Bytes or Py2Latin1)")
			}
		}
		return string(b), nil
	}
	return b, nil
}

func (d *Decoder) resolveGlobal(module, name string) (any, error) {
	g := Global{module, name}
	if err := d.checkGlobal(module, name); err != nil {
		return nil, err
	}
	if d.cfg.strict && !d.cfg.registry.Known(g) {
		return nil, d.Errorf(ErrUnsafe, "global %s is not allowed", g)
	}
	d.used += costGlobal
	return g, nil
}

// call applies callable to args, as REDUCE does.
func (d *Decoder) call(callable any, args Tuple) (any, error) {
	g, ok := callable.(Global)
	if !ok {
		switch callable.(type) {
		case nil, bool, int64, *big.Int, float64, complex128, string, []byte, ByteArray, Tuple, *List, *Dict, *Set:
			return nil, d.Errorf(ErrCorrupt, "cannot call a %s", TypeName(callable))
		}
		// An object the pickle built (functools.partial, a bound
		// method...): record the call.
		o := d.objects.new(64)
		o.Callee, o.Construct, o.Args = callable, Reduce, args
		return o, nil
	}
	if c, ok := d.lookup(g); ok && c.Call != nil {
		return c.Call(d, args)
	}
	o := d.objects.new(64)
	o.Class, o.Construct, o.Args = g, Reduce, args
	return o, nil
}

// instantiate makes an instance for INST and OBJ. As Python's
// _instantiate does for a class, no arguments means cls.__new__(cls)
// (NEWOBJ, without __init__), and arguments mean cls(*args) (REDUCE).
func (d *Decoder) instantiate(cls any, args Tuple) (any, error) {
	if len(args) == 0 {
		return d.newInstance(cls, args, nil, NewObj)
	}
	return d.call(cls, args)
}

func (d *Decoder) run() (any, error) {
	s := d.s
	for {
		// d.op is still the last opcode, which made what went over.
		if d.used > d.cfg.maxBytes && d.cfg.budget(d.used, 0) < 0 {
			return nil, d.budgetError()
		}
		d.opStart = s.Offset()
		var op byte
		if s.r < s.w {
			op = s.buf[s.r]
			s.r++
		} else {
			c, err := s.ReadByte()
			if err != nil {
				d.op = 0
				return nil, d.eof()
			}
			op = c
		}
		d.op = op
		if s.w-s.r >= 8 && len(d.stack) < d.room && d.fast(op) {
			continue
		}
		var err error
		switch op {
		case opMARK:
			if len(d.stack)+len(d.marks) >= d.cfg.maxDepth {
				return nil, d.Errorf(ErrTooLarge, "more than %d values open at once (MaxDepth)", d.cfg.maxDepth)
			}
			d.marks = append(d.marks, len(d.stack))
			d.room--
		case opSTOP:
			// Writers end the last frame with STOP. A frame that claims
			// bytes past it lies, as from a reader only STOP can show.
			if rest := d.frameEnd - s.Offset(); rest > 0 {
				return nil, d.Errorf(ErrCorrupt, "STOP %d bytes before the end of its frame", rest)
			}
			v, err := d.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case opPOP:
			if len(d.marks) > 0 && len(d.stack) == d.marks[len(d.marks)-1] {
				d.marks = d.marks[:len(d.marks)-1]
				d.room++
			} else {
				_, err = d.pop()
			}
		case opPOP_MARK:
			_, err = d.popMark()
		case opDUP:
			var v any
			if v, err = d.top(); err == nil {
				err = d.push(v)
			}
		case opPROTO:
			d.proto, err = d.protoArg()
		case opFRAME:
			var n int64
			if n, err = d.frameArg(&d.cfg); err == nil {
				d.frameEnd = s.Offset() + n
			}

		// Numbers.
		case opNONE:
			err = d.push(nil)
		case opNEWTRUE:
			err = d.push(true)
		case opNEWFALSE:
			err = d.push(false)
		case opBININT:
			var b []byte
			if b, err = d.next(4); err == nil {
				err = d.push(d.boxes.int64(int64(int32(binary.LittleEndian.Uint32(b)))))
			}
		case opBININT1:
			var b []byte
			if b, err = d.next(1); err == nil {
				err = d.push(int64(b[0]))
			}
		case opBININT2:
			var b []byte
			if b, err = d.next(2); err == nil {
				err = d.push(d.boxes.int64(int64(binary.LittleEndian.Uint16(b))))
			}
		case opINT:
			var v any
			if v, err = d.intArg(); err == nil {
				d.used += valueCost(v)
				err = d.push(v)
			}
		case opLONG:
			var v any
			if v, err = d.longArg(); err == nil {
				d.used += valueCost(v)
				err = d.push(v)
			}
		case opLONG1, opLONG4:
			err = d.loadBinLong(op)
		case opFLOAT:
			var f float64
			if f, err = d.floatArg(); err == nil {
				err = d.push(d.boxes.float64(f))
			}
		case opBINFLOAT:
			var b []byte
			if b, err = d.next(8); err == nil {
				err = d.push(d.boxes.float64(math.Float64frombits(binary.BigEndian.Uint64(b))))
			}

		// Strings and bytes.
		case opSHORT_BINUNICODE, opBINUNICODE, opBINUNICODE8:
			var n int64
			if n, err = d.length(op); err == nil {
				var str string
				if str, err = d.readText(n); err == nil {
					err = d.push(d.boxes.string(str))
				}
			}
		case opUNICODE:
			var str string
			if str, err = d.unicodeArg(); err == nil {
				d.used += valueCost(str)
				err = d.push(str)
			}
		case opSHORT_BINBYTES, opBINBYTES, opBINBYTES8, opBYTEARRAY8:
			var n int64
			if n, err = d.length(op); err == nil {
				var data []byte
				if data, err = d.readData(n); err == nil {
					if op == opBYTEARRAY8 {
						err = d.push(d.boxes.byteArray(data))
					} else {
						err = d.push(d.boxes.bytes(data))
					}
				}
			}
		case opSHORT_BINSTRING, opBINSTRING, opSTRING:
			var data []byte
			if op == opSTRING {
				data, err = d.stringArg()
			} else {
				var n int64
				if n, err = d.length(op); err == nil {
					data, err = d.readData(n)
				}
			}
			if err == nil {
				var v any
				if v, err = d.py2String(data); err == nil {
					if op == opSTRING {
						d.used += valueCost(v) // the unquoted bytes
					} else if str, ok := v.(string); ok {
						d.used += valueCost(str) // a copy of the bytes read
					} else {
						d.used += costSlice
					}
					err = d.push(v)
				}
			}
		case opNEXT_BUFFER:
			if d.bufIndex >= len(d.cfg.buffers) {
				return nil, d.Errorf(ErrUnsupported, "out-of-band buffer %d not supplied (see Buffers)", d.bufIndex)
			}
			d.used += costSlice
			err = d.push(ByteArray(d.cfg.buffers[d.bufIndex]))
			d.bufIndex++
		case opREADONLY_BUFFER:
			var v any
			if v, err = d.top(); err == nil {
				if b, ok := v.(ByteArray); ok {
					d.used += costSlice
					d.stack[len(d.stack)-1] = []byte(b)
				}
			}

		// Containers.
		case opEMPTY_TUPLE:
			err = d.push(emptyTuple)
		case opTUPLE1, opTUPLE2, opTUPLE3:
			n := int(op-opTUPLE1) + 1
			base := 0
			if len(d.marks) > 0 {
				base = d.marks[len(d.marks)-1]
			}
			if len(d.stack)-base < n {
				return nil, d.Errorf(ErrCorrupt, "stack underflow")
			}
			t := d.items.take(n)
			copy(t, d.stack[len(d.stack)-n:])
			d.stack = d.stack[:len(d.stack)-n]
			err = d.push(d.boxes.tuple(t))
		case opTUPLE:
			var items []any
			if items, err = d.popMark(); err == nil {
				var t Tuple
				if t, err = d.tuple(items); err == nil {
					err = d.push(d.boxes.tuple(t))
				}
			}
		case opEMPTY_LIST:
			err = d.push(d.lists.new(256))
		case opLIST:
			var items []any
			if items, err = d.popMark(); err == nil {
				if err = d.charge(costList + int64(len(items))*costAny); err == nil {
					err = d.push(&List{Items: append([]any{}, items...)})
				}
			}
		case opEMPTY_DICT:
			err = d.push(d.dicts.new(256))
		case opDICT:
			var items []any
			if items, err = d.popMark(); err == nil {
				dict := d.dicts.new(256)
				if err = d.setItems(dict, items); err == nil {
					err = d.push(dict)
				}
			}
		case opEMPTY_SET:
			d.used += costSet
			err = d.push(&Set{})
		case opFROZENSET:
			var items []any
			if items, err = d.popMark(); err == nil {
				d.used += costSet
				set := &Set{Frozen: true}
				if err = d.addItems(set, items); err == nil {
					err = d.push(set)
				}
			}
		case opAPPEND:
			var v, target any
			if v, err = d.pop(); err == nil {
				if target, err = d.top(); err == nil {
					err = d.appendItems(target, []any{v})
				}
			}
		case opAPPENDS:
			var items []any
			if items, err = d.popMark(); err == nil {
				var target any
				if target, err = d.top(); err == nil {
					err = d.appendItems(target, items)
				}
			}
		case opSETITEM:
			var k, v, target any
			if v, err = d.pop(); err == nil {
				if k, err = d.pop(); err == nil {
					if target, err = d.top(); err == nil {
						err = d.setItemsOn(target, []any{k, v})
					}
				}
			}
		case opSETITEMS:
			var items []any
			if items, err = d.popMark(); err == nil {
				var target any
				if target, err = d.top(); err == nil {
					err = d.setItemsOn(target, items)
				}
			}
		case opADDITEMS:
			var items []any
			if items, err = d.popMark(); err == nil {
				var target any
				if target, err = d.top(); err == nil {
					set, ok := target.(*Set)
					if !ok || set.Frozen {
						return nil, d.Errorf(ErrCorrupt, "ADDITEMS to a %s", TypeName(target))
					}
					err = d.addItems(set, items)
				}
			}

		// Memo.
		case opPUT:
			var idx int64
			if idx, err = d.memoIndexArg(); err == nil {
				var v any
				if v, err = d.top(); err == nil {
					err = d.memoPut(idx, v)
				}
			}
		case opBINPUT:
			var b []byte
			if b, err = d.next(1); err == nil {
				var v any
				if v, err = d.top(); err == nil {
					err = d.memoPut(int64(b[0]), v)
				}
			}
		case opLONG_BINPUT:
			var b []byte
			if b, err = d.next(4); err == nil {
				var v any
				if v, err = d.top(); err == nil {
					err = d.memoPut(int64(binary.LittleEndian.Uint32(b)), v)
				}
			}
		case opMEMOIZE:
			var v any
			if v, err = d.top(); err == nil {
				// Python numbers a MEMOIZE by the memo's size.
				err = d.memoPut(int64(d.memoN), v)
			}
		case opGET:
			var idx int64
			if idx, err = d.memoIndexArg(); err == nil {
				err = d.memoGet(idx)
			}
		case opBINGET:
			var b []byte
			if b, err = d.next(1); err == nil {
				err = d.memoGet(int64(b[0]))
			}
		case opLONG_BINGET:
			var b []byte
			if b, err = d.next(4); err == nil {
				err = d.memoGet(int64(binary.LittleEndian.Uint32(b)))
			}

		// Globals and objects.
		case opGLOBAL:
			var m, n string
			if m, n, err = d.globalArg(); err == nil {
				var g any
				if g, err = d.resolveGlobal(m, n); err == nil {
					d.used += int64(len(m) + len(n))
					err = d.push(g)
				}
			}
		case opSTACK_GLOBAL:
			var mv, nv any
			if nv, err = d.pop(); err == nil {
				if mv, err = d.pop(); err == nil {
					m, ok1 := mv.(string)
					n, ok2 := nv.(string)
					if !ok1 || !ok2 {
						return nil, d.Errorf(ErrCorrupt, "STACK_GLOBAL needs two str, got %s and %s", TypeName(mv), TypeName(nv))
					}
					var g any
					if g, err = d.resolveGlobal(m, n); err == nil {
						err = d.push(g)
					}
				}
			}
		case opEXT1, opEXT2, opEXT4:
			err = d.loadExt(op)
		case opREDUCE:
			var argv, callable any
			if argv, err = d.pop(); err == nil {
				if callable, err = d.pop(); err == nil {
					args, ok := argv.(Tuple)
					if !ok {
						return nil, d.Errorf(ErrCorrupt, "REDUCE arguments are a %s, not a tuple", TypeName(argv))
					}
					var v any
					if v, err = d.call(callable, args); err == nil {
						err = d.push(v)
					}
				}
			}
		case opNEWOBJ:
			var argv, cls any
			if argv, err = d.pop(); err == nil {
				if cls, err = d.pop(); err == nil {
					args, ok := argv.(Tuple)
					if !ok {
						return nil, d.Errorf(ErrCorrupt, "NEWOBJ arguments are a %s, not a tuple", TypeName(argv))
					}
					var v any
					if v, err = d.newInstance(cls, args, nil, NewObj); err == nil {
						err = d.push(v)
					}
				}
			}
		case opNEWOBJ_EX:
			var kwv, argv, cls any
			if kwv, err = d.pop(); err == nil {
				if argv, err = d.pop(); err == nil {
					if cls, err = d.pop(); err == nil {
						args, ok1 := argv.(Tuple)
						kw, ok2 := kwv.(*Dict)
						if !ok1 || !ok2 {
							return nil, d.Errorf(ErrCorrupt, "NEWOBJ_EX needs a tuple and a dict")
						}
						var v any
						if v, err = d.newInstance(cls, args, kw, NewObjEx); err == nil {
							err = d.push(v)
						}
					}
				}
			}
		case opINST:
			var m, n string
			if m, n, err = d.globalArg(); err == nil {
				var g any
				if g, err = d.resolveGlobal(m, n); err == nil {
					d.used += int64(len(m) + len(n))
					var items []any
					if items, err = d.popMark(); err == nil {
						var args Tuple
						if args, err = d.tuple(items); err == nil {
							var v any
							if v, err = d.instantiate(g, args); err == nil {
								err = d.push(v)
							}
						}
					}
				}
			}
		case opOBJ:
			var items []any
			if items, err = d.popMark(); err == nil {
				if len(items) == 0 {
					return nil, d.Errorf(ErrCorrupt, "OBJ without a class")
				}
				var args Tuple
				if args, err = d.tuple(items[1:]); err == nil {
					var v any
					if v, err = d.instantiate(items[0], args); err == nil {
						err = d.push(v)
					}
				}
			}
		case opBUILD:
			var state, target any
			if state, err = d.pop(); err == nil {
				if target, err = d.top(); err == nil {
					var v any
					if v, err = d.build(target, state); err == nil {
						d.stack[len(d.stack)-1] = v
					}
				}
			}
		case opPERSID:
			var pid string
			if pid, err = d.persidArg(); err == nil {
				err = d.persistent(pid)
			}
		case opBINPERSID:
			var pid any
			if pid, err = d.pop(); err == nil {
				err = d.persistent(pid)
			}
		default:
			return nil, d.Errorf(ErrCorrupt, "unknown opcode 0x%02x", op)
		}
		if err != nil {
			if err == errDepth {
				err = d.depthError()
			}
			return nil, err
		}
	}
}

// fast runs the commonest opcodes when their argument is buffered and
// the stack has room, and reports whether it did. Otherwise the general
// path in run handles the opcode, and reports any error.
func (d *Decoder) fast(op byte) bool {
	s := d.s
	var v any
	switch op {
	case opBINGET:
		idx := int(s.buf[s.r])
		if idx >= d.memo.len() {
			return false
		}
		if v = d.memo.get(idx); v == memoHole {
			return false
		}
		s.r++
	case opMEMOIZE:
		if len(d.stack) == 0 || (len(d.marks) > 0 && len(d.stack) == d.marks[len(d.marks)-1]) ||
			d.memoMap != nil || d.memoHoles != 0 || d.memoN != d.memo.len() || d.memoN >= d.cfg.maxMemo {
			return false
		}
		d.memo.append(d.stack[len(d.stack)-1])
		d.memoN++
		return true
	case opBININT1:
		v = int64(s.buf[s.r])
		s.r++
	case opBININT2:
		v = d.boxes.int64(int64(binary.LittleEndian.Uint16(s.buf[s.r:])))
		s.r += 2
	case opBININT:
		v = d.boxes.int64(int64(int32(binary.LittleEndian.Uint32(s.buf[s.r:]))))
		s.r += 4
	case opBINFLOAT:
		v = d.boxes.float64(math.Float64frombits(binary.BigEndian.Uint64(s.buf[s.r:])))
		s.r += 8
	case opSHORT_BINUNICODE:
		n := int(s.buf[s.r])
		if n+1 > s.w-s.r || int64(n) > d.cfg.budget(d.used, int64(n)) {
			return false
		}
		b := s.buf[s.r+1 : s.r+1+n]
		for _, c := range b {
			if c >= 0x80 {
				return false // not ASCII: let the general path check it
			}
		}
		d.used += int64(n)
		s.r += 1 + n
		v = d.boxes.string(d.arena.string(b))
	case opEMPTY_DICT:
		v = d.dicts.new(256)
	default:
		return false
	}
	d.stack = append(d.stack, v)
	return true
}

// loadBinLong reads LONG1 and LONG4. Up to 8 bytes need no memory of
// their own; longer ones are claimed against the budget.
func (d *Decoder) loadBinLong(op byte) error {
	n, err := d.length(op)
	if err != nil {
		return err
	}
	var b []byte
	if n <= 8 {
		b, err = d.next(int(n))
	} else {
		b, err = d.readData(n)
	}
	if err != nil {
		return err
	}
	v := binLong(b)
	if n > 8 {
		d.used += valueCost(v)
	}
	return d.push(v)
}

func (d *Decoder) loadExt(op byte) error {
	code, err := d.extArg(op)
	if err != nil {
		return err
	}
	g, ok := d.cfg.ext[code]
	if !ok {
		return d.Errorf(ErrUnsupported, "extension code %d is not mapped (see Extensions)", code)
	}
	v, err := d.resolveGlobal(g.Module, g.Name)
	if err != nil {
		return err
	}
	return d.push(v)
}

func (d *Decoder) persistent(pid any) error {
	if d.cfg.persistentLoad == nil {
		return d.Errorf(ErrUnsupported, "persistent id without a PersistentLoad hook")
	}
	v, err := d.cfg.persistentLoad(pid)
	if err != nil {
		return d.Errorf(err, "persistent load")
	}
	return d.push(v)
}

func (d *Decoder) setItems(dict *Dict, items []any) error {
	if len(items)%2 != 0 {
		return d.Errorf(ErrCorrupt, "odd number of items for a dict")
	}
	n := len(items) / 2
	if len(dict.t.keys) == 0 && cap(dict.t.keys) == 0 && n <= smallTable {
		// The common case: a fresh small dict. When its keys are
		// distinct strings, they and the values are copied in bulk.
		// Records (dicts with the same keys in the same order) share
		// one slice of keys, which no dict writes to: its capacity is
		// its length, so a dict that grows copies it.
		if n > 0 && n == len(d.shape) && sameKeys(items, d.shape) {
			vals := d.items.take(n)
			for i := range vals {
				vals[i] = items[2*i+1]
			}
			dict.t.keys, dict.t.vals = d.shape, vals
			return nil
		}
		buf := d.items.take(2 * n)
		keys, vals := buf[:0:n], buf[n:n:2*n]
		if fastStringItems(items) {
			for i := 0; i < len(items); i += 2 {
				keys = append(keys, items[i])
				vals = append(vals, items[i+1])
			}
			dict.t.keys, dict.t.vals = keys, vals
			d.shape = keys
			return nil
		}
		dict.t.keys, dict.t.vals = keys, vals
	} else if c := dict.t.reserveCap(n); c > 0 {
		if err := d.charge(int64(c) * 2 * costAny); err != nil {
			return err
		}
		dict.t.reserve(n, true)
	}
	for i := 0; i < len(items); i += 2 {
		cost, work, err := dict.t.putWork(items[i], items[i+1], true)
		if err != nil {
			return d.Errorf(ErrCorrupt, "%v", err)
		}
		d.used += cost
		if err := d.keyWorked(work); err != nil {
			return err
		}
	}
	return nil
}

// maxKeyWork bounds the bytes of dict key and set item encodings that one
// decode computes, about half a second of work. A tuple key is encoded
// for every SETITEM, found or not, and a key may share a large tuple that
// a few bytes of pickle name again and again (BINGET): without the bound
// 18 KB of zlib made a decoder work for 20 seconds. Genuine pickles with
// tuple keys use a tiny part of it (ten million keys of two ints: 200 MB).
var maxKeyWork int64 = 512 << 20 // a variable for the tests

// keyWorked counts the bytes of a key encoding.
func (d *Decoder) keyWorked(n int64) error {
	if d.keyWork += n; d.keyWork > maxKeyWork {
		return d.Errorf(ErrTooLarge, "dict keys and set items take more than %d bytes of encodings to compare (key limit)", maxKeyWork)
	}
	return nil
}

// addItems adds items to a set, as ADDITEMS does.
func (d *Decoder) addItems(set *Set, items []any) error {
	if c := set.t.reserveCap(len(items)); c > 0 {
		if err := d.charge(int64(c) * costAny); err != nil {
			return err
		}
		set.t.reserve(len(items), false)
	}
	for _, it := range items {
		cost, work, err := set.t.putWork(it, nil, false)
		if err != nil {
			return d.Errorf(ErrCorrupt, "%v", err)
		}
		d.used += cost
		if err := d.keyWorked(work); err != nil {
			return err
		}
	}
	return nil
}

// tuple returns a copy of items as a Tuple, charged to the budget.
func (d *Decoder) tuple(items []any) (Tuple, error) {
	if len(items) == 0 {
		return Tuple{}, nil
	}
	if len(items) > anySlabBlock/8 {
		if err := d.charge(int64(len(items)) * costAny); err != nil {
			return nil, err
		}
		return append(Tuple(nil), items...), nil
	}
	t := d.items.take(len(items))
	copy(t, items)
	return t, nil
}

// lastLookup is the last global looked up in the registry.
type lastLookup struct {
	g         Global
	c         Class
	found, ok bool
}

// lookup returns the constructor registered for g. It remembers the
// last global it looked up, which a pickle of many objects of one class
// names over and over.
func (d *Decoder) lookup(g Global) (Class, bool) {
	if d.last.ok && g == d.last.g {
		return d.last.c, d.last.found
	}
	c, found := d.cfg.registry.Lookup(g)
	d.last.g, d.last.c, d.last.found, d.last.ok = g, c, found, true
	return c, found
}

// growItems returns s with room for n more elements: grown to twice its
// capacity at least, and charged to the budget first.
func growItems[T any](d *Decoder, s []T, n int) ([]T, error) {
	if n <= cap(s)-len(s) {
		return s, nil
	}
	c := max(2*cap(s), len(s)+n)
	if err := d.charge(int64(c) * int64(unsafe.Sizeof(*new(T)))); err != nil {
		return nil, err
	}
	grown := make([]T, len(s), c)
	copy(grown, s)
	return grown, nil
}

// sameKeys reports whether the keys of the key, value pairs of items are
// keys, which are strings.
func sameKeys(items, keys []any) bool {
	for i, k := range keys {
		// Keys fetched from the memo are the very same interface
		// values: compare their words before their strings.
		if *(*eface)(unsafe.Pointer(&items[2*i])) != *(*eface)(unsafe.Pointer(&k)) && items[2*i] != k {
			return false
		}
	}
	return true
}

// fastStringItems reports whether the keys of a few key, value pairs are
// strings that differ from each other.
func fastStringItems(items []any) bool {
	for i := 0; i < len(items); i += 2 {
		k, ok := items[i].(string)
		if !ok {
			return false
		}
		for j := 0; j < i; j += 2 {
			if items[j].(string) == k {
				return false
			}
		}
	}
	return true
}

func (d *Decoder) setItemsOn(target any, items []any) error {
	switch t := target.(type) {
	case *Dict:
		return d.setItems(t, items)
	case *Object:
		if len(items)%2 != 0 {
			return d.Errorf(ErrCorrupt, "odd number of items for a dict")
		}
		var err error
		if t.DictItems, err = growItems(d, t.DictItems, len(items)/2); err != nil {
			return err
		}
		for i := 0; i < len(items); i += 2 {
			t.DictItems = append(t.DictItems, DictItem{items[i], items[i+1]})
		}
		return nil
	}
	return d.Errorf(ErrCorrupt, "cannot set items on a %s", TypeName(target))
}

func (d *Decoder) appendItems(target any, items []any) error {
	// Grow by doubling: append's gentler growth for large slices copies
	// a long list many times over.
	var err error
	switch t := target.(type) {
	case *List:
		if t.Items, err = growItems(d, t.Items, len(items)); err != nil {
			return err
		}
		t.Items = append(t.Items, items...)
		return nil
	case *Object:
		if t.ListItems, err = growItems(d, t.ListItems, len(items)); err != nil {
			return err
		}
		t.ListItems = append(t.ListItems, items...)
		return nil
	}
	return d.Errorf(ErrCorrupt, "cannot append to a %s", TypeName(target))
}

func (d *Decoder) build(target, state any) (any, error) {
	switch t := target.(type) {
	case Builder:
		return t.Build(d, state)
	case *Object:
		t.State = state
		t.HasState = true
		return t, nil
	}
	return nil, d.Errorf(ErrCorrupt, "cannot BUILD a %s", TypeName(target))
}
