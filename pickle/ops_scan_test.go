package pickle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/internal/pyenv"
)

// scanAll scans the pickle at the start of s to its STOP and returns its
// opcodes, and the error that stopped it (nil after STOP).
func scanAll(s *Stream, opts ...ScanOption) ([]Op, error) {
	sc := NewScanner(s, opts...)
	var ops []Op
	for {
		op, err := sc.Next()
		if err == io.EOF {
			return ops, nil
		}
		if err != nil {
			return ops, err
		}
		ops = append(ops, op)
	}
}

// genopsScript dumps pickletools.genops of each file as JSON: the code,
// name, protocol, position and argument of each opcode, tagged with its
// Python type, and the error that stopped genops, if any.
const genopsScript = `
import json, os, pickletools, sys

def enc(a):
    if a is None:
        return None
    if isinstance(a, bool):
        return {"bool": a}
    if isinstance(a, int):
        return {"int": str(a)}
    if isinstance(a, float):
        return {"float": a.hex()}
    if isinstance(a, str):
        return {"str": a.encode("utf-8", "surrogatepass").hex()}
    if isinstance(a, bytearray):
        return {"bytearray": bytes(a).hex()}
    if isinstance(a, bytes):
        return {"bytes": a.hex()}
    raise TypeError(type(a))

out = {}
for path in sys.argv[1:]:
    ops, err = [], None
    try:
        for op, arg, pos in pickletools.genops(open(path, "rb").read()):
            ops.append([ord(op.code), op.name, op.proto, pos, enc(arg)])
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
    out[os.path.basename(path)] = {"ops": ops, "error": err}
json.dump(out, sys.stdout)
`

// pyArg is an argument as genopsScript tags it.
type pyArg struct {
	Bool      *bool   `json:"bool"`
	Int       *string `json:"int"`
	Float     *string `json:"float"`
	Str       *string `json:"str"`
	Bytes     *string `json:"bytes"`
	ByteArray *string `json:"bytearray"`
}

// value returns the argument as the Scanner gives it, but Python 2 str,
// which pickletools decodes as Latin-1 text.
func (a *pyArg) value(t *testing.T) any {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	switch {
	case a == nil:
		return nil
	case a.Bool != nil:
		return *a.Bool
	case a.Int != nil:
		b, ok := new(big.Int).SetString(*a.Int, 10)
		if !ok {
			t.Fatalf("bad int %q", *a.Int)
		}
		return normInt(b)
	case a.Float != nil:
		f, err := strconv.ParseFloat(*a.Float, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	case a.Str != nil:
		return string(unhex(*a.Str))
	case a.Bytes != nil:
		return unhex(*a.Bytes)
	case a.ByteArray != nil:
		return ByteArray(unhex(*a.ByteArray))
	}
	t.Fatal("untagged argument")
	return nil
}

// TestScanGenops scans every pickle fixture, from memory and from a
// reader, and compares the opcodes, offsets, protocols and arguments with
// those of Python's pickletools.genops.
func TestScanGenops(t *testing.T) {
	names := fixtures(t)
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(fixtureDir, n)
	}
	var want map[string]struct {
		Ops   [][5]json.RawMessage `json:"ops"`
		Error *string              `json:"error"`
	}
	if err := json.Unmarshal(pyenv.Run(t, genopsScript, paths...), &want); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, name := range names {
		data := readFixture(t, name)
		w, ok := want[name]
		if !ok {
			t.Fatalf("%s: not in Python's output", name)
		}
		for _, input := range []string{"bytes", "reader"} {
			s := NewStreamBytes(data)
			if input == "reader" {
				s = NewStream(bytes.NewReader(data))
			}
			ops, err := scanAll(s)
			if err != nil {
				t.Errorf("%s/input=%s: %v", name, input, err)
				continue
			}
			if w.Error != nil {
				// pickletools reads STRING as ASCII and gives up on the
				// Latin-1 of a Python 2 str; the Scanner reads on, as
				// Python's unpickler does.
				if len(ops) <= len(w.Ops) {
					t.Errorf("%s/input=%s: %d opcodes; genops stopped after %d (%s)", name, input, len(ops), len(w.Ops), *w.Error)
				}
				ops = ops[:len(w.Ops)]
			} else if len(ops) != len(w.Ops) {
				t.Errorf("%s/input=%s: %d opcodes, genops %d", name, input, len(ops), len(w.Ops))
				continue
			}
			if end := s.Offset(); w.Error == nil && end != int64(len(data)) {
				t.Errorf("%s/input=%s: stopped at byte %d of %d", name, input, end, len(data))
			}
			for i, op := range ops {
				var code, proto int
				var pos int64
				var opName string
				var arg *pyArg
				for j, dst := range []any{&code, &opName, &proto, &pos, &arg} {
					if err := json.Unmarshal(w.Ops[i][j], dst); err != nil {
						t.Fatal(err)
					}
				}
				got := op.Arg
				if b, ok := got.([]byte); ok && strings.HasSuffix(op.Name, "STRING") && !strings.Contains(op.Name, "UNICODE") {
					got = latin1(b)
				}
				if op.Code != byte(code) || op.Name != opName || op.Proto != proto || op.Offset != pos || !sameArg(got, arg.value(t)) {
					t.Errorf("%s/input=%s: opcode %d is %#x %s proto %d at %d arg %#v; genops %#x %s proto %d at %d arg %#v",
						name, input, i, op.Code, op.Name, op.Proto, op.Offset, got, code, opName, proto, pos, arg.value(t))
					break
				}
				compared++
			}
		}
	}
	if compared < 10000 {
		t.Errorf("only %d opcodes compared", compared)
	}
}

// sameArg compares arguments, with NaN equal to itself.
func sameArg(a, b any) bool {
	if x, ok := a.(float64); ok {
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	}
	if x, ok := a.(*big.Int); ok {
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	}
	return reflect.DeepEqual(a, b)
}

// TestScanTruncated cuts every fixture at many lengths: the Scanner fails
// where the Decoder does, with the same error.
func TestScanTruncated(t *testing.T) {
	for _, name := range fixtures(t) {
		data := readFixture(t, name)
		base, _ := splitFixture(name)
		opts := fixtureOptions(t, base)
		step := max(1, len(data)/300)
		for n := 0; n <= len(data); n += step {
			for _, input := range []string{"bytes", "reader"} {
				s, d := NewStreamBytes(data[:n]), NewDecoderBytes(data[:n], opts...)
				if input == "reader" {
					s, d = NewStream(bytes.NewReader(data[:n])), NewDecoder(bytes.NewReader(data[:n]), opts...)
				}
				_, derr := d.Decode()
				if derr == io.EOF {
					derr = nil // an empty stream: the Scanner lists nothing
				}
				_, serr := scanAll(s)
				if errText(derr) != errText(serr) {
					t.Fatalf("%s cut at %d/input=%s:\nDecoder: %v\nScanner: %v", name, n, input, derr, serr)
				}
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestScanBadArguments: each damaged argument fails the Scanner as it
// fails the Decoder, with the same limits.
func TestScanBadArguments(t *testing.T) {
	u64 := func(n uint64) string { return string(binary8(n)) }
	for _, tc := range []struct {
		name, data string
		kind       error
	}{
		{"bad_float", "F1.x\n.", ErrCorrupt},
		{"bad_int", "I12x\n.", ErrCorrupt},
		{"bad_long", "L12x\n.", ErrCorrupt},
		{"bad_memo_index", "Np-x\n.", ErrCorrupt},
		{"unquoted_string", "Sabc\n.", ErrCorrupt},
		{"bad_x_escape", "S'\\xZZ'\n.", ErrCorrupt},
		{"short_u_escape", "Vab\\u12\n.", ErrCorrupt},
		{"bad_u_escape", "V\\U00110000\n.", ErrCorrupt},
		{"global_not_utf8", "cmod\xff\nname\n.", ErrCorrupt},
		{"persid_not_ascii", "P\xc3\xa9\n.", ErrCorrupt},
		{"str_not_utf8", "\x8c\x02\xff\xfe.", ErrCorrupt},
		{"negative_binstring", "T\xff\xff\xff\xff.", ErrCorrupt},
		{"negative_long4", "\x8b\xff\xff\xff\xff.", ErrCorrupt},
		{"length_over_int64", "\x8e" + u64(1<<63) + ".", ErrTooLarge},
		{"length_over_input", "B\x64\x00\x00\x00abc.", io.ErrUnexpectedEOF},
		{"length_over_budget", "B\x64\x00\x00\x00" + strings.Repeat("x", 100) + ".", ErrTooLarge},
		{"frame_over_input", "\x80\x04\x95" + u64(1000) + "N.", io.ErrUnexpectedEOF},
		{"frame_over_budget", "\x80\x04\x95" + u64(100) + strings.Repeat("N", 100) + ".", ErrTooLarge},
		{"protocol_9", "\x80\x09N.", ErrUnsupported},
		{"ext_cut", "\x83\x01", io.ErrUnexpectedEOF},
		{"line_cut", "Iabc", io.ErrUnexpectedEOF},
		{"unknown_opcode", "\xff", ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			_, derr := NewDecoderBytes(data, MaxBytes(64)).Decode()
			ops, serr := scanAll(NewStreamBytes(data), ScanMaxBytes(64))
			if !errors.Is(serr, tc.kind) {
				t.Fatalf("Scanner: %v, want %v", serr, tc.kind)
			}
			if errText(derr) != errText(serr) {
				t.Fatalf("Decoder: %v\nScanner: %v", derr, serr)
			}
			var fe *FormatError
			if !errors.As(serr, &fe) {
				t.Fatalf("%T is not a *FormatError", serr)
			}
			if len(ops) > 0 && ops[len(ops)-1].Offset >= fe.Offset {
				t.Errorf("error at byte %d, before the last opcode listed (%d)", fe.Offset, ops[len(ops)-1].Offset)
			}
		})
	}
}

func binary8(n uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	return b
}

// TestScanLongLine: a line of more than 64 KiB from a reader is refused
// by both, as a line without a newline is.
func TestScanLongLine(t *testing.T) {
	data := []byte("I" + strings.Repeat("1", 70<<10) + "\n.")
	_, derr := NewDecoder(bytes.NewReader(data)).Decode()
	_, serr := scanAll(NewStream(bytes.NewReader(data)))
	if !errors.Is(serr, ErrTooLarge) || errText(derr) != errText(serr) {
		t.Fatalf("Decoder: %v\nScanner: %v", derr, serr)
	}
}

// TestScanPreview lists a pickle with long arguments under Preview: they
// are cut to their first bytes, and the opcodes after them are where they
// should be.
func TestScanPreview(t *testing.T) {
	long := bytes.Repeat([]byte("0123456789"), 1000)
	big1 := new(big.Int).Lsh(big.NewInt(1), 2000)
	for _, proto := range []int{3, 5} {
		var buf bytes.Buffer
		if err := NewEncoder(&buf, Protocol(proto)).Encode(Tuple{long, string(long), ByteArray(long), big1, "short"}); err != nil {
			t.Fatal(err)
		}
		full, err := scanAll(NewStreamBytes(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		for _, input := range []string{"bytes", "reader"} {
			name := fmt.Sprintf("proto=%d/input=%s", proto, input)
			s := NewStreamBytes(buf.Bytes())
			if input == "reader" {
				s = NewStream(bytes.NewReader(buf.Bytes()))
			}
			// Frames are checked against the limit; the arguments cut
			// short are not.
			cut, err := scanAll(s, Preview(16), ScanMaxBytes(1<<15))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(cut) != len(full) {
				t.Fatalf("%s: %d opcodes, %d without Preview", name, len(cut), len(full))
			}
			short := 0
			for i, op := range cut {
				f := full[i]
				if op.Offset != f.Offset || op.Code != f.Code || op.Len != f.Len {
					t.Fatalf("%s: %+v, without Preview %+v", name, op, f)
				}
				if !op.Short {
					if !sameArg(op.Arg, f.Arg) {
						t.Errorf("%s: %s arg %v, without Preview %v", name, op.Name, op.Arg, f.Arg)
					}
					continue
				}
				short++
				head, ok := op.Arg.([]byte)
				if !ok || len(head) != 16 || op.Len <= 16 {
					t.Errorf("%s: %s: Arg %#v, Len %d", name, op.Name, op.Arg, op.Len)
				}
				if !strings.HasPrefix(op.Name, "LONG") && !bytes.Equal(head, long[:16]) {
					t.Errorf("%s: %s starts %q", name, op.Name, head)
				}
			}
			if short != 4 {
				t.Errorf("%s: %d arguments cut, want 4", name, short)
			}
		}
		// Without Preview, the limit holds.
		if _, err := scanAll(NewStreamBytes(buf.Bytes()), ScanMaxBytes(1<<12)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("proto=%d: ScanMaxBytes(4096) over a 10000-byte argument: %v", proto, err)
		}
	}
}

// TestScanAfterStop: Next gives io.EOF after STOP and leaves the stream
// there, so the next pickle scans with a new Scanner.
func TestScanAfterStop(t *testing.T) {
	s := NewStreamBytes([]byte("\x80\x02K\x01.\x80\x02K\x02.junk"))
	for i, want := range []int64{1, 2} {
		ops, err := scanAll(s)
		if err != nil || len(ops) != 3 || ops[1].Arg != want || ops[0].Offset != int64(5*i) {
			t.Fatalf("pickle %d: %+v, %v", i, ops, err)
		}
	}
	if s.Offset() != 10 {
		t.Fatalf("stream at %d after two pickles", s.Offset())
	}
	sc := NewScanner(NewStreamBytes(nil))
	if _, err := sc.Next(); err != io.EOF {
		t.Fatalf("empty stream: %v", err)
	}
	for _, opt := range []ScanOption{Preview(-1), ScanMaxBytes(0)} {
		if _, err := NewScanner(NewStreamBytes([]byte("N.")), opt).Next(); err == nil {
			t.Error("a bad option is accepted")
		}
	}
}

// FuzzScan scans arbitrary input. It must never panic; where the Decoder
// reads a pickle to its STOP, so must the Scanner; where both fail at the
// same opcode, with the same error; and under Preview the opcodes are the
// same.
func FuzzScan(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ops, serr := scanAll(NewStreamBytes(data), ScanMaxBytes(64<<20))
		if serr != nil {
			var fe *FormatError
			if !errors.As(serr, &fe) {
				t.Fatalf("err = %v (%T), want a *FormatError", serr, serr)
			}
		}
		d := NewDecoderBytes(data, fuzzOptions()...)
		_, derr := d.Decode()
		switch {
		case derr == nil:
			if serr != nil || len(ops) == 0 || ops[len(ops)-1].Name != "STOP" {
				t.Fatalf("the Decoder reads to STOP, the Scanner fails: %v", serr)
			}
			if end := ops[len(ops)-1].Offset + 1; end != d.Stream().Offset() {
				t.Fatalf("STOP at %d, the Decoder stopped at %d", end, d.Stream().Offset())
			}
		case serr != nil && derr != io.EOF:
			var de, se *FormatError
			if errors.As(derr, &de) && errors.As(serr, &se) {
				if de.Offset > se.Offset {
					t.Fatalf("the Decoder reads past the Scanner's error:\nDecoder: %v\nScanner: %v", derr, serr)
				}
				if de.Offset == se.Offset && de.Op != "" && derr.Error() != serr.Error() {
					t.Fatalf("Decoder: %v\nScanner: %v", derr, serr)
				}
			}
		}
		cut, _ := scanAll(NewStreamBytes(data), ScanMaxBytes(64<<20), Preview(8))
		if len(cut) < len(ops) {
			t.Fatalf("%d opcodes under Preview, %d without", len(cut), len(ops))
		}
		for i := range ops {
			if cut[i].Offset != ops[i].Offset || cut[i].Code != ops[i].Code {
				t.Fatalf("opcode %d: %+v under Preview, %+v without", i, cut[i], ops[i])
			}
		}
	})
}
