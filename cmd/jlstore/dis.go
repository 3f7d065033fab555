package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
	"github.com/jlstore/jlstore/store"
)

var disCmd = &command{
	name:     "dis",
	synopsis: "[--max-bytes SIZE] FILE",
	summary:  "Print an annotated opcode listing of a joblib file or pickle, like pickletools.dis.",
	help: `Each line is the byte offset of an opcode in the uncompressed stream, its
code, its pickletools name and its argument, indented by the open MARKs, as
python -m pickletools prints them; MEMOIZE shows the memo index, opcodes that
close a MARK show where it was. Long strings and bytes are shortened.

joblib splices each array's bytes into the stream right after its
NumpyArrayWrapper's BUILD. dis shows them instead of choking on them:
a [padding] line (the length byte and the 0xFF bytes that align the data)
and an [array data] line with the offset, length, dtype, shape and order of
the payload. An object array is a complete pickle nested there, listed
indented. Pickles that follow one another in a stream are listed in turn.

Compressed files are decompressed on the fly; the offsets count in the
decompressed stream. Nothing is held in memory but the object graph
without its arrays. A damaged file is listed up to the damage, and the
error follows on stderr.

example:
  jlstore dis model.pkl | less`,
	run: runDis,
}

func runDis(c *cli, args []string) error {
	fs := c.flags()
	var maxBytes byteSize
	fs.Var(&maxBytes, "max-bytes", "refuse files whose decompressed stream or object graph needs more than `SIZE` bytes")
	pos, err := c.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	open := func() (io.Reader, string, func() error, error) {
		return openStream(path, int64(maxBytes))
	}
	return fileErr(path, disassemble(c.stdout, open, int64(maxBytes)))
}

// openStream opens path and returns its decompressed stream, the codec
// ("" when uncompressed), and a function that closes both.
func openStream(path string, maxOut int64) (io.Reader, string, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, "", nil, fmt.Errorf("not a regular file: %w", store.ErrUnsupported)
	}
	var opts []compressors.ReadOption
	if maxOut > 0 {
		opts = append(opts, compressors.MaxOutput(maxOut))
	}
	rc, codec, err := compressors.NewReader(bufio.NewReaderSize(f, 64<<10), opts...)
	if err != nil {
		f.Close()
		return nil, "", nil, err
	}
	closeAll := func() error {
		err := rc.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if codec == "" {
		// Let the decoder check lengths against what the file holds.
		return io.LimitReader(rc, fi.Size()), "", closeAll, nil
	}
	return rc, codec, closeAll, nil
}

// opener returns a fresh decompressed stream of the input each time.
type opener func() (r io.Reader, codec string, close func() error, err error)

// disassemble writes the listing of the stream that open gives. It reads
// the stream twice: once with a decoder that learns where joblib's array
// payloads are, once to list the opcodes.
func disassemble(w io.Writer, open opener, maxBytes int64) error {
	r, codec, closeFn, err := open()
	if err != nil {
		return err
	}
	sc := scanPayloads(r, maxBytes)
	closeFn()

	r, _, closeFn, err = open()
	if err != nil {
		return err
	}
	defer closeFn()
	bw := bufio.NewWriterSize(w, 64<<10)
	if codec != "" {
		fmt.Fprintf(bw, "[%s-compressed; offsets count in the decompressed stream]\n", codec)
	}
	l := &lister{w: bw, s: pickle.NewStream(r), spans: sc.spans, stopAt: -1}
	// A valid pickle that needs what a file cannot carry (out-of-band
	// buffers, extension codes) is listed to its end, as pickletools
	// does; payloads after that point are not known.
	unsupported := sc.err != nil && errors.Is(sc.err, store.ErrUnsupported)
	if sc.err != nil && !unsupported {
		l.stopAt = errOffset(sc.err)
	}
	lerr := l.list()
	if unsupported && lerr == nil {
		fmt.Fprintf(bw, "[note: %s; array payloads after that point are not recognised]\n", describe(sc.err))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if sc.err != nil && !unsupported {
		return sc.err
	}
	return lerr
}

func errOffset(err error) int64 {
	var fe *pickle.FormatError
	if errors.As(err, &fe) && fe.Layer == "pickle" {
		return fe.Offset
	}
	return -1
}

// span is a payload that joblib spliced after a wrapper's BUILD.
type span struct {
	start   int64 // right after BUILD
	pad     int64 // bytes of padding, the length byte included
	data    int64 // offset of the data
	n       int64 // bytes of data
	nested  bool  // an object array's nested pickle instead
	dtype   *ndarray.DType
	shape   []int
	order   string
	padding bool // the wrapper asks for alignment padding
}

// scan is what the decoding pass learned.
type scan struct {
	spans map[int64]*span
	err   error
}

// joblibWrapperModules are the modules that have held NumpyArrayWrapper.
var joblibWrapperModules = []string{"joblib.numpy_pickle", "sklearn.externals.joblib.numpy_pickle"}

// scanPayloads decodes every pickle of the stream with a registry whose
// NumpyArrayWrapper records and skips the payload that follows its BUILD.
func scanPayloads(r io.Reader, maxBytes int64) *scan {
	sc := &scan{spans: map[int64]*span{}}
	reg := ndarray.NewRegistry()
	newW := func(d *pickle.Decoder, args pickle.Tuple, kw *pickle.Dict) (any, error) {
		return &disWrapper{sc}, nil
	}
	callW := func(d *pickle.Decoder, args pickle.Tuple) (any, error) { return &disWrapper{sc}, nil }
	for _, m := range joblibWrapperModules {
		reg.Register(m, "NumpyArrayWrapper", pickle.Class{New: newW, Call: callW})
	}
	opts := []pickle.DecodeOption{
		pickle.WithRegistry(reg),
		// Persistent ids stand for themselves: dis only needs the
		// structure.
		pickle.PersistentLoad(func(pid any) (any, error) { return pid, nil }),
	}
	if maxBytes > 0 {
		opts = append(opts, pickle.MaxBytes(maxBytes))
	}
	s := pickle.NewStream(r)
	for first := true; ; first = false {
		if !first {
			// Another pickle may follow (joblib streams dumped one after
			// another); anything else is trailing data, which loaders
			// ignore.
			b, err := s.Peek(1)
			if err != nil || len(b) == 0 || b[0] != protoOp {
				return sc
			}
		}
		_, err := pickle.NewDecoder(s, opts...).Decode()
		if err == io.EOF {
			if first {
				sc.err = &pickle.FormatError{Layer: "pickle", Offset: 0, What: "empty input", Err: io.ErrUnexpectedEOF}
			}
			return sc
		}
		if err != nil {
			sc.err = err
			return sc
		}
	}
}

// disWrapper stands for a NumpyArrayWrapper in the scanning pass.
type disWrapper struct{ sc *scan }

func stateField(d *pickle.Dict, name string) (any, bool) {
	if v, ok := d.Get(name); ok {
		return v, true
	}
	return d.Get([]byte(name))
}

// Build reads the wrapper's state and skips its payload.
func (w *disWrapper) Build(d *pickle.Decoder, state any) (any, error) {
	st, ok := state.(*pickle.Dict)
	if !ok {
		return nil, d.Errorf(store.ErrCorrupt, "NumpyArrayWrapper state is a %s, not a dict", pickle.TypeName(state))
	}
	dv, _ := stateField(st, "dtype")
	dt, ok := dv.(*ndarray.DType)
	if !ok {
		return nil, d.Errorf(store.ErrCorrupt, "NumpyArrayWrapper without a dtype")
	}
	sv, _ := stateField(st, "shape")
	var items []any
	switch x := sv.(type) {
	case pickle.Tuple:
		items = x
	case *pickle.List:
		items = x.Items
	case int64:
		items = []any{x}
	default:
		return nil, d.Errorf(store.ErrCorrupt, "NumpyArrayWrapper shape is a %s", pickle.TypeName(sv))
	}
	sp := &span{dtype: dt, order: "C", start: d.Stream().Offset()}
	n := uint64(dt.ItemSize())
	for _, it := range items {
		k, ok := it.(int64)
		if !ok || k < 0 {
			return nil, d.Errorf(store.ErrCorrupt, "NumpyArrayWrapper dimension %v", it)
		}
		sp.shape = append(sp.shape, int(k))
		if k > 0 && n > math.MaxInt64/uint64(k) {
			return nil, d.Errorf(store.ErrTooLarge, "shape %v overflows", sv)
		}
		n *= uint64(k)
	}
	if ov, ok := stateField(st, "order"); ok {
		if s, ok := textOf(ov); ok {
			sp.order = s
		}
	}
	if v, ok := stateField(st, "numpy_array_alignment_bytes"); ok && v != nil {
		sp.padding = true
	}
	s := d.Stream()
	if dt.HasObject() {
		sp.nested = true
		w.sc.spans[sp.start] = sp
		if _, err := d.DecodeNested(); err != nil {
			return nil, err
		}
		return w, nil
	}
	if sp.padding {
		b, err := s.ReadByte()
		if err != nil {
			return nil, d.Errorf(io.ErrUnexpectedEOF, "array padding")
		}
		if err := s.Discard(int64(b)); err != nil {
			return nil, d.Errorf(io.ErrUnexpectedEOF, "array padding")
		}
		sp.pad = 1 + int64(b)
	}
	sp.data = s.Offset()
	sp.n = int64(n)
	if err := s.Discard(sp.n); err != nil {
		return nil, d.Errorf(io.ErrUnexpectedEOF, "array of %d bytes at byte %d is cut short", sp.n, sp.data)
	}
	w.sc.spans[sp.start] = sp
	return w, nil
}

func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

const protoOp = 0x80

// argKind is how an opcode's argument is encoded.
type argKind uint8

const (
	argNone argKind = iota
	argLineInt
	argLineLong
	argLineFloat
	argLineString  // STRING: a quoted Python 2 literal
	argLineUnicode // UNICODE: raw-unicode-escape
	argLineText    // PERSID
	argLinePair    // GLOBAL, INST: module and name lines
	argU1
	argU2
	argI4
	argU4
	argU8
	argF8
	argLong1
	argLong4
	argStr1 // SHORT_BINSTRING: latin-1
	argStr4 // BINSTRING: signed length
	argUni1
	argUni4
	argUni8
	argBytes1
	argBytes4
	argBytes8
	argByteArray8
)

type opInfo struct {
	arg   argKind
	proto int
	mark  bool // pops to the topmost MARK
}

// opTable describes every opcode as pickletools does.
var opTable = map[byte]opInfo{
	'(': {argNone, 0, false}, '.': {argNone, 0, false}, '0': {argNone, 0, false},
	'1': {argNone, 1, true}, '2': {argNone, 0, false}, 'F': {argLineFloat, 0, false},
	'I': {argLineInt, 0, false}, 'J': {argI4, 1, false}, 'K': {argU1, 1, false},
	'L': {argLineLong, 0, false}, 'M': {argU2, 1, false}, 'N': {argNone, 0, false},
	'P': {argLineText, 0, false}, 'Q': {argNone, 1, false}, 'R': {argNone, 0, false},
	'S': {argLineString, 0, false}, 'T': {argStr4, 1, false}, 'U': {argStr1, 1, false},
	'V': {argLineUnicode, 0, false}, 'X': {argUni4, 1, false}, 'a': {argNone, 0, false},
	'b': {argNone, 0, false}, 'c': {argLinePair, 0, false}, 'd': {argNone, 0, true},
	'}': {argNone, 1, false}, 'e': {argNone, 1, true}, 'g': {argLineInt, 0, false},
	'h': {argU1, 1, false}, 'i': {argLinePair, 0, true}, 'j': {argU4, 1, false},
	'l': {argNone, 0, true}, ']': {argNone, 1, false}, 'o': {argNone, 1, true},
	'p': {argLineInt, 0, false}, 'q': {argU1, 1, false}, 'r': {argU4, 1, false},
	's': {argNone, 0, false}, 't': {argNone, 0, true}, ')': {argNone, 1, false},
	'u': {argNone, 1, true}, 'G': {argF8, 1, false},
	0x80: {argU1, 2, false}, 0x81: {argNone, 2, false}, 0x82: {argU1, 2, false},
	0x83: {argU2, 2, false}, 0x84: {argI4, 2, false}, 0x85: {argNone, 2, false},
	0x86: {argNone, 2, false}, 0x87: {argNone, 2, false}, 0x88: {argNone, 2, false},
	0x89: {argNone, 2, false}, 0x8a: {argLong1, 2, false}, 0x8b: {argLong4, 2, false},
	'B': {argBytes4, 3, false}, 'C': {argBytes1, 3, false},
	0x8c: {argUni1, 4, false}, 0x8d: {argUni8, 4, false}, 0x8e: {argBytes8, 4, false},
	0x8f: {argNone, 4, false}, 0x90: {argNone, 4, true}, 0x91: {argNone, 4, true},
	0x92: {argNone, 4, false}, 0x93: {argNone, 4, false}, 0x94: {argNone, 4, false},
	0x95: {argU8, 4, false}, 0x96: {argByteArray8, 5, false}, 0x97: {argNone, 5, false},
	0x98: {argNone, 5, false},
}

// stackEffect is what an opcode that does not close a MARK takes from
// and puts on the stack.
func stackEffect(code byte) (pop, push int) {
	switch code {
	case '(', 'p', 'q', 'r', 0x94, 0x95, 0x80:
		return 0, 0
	case '.', '0':
		return 1, 0
	case '2':
		return 1, 2
	case 'Q', 0x85, 0x98:
		return 1, 1
	case 'R', 'b', 'a', 0x81, 0x86, 0x93:
		return 2, 1
	case 's', 0x87, 0x92:
		return 3, 1
	}
	return 0, 1
}

// markPush reports whether an opcode that closes a MARK leaves a new
// value (DICT, LIST, TUPLE, FROZENSET, INST, OBJ) rather than adding to
// one below the MARK (APPENDS, SETITEMS, ADDITEMS) or nothing (POP_MARK,
// POP).
func markPush(code byte) bool {
	switch code {
	case 'd', 'l', 't', 0x91, 'i', 'o':
		return true
	}
	return false
}

const (
	opPOP     = '0'
	opMEMOIZE = 0x94
	opMARK    = '('
	opSTOP    = '.'
	opBUILD   = 'b'
	// previewBytes is how much of a long string or bytes argument is read
	// to show it; the rest is skipped.
	previewBytes = 256
	// argWidth is where the argument of a long one is cut.
	argWidth = 100
)

// lister prints the opcodes of a stream.
type lister struct {
	w      *bufio.Writer
	s      *pickle.Stream
	spans  map[int64]*span
	stopAt int64 // offset of the scan's error: list up to it; -1 none
}

// frame is one pickle being listed: top level or nested.
type frameState struct {
	marks    []int64
	stack    []bool // true for a MARK, as pickletools models the stack
	memo     map[int64]bool
	maxProto int
	base     int // indent levels of the enclosing pickles
}

func (l *lister) list() error {
	for first := true; ; first = false {
		if !first {
			b, err := l.s.Peek(1)
			if len(b) == 0 {
				if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
					return err
				}
				return nil
			}
			if b[0] != protoOp {
				return l.trailing()
			}
			fmt.Fprintf(l.w, "[another pickle follows at byte %d]\n", l.s.Offset())
		}
		done, err := l.pickle(0)
		if err != nil || done {
			return err
		}
	}
}

// trailing reports the bytes after the last pickle, which loaders ignore.
func (l *lister) trailing() error {
	start := l.s.Offset()
	n, err := io.Copy(io.Discard, l.s)
	if err != nil {
		return err
	}
	fmt.Fprintf(l.w, "[%d bytes after the pickle's STOP at byte %d, which loaders ignore]\n", n, start)
	return nil
}

// pickle lists one pickle, up to its STOP. done is true when the listing
// stopped at the scan's error.
func (l *lister) pickle(base int) (done bool, err error) {
	fr := &frameState{memo: map[int64]bool{}, base: base}
	for {
		pos := l.s.Offset()
		if l.stopAt >= 0 && pos > l.stopAt {
			return true, nil
		}
		code, err := l.s.ReadByte()
		if err != nil {
			if err == io.EOF {
				return true, &pickle.FormatError{Layer: "pickle", Offset: pos, What: "pickle ends without STOP", Err: io.ErrUnexpectedEOF}
			}
			return true, &pickle.FormatError{Layer: "pickle", Offset: pos, What: "read", Err: err}
		}
		info, ok := opTable[code]
		if !ok {
			fmt.Fprintf(l.w, "%5d: %-4s %s<unknown opcode>\n", pos, codeRepr(code), l.indent(fr))
			return true, &pickle.FormatError{Layer: "pickle", Offset: pos, What: fmt.Sprintf("unknown opcode 0x%02x", code), Err: store.ErrCorrupt}
		}
		name := pickle.OpName(code)
		arg, argv, err := l.readArg(info.arg)
		if err != nil {
			fmt.Fprintf(l.w, "%5d: %-4s %s%s\n", pos, codeRepr(code), l.indent(fr), name)
			return true, &pickle.FormatError{Layer: "pickle", Offset: pos, Op: name, What: "argument", Err: err}
		}
		// pickletools indents a MARK-closing opcode at the level of
		// its MARK's contents.
		indent := l.indent(fr)
		msg := ""
		closesMark := info.mark || (code == opPOP && len(fr.stack) > 0 && fr.stack[len(fr.stack)-1])
		if closesMark {
			if n := len(fr.marks); n > 0 {
				msg = fmt.Sprintf("(MARK at %d)", fr.marks[n-1])
				fr.marks = fr.marks[:n-1]
			} else {
				msg = "(no MARK on the stack)"
			}
			for len(fr.stack) > 0 {
				top := fr.stack[len(fr.stack)-1]
				fr.stack = fr.stack[:len(fr.stack)-1]
				if top {
					break
				}
			}
			if markPush(code) {
				fr.stack = append(fr.stack, false)
			}
		} else {
			pop, push := stackEffect(code)
			fr.stack = fr.stack[:max(0, len(fr.stack)-pop)]
			for range push {
				fr.stack = append(fr.stack, false)
			}
		}
		switch code {
		case opMEMOIZE:
			msg = fmt.Sprintf("(as %d)", len(fr.memo))
			fr.memo[int64(len(fr.memo))] = true
		case 'p', 'q', 'r':
			if argv != nil {
				if k, ok := argv.(int64); ok {
					fr.memo[k] = true
				}
			}
		}
		line := fmt.Sprintf("%5d: %-4s %s%s", pos, codeRepr(code), indent, name)
		if arg != "" || msg != "" {
			line += strings.Repeat(" ", max(0, 10-len(name)))
			if arg != "" {
				line += " " + arg
			}
			if msg != "" {
				line += " " + msg
			}
		}
		fmt.Fprintln(l.w, line)
		fr.maxProto = max(fr.maxProto, info.proto)
		switch code {
		case opMARK:
			fr.marks = append(fr.marks, pos)
			fr.stack = append(fr.stack, true)
		case opSTOP:
			if base == 0 {
				fmt.Fprintf(l.w, "highest protocol among opcodes = %d\n", fr.maxProto)
			}
			return false, nil
		case opBUILD:
			if sp, ok := l.spans[l.s.Offset()]; ok {
				if done, err := l.payload(fr, sp); done || err != nil {
					return done, err
				}
			}
		}
	}
}

func (l *lister) indent(fr *frameState) string {
	return strings.Repeat("    ", len(fr.marks)+fr.base)
}

// payload lists what joblib spliced after a wrapper's BUILD.
func (l *lister) payload(fr *frameState, sp *span) (bool, error) {
	in := l.indent(fr)
	desc := fmt.Sprintf("dtype %s, shape %s, order %s", dtypeText(sp.dtype), shapeText(sp.shape), sp.order)
	if sp.nested {
		fmt.Fprintf(l.w, "%5d: %-4s %s[object array, %s: a nested pickle follows]\n", sp.start, "", in, desc)
		return l.pickle(len(fr.marks) + fr.base + 1)
	}
	if sp.pad > 0 {
		fmt.Fprintf(l.w, "%5d: %-4s %s[padding: %d bytes]\n", sp.start, "", in, sp.pad)
	} else if sp.padding {
		fmt.Fprintf(l.w, "%5d: %-4s %s[padding: none]\n", sp.start, "", in)
	}
	fmt.Fprintf(l.w, "%5d: %-4s %s[array data: %d bytes, %s]\n", sp.data, "", in, sp.n, desc)
	if err := l.s.Discard(sp.data + sp.n - l.s.Offset()); err != nil {
		return true, &pickle.FormatError{Layer: "pickle", Offset: sp.data, What: "array data", Err: io.ErrUnexpectedEOF}
	}
	return false, nil
}

// codeRepr is the opcode byte as pickletools prints it: the character, or
// a \x escape.
func codeRepr(c byte) string {
	if c >= 0x20 && c < 0x7f && c != '\\' && c != '\'' {
		return string(rune(c))
	}
	return fmt.Sprintf(`\x%02x`, c)
}

var errLong = errors.New("line longer than 64 KiB")

func (l *lister) line() ([]byte, error) {
	var b []byte
	for {
		c, err := l.s.ReadByte()
		if err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		if c == '\n' {
			return b, nil
		}
		if len(b) >= 64<<10 {
			return nil, errLong
		}
		b = append(b, c)
	}
}

func (l *lister) fixed(n int) ([]byte, error) {
	b, err := l.s.Next(n)
	if err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return b, nil
}

// blob reads a length-prefixed payload of n bytes, keeping its start.
func (l *lister) blob(n uint64) ([]byte, error) {
	if n > math.MaxInt64 {
		return nil, fmt.Errorf("length %d: %w", n, store.ErrCorrupt)
	}
	k := min(n, previewBytes)
	head, err := l.fixed(int(k))
	if err != nil {
		return nil, err
	}
	head = append([]byte(nil), head...)
	if n > k {
		if err := l.s.Discard(int64(n - k)); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
	}
	return head, nil
}

// readArg reads and renders an opcode's argument. argv is its value for
// the memo opcodes.
func (l *lister) readArg(kind argKind) (string, any, error) {
	switch kind {
	case argNone:
		return "", nil, nil
	case argLineInt:
		b, err := l.line()
		if err != nil {
			return "", nil, err
		}
		switch s := string(b); s {
		case "00":
			return "False", nil, nil
		case "01":
			return "True", nil, nil
		default:
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return clip(store.Repr(s), argWidth), nil, nil
			}
			return strconv.FormatInt(n, 10), n, nil
		}
	case argLineLong:
		b, err := l.line()
		if err != nil {
			return "", nil, err
		}
		return clip(strings.TrimSuffix(string(b), "L"), argWidth), nil, nil
	case argLineFloat:
		b, err := l.line()
		if err != nil {
			return "", nil, err
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64); err == nil {
			return store.Repr(f), nil, nil
		}
		return clip(store.Repr(string(b)), argWidth), nil, nil
	case argLineString:
		b, err := l.line()
		if err != nil {
			return "", nil, err
		}
		return clip(latin1(b), argWidth), nil, nil
	case argLineUnicode:
		b, err := l.line()
		if err != nil {
			return "", nil, err
		}
		return clip(store.Repr(rawUnicodeEscape(b)), argWidth), nil, nil
	case argLineText:
		b, err := l.line()
		if err != nil {
			return "", nil, err
		}
		return clip(store.Repr(latin1(b)), argWidth), nil, nil
	case argLinePair:
		a, err := l.line()
		if err != nil {
			return "", nil, err
		}
		b, err := l.line()
		if err != nil {
			return "", nil, err
		}
		return clip(store.Repr(latin1(a)+" "+latin1(b)), argWidth), nil, nil
	case argU1:
		b, err := l.fixed(1)
		if err != nil {
			return "", nil, err
		}
		return strconv.Itoa(int(b[0])), int64(b[0]), nil
	case argU2:
		b, err := l.fixed(2)
		if err != nil {
			return "", nil, err
		}
		v := binary.LittleEndian.Uint16(b)
		return strconv.Itoa(int(v)), int64(v), nil
	case argI4:
		b, err := l.fixed(4)
		if err != nil {
			return "", nil, err
		}
		v := int32(binary.LittleEndian.Uint32(b))
		return strconv.Itoa(int(v)), int64(v), nil
	case argU4:
		b, err := l.fixed(4)
		if err != nil {
			return "", nil, err
		}
		v := binary.LittleEndian.Uint32(b)
		return strconv.FormatUint(uint64(v), 10), int64(v), nil
	case argU8:
		b, err := l.fixed(8)
		if err != nil {
			return "", nil, err
		}
		return strconv.FormatUint(binary.LittleEndian.Uint64(b), 10), nil, nil
	case argF8:
		b, err := l.fixed(8)
		if err != nil {
			return "", nil, err
		}
		return store.Repr(math.Float64frombits(binary.BigEndian.Uint64(b))), nil, nil
	case argLong1, argLong4:
		var n uint64
		if kind == argLong1 {
			b, err := l.fixed(1)
			if err != nil {
				return "", nil, err
			}
			n = uint64(b[0])
		} else {
			b, err := l.fixed(4)
			if err != nil {
				return "", nil, err
			}
			v := int32(binary.LittleEndian.Uint32(b))
			if v < 0 {
				return "", nil, fmt.Errorf("negative length %d: %w", v, store.ErrCorrupt)
			}
			n = uint64(v)
		}
		if n > previewBytes {
			if err := l.s.Discard(int64(n)); err != nil {
				return "", nil, io.ErrUnexpectedEOF
			}
			return fmt.Sprintf("<int of %d bytes>", n), nil, nil
		}
		b, err := l.fixed(int(n))
		if err != nil {
			return "", nil, err
		}
		return longLE(b).String(), nil, nil
	case argStr1, argStr4, argUni1, argUni4, argUni8, argBytes1, argBytes4, argBytes8, argByteArray8:
		n, err := l.length(kind)
		if err != nil {
			return "", nil, err
		}
		head, err := l.blob(n)
		if err != nil {
			return "", nil, err
		}
		return renderBlob(kind, head, n), nil, nil
	}
	return "", nil, fmt.Errorf("argument kind %d", kind)
}

// length reads the length prefix of a string or bytes argument.
func (l *lister) length(kind argKind) (uint64, error) {
	switch kind {
	case argStr1, argUni1, argBytes1:
		b, err := l.fixed(1)
		if err != nil {
			return 0, err
		}
		return uint64(b[0]), nil
	case argStr4:
		b, err := l.fixed(4)
		if err != nil {
			return 0, err
		}
		v := int32(binary.LittleEndian.Uint32(b))
		if v < 0 {
			return 0, fmt.Errorf("negative length %d: %w", v, store.ErrCorrupt)
		}
		return uint64(v), nil
	case argUni4, argBytes4:
		b, err := l.fixed(4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.LittleEndian.Uint32(b)), nil
	}
	b, err := l.fixed(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// renderBlob renders the start of a string or bytes argument of n bytes
// as Python's repr, shortened.
func renderBlob(kind argKind, head []byte, n uint64) string {
	var r string
	switch kind {
	case argStr1, argStr4:
		r = store.Repr(latin1(head))
	case argUni1, argUni4, argUni8:
		t := head
		if uint64(len(head)) < n {
			// Do not show a character cut in two.
			for len(t) > 0 && !utf8.Valid(t) {
				t = t[:len(t)-1]
			}
		}
		r = store.Repr(strings.ToValidUTF8(string(t), "\uFFFD"))
	case argByteArray8:
		r = "bytearray(" + store.Repr(head) + ")"
	default:
		r = store.Repr(head)
	}
	if uint64(len(head)) < n || len([]rune(r)) > argWidth {
		return clip(r, argWidth) + fmt.Sprintf(" (%d bytes)", n)
	}
	return r
}

// latin1 decodes b as Latin-1, as Python 3 reads Python 2 strings here.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// rawUnicodeEscape decodes Python's raw-unicode-escape: Latin-1 with
// \uXXXX and \UXXXXXXXX escapes.
func rawUnicodeEscape(b []byte) string {
	var out []rune
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U') {
			w := 4
			if b[i+1] == 'U' {
				w = 8
			}
			if i+2+w <= len(b) {
				if v, err := strconv.ParseUint(string(b[i+2:i+2+w]), 16, 32); err == nil && v <= utf8.MaxRune {
					out = append(out, rune(v))
					i += 1 + w
					continue
				}
			}
		}
		out = append(out, rune(b[i]))
	}
	return string(out)
}

// longLE decodes a little-endian two's complement integer (LONG1, LONG4).
func longLE(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if len(b) > 0 && b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}
