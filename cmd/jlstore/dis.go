package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/mmap"
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

An uncompressed file is mapped, not read into memory. A compressed file is
decompressed on the fly, twice; the offsets count in the decompressed
stream, and the arrays of one pickle at a time are held in memory while
dis learns their layout, as loading the file needs them (--max-bytes
bounds that). A damaged file is listed up to the damage, and the error
follows on stderr.

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
// ("" when uncompressed), and a function that closes both. The stream of
// an uncompressed file is a *pickle.Stream over a mapping of it.
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
		closeAll()
		m, err := mmap.Open(path, mmap.ReadOnly)
		if err != nil {
			return nil, "", nil, err
		}
		b, err := m.Bytes(0, int64(m.Len()))
		if err != nil {
			m.Close()
			return nil, "", nil, err
		}
		return pickle.NewStreamBytes(b), "", m.Close, nil
	}
	return rc, codec, closeAll, nil
}

// opener returns a fresh decompressed stream of the input each time.
type opener func() (r io.Reader, codec string, close func() error, err error)

// disassemble writes the listing of the stream that open gives. It reads
// the stream twice: once to learn where joblib's array payloads are, once
// to list the opcodes.
func disassemble(w io.Writer, open opener, maxBytes int64) error {
	r, codec, closeFn, err := open()
	if err != nil {
		return err
	}
	var opts []store.LoadOption
	if maxBytes > 0 {
		opts = append(opts, store.MaxBytes(maxBytes))
	}
	payloads, scanErr := store.Payloads(r, opts...)
	closeFn()
	var pe *store.PathError
	if errors.As(scanErr, &pe) {
		scanErr = pe.Err
	}

	r, _, closeFn, err = open()
	if err != nil {
		return err
	}
	defer closeFn()
	bw := bufio.NewWriterSize(w, 64<<10)
	if codec != "" {
		fmt.Fprintf(bw, "[%s-compressed; offsets count in the decompressed stream]\n", codec)
	}
	l := &lister{w: bw, s: pickle.NewStream(r), spans: map[int64]store.Payload{}, stopAt: -1}
	for _, p := range payloads {
		l.spans[p.Start] = p
	}
	// A valid pickle that needs what a file cannot carry (out-of-band
	// buffers, extension codes) is listed to its end, as pickletools
	// does; payloads after that point are not known.
	unsupported := scanErr != nil && errors.Is(scanErr, store.ErrUnsupported)
	if scanErr != nil && !unsupported {
		l.stopAt = errOffset(scanErr)
	}
	lerr := l.list()
	if unsupported && lerr == nil {
		fmt.Fprintf(bw, "[note: %s; array payloads after that point are not recognised]\n", describe(scanErr))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if scanErr != nil && !unsupported {
		return scanErr
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

// closesMark reports whether an opcode pops the stack down to the topmost
// MARK.
func closesMark(name string) bool {
	switch name {
	case "POP_MARK", "DICT", "APPENDS", "INST", "LIST", "OBJ", "TUPLE", "SETITEMS", "ADDITEMS", "FROZENSET":
		return true
	}
	return false
}

// stackEffect is what an opcode that does not close a MARK takes from
// and puts on the stack.
func stackEffect(name string) (pop, push int) {
	switch name {
	case "MARK", "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "FRAME", "PROTO":
		return 0, 0
	case "STOP", "POP":
		return 1, 0
	case "DUP":
		return 1, 2
	case "BINPERSID", "TUPLE1", "READONLY_BUFFER":
		return 1, 1
	case "REDUCE", "BUILD", "APPEND", "NEWOBJ", "TUPLE2", "STACK_GLOBAL":
		return 2, 1
	case "SETITEM", "TUPLE3", "NEWOBJ_EX":
		return 3, 1
	}
	return 0, 1
}

// markPush reports whether an opcode that closes a MARK leaves a new
// value (DICT, LIST, TUPLE, FROZENSET, INST, OBJ) rather than adding to
// one below the MARK (APPENDS, SETITEMS, ADDITEMS) or nothing (POP_MARK,
// POP).
func markPush(name string) bool {
	switch name {
	case "DICT", "LIST", "TUPLE", "FROZENSET", "INST", "OBJ":
		return true
	}
	return false
}

const (
	protoOp = 0x80
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
	spans  map[int64]store.Payload // by Start
	stopAt int64                   // offset of the scan's error: list up to it; -1 none
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
	sc := pickle.NewScanner(l.s, pickle.Preview(previewBytes))
	for {
		pos := l.s.Offset()
		if l.stopAt >= 0 && pos > l.stopAt {
			return true, nil
		}
		op, err := sc.Next()
		if err == io.EOF {
			return true, &pickle.FormatError{Layer: "pickle", Offset: pos, What: "pickle ends without STOP", Err: io.ErrUnexpectedEOF}
		}
		if err != nil {
			switch {
			case op.Name != "":
				fmt.Fprintf(l.w, "%5d: %-4s %s%s\n", pos, codeRepr(op.Code), l.indent(fr), op.Name)
			case l.s.Offset() > pos:
				fmt.Fprintf(l.w, "%5d: %-4s %s<unknown opcode>\n", pos, codeRepr(op.Code), l.indent(fr))
			}
			return true, err
		}
		name := op.Name
		// pickletools indents a MARK-closing opcode at the level of
		// its MARK's contents.
		indent := l.indent(fr)
		msg := ""
		if closesMark(name) || (name == "POP" && len(fr.stack) > 0 && fr.stack[len(fr.stack)-1]) {
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
			if markPush(name) {
				fr.stack = append(fr.stack, false)
			}
		} else {
			pop, push := stackEffect(name)
			fr.stack = fr.stack[:max(0, len(fr.stack)-pop)]
			for range push {
				fr.stack = append(fr.stack, false)
			}
		}
		switch name {
		case "MEMOIZE":
			msg = fmt.Sprintf("(as %d)", len(fr.memo))
			fr.memo[int64(len(fr.memo))] = true
		case "PUT", "BINPUT", "LONG_BINPUT":
			if k, ok := op.Arg.(int64); ok {
				fr.memo[k] = true
			}
		}
		line := fmt.Sprintf("%5d: %-4s %s%s", pos, codeRepr(op.Code), indent, name)
		if arg := argText(op); arg != "" || msg != "" {
			line += strings.Repeat(" ", max(0, 10-len(name)))
			if arg != "" {
				line += " " + arg
			}
			if msg != "" {
				line += " " + msg
			}
		}
		fmt.Fprintln(l.w, line)
		fr.maxProto = max(fr.maxProto, op.Proto)
		switch name {
		case "MARK":
			fr.marks = append(fr.marks, pos)
			fr.stack = append(fr.stack, true)
		case "STOP":
			if base == 0 {
				fmt.Fprintf(l.w, "highest protocol among opcodes = %d\n", fr.maxProto)
			}
			return false, nil
		case "BUILD":
			if sp, ok := l.spans[l.s.Offset()]; ok {
				if done, err := l.payload(fr, sp); done || err != nil {
					return done, err
				}
			}
		}
	}
}

// maxIndent is the deepest nesting the listing shows as indentation;
// deeper lines carry their depth in brackets instead.
const maxIndent = 32

func (l *lister) indent(fr *frameState) string {
	depth := len(fr.marks) + fr.base
	if depth > maxIndent {
		// A hostile file can open millions of MARKs: indenting each line
		// by all of them would make the listing quadratic in the input.
		return strings.Repeat("    ", maxIndent) + "[" + strconv.Itoa(depth) + "] "
	}
	return strings.Repeat("    ", depth)
}

// payload lists what joblib spliced after a wrapper's BUILD.
func (l *lister) payload(fr *frameState, sp store.Payload) (bool, error) {
	in := l.indent(fr)
	desc := fmt.Sprintf("dtype %s, shape %s, order %s", dtypeText(sp.DType), shapeText(sp.Shape), sp.Order)
	if sp.Offset < 0 {
		fmt.Fprintf(l.w, "%5d: %-4s %s[object array, %s: a nested pickle follows]\n", sp.Start, "", in, desc)
		return l.pickle(len(fr.marks) + fr.base + 1)
	}
	if pad := sp.Offset - sp.Start; pad > 0 {
		fmt.Fprintf(l.w, "%5d: %-4s %s[padding: %d bytes]\n", sp.Start, "", in, pad)
	}
	fmt.Fprintf(l.w, "%5d: %-4s %s[array data: %d bytes, %s]\n", sp.Offset, "", in, sp.NBytes, desc)
	if err := l.s.Discard(sp.Offset + sp.NBytes - l.s.Offset()); err != nil {
		return true, &pickle.FormatError{Layer: "pickle", Offset: sp.Offset, What: "array data", Err: io.ErrUnexpectedEOF}
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

// argText renders an opcode's argument as pickletools.dis does, with long
// ones shortened.
func argText(op pickle.Op) string {
	long := op.Name == "LONG1" || op.Name == "LONG4"
	switch {
	case op.Arg == nil:
		return ""
	case long && op.Short:
		return fmt.Sprintf("<int of %d bytes>", op.Len)
	case long:
		return store.Repr(op.Arg)
	case op.Len >= 0:
		return blobText(op)
	case op.Name == "STRING":
		b, _ := op.Arg.([]byte)
		return clip(store.Repr(latin1(b)), argWidth)
	}
	return clip(store.Repr(op.Arg), argWidth)
}

// blobText renders a counted string or bytes argument (or its first
// bytes) as Python's repr, shortened.
func blobText(op pickle.Op) string {
	var head []byte
	switch a := op.Arg.(type) {
	case []byte:
		head = a
	case pickle.ByteArray:
		head = a
	case string:
		head = []byte(a)
	}
	var r string
	switch op.Name {
	case "SHORT_BINSTRING", "BINSTRING":
		r = store.Repr(latin1(head))
	case "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8":
		t := head
		if op.Short {
			// Do not show a character cut in two.
			for len(t) > 0 && !utf8.Valid(t) {
				t = t[:len(t)-1]
			}
		}
		r = store.Repr(strings.ToValidUTF8(string(t), "\uFFFD"))
	case "BYTEARRAY8":
		r = "bytearray(" + store.Repr(head) + ")"
	default:
		r = store.Repr(head)
	}
	if op.Short || len([]rune(r)) > argWidth {
		return clip(r, argWidth) + fmt.Sprintf(" (%d bytes)", op.Len)
	}
	return r
}

// latin1 decodes b as Latin-1, as Python 3 reads Python 2 strings.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
