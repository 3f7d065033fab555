package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jlstore/jlstore/bench"
	"github.com/jlstore/jlstore/store"
)

// cgoLib names the C library a codec's reader uses under -tags
// jlstore_cgo.
var cgoLib = map[string]string{"bz2": "libbz2", "xz": "liblzma", "lzma": "liblzma"}

// buildCgo builds the driver with -tags jlstore_cgo into dir, for the rows
// that measure the optional C decoders. It returns "" and why when it
// cannot (no C compiler, no liblzma-dev or libbz2-dev).
func buildCgo(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := filepath.Dir(strings.TrimSpace(string(out)))
	exe := filepath.Join(dir, "jlbench-cgo")
	cmd := exec.Command("go", "build", "-tags", "jlstore_cgo", "-o", exe, "./cmd/jlbench")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, strings.TrimSpace(string(msg)))
	}
	return exe, nil
}

// A row is one method of a case: a command run in a fresh process.
type row struct {
	method string
	impl   string // jlstore, python, go-peer, limit
	vs     string // method of the jlstore row to compare with
	codec  string
	file   string // the input, for the file size column
	python bool
	args   []string // OP ARG... (REPS is inserted)
	reps   int
	// runs overrides the suite's number of runs (fresh processes) when
	// positive: for peers too slow to run five times.
	runs int
	// check says whether the row's check must equal that of its vs row
	// (or, for a jlstore row, the case's want).
	check bool
	note  string
	// bytes, when positive, is what the row's throughput counts, if not
	// the case's size (decoders that stop early).
	bytes int64
	// exe, when set, is the Go child binary to run instead of the
	// driver's own (the build with -tags jlstore_cgo).
	exe string
}

type benchCase struct {
	id, title, group, data string
	size                   int64
	unit                   string
	note                   string
	want                   string
	rows                   []*row
}

type suite struct {
	in      *inputs
	exe     string
	cgoExe  string // the driver built with -tags jlstore_cgo, or ""
	py      string
	runs    int
	full    bool
	sizes   []int64 // uncompressed sizes
	only    *regexp.Regexp
	scratch string
	timeout time.Duration
	log     func(format string, args ...any)
}

func (s *suite) goRow(method, impl, vs string, reps int, args ...string) *row {
	return &row{method: method, impl: impl, vs: vs, args: args, reps: max(reps, 1), file: fileArg(args)}
}

func (s *suite) pyRow(method, vs string, reps int, args ...string) *row {
	r := s.goRow(method, "python", vs, reps, args...)
	r.python = true
	return r
}

// fileArg guesses which argument is the input file.
func fileArg(args []string) string {
	for _, a := range args[1:] {
		if filepath.IsAbs(a) && exists(a) {
			return a
		}
	}
	return ""
}

func checked(r *row) *row { r.check = true; return r }

func shapeWant(size int64) string {
	return fmt.Sprintf("<f8 %dx%d", size/8/cols, cols)
}

// decodeLimit is where the decoder rows stop: 64 MiB of output.
const decodeLimit = 64 << 20

// microReps is how many calls a process makes of an operation that takes
// microseconds: the first is reported apart (a fresh process pays for
// first use), the median of the others is the warm figure.
const microReps = 21

// cases builds every case, making the inputs it needs.
func (s *suite) cases() ([]*benchCase, error) {
	var out []*benchCase
	add := func(c *benchCase) {
		if s.only == nil || s.only.MatchString(c.id) {
			out = append(out, c)
		}
	}
	want := func(id string) bool { return s.only == nil || s.only.MatchString(id) }

	// Uncompressed: mmap Open, Open and sum, streaming Load, with peers.
	for _, n := range s.sizes {
		sz := sizeName(n)
		if !want("open/"+sz) && !want("opensum/"+sz) && !want("load/"+sz) {
			continue
		}
		pkl, err := s.in.joblib("random", n, "none")
		if err != nil {
			return nil, err
		}
		npy, err := s.in.npy("random", n)
		if err != nil {
			return nil, err
		}
		add(&benchCase{
			id: "open/" + sz, group: "open", data: "random", size: n, want: shapeWant(n),
			title: "mmap open to a usable matrix, random float64, " + sz,
			note:  "Time from nothing to a mat.Dense (numpy: an ndarray) over the mapped file; nothing is read but metadata. Warm: median of 20 calls in one process after the first; first call: the first call of a fresh process.",
			rows: []*row{
				checked(s.goRow("jlstore Open", "jlstore", "", microReps, "open", pkl)),
				checked(s.pyRow("joblib.load(mmap_mode='r')", "jlstore Open", microReps, "joblib_mmap", pkl)),
				checked(s.goRow("jlstore OpenNpy (.npy)", "jlstore", "", microReps, "npy-open", npy)),
				checked(s.pyRow("np.load(mmap_mode='r') (.npy)", "jlstore OpenNpy (.npy)", microReps, "np_mmap", npy)),
			},
		})
		add(&benchCase{
			id: "opensum/" + sz, group: "opensum", data: "random", size: n,
			title: "mmap open and read every element, random float64, " + sz,
			note:  "Open as above, then sum every element: the pages come from the page cache through page faults.",
			rows: []*row{
				s.goRow("jlstore Open+sum", "jlstore", "", 1, "open-sum", pkl),
				checked(s.pyRow("joblib.load(mmap_mode='r')+sum", "jlstore Open+sum", 1, "joblib_mmap_sum", pkl)),
				checked(s.goRow("jlstore OpenNpy+sum (.npy)", "jlstore", "jlstore Open+sum", 1, "npy-open-sum", npy)),
				checked(s.pyRow("np.load(mmap_mode='r')+sum (.npy)", "jlstore OpenNpy+sum (.npy)", 1, "np_mmap_sum", npy)),
			},
		})
		if !want("load/" + sz) {
			continue
		}
		pk, err := s.in.pickle("random", n)
		if err != nil {
			return nil, err
		}
		// npyio reads at about 10 MB/s: one run past 16 MiB, none past
		// 64 MiB.
		var npyioRow *row
		if n <= 64<<20 {
			npyioRow = checked(s.goRow("npyio.Read (.npy)", "go-peer", "jlstore LoadNpy (.npy)", 1, "npyio", npy))
			if n > 16<<20 {
				npyioRow.runs, npyioRow.note = 1, "(1 run: too slow for more)"
			}
		}
		c := &benchCase{
			id: "load/" + sz, group: "load", data: "random", size: n, want: shapeWant(n),
			title: "streaming load of an uncompressed file, random float64, " + sz,
			note:  "Time to the array in memory the process owns (a mat.Dense in Go). The same array as a joblib file, a plain pickle (protocol 4) and a .npy file; the limits read the joblib file. npyio reads at about 10 MB/s, so it runs at 64 MiB and below only.",
			rows: []*row{
				checked(s.goRow("jlstore Load", "jlstore", "", 1, "load", pkl)),
				checked(s.pyRow("joblib.load", "jlstore Load", 1, "joblib_load", pkl)),
				checked(s.goRow("jlstore Load (plain pickle)", "jlstore", "jlstore Load", 1, "load", pk)),
				checked(s.pyRow("pickle.load (plain pickle)", "jlstore Load (plain pickle)", 1, "pickle_load", pk)),
				s.goRow("gopickle+npyio (plain pickle)", "go-peer", "jlstore Load (plain pickle)", 1, "gopickle", pk),
				s.goRow("og-rek (plain pickle)", "go-peer", "jlstore Load (plain pickle)", 1, "ogrek", pk),
				checked(s.goRow("jlstore LoadNpy (.npy)", "jlstore", "jlstore Load", 1, "npy-load", npy)),
				checked(s.pyRow("np.load (.npy)", "jlstore LoadNpy (.npy)", 1, "np_load", npy)),
				npyioRow,
				s.goRow("limit: read(2) into a touched buffer", "limit", "jlstore Load", 5, "read", pkl, "touched"),
				s.goRow("limit: read(2) into fresh huge pages", "limit", "jlstore Load", 1, "read", pkl, "huge"),
				s.goRow("limit: read(2) into fresh 4 KiB pages", "limit", "jlstore Load", 1, "read", pkl, "4k"),
				s.goRow("limit: memcpy between touched buffers", "limit", "jlstore Load", 5, "memcpy", strconv.FormatInt(n, 10)),
				s.goRow("limit: first touch of fresh huge pages", "limit", "jlstore Load", 1, "touch", strconv.FormatInt(n, 10), "huge"),
				s.goRow("limit: first touch of fresh 4 KiB pages", "limit", "jlstore Load", 1, "touch", strconv.FormatInt(n, 10), "4k"),
			},
		}
		c.rows = slices.DeleteFunc(c.rows, func(r *row) bool { return r == nil })
		add(c)
	}

	// Compressed loads, with each codec's decoder alone on one core.
	type codecSet struct {
		data   string
		size   int64
		codecs []string
	}
	sets := []codecSet{
		{"smooth", 16 << 20, []string{"zlib", "gzip", "lzma", "lz4"}},
		{"smooth", 256 << 20, []string{"zlib", "gzip", "bz2", "xz", "lz4"}},
		{"random", 256 << 20, []string{"zlib", "gzip", "lz4"}},
	}
	if s.full {
		sets = append(sets, codecSet{"smooth", 1 << 30, []string{"zlib", "gzip", "lz4"}})
	}
	for _, set := range sets {
		id := fmt.Sprintf("codec/%s/%s", set.data, sizeName(set.size))
		if !want(id) {
			continue
		}
		c := &benchCase{
			id: id, group: "codec", data: set.data, size: set.size, want: shapeWant(set.size),
			title: fmt.Sprintf("streaming load of a compressed file, %s float64, %s", set.data, sizeName(set.size)),
			note: fmt.Sprintf("Files written by Python's joblib.dump at joblib's default level for each codec (zlib, gzip 3; bz2 9; lzma, xz 6; lz4 0). The decoder rows decompress the same file's bytes from memory "+
				"into a touched buffer: Go's decoder (package compressors) on one core, and the C library through Python's module; they stop after %s of output "+
				"and their throughput counts those bytes.", sizeName(min(set.size, decodeLimit))),
		}
		for _, codec := range set.codecs {
			p, err := s.in.joblib(set.data, set.size, codec)
			if err != nil {
				return nil, err
			}
			me := "jlstore Load (" + codec + ")"
			rows := []*row{
				checked(s.goRow(me, "jlstore", "", 1, "load", p)),
				checked(s.pyRow("joblib.load ("+codec+")", me, 1, "joblib_load", p)),
				s.goRow("limit: Go "+codec+" decoder, 1 core", "limit", me, 1, "decode", p, strconv.Itoa(decodeLimit)),
				s.pyRow("limit: C "+codec+" decoder (Python module)", me, 1, "decompress", p, codec, strconv.Itoa(decodeLimit)),
			}
			rows[2].bytes = min(set.size, decodeLimit)
			rows[3].bytes = rows[2].bytes
			if lib := cgoLib[codec]; lib != "" && s.cgoExe != "" {
				// The same load and decoder built with -tags jlstore_cgo.
				ld := checked(s.goRow(me+" with "+lib, "jlstore", me, 1, "load", p))
				dec := s.goRow("limit: Go "+codec+" decoder with "+lib+", 1 core", "limit", me, 1, "decode", p, strconv.Itoa(decodeLimit))
				ld.exe, dec.exe = s.cgoExe, s.cgoExe
				dec.bytes = rows[2].bytes
				rows = append(rows, ld, dec)
			}
			for _, r := range rows {
				r.codec = codec
			}
			c.rows = append(c.rows, rows...)
		}
		add(c)
	}

	// Dump per codec.
	type dumpSet struct {
		data   string
		size   int64
		codecs []string
	}
	dsets := []dumpSet{
		{"smooth", 4 << 20, []string{"bz2", "lzma", "xz"}},
		{"smooth", 16 << 20, []string{"none", "zlib", "gzip", "lz4"}},
		{"random", 256 << 20, []string{"none"}},
	}
	for _, set := range dsets {
		id := fmt.Sprintf("dump/%s/%s", set.data, sizeName(set.size))
		if !want(id) {
			continue
		}
		src, err := s.in.npy(set.data, set.size)
		if err != nil {
			return nil, err
		}
		c := &benchCase{
			id: id, group: "dump", data: set.data, size: set.size,
			title: fmt.Sprintf("dump, %s float64, %s", set.data, sizeName(set.size)),
			note: "Writing {'x': array} to a new file at joblib's default level for each codec (zlib, gzip 3; bz2 9; lzma, xz 6; lz4 0). " +
				"jlstore Dump writes a temporary file, fsyncs it and the folder, and renames it; with NoSync it leaves out the fsyncs, " +
				"as joblib.dump never syncs. bz2, lzma and xz compress at a few MB/s, in Go and in C, so they run at 4 MiB only.",
		}
		for _, codec := range set.codecs {
			ext := ".pkl"
			if codec != "none" {
				ext += codecExt[codec]
			}
			me := "jlstore Dump (" + codec + ")"
			rows := []*row{s.goRow(me, "jlstore", "", 1, "dump", src, filepath.Join(s.scratch, "go-dump"+ext), codec)}
			if codec == "none" {
				// fsync matters only where the file is large.
				rows = append(rows, s.goRow("jlstore Dump, NoSync ("+codec+")", "jlstore", me, 1, "dump-nosync", src, filepath.Join(s.scratch, "go-nosync"+ext), codec))
			}
			rows = append(rows, s.pyRow("joblib.dump ("+codec+")", me, 1, "joblib_dump", src, filepath.Join(s.scratch, "py-dump"+ext), codec))
			if codec == "none" {
				rows = append(rows, s.goRow("limit: write(2) of the array's bytes to a new file", "limit", me, 1, "write", filepath.Join(s.scratch, "write.bin"), strconv.FormatInt(set.size, 10)))
			}
			for _, r := range rows {
				r.codec = codec
				r.file = ""
			}
			c.rows = append(c.rows, rows...)
		}
		add(c)
	}

	// The graph-heavy case and a scikit-learn model.
	if want("graph") {
		jl, pk, err := s.in.graph()
		if err != nil {
			return nil, err
		}
		add(&benchCase{
			id: "graph", group: "graph", data: "graph", size: arrayBytes(jl), want: "graph 10000 arrays",
			title: "graph-heavy load: 10,000 arrays of 100 float64, plus lists and strings",
			note:  "A dict of 10,000 small arrays, 10,000 strings and a dict of 10,000 short lists, as a joblib file and as a plain pickle (protocol 4). Throughput counts the array bytes.",
			rows: []*row{
				checked(s.goRow("jlstore Load", "jlstore", "", 1, "load", jl)),
				checked(s.pyRow("joblib.load", "jlstore Load", 1, "joblib_load", jl)),
				checked(s.pyRow("pickle.load (plain pickle)", "jlstore Load", 1, "pickle_load", pk)),
				checked(s.goRow("jlstore Load (plain pickle)", "jlstore", "", 1, "load", pk)),
				s.goRow("gopickle+npyio (plain pickle)", "go-peer", "jlstore Load (plain pickle)", 1, "gopickle", pk),
				s.goRow("og-rek (plain pickle)", "go-peer", "jlstore Load (plain pickle)", 1, "ogrek", pk),
				checked(s.goRow("jlstore Open", "jlstore", "", 3, "open", jl)),
				checked(s.pyRow("joblib.load(mmap_mode='r')", "jlstore Open", 3, "joblib_mmap", jl)),
			},
		})
	}
	if want("sklearn") {
		p, err := s.in.sklearn()
		if err != nil {
			return nil, err
		}
		add(&benchCase{
			id: "sklearn", group: "sklearn", data: "sklearn", size: arrayBytes(p), want: "Pipeline",
			title: "scikit-learn model: StandardScaler + RandomForestClassifier(100 trees)",
			note:  "A fitted pipeline, written by joblib.dump. jlstore loads the estimators as inert objects with their arrays; Python imports scikit-learn and rebuilds them. Throughput counts the array bytes.",
			rows: []*row{
				checked(s.goRow("jlstore Load", "jlstore", "", 1, "load", p)),
				checked(s.pyRow("joblib.load", "jlstore Load", 1, "joblib_load", p)),
				checked(s.goRow("jlstore Open", "jlstore", "", 3, "open", p)),
				checked(s.pyRow("joblib.load(mmap_mode='r')", "jlstore Open", 3, "joblib_mmap", p)),
			},
		})
	}
	if want("million") {
		p, err := s.in.million()
		if err != nil {
			return nil, err
		}
		add(&benchCase{
			id: "million", group: "million", data: "million", size: fileSize(p), unit: "pickle bytes", want: "list 1000000",
			title: "pickle decode: 1,000,000 small dicts (protocol 4)",
			note:  "A list of 1,000,000 dicts of an int, a float and two short strings, pickled by Python; every decoder reads it from memory. Throughput counts the pickle's bytes.",
			rows: []*row{
				checked(s.goRow("jlstore pickle", "jlstore", "", 1, "pickle-mem", p)),
				checked(s.pyRow("pickle.loads (C)", "jlstore pickle", 1, "pickle_loads", p)),
				s.goRow("gopickle", "go-peer", "jlstore pickle", 1, "gopickle", p, "mem"),
				s.goRow("og-rek", "go-peer", "jlstore pickle", 1, "ogrek", p, "mem"),
			},
		})
	}
	return out, nil
}

// arrayBytes sums the array bytes of a joblib file (0 when it cannot be
// opened).
func arrayBytes(path string) int64 {
	f, err := store.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n int64
	for _, a := range f.Arrays() {
		n += a.NBytes
	}
	return n
}

// runCase runs every row of c s.runs times, interleaved (row 1, row 2, ...
// then again), so that a change in the machine's load hits every row.
func (s *suite) runCase(c *benchCase, progress func(string)) *CaseResult {
	cr := &CaseResult{ID: c.id, Title: c.title, Group: c.group, Data: c.data, Size: c.size, Unit: c.unit, Note: c.note}
	if cr.Unit == "" {
		cr.Unit = "array bytes"
	}
	seen := map[string]bool{}
	for _, r := range c.rows {
		rr := &RowResult{Method: r.method, Impl: r.impl, Vs: r.vs, Codec: r.codec, Reps: r.reps, Note: r.note, Bytes: r.bytes}
		if r.file != "" {
			rr.File, rr.FileBytes = filepath.Base(r.file), fileSize(r.file)
			if !seen[r.file] {
				seen[r.file] = true
				if err := warm(r.file); err != nil {
					rr.Err = err.Error()
				}
			}
		}
		cr.Rows = append(cr.Rows, rr)
	}
	for run := range s.runs {
		for i, r := range c.rows {
			rr := cr.Rows[i]
			if rr.Err != "" || r.runs > 0 && run >= r.runs {
				continue
			}
			progress(fmt.Sprintf("%s: %s (run %d/%d)", c.id, r.method, run+1, s.runs))
			rep, err := s.exec(r)
			if err != nil {
				rr.Err = err.Error()
				continue
			}
			if len(rep.NS) == 0 {
				rr.Err = "no timings"
				continue
			}
			rr.First = append(rr.First, float64(rep.NS[0])/1e9)
			if len(rep.NS) > 1 {
				later := make([]float64, len(rep.NS)-1)
				for j, ns := range rep.NS[1:] {
					later[j] = float64(ns) / 1e9
				}
				rr.Warm = append(rr.Warm, median(later))
			}
			rr.HWM = append(rr.HWM, rep.HWMKB<<10)
			rr.Growth = append(rr.Growth, (rep.HWMKB-rep.RSS0KB)<<10)
			rr.Check = rep.Check
		}
	}
	// Checks: every checked row must agree with its reference.
	for i, r := range c.rows {
		rr := cr.Rows[i]
		if !r.check || rr.Err != "" {
			continue
		}
		want := c.want
		if r.vs != "" {
			if ref := cr.row(r.vs); ref != nil && ref.Err == "" {
				want = ref.Check
			}
		}
		if want != "" && !checksAgree(rr.Check, want) {
			rr.Err = fmt.Sprintf("check mismatch: got %q, want %q", rr.Check, want)
		}
	}
	return cr
}

// checksAgree compares two check strings; sums agree to 1e-6.
func checksAgree(a, b string) bool {
	as, aok := strings.CutPrefix(a, "sum ")
	bs, bok := strings.CutPrefix(b, "sum ")
	if aok && bok {
		x, err1 := strconv.ParseFloat(as, 64)
		y, err2 := strconv.ParseFloat(bs, 64)
		return err1 == nil && err2 == nil && math.Abs(x-y) <= 1e-6*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
	}
	return a == b
}

func pythonCmd(py, script string, args ...string) *exec.Cmd {
	return exec.Command(py, append([]string{"-c", script}, args...)...)
}

// exec runs one row in a fresh process and parses its report.
func (s *suite) exec(r *row) (*childReport, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	args := append([]string{r.args[0], strconv.Itoa(r.reps)}, r.args[1:]...)
	var cmd *exec.Cmd
	if r.python {
		cmd = exec.CommandContext(ctx, s.py, append([]string{"-c", bench.PyScript}, args...)...)
	} else {
		exe := s.exe
		if r.exe != "" {
			exe = r.exe
		}
		cmd = exec.CommandContext(ctx, exe, append([]string{"child"}, args...)...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:] // a traceback's last line says what went wrong
		}
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return nil, fmt.Errorf("%v: %s", err, msg)
	}
	var rep childReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("bad report %q: %v", stdout.String(), err)
	}
	return &rep, nil
}

// writeScratch makes sure the dump folder exists.
func (s *suite) prepareScratch() error {
	return os.MkdirAll(s.scratch, 0o755)
}
