package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// truncationCuts returns the lengths at which a fixture of n bytes is cut:
// all of them for small files, and at least 200 spread over larger ones
// plus every length near both ends.
func truncationCuts(n int) []int {
	limit := 1024
	if testing.Short() {
		limit = 256
	}
	if n <= limit {
		cuts := make([]int, n)
		for i := range cuts {
			cuts[i] = i
		}
		return cuts
	}
	var cuts []int
	for i := 0; i < 64; i++ {
		cuts = append(cuts, i, n-1-i)
	}
	step := max(1, n/256)
	for i := 64; i < n-64; i += step {
		cuts = append(cuts, i)
	}
	return cuts
}

// TestTruncation cuts every fixture at many lengths and expects a clean
// error: io.EOF for nothing at all, else an error wrapping
// io.ErrUnexpectedEOF, from memory and from a reader.
func TestTruncation(t *testing.T) {
	for _, file := range fixtures(t) {
		name, _ := splitFixture(file)
		data := readFixture(t, file)
		opts := fixtureOptions(t, name)
		t.Run(strings.TrimSuffix(file, ".pkl"), func(t *testing.T) {
			for _, cut := range truncationCuts(len(data)) {
				for _, mode := range []string{"bytes", "reader"} {
					var d *Decoder
					if mode == "bytes" {
						d = NewDecoderBytes(data[:cut], opts...)
					} else {
						d = NewDecoder(bytes.NewReader(data[:cut]), opts...)
					}
					v, err := d.Decode()
					if cut == 0 {
						if err != io.EOF {
							t.Fatalf("%s: empty input: err = %v, want io.EOF", mode, err)
						}
						continue
					}
					if err == nil {
						t.Fatalf("%s: cut at %d of %d decoded to %s", mode, cut, len(data), show(v))
					}
					var fe *FormatError
					if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &fe) {
						t.Fatalf("%s: cut at %d of %d: err = %v (%T), want a *FormatError wrapping io.ErrUnexpectedEOF", mode, cut, len(data), err, err)
					}
					if fe.Offset < 0 || fe.Offset > int64(cut) || fe.Layer != "pickle" {
						t.Fatalf("%s: cut at %d: error at offset %d in layer %q", mode, cut, fe.Offset, fe.Layer)
					}
				}
			}
		})
	}
}

// decodeWatched decodes data and fails the test when that takes longer
// than a generous bound: a hang is a bug.
func decodeWatched(t *testing.T, data []byte, opts []DecodeOption) (any, error) {
	t.Helper()
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := NewDecoderBytes(data, opts...).Decode()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(20 * time.Second):
		t.Fatalf("decode hangs on %q", data)
		return nil, nil
	}
}

// TestBitFlips flips seeded random bits in every fixture family and
// expects an error or a value, never a panic or a hang. Errors must be a
// *FormatError.
func TestBitFlips(t *testing.T) {
	families := map[string][]string{}
	for _, file := range fixtures(t) {
		name, _ := splitFixture(file)
		families[name] = append(families[name], file)
	}
	n := 1000
	if testing.Short() {
		n = 200
	}
	for name, files := range families {
		datas := make([][]byte, len(files))
		for i, f := range files {
			datas[i] = readFixture(t, f)
		}
		opts := fixtureOptions(t, name)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(name)), 0x5eed))
			decoded := 0
			for i := range n {
				src := datas[rng.IntN(len(datas))]
				data := bytes.Clone(src)
				for range 1 + rng.IntN(3) {
					bit := rng.IntN(8 * len(data))
					data[bit/8] ^= 1 << (bit % 8)
				}
				v, err := decodeWatched(t, data, opts)
				if err != nil {
					var fe *FormatError
					if !errors.As(err, &fe) {
						t.Fatalf("flip %d: err = %v (%T), want a *FormatError", i, err, err)
					}
					continue
				}
				decoded++
				_ = show(v) // walking the value must terminate too
			}
			t.Logf("%d of %d flipped inputs decoded", decoded, n)
		})
	}
}

// sizeLies are 20-byte pickles whose length fields claim far more than
// they hold.
func sizeLies() map[string][]byte {
	le64 := func(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
	le32 := func(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
	pad := func(b []byte) []byte {
		for len(b) < 20 {
			b = append(b, 'N')
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return pad(bytes.Join(parts, nil)) }
	const huge = 1 << 40
	return map[string][]byte{
		"BINBYTES8":     cat([]byte{opPROTO, 4, opBINBYTES8}, le64(huge)),
		"BINUNICODE8":   cat([]byte{opPROTO, 4, opBINUNICODE8}, le64(huge)),
		"BYTEARRAY8":    cat([]byte{opPROTO, 5, opBYTEARRAY8}, le64(huge)),
		"FRAME":         cat([]byte{opPROTO, 4, opFRAME}, le64(huge)),
		"BINBYTES8_max": cat([]byte{opPROTO, 4, opBINBYTES8}, le64(1<<63-1)),
		"BINBYTES8_neg": cat([]byte{opPROTO, 4, opBINBYTES8}, le64(1<<64-1)),
		"LONG4":         cat([]byte{opPROTO, 2, opLONG4}, le32(1<<31-1)),
		"BINBYTES":      cat([]byte{opPROTO, 3, opBINBYTES}, le32(1<<32-1)),
		"BINUNICODE":    cat([]byte{opPROTO, 3, opBINUNICODE}, le32(1<<32-1)),
		"BINSTRING":     cat([]byte{opPROTO, 2, opBINSTRING}, le32(1<<31-1)),
		"BINSTRING_neg": cat([]byte{opPROTO, 2, opBINSTRING}, le32(1<<32-1)),
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSizeLies checks that a length field claiming 2^40 bytes in a
// 20-byte input fails at once without allocating, from memory and from a
// reader of unknown size.
func TestSizeLies(t *testing.T) {
	for name, data := range sizeLies() {
		for _, mode := range []string{"bytes", "reader"} {
			t.Run(name+"/input="+mode, func(t *testing.T) {
				var err error
				n := allocated(func() {
					var d *Decoder
					if mode == "bytes" {
						d = NewDecoderBytes(data)
					} else {
						d = NewDecoder(io.MultiReader(bytes.NewReader(data)))
					}
					_, err = d.Decode()
				})
				var fe *FormatError
				if err == nil || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want a *FormatError", err)
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrCorrupt) {
					t.Errorf("err = %v, want ErrUnexpectedEOF, ErrTooLarge or ErrCorrupt", err)
				}
				if fe.Offset != 2 {
					t.Errorf("error at offset %d, want 2 (the lying opcode): %v", fe.Offset, err)
				}
				if n > 1<<20 {
					t.Errorf("allocated %d bytes for a %d-byte input", n, len(data))
				}
			})
		}
	}
}

// TestMaxBytes checks the allocation budget on honest input.
func TestMaxBytes(t *testing.T) {
	data := readFixture(t, "bytes_long_p3.pkl")
	if _, err := NewDecoderBytes(data, MaxBytes(1024)).Decode(); err != nil {
		t.Fatalf("1024-byte budget for 512 bytes: %v", err)
	}
	// A length over the budget fails before its bytes are read.
	_, err := NewDecoderBytes(data, MaxBytes(511)).Decode()
	if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "512 bytes declared") {
		t.Fatalf("err = %v, want ErrTooLarge for the 512 bytes declared (and not ErrFormat)", err)
	}
	// The budget counts in total, not per value.
	data = readFixture(t, "memo_many_p4.pkl")
	if _, err := NewDecoderBytes(data, MaxBytes(100)).Decode(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("300 strings in 100 bytes: err = %v, want ErrTooLarge", err)
	}
	if _, err := NewDecoderBytes(data, MaxBytes(0)).Decode(); err == nil {
		t.Error("MaxBytes(0) accepted")
	}
}

// budgetBombs are pickles of a few bytes per opcode that make the decoder
// build many times their size, each with the offset where the repeated
// opcodes start.
func budgetBombs(n int) map[string]struct {
	data  []byte
	start int
} {
	le32 := func(b []byte, i int) []byte { return binary.LittleEndian.AppendUint32(b, uint32(i)) }
	bombs := map[string]struct {
		data  []byte
		start int
	}{}
	add := func(name string, head []byte, body func(b []byte, i int) []byte, tail ...byte) {
		b := append([]byte{}, head...)
		for i := range n {
			b = body(b, i)
		}
		bombs[name] = struct {
			data  []byte
			start int
		}{append(b, tail...), len(head)}
	}
	// One None memoized n times: 16 bytes a slot for 1 byte of input,
	// in a frame as Python writes it.
	frame := binary.LittleEndian.AppendUint64([]byte{opPROTO, 4, opFRAME}, uint64(n+2))
	add("MEMOIZE", append(frame, opNONE), func(b []byte, _ int) []byte { return append(b, opMEMOIZE) }, opSTOP)
	add("BINPUT", []byte{opPROTO, 2, opNONE}, func(b []byte, i int) []byte { return le32(append(b, opLONG_BINPUT), i) }, opSTOP)
	// A list appended the same object n times.
	add("APPEND", []byte{opPROTO, 2, opEMPTY_LIST, opNONE, opBINPUT, 0, opPOP},
		func(b []byte, _ int) []byte { return append(b, opBINGET, 0, opAPPEND) }, opSTOP)
	add("APPENDS", []byte{opPROTO, 2, opEMPTY_LIST, opNONE, opBINPUT, 0, opPOP},
		func(b []byte, _ int) []byte { return append(b, opMARK, opBINGET, 0, opBINGET, 0, opAPPENDS) }, opSTOP)
	// A dict of n int keys, set one by one and in batches.
	add("SETITEM", []byte{opPROTO, 2, opEMPTY_DICT},
		func(b []byte, i int) []byte { return append(le32(append(b, opBININT), i), opNONE, opSETITEM) }, opSTOP)
	add("SETITEMS", []byte{opPROTO, 2, opEMPTY_DICT},
		func(b []byte, i int) []byte { return append(le32(append(b, opMARK, opBININT), i), opNONE, opSETITEMS) }, opSTOP)
	// n empty dicts in a list.
	add("EMPTY_DICT", []byte{opPROTO, 2, opEMPTY_LIST},
		func(b []byte, _ int) []byte { return append(b, opEMPTY_DICT, opAPPEND) }, opSTOP)
	// n inert objects in a list.
	add("REDUCE", append([]byte("\x80\x02c__main__\nX\nq\x00)q\x010"), opPOP, opEMPTY_LIST),
		func(b []byte, _ int) []byte { return append(b, opBINGET, 0, opBINGET, 1, opREDUCE, opAPPEND) }, opSTOP)
	// Dict keys that are pairs of a shared 10,000-tuple and an int: each
	// key's encoding copies the tuple.
	tup := []byte{opPROTO, 2, opEMPTY_DICT, opMARK}
	tup = append(tup, bytes.Repeat([]byte{opNONE}, 10000)...)
	tup = append(tup, opTUPLE, opBINPUT, 0, opPOP)
	add("tuple_keys", tup, func(b []byte, i int) []byte {
		return append(le32(append(b, opBINGET, 0, opBININT), i), opTUPLE2, opNONE, opSETITEM)
	}, opSTOP)
	// bytes() of one 64 KiB bytes object, n times.
	big := binary.LittleEndian.AppendUint32([]byte("\x80\x03c__builtin__\nbytes\nq\x00B"), 1<<16)
	big = append(big, make([]byte, 1<<16)...)
	big = append(big, opTUPLE1, opBINPUT, 1, opPOP, opPOP, opEMPTY_LIST)
	add("bytes_copies", big, func(b []byte, _ int) []byte { return append(b, opBINGET, 0, opBINGET, 1, opREDUCE, opAPPEND) }, opSTOP)
	return bombs
}

// TestBudgetBombs checks that what the decoder builds counts against
// MaxBytes: pickles that build many times their size fail with
// ErrTooLarge at an opcode of the bomb, having allocated little more than
// the budget.
func TestBudgetBombs(t *testing.T) {
	const budget = 256 << 10
	for name, bomb := range budgetBombs(200_000) {
		t.Run(name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = NewDecoderBytes(bomb.data, MaxBytes(budget)).Decode() })
			var fe *FormatError
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || !strings.Contains(err.Error(), "(MaxBytes)") {
				t.Fatalf("err = %v, want ErrTooLarge (MaxBytes)", err)
			}
			if fe.Offset < int64(bomb.start) || fe.Offset >= int64(len(bomb.data)-1) {
				t.Errorf("error at byte %d, want one in the bomb, %d to %d", fe.Offset, bomb.start, len(bomb.data)-1)
			}
			// Unchecked, each would allocate more than 3 MB.
			if n > 2<<20 {
				t.Errorf("allocated %d bytes under a budget of %d", n, budget)
			}
		})
	}
	// Under the default budget they decode: each is a few MiB.
	for name, bomb := range budgetBombs(1000) {
		if _, err := NewDecoderBytes(bomb.data).Decode(); err != nil {
			t.Errorf("%s, 1000 times, default budget: %v", name, err)
		}
	}
}

// TestBudgetHonest checks that honest pickles decode under a budget of a
// small multiple of their size: a graph of arrays at three times its size, and
// small dicts at ten times.
func TestBudgetHonest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		v     any
		ratio int64
	}{
		{"graph", graphValue(1000), 3},
		{"dicts", dictsValue(20_000), 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := mustEncode(tc.v)
			v, err := NewDecoderBytes(data, MaxBytes(tc.ratio*int64(len(data)))).Decode()
			if err != nil {
				t.Fatalf("%d-byte pickle under MaxBytes(%d×): %v", len(data), tc.ratio, err)
			}
			if !Equal(v, tc.v) {
				t.Fatal("decoded value differs")
			}
		})
	}
}

// nestedLists returns a pickle of n lists, each in the one before.
func nestedLists(n int) []byte {
	b := []byte{opPROTO, 2}
	b = append(b, bytes.Repeat([]byte{opEMPTY_LIST}, n)...)
	b = append(b, bytes.Repeat([]byte{opAPPEND}, n-1)...)
	return append(b, opSTOP)
}

// nestedTuples returns a pickle of n tuples, each in the one before, built
// with MARK ... TUPLE.
func nestedTuples(n int) []byte {
	b := []byte{opPROTO, 2}
	b = append(b, bytes.Repeat([]byte{opMARK}, n)...)
	b = append(b, opNONE)
	b = append(b, bytes.Repeat([]byte{opTUPLE}, n)...)
	return append(b, opSTOP)
}

// TestDeepNesting decodes 100,000 levels of nesting, and fails cleanly
// under a smaller MaxDepth.
func TestDeepNesting(t *testing.T) {
	const depth = 100_000
	for name, data := range map[string][]byte{"lists": nestedLists(depth), "tuples": nestedTuples(depth)} {
		t.Run(name, func(t *testing.T) {
			v, err := NewDecoderBytes(data).Decode()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for v != nil {
				n++
				switch x := v.(type) {
				case *List:
					v = nil
					if len(x.Items) == 1 {
						v = x.Items[0]
					}
				case Tuple:
					v = x[0]
				default:
					t.Fatalf("level %d is a %T", n, v)
				}
			}
			if n != depth {
				t.Errorf("%d levels, want %d", n, depth)
			}
			_, err = NewDecoderBytes(data, MaxDepth(1000)).Decode()
			var fe *FormatError
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || fe.Offset != 2+1000 {
				t.Errorf("MaxDepth(1000): err = %v, want ErrTooLarge at offset 1002", err)
			}
		})
	}
	if _, err := NewDecoderBytes(nestedLists(3), MaxDepth(0)).Decode(); err == nil {
		t.Error("MaxDepth(0) accepted")
	}
}

// TestMemo checks memo errors and limits.
func TestMemo(t *testing.T) {
	tests := []struct {
		name string
		data string
		want error
	}{
		{"BINGET_missing", "\x80\x02h\x05.", ErrCorrupt},
		{"LONG_BINGET_missing", "\x80\x02j\xff\xff\xff\xff.", ErrCorrupt},
		{"GET_missing", "g99\n.", ErrCorrupt},
		{"GET_negative", "g-1\n.", ErrCorrupt},
		{"GET_bad", "gx\n.", ErrCorrupt},
		{"PUT_negative", "Np-1\n.", ErrCorrupt},
		{"BINPUT_empty_stack", "\x80\x02q\x00N.", ErrCorrupt},
		{"MEMOIZE_empty_stack", "\x80\x04\x94N.", ErrCorrupt},
		{"BINGET_after_hole", "\x80\x02Nq\x05h\x03.", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDecoderBytes([]byte(tt.data)).Decode()
			var fe *FormatError
			if !errors.Is(err, tt.want) || !errors.As(err, &fe) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Far memo indexes work (Python allows them) and do not allocate a
	// slot for every index below.
	v, err := NewDecoderBytes([]byte("\x80\x02Nr\x00\x00\x00\x400j\x00\x00\x00\x40.")).Decode()
	if err != nil || v != nil {
		t.Fatalf("far memo index: %v, %v", v, err)
	}
	// MaxMemo.
	data := readFixture(t, "memo_many_p2.pkl")
	if _, err := NewDecoderBytes(data, MaxMemo(100)).Decode(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxMemo(100): err = %v, want ErrTooLarge", err)
	}
	if _, err := NewDecoderBytes(data, MaxMemo(1000)).Decode(); err != nil {
		t.Errorf("MaxMemo(1000): %v", err)
	}
}

// dangerous are pickles that run a command in Python. Each would create
// the file marker when Python loaded it.
func dangerous(marker string) map[string][]byte {
	cmd := "touch " + marker
	stack := func(mod, name string, arg string) []byte {
		b := []byte{opPROTO, 4}
		for _, s := range []string{mod, name} {
			b = append(b, opSHORT_BINUNICODE, byte(len(s)))
			b = append(b, s...)
		}
		b = append(b, opSTACK_GLOBAL, opSHORT_BINUNICODE, byte(len(arg)))
		b = append(b, arg...)
		return append(b, opTUPLE1, opREDUCE, opSTOP)
	}
	return map[string][]byte{
		"os.system":        []byte("cos\nsystem\n(V" + cmd + "\ntR."),
		"posix.system":     []byte("cposix\nsystem\n(S'" + cmd + "'\ntR."),
		"builtins.eval":    stack("builtins", "eval", "__import__('os').system('"+cmd+"')"),
		"subprocess.Popen": stack("subprocess", "Popen", cmd),
		"__builtin__.eval": []byte("c__builtin__\neval\n(V__import__('os').system('" + cmd + "')\ntR."),
		"os.system(INST)":  []byte("(V" + cmd + "\nios\nsystem\n."),
	}
}

// TestStrict checks that strict mode refuses globals that are neither
// registered nor allowed, naming them, and that without it they load as
// inert objects with nothing executed.
func TestStrict(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	for name, data := range dangerous(marker) {
		t.Run(name, func(t *testing.T) {
			g := strings.TrimSuffix(name, "(INST)")
			_, err := NewDecoderBytes(data, Strict(true)).Decode()
			var fe *FormatError
			if !errors.Is(err, ErrUnsafe) || !errors.As(err, &fe) || !strings.Contains(err.Error(), g) {
				t.Fatalf("strict: err = %v, want ErrUnsafe naming %s", err, g)
			}
			if errors.Is(err, ErrFormat) {
				t.Errorf("a refusal should not match ErrFormat: %v", err)
			}
			v, err := NewDecoderBytes(data).Decode()
			if err != nil {
				t.Fatal(err)
			}
			o, ok := v.(*Object)
			if !ok || o.Class.String() != g || len(o.Args) != 1 || !strings.Contains(show(o.Args[0]), "touch") {
				t.Fatalf("got %s, want an inert %s object", show(v), g)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the pickle's command ran")
			}
		})
	}
	// Ordinary values use only builtins that strict mode allows, and
	// fixturemod's globals pass once allowed.
	r := NewRegistry()
	for _, n := range []string{"Point", "Slotted", "make", "NewObjEx", "Ref"} {
		r.Allow("fixturemod", n)
	}
	for _, file := range fixtures(t) {
		name, _ := splitFixture(file)
		data := readFixture(t, file)
		opts := append(fixtureOptions(t, name), Strict(true))
		_, err := NewDecoderBytes(data, opts...).Decode()
		usesFixturemod := bytes.Contains(data, []byte("fixturemod")) || name == "ext"
		if usesFixturemod {
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "fixturemod.") {
				t.Errorf("%s: strict: err = %v, want ErrUnsafe naming a fixturemod global", file, err)
			}
			_, err = NewDecoderBytes(data, append(opts, WithRegistry(r))...).Decode()
		}
		if err != nil {
			t.Errorf("%s: strict: %v", file, err)
		}
	}
}

// TestBadInput checks hand-written bad pickles for the error kind and the
// opcode they name.
func TestBadInput(t *testing.T) {
	tests := []struct {
		data string
		op   string
		want error
	}{
		{"\x80\x06N.", "PROTO", ErrUnsupported},
		{"\xff", "", ErrCorrupt},
		{".", "STOP", ErrCorrupt},
		{"(.", "STOP", ErrCorrupt},
		{"0", "POP", ErrCorrupt},
		{"1", "POP_MARK", ErrCorrupt},
		{"2", "DUP", ErrCorrupt},
		{"t", "TUPLE", ErrCorrupt},
		{"\x85", "TUPLE1", ErrCorrupt},
		{"N\x87", "TUPLE3", ErrCorrupt},
		{"Na", "APPEND", ErrCorrupt},
		{"NNa", "APPEND", ErrCorrupt},
		{"N(Ne", "APPENDS", ErrCorrupt},
		{"}NNNu", "SETITEMS", ErrCorrupt},
		{"}(Nu", "SETITEMS", ErrCorrupt},
		{"}]Ns", "SETITEM", ErrCorrupt},
		{"(]Nd", "DICT", ErrCorrupt},
		{"\x8f(]\x90", "ADDITEMS", ErrCorrupt},
		{"(]\x91", "FROZENSET", ErrCorrupt},
		{"N(N\x90", "ADDITEMS", ErrCorrupt},
		{"NN\x93", "STACK_GLOBAL", ErrCorrupt},
		{"N)R", "REDUCE", ErrCorrupt},
		{"]N\x85R", "REDUCE", ErrCorrupt},
		{"cos\nsystem\nNR", "REDUCE", ErrCorrupt},
		{"cos\nsystem\nN\x81", "NEWOBJ", ErrCorrupt},
		{"N)\x81", "NEWOBJ", ErrUnsupported},
		{"cos\nsystem\n)N\x92", "NEWOBJ_EX", ErrCorrupt},
		{"(o", "OBJ", ErrCorrupt},
		{"NNb", "BUILD", ErrCorrupt},
		{"I12x\n.", "INT", ErrCorrupt},
		{"L12x\n.", "LONG", ErrCorrupt},
		{"F1.5x\n.", "FLOAT", ErrCorrupt},
		{"S'abc\n.", "STRING", ErrCorrupt},
		{"Sabc\n.", "STRING", ErrCorrupt},
		{"S'\\x4'\n.", "STRING", ErrCorrupt},
		{"V\\u12\n.", "UNICODE", ErrCorrupt},
		{"V\\U00110000\n.", "UNICODE", ErrCorrupt},
		{"\x8b\xff\xff\xff\xff", "LONG4", ErrCorrupt},
		{"\x98", "READONLY_BUFFER", ErrCorrupt},
		{"c__builtin__\nset\nN\x85R.", "REDUCE", ErrCorrupt},
		{"c__builtin__\nset\n]]\x85\x86R.", "REDUCE", ErrCorrupt},
		{"c_codecs\nencode\nVa\nVrot13\n\x86R.", "REDUCE", ErrCorrupt},
		{"c_codecs\nencode\nV\\u20ac\nVlatin1\n\x86R.", "REDUCE", ErrCorrupt},
		{"ccollections\nOrderedDict\n]N\x85a\x85R.", "REDUCE", ErrCorrupt},
		{"c__builtin__\ncomplex\nVx\n\x85R.", "REDUCE", ErrCorrupt},
		{"c__builtin__\nbytearray\n]J\x00\x01\x00\x00a\x85R.", "REDUCE", ErrCorrupt},
		{"ccopy_reg\n_reconstructor\nN\x85R.", "REDUCE", ErrCorrupt},
		{"}]Ns.", "SETITEM", ErrCorrupt},                                          // unhashable key
		{"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N.NNN", "STOP", ErrCorrupt}, // frame goes on past STOP
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.data), func(t *testing.T) {
			v, err := NewDecoderBytes([]byte(tt.data)).Decode()
			var fe *FormatError
			if !errors.Is(err, tt.want) || !errors.As(err, &fe) {
				t.Fatalf("got %s, err = %v; want %v", show(v), err, tt.want)
			}
			if fe.Op != tt.op {
				t.Errorf("error names op %q, want %q: %v", fe.Op, tt.op, err)
			}
		})
	}
}

// TestStreamOfPickles decodes pickles written one after another, from
// memory and from a reader, and checks that Decode stops right after STOP.
func TestStreamOfPickles(t *testing.T) {
	var all []byte
	var want []any
	for _, file := range []string{"int_big_p2.pkl", "dict_p4.pkl", "str_unicode_p5.pkl", "nested_p0.pkl", "bytes_long_p3.pkl"} {
		all = append(all, readFixture(t, file)...)
		name, p := splitFixture(file)
		want = append(want, fixtureWant[name](p))
	}
	for _, mode := range []string{"bytes", "reader"} {
		var d *Decoder
		if mode == "bytes" {
			d = NewDecoderBytes(all)
		} else {
			d = NewDecoder(&slowReader{b: all})
		}
		for i, w := range want {
			v, err := d.Decode()
			if err != nil {
				t.Fatalf("%s: pickle %d: %v", mode, i, err)
			}
			if !strictEqual(w, v) {
				t.Fatalf("%s: pickle %d: got %s", mode, i, show(v))
			}
		}
		if _, err := d.Decode(); err != io.EOF {
			t.Fatalf("%s: after the last pickle: err = %v, want io.EOF", mode, err)
		}
	}
	// A joblib-style splice: raw bytes after a pickle, read through Stream.
	d := NewDecoderBytes(append(readFixture(t, "none_p4.pkl"), "RAW"...))
	if _, err := d.Decode(); err != nil {
		t.Fatal(err)
	}
	if b, err := d.Stream().Next(3); err != nil || string(b) != "RAW" {
		t.Fatalf("bytes after STOP: %q, %v", b, err)
	}
}

// errReader fails after its data with a non-EOF error.
type errReader struct {
	b   []byte
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, r.err
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestReadError checks that an I/O error is reported as itself, wrapped
// in a *FormatError with the offset, and not as truncation.
func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	data := readFixture(t, "big_list_p2.pkl")
	for _, cut := range []int{0, 1, 5, len(data) / 2, len(data) - 1} {
		_, err := NewDecoder(&errReader{b: data[:cut], err: boom}).Decode()
		if !errors.Is(err, boom) || errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut %d: err = %v, want the reader's error", cut, err)
		}
	}
}

// TestSparseMemo checks that memo indexes far apart cost memory in
// proportion to the entries, not to the indexes.
func TestSparseMemo(t *testing.T) {
	b := []byte{opPROTO, 2, opNONE}
	const n = 10000
	for i := range n {
		b = append(b, opLONG_BINPUT)
		b = binary.LittleEndian.AppendUint32(b, uint32(i*1023))
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		b = append(b, opLONG_BINGET)
		b = binary.LittleEndian.AppendUint32(b, uint32(i*1023))
		b = append(b, opPOP)
	}
	b = append(b, opSTOP)
	var err error
	got := allocated(func() { _, err = NewDecoderBytes(b).Decode() })
	if err != nil {
		t.Fatal(err)
	}
	if got > 8<<20 {
		t.Errorf("%d memo entries took %d bytes", n, got)
	}
}

// TestText checks the UTF-8 rules of str: Python's 'surrogatepass'.
func TestText(t *testing.T) {
	tests := []struct {
		raw  string
		want any
	}{
		{"abc", "abc"},
		{"\xed\xa0\x80", "\xed\xa0\x80"}, // lone surrogate U+D800
		{"\xed\xbf\xbfz", "\xed\xbf\xbfz"},
		{"\xff", nil},
		{"a\xc3", nil},
		{"\xc0\x80", nil}, // overlong
		{"\xf4\x90\x80\x80", nil},
	}
	for _, tt := range tests {
		for _, op := range []byte{opSHORT_BINUNICODE, opBINUNICODE, opBINUNICODE8} {
			b := []byte{opPROTO, 4, op}
			switch op {
			case opSHORT_BINUNICODE:
				b = append(b, byte(len(tt.raw)))
			case opBINUNICODE:
				b = binary.LittleEndian.AppendUint32(b, uint32(len(tt.raw)))
			default:
				b = binary.LittleEndian.AppendUint64(b, uint64(len(tt.raw)))
			}
			b = append(append(b, tt.raw...), opSTOP)
			v, err := NewDecoderBytes(b).Decode()
			if tt.want == nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s %q: got %q, %v; want ErrCorrupt", OpName(op), tt.raw, v, err)
				}
				continue
			}
			if err != nil || v != tt.want {
				t.Errorf("%s %q: got %q, %v", OpName(op), tt.raw, v, err)
			}
		}
	}
}

// keyWorkBomb is a dict set n times with the key (t, 0), where t is one
// memoized tuple of 10,000 ints: every SETITEM encodes t again to find
// the key, a few bytes of pickle for 90 KB of work. With frozensets as
// keys when set is true (SETITEM of a frozenset holding t).
func keyWorkBomb(n int) []byte {
	p := []byte{opPROTO, 4, opEMPTY_DICT, opMARK}
	for i := range 10_000 {
		p = append(p, opBININT)
		p = binary.LittleEndian.AppendUint32(p, uint32(i))
	}
	p = append(p, opTUPLE, opMEMOIZE, opPOP)
	for range n {
		p = append(p, opBINGET, 0, opBININT1, 0, opTUPLE2, opNONE, opSETITEM)
	}
	return append(p, opSTOP)
}

// TestKeyWork: re-encoding a large shared tuple key for every SETITEM is
// bounded (maxKeyWork, lowered here to 16 MiB): the decode fails with
// ErrTooLarge at a byte offset inside the repeats, after about 16 MiB of
// encodings, where 200,000 repeats (1.4 MB of pickle, 18 KB of zlib)
// cost 18 GB of encodings and 20 s before. Keys of small tuples go on
// decoding far past that count.
func TestKeyWork(t *testing.T) {
	old := maxKeyWork
	maxKeyWork = 16 << 20
	defer func() { maxKeyWork = old }()
	bomb := keyWorkBomb(2000)
	_, err := NewDecoderBytes(bomb).Decode()
	var fe *FormatError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || !strings.Contains(err.Error(), "(key limit)") {
		t.Fatalf("err = %v, want ErrTooLarge (key limit)", err)
	}
	// The tuple encodes to about 30 KB: the limit is hit after 500 or so.
	if start := 4 + 10_000*5 + 3; fe.Offset < int64(start) || fe.Offset > int64(start+1000*7) {
		t.Errorf("error at byte %d, want one among the first thousand SETITEMs", fe.Offset)
	}
	if _, err := NewDecoderBytes(keyWorkBomb(100)).Decode(); err != nil {
		t.Errorf("100 repeats: %v", err)
	}
	// 300,000 keys of two ints (a few MB of encodings) decode.
	d := NewDict()
	for i := range 300_000 {
		d.Set(Tuple{int64(i), int64(i)}, nil)
	}
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(d); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDecoderBytes(buf.Bytes()).Decode(); err != nil {
		t.Errorf("300,000 two-int tuple keys: %v", err)
	}
}
