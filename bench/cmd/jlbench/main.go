// Command jlbench is jlstore's benchmark suite. It puts jlstore's Open,
// Load and Dump beside Python's joblib and numpy, the Go peers and the
// machine's limits, and writes RESULTS.md, results.json, results.txt
// (benchstat's format) and PNG plots.
//
// Usage:
//
//	jlbench [run] [flags]      measure and write the results
//	jlbench report [flags]     rewrite RESULTS.md and the plots from results.json
//	jlbench child OP REPS ...  one measurement (the driver runs these itself)
//
// Every measurement runs in a fresh process: jlbench re-executes itself
// for Go, and runs /usr/bin/python3 (with numpy and joblib imported before
// the clock starts) for Python. Each method runs -runs times, interleaved
// with the other methods of its case, and the tables show the median and
// the spread. Inputs are made once into -cache (see inputs.go).
package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jlstore/jlstore/internal/pyenv"
)

func main() {
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "child":
		err = runChild(args)
	case "run":
		err = runSuite(args)
	case "report":
		err = runReport(args)
	default:
		err = fmt.Errorf("unknown command %q (want run, report or child)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "jlbench:", err)
		os.Exit(1)
	}
}

// parseSize reads 16MiB, 1GiB, 4096.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	n *= mult
	if n%(8*cols) != 0 {
		return 0, fmt.Errorf("size %d is not a multiple of %d bytes (rows of %d float64)", n, 8*cols, cols)
	}
	return n, nil
}

func runSuite(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	runs := fs.Int("runs", 5, "fresh processes per method")
	full := fs.Bool("full", false, "full sizes: uncompressed 1 GiB and 4 GiB too, compressed 1 GiB, sharing at 1 GiB")
	sizesFlag := fs.String("sizes", "", "comma-separated uncompressed sizes (default 16MiB,64MiB,256MiB; -full adds 1GiB,4GiB)")
	cgoFlag := fs.Bool("cgo", true, "also measure the bz2, xz and lzma loads built with -tags jlstore_cgo (libbz2, liblzma), when they build")
	casesFlag := fs.String("cases", "", "run only the cases whose id matches this regexp (open/256MiB, load/, codec/smooth/256MiB, dump/, graph, sklearn, million, share)")
	cache := fs.String("cache", filepath.Join(os.TempDir(), "jlstore-bench", "suite"), "folder for the inputs, made once")
	out := fs.String("out", ".", "folder for RESULTS.md, results.json, results.txt and plots/")
	pyFlag := fs.String("python", "", "Python with numpy and joblib (default: $JLSTORE_PYTHON, /usr/bin/python3, python3)")
	shareSize := fs.String("share-size", "", "size of the file 4 processes share (default 256MiB, -full 1GiB)")
	merge := fs.Bool("merge", false, "keep the cases of an existing results.json that this run does not measure")
	timeout := fs.Duration("timeout", 10*time.Minute, "limit for one measuring process")
	prefault := fs.Bool("prefault", false, "first touch and free memory of a few times the largest size, so that a virtual machine's host has backed it (a balloon with free page reporting takes it back within seconds, so this rarely helps)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	sizes := []int64{16 << 20, 64 << 20, 256 << 20}
	if *full {
		sizes = append(sizes, 1<<30, 4<<30)
	}
	if *sizesFlag != "" {
		sizes = nil
		for f := range strings.SplitSeq(*sizesFlag, ",") {
			n, err := parseSize(f)
			if err != nil {
				return err
			}
			sizes = append(sizes, n)
		}
	}
	share := int64(256 << 20)
	if *full {
		share = 1 << 30
	}
	if *shareSize != "" {
		n, err := parseSize(*shareSize)
		if err != nil {
			return err
		}
		share = n
	}
	var only *regexp.Regexp
	if *casesFlag != "" {
		var err error
		if only, err = regexp.Compile(*casesFlag); err != nil {
			return err
		}
	}
	py := *pyFlag
	if py == "" {
		var why string
		if py, why = pyenv.Find(); py == "" {
			return errors.New(why)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	for _, d := range []string{*cache, *out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	start := time.Now()
	logf := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}
	s := &suite{
		in:      &inputs{dir: *cache, py: py, log: logf},
		exe:     exe,
		py:      py,
		runs:    *runs,
		full:    *full,
		sizes:   sizes,
		only:    only,
		scratch: filepath.Join(*cache, "scratch"),
		timeout: *timeout,
		log:     logf,
	}
	if err := s.prepareScratch(); err != nil {
		return err
	}
	if *cgoFlag {
		if s.cgoExe, err = buildCgo(*cache); err != nil {
			logf("no rows for -tags jlstore_cgo: %v", err)
		}
	}
	res := &Results{Runs: *runs, CacheDir: *cache}
	res.Machine = machine(py, *cache)
	sess := Session{Started: start.UTC(), Flags: strings.Join(args, " "), Commit: gitCommit(), LoadStart: loadavg()}

	cases, err := s.cases()
	if err != nil {
		return err
	}
	if *prefault {
		n := prefaultSize(sizes)
		logf("prefault: touching and freeing %s", sizeName(n))
		if _, err := s.exec(&row{args: []string{"touch", strconv.FormatInt(n, 10), "huge"}, reps: 1}); err != nil {
			return fmt.Errorf("prefault: %v", err)
		}
		res.Machine.Prefault = n
	}
	logf("inputs ready; %d cases, %d runs each", len(cases), *runs)
	tty := isTerminal(os.Stderr)
	partial := filepath.Join(*out, "results.partial.json")
	for i, c := range cases {
		t0 := time.Now()
		res.Cases = append(res.Cases, s.runCase(c, func(msg string) {
			if tty {
				fmt.Fprintf(os.Stderr, "\r\033[K[%6.1fs] %d/%d %s", time.Since(start).Seconds(), i+1, len(cases), msg)
			}
		}))
		if tty {
			fmt.Fprintf(os.Stderr, "\r\033[K")
		}
		logf("%d/%d %s: %.1fs", i+1, len(cases), c.id, time.Since(t0).Seconds())
		// Keep what is done, for a look at a long run before it ends.
		if err := res.save(partial); err != nil {
			return err
		}
	}
	if only == nil || only.MatchString("share") {
		path, err := s.in.joblib("random", share, "none")
		if err != nil {
			return err
		}
		if err := warm(path); err != nil {
			return err
		}
		for _, m := range []string{"jlstore Open", "joblib.load(mmap_mode='r')", "jlstore Load"} {
			logf("sharing: 4 processes, %s, %s", m, sizeName(share))
			res.Sharing = append(res.Sharing, s.share(m, path, 4))
		}
	}
	sess.LoadEnd = loadavg()
	sess.Elapsed = time.Since(start).Seconds()
	for _, c := range res.Cases {
		sess.Cases = append(sess.Cases, c.ID)
	}
	if len(res.Sharing) > 0 {
		sess.Cases = append(sess.Cases, "share")
	}
	res.Sessions = []Session{sess}

	jsonPath := filepath.Join(*out, "results.json")
	if *merge {
		if old, err := loadResults(jsonPath); err == nil {
			mergeResults(res, old)
		}
	}
	if err := res.save(jsonPath); err != nil {
		return err
	}
	os.Remove(partial)
	logf("wrote %s", jsonPath)
	return writeOutputs(res, *out, logf)
}

// prefaultSize is three times the largest size plus 1 GiB, at most a
// third of the memory available.
func prefaultSize(sizes []int64) int64 {
	n := int64(1 << 30)
	for _, s := range sizes {
		n = max(n, 3*s+1<<30)
	}
	if avail := meminfoKB("MemAvailable") << 10; avail > 0 {
		n = min(n, avail/3)
	}
	return n &^ (2<<20 - 1)
}

// mergeResults keeps old's cases and sharing rows that res did not measure.
func mergeResults(res, old *Results) {
	have := map[string]bool{}
	for _, c := range res.Cases {
		have[c.ID] = true
	}
	var kept []*CaseResult
	for _, c := range old.Cases {
		if !have[c.ID] {
			kept = append(kept, c)
		}
	}
	res.Cases = append(kept, res.Cases...)
	haveShare := map[string]bool{}
	for _, s := range res.Sharing {
		haveShare[s.Method+"/"+s.File] = true
	}
	for _, s := range old.Sharing {
		if !haveShare[s.Method+"/"+s.File] {
			res.Sharing = append(res.Sharing, s)
		}
	}
	// Keep the earlier sessions that still own a case.
	kept2 := map[string]bool{}
	for _, c := range kept {
		kept2[c.ID] = true
	}
	for _, s := range old.Sharing {
		if !haveShare[s.Method+"/"+s.File] {
			kept2["share"] = true
		}
	}
	for _, s := range old.Sessions {
		var ids []string
		for _, id := range s.Cases {
			if kept2[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			s.Cases = ids
			res.Sessions = append(res.Sessions, s)
		}
	}
}

func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	out := fs.String("out", ".", "folder holding results.json; RESULTS.md and plots/ are rewritten there")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res, err := loadResults(filepath.Join(*out, "results.json"))
	if err != nil {
		return err
	}
	return writeOutputs(res, *out, func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	})
}

// writeOutputs writes RESULTS.md, results.txt and the plots.
func writeOutputs(res *Results, out string, logf func(string, ...any)) error {
	sortCases(res)
	if err := os.MkdirAll(filepath.Join(out, "plots"), 0o755); err != nil {
		return err
	}
	plots, err := writePlots(res, filepath.Join(out, "plots"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "RESULTS.md"), []byte(markdown(res, plots)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.txt"), []byte(benchstatText(res)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "headline.md"), []byte(headlineTable(res)), 0o644); err != nil {
		return err
	}
	logf("wrote %s, results.txt and %d plots", filepath.Join(out, "RESULTS.md"), len(plots))
	return nil
}

// isTerminal reports whether f is a terminal, where progress lines may
// overwrite each other.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
