package main

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// fmtDur renders seconds with three significant digits.
func fmtDur(s float64) string {
	switch {
	case math.IsNaN(s):
		return "—"
	case s < 1e-6:
		return fmt.Sprintf("%.3g ns", s*1e9)
	case s < 1e-3:
		return fmt.Sprintf("%.3g µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.3g ms", s*1e3)
	case s >= 1000:
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.3g s", s)
}

// fmtRate renders bytes per second in decimal units, as MB/s are.
func fmtRate(bps float64) string {
	switch {
	case math.IsNaN(bps) || math.IsInf(bps, 0):
		return "—"
	case bps >= 1e12:
		return fmt.Sprintf("%.3g TB/s", bps/1e12)
	case bps >= 1e9:
		return fmt.Sprintf("%.3g GB/s", bps/1e9)
	}
	return fmt.Sprintf("%.3g MB/s", bps/1e6)
}

// fmtBytes renders a byte count in binary units.
func fmtBytes(n float64) string {
	switch {
	case math.IsNaN(n):
		return "—"
	case math.Abs(n) >= 1<<30:
		return fmt.Sprintf("%.3g GiB", n/(1<<30))
	case math.Abs(n) >= 1<<20:
		return fmt.Sprintf("%.3g MiB", n/(1<<20))
	case math.Abs(n) >= 1<<10:
		return fmt.Sprintf("%.3g KiB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}

var groupOrder = []string{"open", "opensum", "load", "codec", "dump", "graph", "sklearn", "million"}

// sortCases puts the cases in the order of the report: by group, data
// (smooth before random), then size.
func sortCases(res *Results) {
	slices.SortStableFunc(res.Cases, func(a, b *CaseResult) int {
		return cmp.Or(
			cmp.Compare(slices.Index(groupOrder, a.Group), slices.Index(groupOrder, b.Group)),
			-strings.Compare(a.Data, b.Data),
			cmp.Compare(a.Size, b.Size))
	})
}

// ratioText renders how a row compares with its jlstore row.
func ratioText(c *CaseResult, r *RowResult) string {
	if r.Impl == "jlstore" || r.Vs == "" {
		return ""
	}
	x := c.ratio(r)
	if math.IsNaN(x) {
		return "—"
	}
	if r.Impl == "limit" {
		return fmt.Sprintf("jlstore at %.0f%% of it", 100*x)
	}
	return fmt.Sprintf("**%.2f×**", x)
}

var mdEscape = strings.NewReplacer("|", "\\|")

func markdown(res *Results, plots []plotFile) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := res.Machine
	w("# jlstore benchmark results\n\n")
	w("Written by `make bench` (`bench/cmd/jlbench`). Rewrite this page from `results.json` with `go run ./cmd/jlbench report`; `results.txt` holds every sample in benchstat's format.\n\n")
	w("| run | flags | jlstore commit | wall time | load average at start → end | cases |\n|---|---|---|---:|---|---|\n")
	for _, s := range res.Sessions {
		flags := "(default)"
		if s.Flags != "" {
			flags = "`" + mdEscape.Replace(s.Flags) + "`"
		}
		what := fmt.Sprintf("%d cases", len(s.Cases))
		if len(s.Cases) <= 6 {
			what = strings.Join(s.Cases, ", ")
		}
		w("| %s | %s | %s | %.1f min | %s → %s | %s |\n", s.Started.Format("2006-01-02 15:04 MST"), flags, s.Commit, s.Elapsed/60, s.LoadStart, s.LoadEnd, what)
	}
	w("\n")

	w("## Machine\n\n| | |\n|---|---|\n")
	w("| CPU | %s, %d cores |\n", m.CPU, m.Cores)
	w("| Memory | %s |\n", fmtBytes(float64(m.MemTotal)))
	w("| Kernel | Linux %s; transparent huge pages: `%s` |\n", m.Kernel, m.THP)
	w("| Go | %s |\n", m.Go)
	py := m.Python
	w("| Python | %s (`%s`), numpy %s, joblib %s, scikit-learn %s, python-lz4 %s |\n",
		py["python"], m.PythonPath, py["numpy"], py["joblib"], py["sklearn"], py["lz4"])
	w("| Inputs | %s file system, cache folder `%s` |\n", m.Filesystem, res.CacheDir)
	w("| Page cache | %s |\n", m.PageCache)
	if m.Prefault > 0 {
		w("| Memory warm-up | before the cases, one process touched and freed %s of huge-page memory: in a virtual machine, guest memory the host has not backed yet costs a host fault on first touch (here 2 GiB first touched at ~0.4 GB/s, then 256 MiB at ~19 GB/s), which would otherwise land on whichever run gets that memory first |\n", fmtBytes(float64(m.Prefault)))
	}
	w("| Load average | see the runs above (1, 5 and 15 minutes). The machine is shared with other jobs, so the tables give medians and min–max, not means |\n")
	if m.Balloon {
		w("| Virtual machine | a virtio balloon is present: memory a process frees can go back to the host, and the next first touch of it then costs a fault in the host (measured here: 2 GiB first touched at about 0.4 GB/s, against 19 GB/s once backed). It hits jlstore and Python alike, at random, and shows in the max of the load rows |\n")
	}
	w("\n## How to read the tables\n\n")
	w("- Every figure is the **median of %d runs, each in a fresh process**: the Go driver re-executes itself, Python runs `%s` with numpy and joblib imported before the clock starts. min–max is the spread of the runs. The methods of a case run interleaved, so a change in the machine's load hits all of them.\n", res.Runs, m.PythonPath)
	w("- Operations that take microseconds (mmap opens) are called 21 times per process: *median* is the median of calls 2–21 (warm), *first call* the first call of a fresh process.\n")
	w("- Throughput is the case's array bytes (decoded, uncompressed) over the time, in MB/s (10⁶ bytes per second).\n")
	w("- Peak RSS is the process's VmHWM when it is done, start-up included; growth is VmHWM minus VmRSS just before the first timed call. For memory-mapped reads it counts page-cache pages, which processes share (see Sharing).\n")
	w("- **ratio** is the row's time over the time of the jlstore row named in *vs*: above 1, jlstore is faster. For a *limit* row it is the share of that limit's speed jlstore reaches.\n\n")

	w("## Headline\n\n")
	w("Medians of %d fresh processes each; page cache warm.\n\n", res.Runs)
	b.WriteString(headlineTable(res))
	w("\n## Targets\n\n")
	b.WriteString(targetsTable(res))
	w("\nWhy the misses, with profiles and the fixes measured: [NOTES.md](NOTES.md).\n")
	w("\n")

	if len(plots) > 0 {
		w("## Plots\n\n")
		for _, p := range plots {
			w("**%s**\n\n![%s](%s)\n\n", p.title, p.title, "plots/"+p.name)
		}
	}

	w("## Results\n\n")
	for _, c := range res.Cases {
		w("### %s\n\n", c.Title)
		if c.Note != "" {
			w("%s\n\n", c.Note)
		}
		b.WriteString(caseTable(c))
		w("\n")
	}
	if len(res.Sharing) > 0 {
		w("### Sharing: 4 processes hold the same file\n\n")
		w("Each process opens (or loads) the same uncompressed joblib file and sums every element; then, while all four hold it, the driver reads their `/proc/PID/smaps` (mmap.Pss) and `/proc/PID/status`. Pss divides each resident page among the processes that map it.\n\n")
		w("| method | file | total Pss of the file's mappings | vs 4 × file size | total RSS | total anonymous RSS |\n|---|---|---:|---:|---:|---:|\n")
		for _, s := range res.Sharing {
			if s.Err != "" {
				w("| %s | %s | failed: %s | | | |\n", s.Method, s.File, mdEscape.Replace(s.Err))
				continue
			}
			pss, rss, anon := sum64(s.Pss), sum64(s.Rss), sum64(s.RssAnon)
			four := float64(s.Procs) * float64(s.FileBytes)
			w("| %s | %s (%s) | %s | %.2f | %s | %s |\n", s.Method, s.File, fmtBytes(float64(s.FileBytes)),
				fmtBytes(float64(pss)), float64(pss)/four, fmtBytes(float64(rss)), fmtBytes(float64(anon)))
		}
		w("\n")
	}
	return b.String()
}

func sum64(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += x
	}
	return n
}

// caseTable renders one case as a Markdown table.
func caseTable(c *CaseResult) string {
	var b strings.Builder
	warm := false
	for _, r := range c.Rows {
		warm = warm || len(r.Warm) > 0
	}
	head := "| method | input | median | min–max |"
	sep := "|---|---|---:|---:|"
	if warm {
		head += " first call |"
		sep += "---:|"
	}
	head += " throughput | peak RSS | growth | ratio | vs |\n"
	sep += "---:|---:|---:|---:|---|\n"
	b.WriteString(head)
	b.WriteString(sep)
	for _, r := range c.Rows {
		input := "—"
		if r.File != "" {
			input = fmt.Sprintf("%s (%s)", r.File, fmtBytes(float64(r.FileBytes)))
		}
		method := r.Method
		if r.Impl == "jlstore" {
			method = "**" + method + "**"
		}
		if len(r.times()) == 0 {
			cells := 7
			if warm {
				cells++
			}
			fmt.Fprintf(&b, "| %s | %s | failed: %s |%s\n", method, input, mdEscape.Replace(shorten(r.Err)), strings.Repeat(" |", cells-1))
			continue
		}
		t := r.Time()
		fmt.Fprintf(&b, "| %s | %s | %s | %s–%s |", method, input, fmtDur(t), fmtDur(r.Min()), fmtDur(r.Max()))
		if warm {
			if len(r.Warm) > 0 {
				fmt.Fprintf(&b, " %s |", fmtDur(median(r.First)))
			} else {
				b.WriteString(" |")
			}
		}
		vs := r.Vs
		if r.Impl == "jlstore" {
			vs = ""
		}
		fmt.Fprintf(&b, " %s | %s | %s | %s | %s |", fmtRate(c.rate(r)), fmtBytes(medianInt(r.HWM)), fmtBytes(medianInt(r.Growth)), ratioText(c, r), vs)
		if r.Err != "" {
			fmt.Fprintf(&b, " %s", mdEscape.Replace(shorten(r.Err)))
		}
		if r.Note != "" {
			fmt.Fprintf(&b, " %s", mdEscape.Replace(r.Note))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func shorten(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9.+-]+`)

// benchstatText renders every sample in the Go benchmark format, one line
// per run, so that benchstat can compare two runs of the suite.
func benchstatText(res *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "goos: linux\ngoarch: amd64\npkg: github.com/jlstore/jlstore/bench\ncpu: %s\n", res.Machine.CPU)
	for _, s := range res.Sessions {
		fmt.Fprintf(&b, "# jlbench run %s, %s, commit %s, load average %s\n", s.Started.Format(time.RFC3339), res.Machine.Go, s.Commit, s.LoadStart)
	}
	for _, c := range res.Cases {
		size := sizeName(c.Size)
		if c.Group == "graph" || c.Group == "sklearn" || c.Group == "million" {
			size = "fixed"
		}
		for _, r := range c.Rows {
			name := fmt.Sprintf("BenchmarkSuite/group=%s/data=%s/size=%s/method=%s", c.Group, c.Data, size, strings.Trim(nonWord.ReplaceAllString(r.Method, "_"), "_"))
			for i, t := range r.times() {
				n := c.Size
				if r.Bytes > 0 {
					n = r.Bytes
				}
				fmt.Fprintf(&b, "%s 1 %.0f ns/op %.2f MB/s", name, t*1e9, float64(n)/t/1e6)
				if i < len(r.HWM) {
					fmt.Fprintf(&b, " %d peak-RSS-B", r.HWM[i])
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// headlineTable is the short table for the repository's README: jlstore
// against Python on the largest default size.
func headlineTable(res *Results) string {
	type line struct {
		what     string
		c        *CaseResult
		me, peer string
	}
	var lines []line
	add := func(what string, c *CaseResult, me, peer string) {
		if c != nil && c.row(me) != nil && c.row(peer) != nil {
			lines = append(lines, line{what, c, me, peer})
		}
	}
	if c := res.largest("open", ""); c != nil {
		add("mmap open to a usable matrix, "+sizeName(c.Size), c, "jlstore Open", "joblib.load(mmap_mode='r')")
	}
	if c := res.largest("opensum", ""); c != nil {
		add("mmap open and sum every element, "+sizeName(c.Size), c, "jlstore Open+sum", "joblib.load(mmap_mode='r')+sum")
	}
	if c := res.largest("load", ""); c != nil {
		add("load, uncompressed, "+sizeName(c.Size), c, "jlstore Load", "joblib.load")
		add("load a .npy file, "+sizeName(c.Size), c, "jlstore LoadNpy (.npy)", "np.load (.npy)")
	}
	if c := res.largest("codec", "smooth"); c != nil {
		for _, k := range []string{"zlib", "gzip", "bz2", "lzma", "xz", "lz4"} {
			add(fmt.Sprintf("load, %s, %s", k, sizeName(c.Size)), c, "jlstore Load ("+k+")", "joblib.load ("+k+")")
		}
	}
	if c := res.largest("dump", "random"); c != nil {
		add("dump, uncompressed, "+sizeName(c.Size)+" (Dump fsyncs, joblib does not)", c, "jlstore Dump (none)", "joblib.dump (none)")
		add("the same with NoSync (no fsync, as joblib)", c, "jlstore Dump, NoSync (none)", "joblib.dump (none)")
	}
	if c := res.largest("graph", ""); c != nil {
		add("load 10,000 small arrays + lists + strings", c, "jlstore Load", "joblib.load")
		add("the same graph, against C pickle.load", c, "jlstore Load", "pickle.load (plain pickle)")
	}
	if c := res.largest("sklearn", ""); c != nil {
		add("load a scikit-learn random forest", c, "jlstore Load", "joblib.load")
	}
	if c := res.largest("million", ""); c != nil {
		add("unpickle 1,000,000 small dicts", c, "jlstore pickle", "pickle.loads (C)")
	}
	var b strings.Builder
	b.WriteString("| operation | jlstore | Python | Python's time ÷ jlstore's |\n|---|---:|---|---:|\n")
	for _, l := range lines {
		tm, tp := timeOf(l.c, l.me), timeOf(l.c, l.peer)
		fmt.Fprintf(&b, "| %s | %s | %s: %s | %.2f× |\n", l.what, fmtDur(tm), strings.TrimSuffix(l.peer, " (plain pickle)"), fmtDur(tp), tp/tm)
	}
	return b.String()
}
