package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/jlstore/jlstore/internal/xxh32"
)

var update = flag.Bool("update", false, "rewrite testdata/corrupt from the generator in corpus_test.go")

// corruptDir holds the hostile corpus, relative to this package.
const corruptDir = "../testdata/corrupt"

// hostile is one input of the hostile corpus, or a sidecar file that one
// of them names.
type hostile struct {
	name string // path under testdata/corrupt
	data []byte
	// gen makes data for inputs too slow to build on every test run:
	// TestCorpus rebuilds them only with -update.
	gen func() []byte
	// want lists the acceptable outcomes of Load, Open and Decode: "ok"
	// (loads), "inert" (loads as inert objects; Strict fails with
	// ErrUnsafe naming global), or an error kind: "Format", "Corrupt",
	// "TooLarge", "Unsafe", "Unsupported", "EOF" (io.ErrUnexpectedEOF).
	want []string
	// global is the global Strict names (family exec).
	global string
	// run says that Python executes the file: TestExecIsRealInPython
	// checks that loading it there creates the file PWNED.
	run bool
	// py says how Python loads the file: "pickle" or "joblib".
	py string
	// sidecar marks a file that another input names: it is not loaded
	// on its own.
	sidecar bool
	// noStream marks inputs that need their folder (sidecars), which
	// Decode cannot read.
	noStream bool
	// wantStream, when set, replaces want for Decode, which cannot know
	// a stream's size before reading it.
	wantStream []string
	note       string
}

// marker is the file the exec family's payloads create in the working
// directory when Python loads them.
const marker = "PWNED"

const (
	touch    = "touch " + marker
	pyCreate = "open('" + marker + "', 'w').close()"
)

// corpus builds the hostile corpus. It is deterministic: TestCorpus checks
// the committed files against it, and -update rewrites them.
func corpus(t testing.TB) []hostile {
	var out []hostile
	out = append(out, execCorpus()...)
	out = append(out, honestCorpus()...)
	out = append(out, sizeCorpus()...)
	out = append(out, deepCorpus()...)
	out = append(out, bombCorpus()...)
	out = append(out, zfCorpus()...)
	out = append(out, sidecarCorpus()...)
	out = append(out, codecCorpus(t)...)
	out = append(out, junkCorpus()...)
	// numpy trusts an object dtype's flags. joblib reads the payload of an
	// object array whose dtype state says flags 0 as raw bytes: eight
	// bytes of 0x41 become a PyObject pointer, and Python's joblib.load
	// dies with SIGSEGV.
	out = append(out, hostile{name: "numpy/objarray_flags0_p4.pkl", want: []string{"ok", "Corrupt", "EOF"},
		data: honestJoblib(wrapperSpec{typestr: "O8", order: "|", shape: []int64{1}, align: true, noFlags: true, data: bytes.Repeat([]byte{0x41}, 8)})})
	return out
}

// evil writes a call that runs touch PWNED in Python, in one of several
// shapes; it returns the global strict mode names first.
type evilFn func(p *pk) string

var evils = map[string]evilFn{
	"os_system": func(p *pk) string { p.call("os", "system", str(touch)); return "os.system" },
	"posix_system": func(p *pk) string {
		p.call("posix", "system", str(touch))
		return "posix.system"
	},
	"nt_system": func(p *pk) string { p.call("nt", "system", str(touch)); return "nt.system" },
	"builtins_eval": func(p *pk) string {
		p.call("builtins", "eval", str(pyCreate))
		return "builtins.eval"
	},
	"builtins_exec": func(p *pk) string {
		p.call("builtins", "exec", str(pyCreate))
		return "builtins.exec"
	},
	"builtins_open": func(p *pk) string {
		p.call("builtins", "open", str(marker), str("w"))
		return "builtins.open"
	},
	"subprocess_Popen": func(p *pk) string {
		p.call("subprocess", "Popen", func(p *pk) { p.tuple(str("touch"), str(marker)) })
		return "subprocess.Popen"
	},
	"subprocess_check_call": func(p *pk) string {
		p.call("subprocess", "check_call", func(p *pk) { p.tuple(str("touch"), str(marker)) })
		return "subprocess.check_call"
	},
	"subprocess_getoutput": func(p *pk) string {
		p.call("subprocess", "getoutput", str(touch))
		return "subprocess.getoutput"
	},
	// getattr(importlib.import_module('os'), 'system')('touch PWNED')
	"importlib_chain": func(p *pk) string {
		p.global("builtins", "getattr").op(opMARK)
		p.call("importlib", "import_module", str("os"))
		p.str("system").op(opTUPLE, opREDUCE)
		p.tuple(str(touch)).op(opREDUCE)
		return "builtins.getattr"
	},
	// getattr(__import__('os'), 'system')('touch PWNED')
	"import_chain": func(p *pk) string {
		p.global("builtins", "getattr").op(opMARK)
		p.call("builtins", "__import__", str("os"))
		p.str("system").op(opTUPLE, opREDUCE)
		p.tuple(str(touch)).op(opREDUCE)
		return "builtins.getattr"
	},
	// functools.partial(os.system, 'touch PWNED')()
	"partial_call": func(p *pk) string {
		p.global("functools", "partial").op(opMARK).global("os", "system").str(touch).op(opTUPLE, opREDUCE)
		p.op(opEMPTY_TUPLE, opREDUCE)
		return "functools.partial"
	},
	// pickle.loads(<a pickle that runs os.system>)
	"pickle_loads": func(p *pk) string {
		inner := newPk(3)
		inner.call("os", "system", str(touch))
		b := inner.stop()
		p.global("pickle", "loads").op(opMARK, opBINBYTES).u32(uint32(len(b))).op(b...).op(opTUPLE, opREDUCE)
		return "pickle.loads"
	},
}

func execCorpus() []hostile {
	var out []hostile
	h := func(name string, data []byte, global string, run bool, py string) {
		out = append(out, hostile{name: "exec/" + name, data: data, want: []string{"inert"}, global: global, run: run, py: py})
	}
	// os.system at every protocol.
	for proto := 0; proto <= 5; proto++ {
		p := newPk(proto)
		g := evils["os_system"](p)
		h(fmt.Sprintf("os_system_p%d.pkl", proto), p.stop(), g, true, "pickle")
	}
	for _, name := range mapsKeys(evils) {
		if name == "os_system" {
			continue
		}
		proto := 2 + len(name)%4 // spread over protocols 2 to 5
		if name == "pickle_loads" {
			proto = 3 // BINBYTES
		}
		p := newPk(proto)
		g := evils[name](p)
		h(fmt.Sprintf("%s_p%d.pkl", name, proto), p.stop(), g, name != "nt_system", "pickle")
	}
	// Python 2 names, which Python 3 maps to builtins.
	h("py2_builtin_eval_p0.pkl", []byte("c__builtin__\neval\n(V"+pyCreate+"\ntR."), "__builtin__.eval", true, "pickle")
	// INST (protocol 0) and OBJ (protocol 1) instantiate a "class" with
	// arguments, which calls it.
	h("inst_os_system_p0.pkl", []byte("(V"+touch+"\nios\nsystem\n."), "os.system", true, "pickle")
	{
		p := newPk(1)
		p.op(opMARK).global("os", "system").str(touch).op(opOBJ)
		h("obj_os_system_p1.pkl", p.stop(), "os.system", true, "pickle")
	}
	// copyreg._reconstructor(cls, base, state) calls base.__init__(obj,
	// state): with base = subprocess.Popen that runs the command.
	{
		p := newPk(2)
		p.global("copy_reg", "_reconstructor").op(opMARK)
		p.global("subprocess", "Popen").global("subprocess", "Popen")
		p.tuple(str("touch"), str(marker)).op(opTUPLE, opREDUCE)
		h("reconstructor_popen_p2.pkl", p.stop(), "subprocess.Popen", true, "pickle")
	}
	// A joblib file with an array and a command beside it.
	joblibEvil := func() []byte {
		p := newPk(4)
		p.op(opEMPTY_DICT, opMARK).str("x")
		p.wrapper(wrapperSpec{typestr: "f8", shape: []int64{4}, align: true, data: f8s(4)})
		p.str("evil")
		evils["os_system"](p)
		return p.op(opSETITEMS).stop()
	}
	h("joblib_os_system_p4.pkl", joblibEvil(), "os.system", true, "joblib")
	h("joblib_os_system_p4.z", compress("zlib", joblibEvil()), "os.system", true, "joblib")
	h("joblib_os_system_p4.lz4", compress("lz4", joblibEvil()), "os.system", true, "joblib")
	// An object array whose nested numpy pickle holds the command.
	{
		p := newPk(4)
		p.wrapper(wrapperSpec{typestr: "O8", order: "|", shape: []int64{1}})
		p.op(objectArrayPickle(func(p *pk) { p.call("builtins", "eval", str(pyCreate)) })...)
		h("joblib_objarray_eval_p4.pkl", p.stop(), "builtins.eval", true, "joblib")
	}
	return out
}

func mapsKeys[V any](m map[string]V) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// objectArrayPickle is the nested protocol 2 pickle joblib writes after an
// object array's wrapper: numpy's _reconstruct of a 1-element array whose
// one item item writes.
func objectArrayPickle(item func(p *pk)) []byte {
	p := newPk(2)
	p.global("numpy.core.multiarray", "_reconstruct").op(opMARK).global("numpy", "ndarray")
	p.tuple(num(0))
	p.call("_codecs", "encode", str("b"), str("latin1"))
	p.op(opTUPLE, opREDUCE)
	p.op(opMARK).int(1).tuple(num(1))
	p.dtype("O8", "|", -1)
	p.bool(false).op(opEMPTY_LIST)
	item(p)
	p.op(opAPPEND, opTUPLE, opBUILD)
	return p.stop()
}

// honestJoblib is the template the size lies start from: {"a": the
// wrapper of w}, at protocol 4, as joblib 1.2 writes it.
func honestJoblib(w wrapperSpec) []byte {
	p := newPk(4)
	p.op(opEMPTY_DICT, opMARK).str("a")
	p.wrapper(w)
	return p.op(opSETITEMS).stop()
}

var honestF8 = wrapperSpec{typestr: "f8", shape: []int64{4}, align: true, data: f8s(4)}

// honestCorpus holds controls: the templates the lies are made from, with
// true sizes. Python loads them (TestCorpusControlsInPython), so the
// templates are real joblib files and each lie differs from one in a
// single field.
func honestCorpus() []hostile {
	ok := []string{"ok"}
	out := []hostile{
		{name: "honest/f8_p4.pkl", data: honestJoblib(honestF8), want: ok, py: "joblib"},
		{name: "honest/f8_2x3_F_p4.pkl", data: honestJoblib(wrapperSpec{typestr: "f8", shape: []int64{2, 3}, forder: "F", align: true, data: f8s(6)}), want: ok, py: "joblib"},
		{name: "honest/i1_unaligned_p4.pkl", data: honestJoblib(wrapperSpec{typestr: "i1", order: "|", shape: []int64{5}, data: []byte{1, 2, 3, 4, 5}}), want: ok, py: "joblib"},
	}
	for _, c := range []string{"zlib", "gzip", "bz2", "lzma", "xz", "lz4"} {
		out = append(out, hostile{name: "honest/f8_p4." + extOf(c), data: compress(c, honestJoblib(honestF8)), want: ok, py: "joblib"})
	}
	p := newPk(4)
	p.wrapper(wrapperSpec{typestr: "O8", order: "|", shape: []int64{1}})
	p.op(objectArrayPickle(str("hello"))...)
	out = append(out, hostile{name: "honest/objarray_p4.pkl", data: p.stop(), want: ok, py: "joblib"})
	return out
}

func extOf(codec string) string {
	switch codec {
	case "zlib":
		return "z"
	case "gzip":
		return "gz"
	case "zstd":
		return "zst"
	}
	return codec
}

func sizeCorpus() []hostile {
	var out []hostile
	h := func(name string, data []byte, want ...string) {
		out = append(out, hostile{name: "size/" + name, data: data, want: want})
	}
	lie := func(mod func(w *wrapperSpec)) []byte {
		w := honestF8
		w.shape = slices.Clone(w.shape)
		mod(&w)
		return honestJoblib(w)
	}
	const p40 = int64(1) << 40
	h("wrapper_2p40_f8.pkl", lie(func(w *wrapperSpec) { w.shape = []int64{p40} }), "EOF", "TooLarge")
	h("wrapper_2p40_i1.pkl", lie(func(w *wrapperSpec) { w.typestr, w.order, w.shape = "i1", "|", []int64{p40} }), "EOF", "TooLarge")
	h("wrapper_2p40_F.pkl", lie(func(w *wrapperSpec) { w.shape, w.forder = []int64{1 << 20, 1 << 20}, "F" }), "EOF", "TooLarge")
	h("wrapper_overflow_3d.pkl", lie(func(w *wrapperSpec) { w.shape = []int64{1 << 32, 1 << 32, 1 << 32} }), "TooLarge")
	h("wrapper_overflow_int64.pkl", lie(func(w *wrapperSpec) { w.typestr, w.order, w.shape = "i1", "|", []int64{3037000500, 3037000500} }), "TooLarge")
	h("wrapper_overflow_wraps_to_0.pkl", lie(func(w *wrapperSpec) { w.typestr, w.order, w.shape = "i1", "|", []int64{1 << 32, 1 << 32} }), "TooLarge")
	h("wrapper_overflow_itemsize.pkl", lie(func(w *wrapperSpec) { w.shape = []int64{1 << 61} }), "TooLarge")
	h("wrapper_zero_by_huge.pkl", lie(func(w *wrapperSpec) { w.shape, w.data = []int64{0, 1 << 62}, nil }), "ok", "Corrupt", "TooLarge")
	h("wrapper_neg_dim.pkl", lie(func(w *wrapperSpec) { w.shape = []int64{-1} }), "Corrupt")
	h("wrapper_neg_pair.pkl", lie(func(w *wrapperSpec) { w.shape = []int64{-2, -2} }), "Corrupt")
	h("wrapper_65_dims.pkl", lie(func(w *wrapperSpec) { w.shape = slices.Repeat([]int64{1}, 65) }), "Corrupt")
	{
		// A dimension of 2**64 + 4, which is a big int.
		b := honestJoblib(honestF8)
		i := bytes.Index(b, []byte("shape"))
		j := bytes.IndexByte(b[i:], opBININT1) + i
		big := append([]byte{opLONG1, 9}, binary.LittleEndian.AppendUint64(nil, 4)...)
		big = append(big, 1)
		h("wrapper_dim_bigint.pkl", slices.Concat(b[:j], big, b[j+2:]), "Corrupt")
	}
	// Length fields that claim 2**40 bytes in a few bytes.
	short := func(proto int, op byte, n uint64, width int) []byte {
		p := newPk(proto)
		p.op(op)
		if width == 8 {
			p.u64(n)
		} else {
			p.u32(uint32(n))
		}
		return p.op(bytes.Repeat([]byte{'x'}, 8)...).op(opSTOP).b
	}
	h("binbytes8_2p40.pkl", short(4, opBINBYTES8, uint64(p40), 8), "EOF", "TooLarge")
	h("binunicode8_2p40.pkl", short(4, opBINUNICODE8, uint64(p40), 8), "EOF", "TooLarge")
	h("bytearray8_2p40.pkl", short(5, opBYTEARRAY8, uint64(p40), 8), "EOF", "TooLarge")
	h("binbytes8_2p63.pkl", short(4, opBINBYTES8, 1<<63, 8), "Corrupt", "EOF", "TooLarge")
	h("frame_2p40.pkl", short(4, opFRAME, uint64(p40), 8), "EOF", "TooLarge", "Corrupt")
	h("binunicode_4g.pkl", short(4, opBINUNICODE, 0xffffffff, 4), "EOF", "TooLarge")
	h("binbytes_4g.pkl", short(3, opBINBYTES, 0xffffffff, 4), "EOF", "TooLarge")
	h("binstring_2g.pkl", short(1, opBINSTRING, 0x7fffffff, 4), "EOF", "TooLarge")
	h("binstring_neg.pkl", short(1, opBINSTRING, 0xffffffff, 4), "Corrupt")
	h("long4_2g.pkl", short(2, opLONG4, 0x7fffffff, 4), "EOF", "TooLarge")
	h("long4_neg.pkl", short(2, opLONG4, 0xffffffff, 4), "Corrupt")
	{
		// 60,000 decimal digits: quadratic parsers take seconds.
		p := newPk(0)
		p.op(opLONG).op(bytes.Repeat([]byte{'9'}, 60000)...).op('L', '\n')
		h("long_text_60k_digits.pkl", p.stop(), "ok", "TooLarge", "Corrupt")
	}
	// numpy's own pickles with shapes their data does not fill.
	{
		p := newPk(3)
		p.global("numpy.core.multiarray", "_reconstruct").op(opMARK).global("numpy", "ndarray")
		p.tuple(num(0)).op('C', 1, 'b').op(opTUPLE, opREDUCE)
		p.op(opMARK).int(1).tuple(num(p40)).dtype("f8", "<", -1).bool(false)
		p.op('C', 8).op(make([]byte, 8)...).op(opTUPLE, opBUILD)
		h("reconstruct_2p40.pkl", p.stop(), "Corrupt", "TooLarge", "EOF")
	}
	{
		p := newPk(5)
		p.global("numpy.core.numeric", "_frombuffer").op(opMARK)
		p.op(opBYTEARRAY8).u64(8).op(make([]byte, 8)...)
		p.dtype("f8", "<", -1).tuple(num(p40)).str("C").op(opTUPLE, opREDUCE)
		h("frombuffer_2p40.pkl", p.stop(), "Corrupt", "TooLarge", "EOF")
	}
	{
		p := newPk(3)
		p.global("numpy.core.multiarray", "scalar").op(opMARK).dtype("f8", "<", -1).op('C', 2, 0, 0).op(opTUPLE, opREDUCE)
		h("scalar_short.pkl", p.stop(), "Corrupt")
	}
	// A void dtype whose state claims 2**40 bytes per item.
	h("dtype_void_2p40.pkl", lie(func(w *wrapperSpec) { w.typestr, w.order, w.elsize = "V8", "|", p40 }), "Corrupt", "TooLarge", "EOF")
	// A subarray dtype of 2**40 float64s per item.
	{
		p := newPk(4)
		p.op(opEMPTY_DICT, opMARK).str("a")
		p.global("joblib.numpy_pickle", "NumpyArrayWrapper").op(opEMPTY_TUPLE, opNEWOBJ, opEMPTY_DICT, opMARK)
		p.str("subclass").global("numpy", "ndarray").str("shape").tuple(num(1)).str("order").str("C")
		p.str("dtype").call("numpy", "dtype", str("V8"), boolean(false), boolean(true))
		p.op(opMARK).int(3).str("|")
		p.op(opMARK).dtype("f8", "<", -1).tuple(num(p40)).op(opTUPLE)
		p.none().none().int(8*p40).int(8).int(16).op(opTUPLE, opBUILD)
		p.str("allow_mmap").bool(true).op(opSETITEMS, opBUILD)
		p.op(f8s(1)...).op(opSETITEMS)
		h("dtype_subarray_2p40.pkl", p.stop(), "Corrupt", "TooLarge", "EOF")
	}
	// An NDArrayWrapper whose .npy sidecar declares 2**40 elements.
	{
		name := "npy_sidecar_2p40.pkl"
		out = append(out, hostile{name: "size/" + name, data: ndWrapperPickle(name + "_01.npy"), want: []string{"EOF", "TooLarge", "Corrupt"}, noStream: true})
		out = append(out, hostile{name: "size/" + name + "_01.npy", data: npyFile("<f8", "(1099511627776,)", f8s(4)), sidecar: true})
	}
	// A ZNDArrayWrapper whose z-file sidecar declares 2**40 bytes.
	{
		name := "znd_sidecar_2p40.pkl"
		out = append(out, hostile{name: "size/" + name, data: zndWrapperPickle(name+"_01.npy.z", 4), want: []string{"TooLarge"}, noStream: true})
		out = append(out, hostile{name: "size/" + name + "_01.npy.z", data: zfile(f8s(4), uint64(p40)), sidecar: true})
	}
	return out
}

// npyFile writes a version 1.0 .npy file.
func npyFile(descr, shape string, data []byte) []byte {
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	return append(append(b, hdr...), data...)
}

// zfile writes a joblib 0.9 z-file that declares size bytes.
func zfile(data []byte, size uint64) []byte {
	hdr := fmt.Sprintf("ZF0x%x", size)
	for len(hdr) < 2+19 {
		hdr += " "
	}
	return append([]byte(hdr), compress("zlib", data)...)
}

// ndWrapperPickle is joblib 0.9's pickle of one array in a .npy sidecar.
func ndWrapperPickle(filename string) []byte {
	p := newPk(2)
	p.global("joblib.numpy_pickle", "NDArrayWrapper").op(opEMPTY_TUPLE, opNEWOBJ, opEMPTY_DICT, opMARK)
	p.str("filename").str(filename).str("subclass").global("numpy", "ndarray").str("allow_mmap").bool(true)
	return p.op(opSETITEMS, opBUILD).stop()
}

// zndWrapperPickle is joblib 0.9's pickle of an n-element float64 array
// in a z-file sidecar.
func zndWrapperPickle(filename string, n int64) []byte {
	p := newPk(2)
	p.global("joblib.numpy_pickle", "ZNDArrayWrapper").op(opEMPTY_TUPLE, opNEWOBJ, opEMPTY_DICT, opMARK)
	p.str("filename").str(filename)
	p.str("init_args").op(opMARK).global("numpy", "ndarray").tuple(num(0)).call("_codecs", "encode", str("b"), str("latin1")).op(opTUPLE)
	p.str("state").op(opMARK).int(1).tuple(num(n)).dtype("f8", "<", -1).bool(false).op(opTUPLE)
	return p.op(opSETITEMS, opBUILD).stop()
}

func deepCorpus() []hostile {
	var out []hostile
	h := func(name string, data []byte, want ...string) {
		out = append(out, hostile{name: "deep/" + name, data: data, want: want})
	}
	// The 100,000-level files are stored compressed: a few hundred bytes
	// instead of hundreds of KiB. TestDeepNesting also loads them raw.
	h("tuples_100k.z", compress("zlib", nestedTuples(100000)), "ok", "TooLarge")
	h("lists_100k.z", compress("zlib", nestedLists(100000)), "ok", "TooLarge")
	h("dicts_100k.z", compress("zlib", nestedDicts(100000)), "ok", "TooLarge")
	h("tuple1_1M.z", compress("zlib", nestedTuple1(1000000, false)), "ok", "TooLarge")
	h("tuple1_key_1M.z", compress("zlib", nestedTuple1(1000000, true)), "TooLarge", "Corrupt")
	h("marks_2M.z", compress("zlib", newPk(4).op(bytes.Repeat([]byte{opMARK}, 2<<20)...).stop()), "TooLarge")
	h("dag_tuples_64.pkl", dag(64, "tuple", false), "ok", "TooLarge")
	h("dag_lists_64.pkl", dag(64, "list", false), "ok", "TooLarge")
	h("dag_tuple_key_64.pkl", dag(64, "tuple", true), "ok", "TooLarge", "Corrupt")
	h("dag_objects_64.pkl", dag(64, "object", false), "ok", "TooLarge")
	// Memo gets of indexes never put.
	h("memo_binget_missing.pkl", newPk(2).op(opBINGET, 5).stop(), "Corrupt")
	h("memo_long_binget_4g.pkl", newPk(2).op(opLONG_BINGET).u32(0xffffffff).stop(), "Corrupt")
	h("memo_get_overflow.pkl", []byte("g99999999999999999999999999\n."), "Corrupt")
	h("memo_get_negative.pkl", []byte("g-1\n."), "Corrupt")
	h("memo_get_text.pkl", []byte("gabc\n."), "Corrupt")
	h("memo_get_after_pop.pkl", newPk(2).op(opEMPTY_LIST, opBINPUT, 0, opPOP, opBINGET, 1).stop(), "Corrupt")
	// Puts at huge indexes: a sparse memo, not a 4 G-entry table.
	h("memo_put_4g.pkl", newPk(2).op(opEMPTY_LIST, opLONG_BINPUT).u32(0xffffffff).op(opLONG_BINGET).u32(0xffffffff).op(opTUPLE2).stop(), "ok", "TooLarge")
	h("memo_put_text_huge.pkl", []byte("(lp99999999999999\ng99999999999999\nt."), "ok", "TooLarge", "Corrupt")
	// Ten million MEMOIZE of one value: 10 MB of input, 10 M memo entries.
	h("memoize_10M.z", compress("zlib", newPk(4).op(opNONE).op(bytes.Repeat([]byte{opMEMOIZE}, 10_000_000)...).stop()), "ok", "TooLarge")
	// Object arrays nested 20 deep, each in the previous one's pickle.
	{
		inner := func(p *pk) { p.str("core") }
		for range 20 {
			prev := inner
			inner = func(p *pk) {
				b := objectArrayPickle(prev)
				p.global("pickle", "loads").op(opMARK, opBINBYTES).u32(uint32(len(b))).op(b...).op(opTUPLE, opREDUCE)
			}
		}
		p := newPk(4)
		inner(p)
		h("nested_pickle_bytes_20.pkl", p.stop(), "ok")
	}
	{
		p := newPk(4)
		for range 20 {
			p.wrapper(wrapperSpec{typestr: "O8", order: "|", shape: []int64{1}})
			p.op(opPROTO, 2)
			p.global("numpy.core.multiarray", "_reconstruct").op(opMARK).global("numpy", "ndarray")
			p.tuple(num(0)).call("_codecs", "encode", str("b"), str("latin1")).op(opTUPLE, opREDUCE)
			p.op(opMARK).int(1).tuple(num(1)).dtype("O8", "|", -1).bool(false).op(opEMPTY_LIST)
		}
		// Unwinding would need an APPEND, TUPLE, BUILD, STOP per level;
		// the decoder must refuse the depth before.
		h("nested_objarrays_20.pkl", p.op(opNONE).stop(), "TooLarge", "Corrupt", "EOF")
	}
	return out
}

func nestedTuples(n int) []byte {
	p := newPk(4)
	p.op(bytes.Repeat([]byte{opMARK}, n)...).op(bytes.Repeat([]byte{opTUPLE}, n)...)
	return p.stop()
}

func nestedLists(n int) []byte {
	p := newPk(4)
	p.op(bytes.Repeat([]byte{opEMPTY_LIST}, n)...).op(bytes.Repeat([]byte{opAPPEND}, n-1)...)
	return p.stop()
}

func nestedDicts(n int) []byte {
	p := newPk(4)
	p.op(opEMPTY_DICT)
	for range n - 1 {
		p.op(opBININT1, 0, opEMPTY_DICT)
	}
	p.op(bytes.Repeat([]byte{opSETITEM}, n-1)...)
	return p.stop()
}

// nestedTuple1 nests n one-tuples with TUPLE1, which keeps the stack at
// one item: depth limits on the stack do not see it. With key it is the
// key of a dict.
func nestedTuple1(n int, key bool) []byte {
	p := newPk(4)
	if key {
		p.op(opEMPTY_DICT)
	}
	p.op(opEMPTY_TUPLE).op(bytes.Repeat([]byte{opTUPLE1}, n)...)
	if key {
		p.op(opNONE, opSETITEM)
	}
	return p.stop()
}

// dag builds x[0] = empty, x[i+1] = (x[i], x[i]) through the memo: n
// levels, 2**n paths from the root, n*3 bytes. With key, the last level is
// a dict key.
func dag(n int, kind string, key bool) []byte {
	p := newPk(4)
	if key {
		p.op(opEMPTY_DICT)
	}
	empty := func() {
		switch kind {
		case "tuple":
			p.op(opEMPTY_TUPLE)
		case "list":
			p.op(opEMPTY_LIST)
		case "object":
			p.global("fixturemod", "Node").op(opEMPTY_TUPLE, opNEWOBJ)
		}
	}
	empty()
	p.op(opMEMOIZE)
	for i := range n {
		get := func() { p.op(opLONG_BINGET).u32(uint32(memoIndex(kind, i))) }
		switch kind {
		case "tuple":
			get()
			get()
			p.op(opTUPLE2)
		case "list":
			p.op(opEMPTY_LIST, opMARK)
			get()
			get()
			p.op('e') // APPENDS
		case "object":
			empty()
			p.op(opEMPTY_DICT, opMARK).str("l")
			get()
			p.str("r")
			get()
			p.op(opSETITEMS, opBUILD)
		}
		p.op(opMEMOIZE)
	}
	if key {
		p.op(opNONE, opSETITEM)
	}
	return p.stop()
}

// memoIndex is the memo index of level i in dag: one MEMOIZE per level,
// plus the ones STACK_GLOBAL's strings take for objects.
func memoIndex(kind string, i int) int {
	return i
}

func bombCorpus() []hostile {
	var out []hostile
	h := func(name string, data []byte, want ...string) {
		out = append(out, hostile{name: "bomb/" + name, data: data, want: want})
	}
	// Arrays that declare 128 GiB (zlib, gzip, lz4, zstd: their formats
	// cannot expand more than about 1032:1) or 16 GiB (bz2, xz, lzma,
	// which can), followed by 64 KiB of real zeros.
	bomb := func(n int64) []byte {
		return honestJoblib(wrapperSpec{typestr: "f8", shape: []int64{n / 8}, align: true, data: make([]byte, 64<<10)})
	}
	for _, c := range []string{"zlib", "gzip", "lz4", "zstd"} {
		h(c+"_128GiB."+extOf(c), compress(c, bomb(128<<30)), "TooLarge")
	}
	// A stream of unknown size cannot be held to the ratio before it is
	// read: Decode finds that it ends early.
	for _, c := range []string{"bz2", "xz", "lzma"} {
		out = append(out, hostile{name: "bomb/" + c + "_16GiB." + extOf(c), data: compress(c, bomb(16<<30)), want: []string{"TooLarge"}, wantStream: []string{"TooLarge", "EOF"}})
	}
	// A real bomb: 64 arrays of 1 MiB of zeros each, which bz2 packs
	// into about a KiB. The ratio cap counts them all.
	out = append(out, hostile{name: "bomb/bz2_64x1MiB.bz2", want: []string{"TooLarge"}, gen: func() []byte {
		p := newPk(4)
		p.op(opEMPTY_LIST, opMARK)
		for range 64 {
			p.wrapper(wrapperSpec{typestr: "f8", shape: []int64{1 << 17}, align: true, data: make([]byte, 1<<20)})
		}
		return compress("bz2", p.op('e').stop())
	}})
	return out
}

func zfCorpus() []hostile {
	var out []hostile
	h := func(name string, data []byte, want ...string) {
		out = append(out, hostile{name: "zf/" + name, data: data, want: want})
	}
	payload := newPk(2).tuple(num(1), str("zf")).stop()
	n := uint64(len(payload))
	out = append(out, hostile{name: "zf/honest.z", data: zfile(payload, n), want: []string{"ok"}, py: "joblib"})
	h("len_2p40.z", zfile(payload, 1<<40), "TooLarge")
	h("len_2p64_minus1.z", zfile(payload, 1<<64-1), "TooLarge", "Corrupt")
	// Python asserts the length after decompressing everything, and so
	// does jlstore, though the pickle's STOP comes first.
	h("len_short.z", zfile(payload, n-3), "Corrupt")
	h("len_long.z", zfile(payload, n+10), "Corrupt", "EOF")
	h("len_zero.z", zfile(payload, 0), "Corrupt", "EOF")
	zraw := compress("zlib", payload)
	zf := func(field string, body []byte) []byte {
		return append([]byte(fmt.Sprintf("ZF%-19s", field)), body...)
	}
	h("len_nonhex.z", zf("0xZZZZ", zraw), "Corrupt", "Format")
	h("len_no_0x.z", zf(fmt.Sprintf("%x", n), zraw), "ok", "Corrupt", "Format")
	h("len_negative.z", zf("-0x10", zraw), "Corrupt", "Format")
	h("len_20_digits.z", zf("0x100000000000000000", zraw), "Corrupt", "Format", "TooLarge")
	h("header_only.z", zf("0x10", nil), "Corrupt", "EOF")
	h("not_zlib.z", zf(fmt.Sprintf("0x%x", n), bytes.Repeat([]byte{0xAB}, 40)), "Corrupt", "EOF")
	// A ZNDArrayWrapper whose sidecar holds fewer bytes than its state's
	// shape needs, and one whose sidecar lies about its own length.
	for _, c := range []struct {
		name  string
		data  []byte
		size  uint64
		elems int64
		want  []string
	}{
		{"znd_short_data.pkl", f8s(2), 16, 4, []string{"Corrupt", "EOF"}},
		{"znd_len_lie.pkl", f8s(4), 16, 2, []string{"Corrupt", "EOF"}},
	} {
		out = append(out, hostile{name: "zf/" + c.name, data: zndWrapperPickle(c.name+"_01.npy.z", c.elems), want: c.want, noStream: true})
		out = append(out, hostile{name: "zf/" + c.name + "_01.npy.z", data: zfile(c.data, c.size), sidecar: true})
	}
	return out
}

func sidecarCorpus() []hostile {
	var out []hostile
	for _, c := range []struct{ name, file string }{
		{"dotdot.pkl", "../../etc/passwd"},
		{"abs.pkl", "/etc/passwd"},
		{"dotdot_only.pkl", ".."},
		{"dot.pkl", "."},
		{"empty_name.pkl", ""},
		{"subdir.pkl", "sub/dotdot.pkl_01.npy"},
		{"dotdot_back.pkl", "../sidecar/dotdot.pkl_01.npy"},
	} {
		out = append(out, hostile{name: "sidecar/" + c.name, data: ndWrapperPickle(c.file), want: []string{"Unsafe"}, noStream: true})
	}
	out = append(out, hostile{name: "sidecar/znd_dotdot.pkl", data: zndWrapperPickle("../zf/len_2p40.z", 4), want: []string{"Unsafe"}, noStream: true})
	out = append(out, hostile{name: "sidecar/nul_byte.pkl", data: ndWrapperPickle("x\x00.npy"), want: []string{"Unsafe", "Format"}, noStream: true})
	out = append(out, hostile{name: "sidecar/missing.pkl", data: ndWrapperPickle("missing.pkl_01.npy"), want: []string{"Format"}, noStream: true})
	{
		// A Python 2 str filename (bytes).
		p := newPk(2)
		p.global("joblib.numpy_pickle", "NDArrayWrapper").op(opEMPTY_TUPLE, opNEWOBJ, opEMPTY_DICT, opMARK)
		p.str("filename").op('U', 16).op([]byte("../../etc/passwd")...).str("subclass").global("numpy", "ndarray")
		out = append(out, hostile{name: "sidecar/py2_str_dotdot.pkl", data: p.op(opSETITEMS, opBUILD).stop(), want: []string{"Unsafe"}, noStream: true})
	}
	out = append(out, hostile{name: "sidecar/honest.pkl", data: ndWrapperPickle("honest.pkl_01.npy"), want: []string{"ok"}, py: "joblib", noStream: true})
	out = append(out, hostile{name: "sidecar/honest.pkl_01.npy", data: npyFile("<f8", "(4,)", f8s(4)), sidecar: true})
	return out
}

// codecCorpus corrupts the framing of each codec in basic_p4, which
// Python's joblib wrote.
func codecCorpus(t testing.TB) []hostile {
	var out []hostile
	read := func(ext string) []byte {
		b, err := os.ReadFile(fixture("basic_p4." + ext))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	h := func(name string, data []byte, want ...string) {
		out = append(out, hostile{name: "codec/" + name, data: data, want: want})
	}
	set := func(b []byte, i int, v byte) []byte { b = slices.Clone(b); b[i] = v; return b }
	xorAt := func(b []byte, i int, v byte) []byte { b = slices.Clone(b); b[i] ^= v; return b }
	anyErr := []string{"Corrupt", "EOF", "Format", "Unsupported", "TooLarge"}
	okOrErr := append([]string{"ok"}, anyErr...)

	z := read("z")
	h("zlib_fcheck.z", xorAt(z, 1, 0x01), "Corrupt")
	fdict := slices.Clone(z)
	fdict[1] = 0x20 // FDICT
	fdict[1] += byte(31 - (int(fdict[0])*256+int(fdict[1]))%31)
	h("zlib_fdict.z", fdict, "Corrupt", "Unsupported")
	h("zlib_btype3.z", set(z, 2, z[2]|0x06), "Corrupt")
	h("zlib_adler.z", xorAt(z, len(z)-1, 0xff), "ok", "Corrupt")
	h("zlib_half.z", z[:len(z)/2], "Corrupt", "EOF")

	g := read("gz")
	h("gzip_method.gz", set(g, 2, 7), "Corrupt")
	h("gzip_reserved_flags.gz", set(g, 3, 0xe0), "Corrupt")
	h("gzip_fextra_64k.gz", slices.Concat(set(g[:10], 3, 0x04), []byte{0xff, 0xff}, g[10:]), "Corrupt", "EOF")
	h("gzip_fname_unterminated.gz", slices.Concat(set(g[:10], 3, 0x08), bytes.Repeat([]byte{'A'}, 4000)), "Corrupt", "EOF")
	h("gzip_fhcrc.gz", slices.Concat(set(g[:10], 3, 0x02), []byte{0x12, 0x34}, g[10:]), "ok", "Corrupt")
	h("gzip_crc32.gz", xorAt(g, len(g)-8, 0xff), "ok", "Corrupt")
	h("gzip_isize.gz", xorAt(g, len(g)-1, 0xff), "ok", "Corrupt")
	h("gzip_btype3.gz", set(g, 10, g[10]|0x06), "Corrupt")

	bz := read("bz2")
	h("bz2_level0.bz2", set(bz, 3, '0'), "Corrupt")
	h("bz2_levelA.bz2", set(bz, 3, 'A'), "Corrupt")
	h("bz2_block_magic.bz2", set(bz, 4, '2'), "Corrupt")
	h("bz2_block_crc.bz2", xorAt(bz, 10, 0xff), "ok", "Corrupt")
	origPtr := slices.Clone(bz)
	origPtr[14] |= 0x7f
	origPtr[15], origPtr[16] = 0xff, 0xff
	origPtr[17] |= 0x80
	h("bz2_origptr.bz2", origPtr, "Corrupt")
	h("bz2_randomised.bz2", set(bz, 14, bz[14]|0x80), anyErr...)
	h("bz2_eos.bz2", xorAt(bz, len(bz)-6, 0xff), "ok", "Corrupt")

	lz := read("lzma")
	dict4g := slices.Clone(lz)
	copy(dict4g[1:5], []byte{0xff, 0xff, 0xff, 0xff})
	h("lzma_dict_4g.lzma", dict4g, okOrErr...)
	size10 := slices.Clone(lz)
	binary.LittleEndian.PutUint64(size10[5:13], 10)
	h("lzma_size_10.lzma", size10, "Corrupt", "EOF")
	size40 := slices.Clone(lz)
	binary.LittleEndian.PutUint64(size40[5:13], 1<<40)
	h("lzma_size_2p40.lzma", size40, "TooLarge", "Corrupt", "EOF")
	h("lzma_rc_first_byte.lzma", set(lz, 13, 0x80), "Corrupt")

	x := read("xz")
	fixCRC := func(b []byte, start, end int) {
		binary.LittleEndian.PutUint32(b[end:end+4], crc32.ChecksumIEEE(b[start:end]))
	}
	h("xz_header_crc.xz", xorAt(x, 8, 0xff), "Corrupt")
	flags := set(x, 7, 0x0f)
	fixCRC(flags, 6, 8)
	h("xz_check_type_15.xz", flags, "Corrupt", "Unsupported")
	h("xz_block_header_size_0.xz", set(x, 12, 0), "Corrupt")
	// The block header: size byte at 12, flags at 13, filter id at 14,
	// props size at 15, the LZMA2 dict byte at 16, then padding and CRC.
	bhEnd := 12 + (int(x[12])+1)*4 - 4
	filter := set(x, 14, 0x03)
	fixCRC(filter, 12, bhEnd)
	h("xz_filter_delta.xz", filter, "Corrupt", "Unsupported")
	dict := set(x, 16, 40)
	fixCRC(dict, 12, bhEnd)
	// A 4 GiB dictionary: Load and Decode of a file cap it at MaxRatio
	// times the file, Decode of a stream at 256 MiB (MaxWindow).
	out = append(out, hostile{name: "codec/xz_dict_4g.xz", data: dict, want: okOrErr})
	h("xz_footer_magic.xz", xorAt(x, len(x)-1, 0xff), "ok", "Corrupt")
	h("xz_index.xz", xorAt(x, len(x)-16, 0xff), "ok", "Corrupt")

	l4 := read("lz4")
	if l4[6] != byte(xxh32.Checksum(l4[4:6])>>8) {
		t.Fatalf("xxh32 disagrees with basic_p4.lz4's header checksum %#x", l4[6])
	}
	// Frame descriptor: FLG at 4, BD at 5, header checksum at 6 (for
	// python-lz4's frames without content size or dictionary).
	lz4HC := func(b []byte, end int) {
		b[end] = byte(xxh32.Checksum(b[4:end]) >> 8)
	}
	h("lz4_version.lz4", func() []byte { b := set(l4, 4, l4[4]&0x3f); lz4HC(b, 6); return b }(), "Corrupt")
	h("lz4_flg_reserved.lz4", func() []byte { b := set(l4, 4, l4[4]|0x02); lz4HC(b, 6); return b }(), "Corrupt", "Unsupported")
	h("lz4_bd_id_3.lz4", func() []byte { b := set(l4, 5, 0x30); lz4HC(b, 6); return b }(), "Corrupt")
	h("lz4_header_checksum.lz4", xorAt(l4, 6, 0xff), "Corrupt")
	h("lz4_block_size_2g.lz4", func() []byte { b := slices.Clone(l4); binary.LittleEndian.PutUint32(b[7:], 0x7fffffff); return b }(), "Corrupt", "EOF", "TooLarge")
	h("lz4_block_checksum_flag.lz4", func() []byte { b := set(l4, 4, l4[4]|0x10); lz4HC(b, 6); return b }(), "Corrupt", "EOF")
	h("lz4_content_size_2p60.lz4", func() []byte {
		b := slices.Concat(l4[:6], binary.LittleEndian.AppendUint64(nil, 1<<60), []byte{0}, l4[7:])
		b[4] |= 0x08
		lz4HC(b, 14)
		return b
	}(), okOrErr...)
	h("lz4_dict_id.lz4", func() []byte {
		b := slices.Concat(l4[:6], []byte{1, 2, 3, 4}, []byte{0}, l4[7:])
		b[4] |= 0x01
		lz4HC(b, 10)
		return b
	}(), okOrErr...)

	zs := compress("zstd", read("pkl"))
	// Frame header descriptor at 4. Go's encoder writes a single-segment
	// frame; make it a windowed frame whose window is 2**41.
	fhd := zs[4]
	h("zstd_window_2p41.zst", slices.Concat(zs[:4], []byte{fhd &^ 0x20, 0xf8}, zs[5:]), "Corrupt", "TooLarge", "Unsupported")
	h("zstd_reserved_bit.zst", set(zs, 4, fhd|0x08), "Corrupt")
	h("zstd_half.zst", zs[:len(zs)/2], "Corrupt", "EOF")
	return out
}

func junkCorpus() []hostile {
	var out []hostile
	ok := []string{"ok"}
	honest := honestJoblib(honestF8)
	out = append(out,
		hostile{name: "junk/zeros_after_stop.pkl", data: slices.Concat(honest, make([]byte, 4096)), want: ok},
		hostile{name: "junk/garbage_after_stop.pkl", data: slices.Concat(honest, []byte("\xff\xfe not a pickle")), want: ok},
		hostile{name: "junk/zeros_in_zlib_after_stop.z", data: compress("zlib", slices.Concat(honest, make([]byte, 1<<20))), want: ok},
		hostile{name: "junk/zeros_after_gzip.gz", data: slices.Concat(compress("gzip", honest), make([]byte, 64<<10)), want: ok},
		hostile{name: "junk/garbage_gzip_member.gz", data: slices.Concat(compress("gzip", honest), compress("gzip", []byte("\xff not a pickle"))), want: ok},
		hostile{name: "junk/zeros_after_lz4.lz4", data: slices.Concat(compress("lz4", honest), make([]byte, 64<<10)), want: ok},
	)
	return out
}

// TestCorpus checks the committed corpus against the generator, file by
// file, and rewrites it with -update. The manifest lists what each file
// is and the outcomes jlstore allows.
func TestCorpus(t *testing.T) {
	files := corpus(t)
	type entry struct {
		File    string   `json:"file"`
		Want    []string `json:"want,omitempty"`
		Global  string   `json:"global,omitempty"`
		Run     bool     `json:"python_runs_it,omitempty"`
		Sidecar bool     `json:"sidecar,omitempty"`
	}
	var manifest []entry
	seen := map[string]bool{}
	for i, h := range files {
		if h.gen != nil && *update {
			files[i].data = h.gen()
		}
		if seen[h.name] {
			t.Fatalf("%s generated twice", h.name)
		}
		seen[h.name] = true
		manifest = append(manifest, entry{h.name, h.want, h.global, h.run, h.sidecar})
	}
	mb, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, hostile{name: "manifest.json", data: append(mb, '\n')})
	if *update {
		for _, dir := range []string{"exec", "honest", "size", "deep", "bomb", "zf", "sidecar", "codec", "junk", "numpy"} {
			os.RemoveAll(filepath.Join(corruptDir, dir))
		}
		for _, h := range files {
			p := filepath.Join(corruptDir, filepath.FromSlash(h.name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, h.data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, h := range files {
		got, err := os.ReadFile(filepath.Join(corruptDir, filepath.FromSlash(h.name)))
		if err != nil {
			t.Errorf("%v (run go test ./store -run TestCorpus -update)", err)
			continue
		}
		if h.gen != nil && !*update {
			continue // slow to build: checked by -update only
		}
		if !bytes.Equal(got, h.data) {
			t.Errorf("%s differs from the generator (run go test ./store -run TestCorpus -update)", h.name)
		}
	}
	// Nothing stale: every committed file is generated.
	filepath.WalkDir(corruptDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(corruptDir, p)
		rel = filepath.ToSlash(rel)
		if rel != "README.md" && !seen[rel] && rel != "manifest.json" {
			t.Errorf("%s is not generated by corpus(); remove it or run -update", rel)
		}
		return nil
	})
}
