package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// argReader reads the arguments of opcodes. The Decoder and the Scanner
// both embed it, so that an argument reads with the same code, the same
// limits and the same errors whichever of them reads it. Its errors point
// at the opcode being read.
type argReader struct {
	s       *Stream
	opStart int64 // stream offset of the opcode being read
	op      byte
}

// errorf returns a *FormatError at the current opcode wrapping kind.
func (r *argReader) errorf(kind error, format string, args ...any) error {
	return &FormatError{Layer: "pickle", Offset: r.opStart, Op: OpName(r.op), What: fmt.Sprintf(format, args...), Err: kind}
}

// eof is the error of a read that came short.
func (r *argReader) eof() error {
	err := r.s.readErr()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return r.errorf(io.ErrUnexpectedEOF, "truncated")
	}
	return &FormatError{Layer: "pickle", Offset: r.s.Offset(), Op: OpName(r.op), What: "read", Err: err}
}

// next returns n bytes of input, valid until the next read.
func (r *argReader) next(n int) ([]byte, error) {
	if s := r.s; n <= s.w-s.r {
		b := s.buf[s.r : s.r+n]
		s.r += n
		return b, nil
	}
	return r.nextSlow(n)
}

func (r *argReader) nextSlow(n int) ([]byte, error) {
	b, err := r.s.Next(n)
	if err != nil {
		return nil, r.eof()
	}
	return b, nil
}

// line reads a protocol 0 argument: the bytes up to the next newline,
// which it consumes. Lines are capped at 64 KiB.
func (r *argReader) line() ([]byte, error) {
	b, err := r.s.readLine()
	if err == errLineTooLong {
		return nil, r.errorf(ErrTooLarge, "line longer than 64 KiB")
	}
	if err != nil {
		return nil, r.eof()
	}
	return b, nil
}

func (r *argReader) len8() (int64, error) {
	b, err := r.next(8)
	if err != nil {
		return 0, err
	}
	n := binary.LittleEndian.Uint64(b)
	if n > math.MaxInt64 {
		return 0, r.errorf(ErrTooLarge, "length %d", n)
	}
	return int64(n), nil
}

// length reads the length prefix of a counted argument: that of the
// string and bytes opcodes, LONG1 and LONG4.
func (r *argReader) length(op byte) (int64, error) {
	switch op {
	case opSHORT_BINUNICODE, opSHORT_BINBYTES, opSHORT_BINSTRING, opLONG1:
		b, err := r.next(1)
		if err != nil {
			return 0, err
		}
		return int64(b[0]), nil
	case opBINUNICODE, opBINBYTES:
		b, err := r.next(4)
		if err != nil {
			return 0, err
		}
		return int64(binary.LittleEndian.Uint32(b)), nil
	case opBINSTRING, opLONG4:
		b, err := r.next(4)
		if err != nil {
			return 0, err
		}
		n := int64(int32(binary.LittleEndian.Uint32(b)))
		if n < 0 {
			return 0, r.errorf(ErrCorrupt, "negative length %d", n)
		}
		return n, nil
	}
	return r.len8() // BINUNICODE8, BINBYTES8, BYTEARRAY8
}

// claim checks a claim of n bytes, need of which must still be in the
// input, against what remains of the input and against budget, the bytes
// that may still be claimed.
func (r *argReader) claim(n, need, budget int64) error {
	if n < 0 || need < 0 {
		return r.errorf(ErrCorrupt, "negative length %d", min(n, need))
	}
	if rem := r.s.Remaining(); rem >= 0 && need > rem {
		return r.errorf(io.ErrUnexpectedEOF, "%d bytes declared but only %d remain", need, rem)
	}
	if n > budget {
		return r.errorf(ErrTooLarge, "%d bytes declared, over the limit of %d (MaxBytes)", n, budget)
	}
	return nil
}

// readN reads n bytes, claimed already, into fresh memory. From a stream
// of unknown size it reads in steps, so a lying length costs no more memory
// than the input that backs it.
func (r *argReader) readN(n int64) ([]byte, error) {
	if r.s.Remaining() >= 0 || n <= streamBufSize {
		out := make([]byte, n)
		if err := r.s.ReadFull(out); err != nil {
			return nil, r.eof()
		}
		return out, nil
	}
	out := make([]byte, 0, streamBufSize)
	for int64(len(out)) < n {
		k := min(n-int64(len(out)), int64(max(cap(out)-len(out), streamBufSize)))
		start := len(out)
		out = append(out, make([]byte, k)...)
		if err := r.s.ReadFull(out[start:]); err != nil {
			return nil, r.eof()
		}
	}
	return out, nil
}

// text checks that s is UTF-8 as Python's 'surrogatepass' decoder reads
// it, as Python's unpickler does.
func (r *argReader) text(s string) (string, error) {
	if !validText(s) {
		return "", r.errorf(ErrCorrupt, "str is not UTF-8")
	}
	return s, nil
}

// protoArg reads PROTO's protocol number.
func (r *argReader) protoArg() (int, error) {
	b, err := r.next(1)
	if err != nil {
		return 0, err
	}
	if b[0] > HighestProtocol {
		return 0, r.errorf(ErrUnsupported, "protocol %d", b[0])
	}
	return int(b[0]), nil
}

// frameArg reads FRAME's length, which must fit in what remains of the
// input and in the budget of c.
func (r *argReader) frameArg(c *decodeConfig) (int64, error) {
	b, err := r.next(8)
	if err != nil {
		return 0, err
	}
	n := binary.LittleEndian.Uint64(b)
	if rem := r.s.Remaining(); rem >= 0 && n > uint64(rem) {
		return 0, r.errorf(io.ErrUnexpectedEOF, "frame of %d bytes but only %d remain", n, rem)
	}
	if n > math.MaxInt64 || int64(n) > c.budget(0, int64(n)) {
		return 0, r.errorf(ErrTooLarge, "frame of %d bytes, over the limit (MaxBytes)", n)
	}
	return int64(n), nil
}

// intArg reads INT's line: 00 and 01 are False and True, as protocol 0
// writes bools, anything else a decimal integer.
func (r *argReader) intArg() (any, error) {
	line, err := r.line()
	if err != nil {
		return nil, err
	}
	switch string(line) {
	case "00":
		return false, nil
	case "01":
		return true, nil
	}
	return r.decimal(line)
}

// longArg reads LONG's line.
func (r *argReader) longArg() (any, error) {
	line, err := r.line()
	if err != nil {
		return nil, err
	}
	return r.decimal(line)
}

// decimal parses the decimal integer of INT and LONG, whose Python 2
// form ends in L, as an int64 when it fits and a *big.Int otherwise.
func (r *argReader) decimal(line []byte) (any, error) {
	s := string(line)
	if len(s) > 0 && s[len(s)-1] == 'L' {
		s = s[:len(s)-1]
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, r.errorf(ErrCorrupt, "bad integer %q", truncate([]byte(s)))
	}
	return normInt(b), nil
}

// floatArg reads FLOAT's line.
func (r *argReader) floatArg() (float64, error) {
	line, err := r.line()
	if err != nil {
		return 0, err
	}
	f, perr := strconv.ParseFloat(string(line), 64)
	if perr != nil {
		return 0, r.errorf(ErrCorrupt, "bad float %q", truncate(line))
	}
	return f, nil
}

// memoIndexArg reads the memo index line of PUT and GET.
func (r *argReader) memoIndexArg() (int64, error) {
	line, err := r.line()
	if err != nil {
		return 0, err
	}
	idx, perr := strconv.ParseInt(string(line), 10, 64)
	if perr != nil {
		return 0, r.errorf(ErrCorrupt, "bad memo index %q", truncate(line))
	}
	return idx, nil
}

// globalArg reads the module and name lines of GLOBAL and INST.
func (r *argReader) globalArg() (module, name string, err error) {
	line, err := r.line()
	if err != nil {
		return "", "", err
	}
	module = string(line)
	if line, err = r.line(); err != nil {
		return "", "", err
	}
	name = string(line)
	return module, name, r.checkGlobal(module, name)
}

// checkGlobal checks that the names of a global are text.
func (r *argReader) checkGlobal(module, name string) error {
	if !validText(module) || !validText(name) {
		return r.errorf(ErrCorrupt, "global name is not UTF-8")
	}
	return nil
}

// persidArg reads PERSID's line, which Python reads as ASCII.
func (r *argReader) persidArg() (string, error) {
	line, err := r.line()
	if err != nil {
		return "", err
	}
	for _, c := range line {
		if c >= 0x80 {
			return "", r.errorf(ErrCorrupt, "persistent id of protocol 0 is not ASCII")
		}
	}
	return string(line), nil
}

// extArg reads the extension code of EXT1, EXT2 and EXT4.
func (r *argReader) extArg(op byte) (int32, error) {
	switch op {
	case opEXT1:
		b, err := r.next(1)
		if err != nil {
			return 0, err
		}
		return int32(b[0]), nil
	case opEXT2:
		b, err := r.next(2)
		if err != nil {
			return 0, err
		}
		return int32(binary.LittleEndian.Uint16(b)), nil
	}
	b, err := r.next(4)
	if err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b)), nil
}

// stringArg reads STRING's line: the quoted Python 2 repr of a str.
func (r *argReader) stringArg() ([]byte, error) {
	line, err := r.line()
	if err != nil {
		return nil, err
	}
	return r.unquote(line)
}

// unicodeArg reads UNICODE's line, in Python's raw-unicode-escape.
func (r *argReader) unicodeArg() (string, error) {
	line, err := r.line()
	if err != nil {
		return "", err
	}
	return r.rawUnicodeEscape(line)
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// binLong decodes the little-endian two's complement integer of LONG1 and
// LONG4, as an int64 when it fits and a *big.Int otherwise.
func binLong(b []byte) any {
	n := len(b)
	if n > 8 {
		return normInt(decodeLong(b))
	}
	var u uint64
	for i := n - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if n == 0 || n == 8 {
		return int64(u)
	}
	shift := 64 - 8*uint(n) // sign-extend
	return int64(u<<shift) >> shift
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(data []byte) *big.Int {
	be := make([]byte, len(data))
	for i, c := range data {
		be[len(data)-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if len(data) > 0 && data[len(data)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(data))))
	}
	return v
}

// normInt returns b as int64 when it fits.
func normInt(b *big.Int) any {
	if b.IsInt64() {
		return b.Int64()
	}
	return b
}

// unquote decodes the Python 2 repr of a str, as the STRING opcode holds it.
func (r *argReader) unquote(line []byte) ([]byte, error) {
	if len(line) < 2 || (line[0] != '\'' && line[0] != '"') || line[len(line)-1] != line[0] {
		return nil, r.errorf(ErrCorrupt, "STRING is not quoted")
	}
	s := line[1 : len(line)-1]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '\\', '\'', '"':
			out = append(out, e)
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'v':
			out = append(out, 11)
		case '\n':
		case 'x':
			if i+2 > len(s)-1 {
				return nil, r.errorf(ErrCorrupt, "bad \\x escape")
			}
			v, perr := strconv.ParseUint(string(s[i+1:i+3]), 16, 8)
			if perr != nil {
				return nil, r.errorf(ErrCorrupt, "bad \\x escape")
			}
			out = append(out, byte(v))
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := 0
			j := i
			for ; j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7'; j++ {
				v = v*8 + int(s[j]-'0')
			}
			out = append(out, byte(v))
			i = j - 1
		default:
			out = append(out, '\\', e)
		}
	}
	return out, nil
}

// rawUnicodeEscape decodes Python's raw-unicode-escape, as UNICODE holds it.
func (r *argReader) rawUnicodeEscape(line []byte) (string, error) {
	out := make([]byte, 0, len(line))
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' && i+1 < len(line) && (line[i+1] == 'u' || line[i+1] == 'U') {
			n := 4
			if line[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(line) {
				return "", r.errorf(ErrCorrupt, "truncated \\u escape")
			}
			v, perr := strconv.ParseUint(string(line[i+2:i+2+n]), 16, 32)
			if perr != nil || v > 0x10FFFF {
				return "", r.errorf(ErrCorrupt, "bad \\u escape")
			}
			out = appendRuneSurrogate(out, rune(v))
			i += 1 + n
			continue
		}
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out), nil
}

// appendRuneSurrogate appends r as UTF-8, writing a lone surrogate the way
// Python's surrogatepass does rather than as U+FFFD.
func appendRuneSurrogate(b []byte, r rune) []byte {
	if r >= 0xD800 && r <= 0xDFFF {
		return append(b, byte(0xE0|r>>12), byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
	}
	return utf8.AppendRune(b, r)
}
