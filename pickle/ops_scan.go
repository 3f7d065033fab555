package pickle

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Op is one opcode of a pickle with its argument, as Python's
// pickletools.genops yields them.
type Op struct {
	Code  byte
	Name  string // the pickletools name: BINUNICODE, STACK_GLOBAL...
	Proto int    // the protocol that introduced the opcode
	// Offset is the stream offset of the opcode's byte.
	Offset int64
	// Arg is the decoded argument, of the type pickletools gives it:
	//
	//	nil          opcodes without an argument
	//	bool         INT's 00 and 01 (protocol 0 bools)
	//	int64        the integer opcodes, memo indexes, PROTO, FRAME, EXT*,
	//	             or *big.Int for a LONG, LONG1 or LONG4 that needs it
	//	float64      FLOAT, BINFLOAT
	//	string       text (UTF-8, lone surrogates as surrogatepass writes
	//	             them); "module name" for GLOBAL and INST; PERSID's id
	//	[]byte       bytes, and the Python 2 str of STRING, BINSTRING and
	//	             SHORT_BINSTRING (pickletools decodes those as Latin-1)
	//	ByteArray    BYTEARRAY8
	//
	// An argument cut short by [Preview] is a []byte whatever its opcode.
	Arg any
	// Len is the length in bytes of a counted argument's data (the string
	// and bytes opcodes with a length prefix, LONG1 and LONG4), and -1 for
	// the other opcodes.
	Len int64
	// Short reports that the argument is longer than the Preview length:
	// Arg holds its first bytes, undecoded, and the rest was skipped.
	Short bool
}

// opProtos is the protocol that introduced each opcode (0 for those of
// protocol 0 and for bytes that are not opcodes).
var opProtos = [256]uint8{
	opBININT: 1, opBININT1: 1, opBININT2: 1, opBINSTRING: 1, opSHORT_BINSTRING: 1,
	opBINUNICODE: 1, opBINFLOAT: 1, opEMPTY_LIST: 1, opAPPENDS: 1, opEMPTY_TUPLE: 1,
	opEMPTY_DICT: 1, opSETITEMS: 1, opPOP_MARK: 1, opBINGET: 1, opLONG_BINGET: 1,
	opBINPUT: 1, opLONG_BINPUT: 1, opOBJ: 1, opBINPERSID: 1,
	opLONG1: 2, opLONG4: 2, opNEWTRUE: 2, opNEWFALSE: 2, opTUPLE1: 2, opTUPLE2: 2,
	opTUPLE3: 2, opEXT1: 2, opEXT2: 2, opEXT4: 2, opNEWOBJ: 2, opPROTO: 2,
	opBINBYTES: 3, opSHORT_BINBYTES: 3,
	opBINBYTES8: 4, opSHORT_BINUNICODE: 4, opBINUNICODE8: 4, opEMPTY_SET: 4, opADDITEMS: 4,
	opFROZENSET: 4, opMEMOIZE: 4, opSTACK_GLOBAL: 4, opNEWOBJ_EX: 4, opFRAME: 4,
	opBYTEARRAY8: 5, opNEXT_BUFFER: 5, opREADONLY_BUFFER: 5,
}

// Scanner reads the opcodes of one pickle and their arguments, without
// running them: the Go analogue of Python's pickletools.genops. It reads
// each argument with the Decoder's own code, so it accepts and refuses
// the same arguments, with the same limits and errors; what it does not
// check is what the opcodes do (the stack, the memo, the globals).
//
// The Scanner reads from a [Stream] that the caller keeps: between two
// calls of Next the caller may read or skip bytes of it, as a joblib
// reader skips the array data spliced after a BUILD.
type Scanner struct {
	argReader
	cfg     decodeConfig // for the MaxBytes budget only
	preview int64        // -1: read every argument whole
	cfgErr  error
	started bool // an opcode was read
	done    bool // STOP was read
}

// A ScanOption configures a Scanner. Options check their values: a bad one
// makes Next fail.
type ScanOption func(*Scanner) error

// ScanMaxBytes bounds the bytes that one argument or frame may claim. The
// default is that of the Decoder's [MaxBytes]: what the process can get.
func ScanMaxBytes(n int64) ScanOption {
	return func(sc *Scanner) error {
		if n < 1 {
			return fmt.Errorf("pickle: ScanMaxBytes %d < 1", n)
		}
		sc.cfg.maxBytes = n
		return nil
	}
}

// Preview makes the Scanner skip the counted arguments (strings, bytes,
// LONG1 and LONG4) of more than n bytes rather than read them: Op.Arg then
// holds their first n bytes and Op.Short is set. It lists a pickle of any
// size in a few KiB of memory.
func Preview(n int) ScanOption {
	return func(sc *Scanner) error {
		if n < 0 {
			return fmt.Errorf("pickle: Preview %d < 0", n)
		}
		sc.preview = int64(n)
		return nil
	}
}

// NewScanner returns a Scanner of the pickle that starts at the current
// position of s.
func NewScanner(s *Stream, opts ...ScanOption) *Scanner {
	sc := &Scanner{argReader: argReader{s: s}, preview: -1}
	for _, o := range opts {
		if err := o(sc); err != nil && sc.cfgErr == nil {
			sc.cfgErr = err
		}
	}
	sc.cfg.finishLimits()
	return sc
}

// Next reads the next opcode and its argument. It returns io.EOF after
// STOP, and also when the stream is empty before the first opcode; a
// pickle that follows in the same stream needs a new Scanner. Bad input
// gives a *FormatError, and then the Op still holds the opcode's Code,
// Name, Proto and Offset.
func (sc *Scanner) Next() (Op, error) {
	if sc.cfgErr != nil {
		return Op{}, sc.cfgErr
	}
	if sc.done {
		return Op{}, io.EOF
	}
	sc.opStart = sc.s.Offset()
	sc.op = 0
	c, err := sc.s.ReadByte()
	if err != nil {
		if err == io.EOF && !sc.started {
			sc.done = true
			return Op{}, io.EOF
		}
		return Op{Offset: sc.opStart, Len: -1}, sc.eof()
	}
	sc.started = true
	sc.op = c
	op := Op{Code: c, Name: OpName(c), Proto: int(opProtos[c]), Offset: sc.opStart, Len: -1}
	if op.Name == "" {
		return op, sc.errorf(ErrCorrupt, "unknown opcode 0x%02x", c)
	}
	if err := sc.arg(&op); err != nil {
		op.Arg, op.Len, op.Short = nil, -1, false
		return op, err
	}
	if c == opSTOP {
		sc.done = true
	}
	return op, nil
}

// arg reads the argument of op.
func (sc *Scanner) arg(op *Op) (err error) {
	var b []byte
	switch c := op.Code; c {
	case opPROTO:
		var v int
		v, err = sc.protoArg()
		op.Arg = int64(v)
	case opFRAME:
		op.Arg, err = sc.frameArg(&sc.cfg)
	case opINT:
		op.Arg, err = sc.intArg()
	case opLONG:
		op.Arg, err = sc.longArg()
	case opFLOAT:
		op.Arg, err = sc.floatArg()
	case opPUT, opGET:
		op.Arg, err = sc.memoIndexArg()
	case opSTRING:
		op.Arg, err = sc.stringArg()
	case opUNICODE:
		op.Arg, err = sc.unicodeArg()
	case opPERSID:
		op.Arg, err = sc.persidArg()
	case opGLOBAL, opINST:
		var m, n string
		m, n, err = sc.globalArg()
		op.Arg = m + " " + n
	case opEXT1, opEXT2, opEXT4:
		var v int32
		v, err = sc.extArg(c)
		op.Arg = int64(v)
	case opBININT1, opBINGET, opBINPUT:
		if b, err = sc.next(1); err == nil {
			op.Arg = int64(b[0])
		}
	case opBININT2:
		if b, err = sc.next(2); err == nil {
			op.Arg = int64(binary.LittleEndian.Uint16(b))
		}
	case opBININT:
		if b, err = sc.next(4); err == nil {
			op.Arg = int64(int32(binary.LittleEndian.Uint32(b)))
		}
	case opLONG_BINGET, opLONG_BINPUT:
		if b, err = sc.next(4); err == nil {
			op.Arg = int64(binary.LittleEndian.Uint32(b))
		}
	case opBINFLOAT:
		if b, err = sc.next(8); err == nil {
			op.Arg = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
	case opLONG1, opLONG4, opSHORT_BINUNICODE, opBINUNICODE, opBINUNICODE8,
		opSHORT_BINBYTES, opBINBYTES, opBINBYTES8, opBYTEARRAY8, opSHORT_BINSTRING, opBINSTRING:
		return sc.counted(op)
	}
	return err
}

// counted reads a counted argument, or its first bytes under Preview.
func (sc *Scanner) counted(op *Op) error {
	n, err := sc.length(op.Code)
	if err != nil {
		return err
	}
	op.Len = n
	if p := sc.preview; p >= 0 && n > p {
		if err := sc.claim(p, n, sc.cfg.budget(0, p)); err != nil {
			return err
		}
		head, err := sc.readN(p)
		if err != nil {
			return err
		}
		if err := sc.s.Discard(n - p); err != nil {
			return sc.eof()
		}
		op.Arg, op.Short = head, true
		return nil
	}
	var b []byte
	if (op.Code == opLONG1 || op.Code == opLONG4) && n <= 8 {
		// As the Decoder reads them: no claim for a small int.
		if b, err = sc.next(int(n)); err != nil {
			return err
		}
		op.Arg = binLong(b)
		return nil
	}
	if err := sc.claim(n, n, sc.cfg.budget(0, n)); err != nil {
		return err
	}
	if b, err = sc.readN(n); err != nil {
		return err
	}
	switch op.Code {
	case opLONG1, opLONG4:
		op.Arg = binLong(b)
	case opSHORT_BINUNICODE, opBINUNICODE, opBINUNICODE8:
		op.Arg, err = sc.text(string(b))
	case opBYTEARRAY8:
		op.Arg = ByteArray(b)
	default:
		op.Arg = b
	}
	return err
}
