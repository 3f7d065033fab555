package store

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/jlstore/jlstore/compressors"
)

// pk assembles pickles by hand, opcode by opcode, for inputs no writer
// would produce: lying lengths, hostile globals, deep nesting. Names follow
// pickletools.
type pk struct {
	proto int
	b     []byte
}

// Pickle opcodes, as pickletools names them.
const (
	opMARK             = '('
	opSTOP             = '.'
	opPOP              = '0'
	opINT              = 'I'
	opBININT           = 'J'
	opBININT1          = 'K'
	opLONG             = 'L'
	opNONE             = 'N'
	opREDUCE           = 'R'
	opSTRING           = 'S'
	opBINSTRING        = 'T'
	opUNICODE          = 'V'
	opBINUNICODE       = 'X'
	opAPPEND           = 'a'
	opBUILD            = 'b'
	opGLOBAL           = 'c'
	opEMPTY_DICT       = '}'
	opGET              = 'g'
	opBINGET           = 'h'
	opINST             = 'i'
	opLONG_BINGET      = 'j'
	opEMPTY_LIST       = ']'
	opOBJ              = 'o'
	opPUT              = 'p'
	opBINPUT           = 'q'
	opLONG_BINPUT      = 'r'
	opSETITEM          = 's'
	opTUPLE            = 't'
	opEMPTY_TUPLE      = ')'
	opSETITEMS         = 'u'
	opBINBYTES         = 'B'
	opPROTO            = 0x80
	opNEWOBJ           = 0x81
	opTUPLE1           = 0x85
	opTUPLE2           = 0x86
	opTUPLE3           = 0x87
	opNEWTRUE          = 0x88
	opNEWFALSE         = 0x89
	opLONG1            = 0x8a
	opLONG4            = 0x8b
	opSHORT_BINUNICODE = 0x8c
	opBINUNICODE8      = 0x8d
	opBINBYTES8        = 0x8e
	opFROZENSET        = 0x91
	opSTACK_GLOBAL     = 0x93
	opMEMOIZE          = 0x94
	opFRAME            = 0x95
	opBYTEARRAY8       = 0x96
)

func newPk(proto int) *pk {
	p := &pk{proto: proto}
	if proto >= 2 {
		p.b = append(p.b, opPROTO, byte(proto))
	}
	return p
}

func (p *pk) op(ops ...byte) *pk { p.b = append(p.b, ops...); return p }

func (p *pk) u32(n uint32) *pk { p.b = binary.LittleEndian.AppendUint32(p.b, n); return p }

func (p *pk) u64(n uint64) *pk { p.b = binary.LittleEndian.AppendUint64(p.b, n); return p }

// str writes text (ASCII without newlines or backslashes at protocol 0).
func (p *pk) str(s string) *pk {
	switch {
	case p.proto == 0:
		p.op(opUNICODE).op([]byte(s)...).op('\n')
	case p.proto >= 4 && len(s) < 256:
		p.op(opSHORT_BINUNICODE, byte(len(s))).op([]byte(s)...)
	default:
		p.op(opBINUNICODE).u32(uint32(len(s))).op([]byte(s)...)
	}
	return p
}

// global pushes module.name: GLOBAL before protocol 4, STACK_GLOBAL after.
func (p *pk) global(module, name string) *pk {
	if p.proto < 4 {
		return p.op(opGLOBAL).op([]byte(module + "\n" + name + "\n")...)
	}
	return p.str(module).str(name).op(opSTACK_GLOBAL)
}

func (p *pk) int(n int64) *pk {
	switch {
	case p.proto == 0:
		p.op(opINT).op([]byte(strconv.FormatInt(n, 10) + "\n")...)
	case n >= 0 && n < 256:
		p.op(opBININT1, byte(n))
	case n >= -1<<31 && n < 1<<31:
		p.op(opBININT).u32(uint32(int32(n)))
	case p.proto < 2:
		p.op(opLONG).op([]byte(strconv.FormatInt(n, 10) + "L\n")...)
	default:
		p.op(opLONG1, 8).u64(uint64(n))
	}
	return p
}

func (p *pk) bool(v bool) *pk {
	switch {
	case p.proto < 2 && v:
		return p.op([]byte("I01\n")...)
	case p.proto < 2:
		return p.op([]byte("I00\n")...)
	case v:
		return p.op(opNEWTRUE)
	}
	return p.op(opNEWFALSE)
}

func (p *pk) none() *pk { return p.op(opNONE) }

// tuple writes MARK, the items, TUPLE.
func (p *pk) tuple(items ...func(*pk)) *pk {
	p.op(opMARK)
	for _, f := range items {
		f(p)
	}
	return p.op(opTUPLE)
}

// call writes callable(args...) with REDUCE.
func (p *pk) call(module, name string, args ...func(*pk)) *pk {
	return p.global(module, name).tuple(args...).op(opREDUCE)
}

func (p *pk) stop() []byte { return append(p.op(opSTOP).b, []byte(nil)...) }

func str(s string) func(*pk)   { return func(p *pk) { p.str(s) } }
func num(n int64) func(*pk)    { return func(p *pk) { p.int(n) } }
func boolean(v bool) func(*pk) { return func(p *pk) { p.bool(v) } }
func none(p *pk)               { p.none() }

// dtype pushes numpy.dtype(typestr, False, True) with its BUILD state.
// Object dtypes carry numpy's flags 63 (refcounted, pickled as a list and
// so on): numpy trusts them, and crashes on an object array without them.
func (p *pk) dtype(typestr string, order string, elsize int64) *pk {
	flags := int64(0)
	if typestr[0] == 'O' {
		flags = 63
	}
	return p.dtypeFlags(typestr, order, elsize, flags)
}

func (p *pk) dtypeFlags(typestr string, order string, elsize, flags int64) *pk {
	p.call("numpy", "dtype", str(typestr), boolean(false), boolean(true))
	return p.tuple(num(3), str(order), none, none, none, num(elsize), num(-1), num(flags)).op(opBUILD)
}

// wrapperSpec is a joblib NumpyArrayWrapper as joblib 1.2 writes it.
type wrapperSpec struct {
	typestr string // "f8"
	order   string // byte order of the dtype state: "<", ">" or "|"
	elsize  int64  // -1 but for S, U, V
	shape   []int64
	forder  string // "C" or "F"
	align   bool   // write numpy_array_alignment_bytes and padding
	data    []byte // the payload that follows
	// noFlags writes dtype flags 0 even for an object dtype.
	noFlags bool
}

// wrapper writes the wrapper, its padding and its payload. The padding is
// computed on the bytes written so far, so the wrapper must sit in an
// uncompressed pickle stream that starts at p.b[0].
func (p *pk) wrapper(w wrapperSpec) *pk {
	if w.order == "" {
		w.order = "<"
	}
	if w.elsize == 0 {
		w.elsize = -1
	}
	if w.forder == "" {
		w.forder = "C"
	}
	p.global("joblib.numpy_pickle", "NumpyArrayWrapper").op(opEMPTY_TUPLE, opNEWOBJ)
	p.op(opEMPTY_DICT, opMARK)
	p.str("subclass").global("numpy", "ndarray")
	p.str("shape").op(opMARK)
	for _, n := range w.shape {
		p.int(n)
	}
	p.op(opTUPLE)
	p.str("order").str(w.forder)
	if w.noFlags {
		p.str("dtype").dtypeFlags(w.typestr, w.order, w.elsize, 0)
	} else {
		p.str("dtype").dtype(w.typestr, w.order, w.elsize)
	}
	p.str("allow_mmap").bool(true)
	if w.align {
		p.str("numpy_array_alignment_bytes").int(16)
	}
	p.op(opSETITEMS, opBUILD)
	if w.align {
		pad := 16 - (len(p.b)+1)%16
		p.op(byte(pad)).op(bytes.Repeat([]byte{0xff}, pad)...)
	}
	return p.op(w.data...)
}

// f8s returns the little-endian bytes of 0, 1, ..., n-1 as float64.
func f8s(n int) []byte {
	var b []byte
	for i := range n {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(i)))
	}
	return b
}

// compress runs data through a codec at its default level.
func compress(name string, data []byte) []byte {
	c, ok := compressors.Lookup(name)
	if !ok {
		panic("no codec " + name)
	}
	var buf bytes.Buffer
	w, err := c.NewWriter(&buf, -1)
	if err != nil {
		panic(err)
	}
	if _, err := w.Write(data); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
