package main

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"time"
)

// Results is everything one run measured; results.json holds it, and the
// report and the plots are made from it alone ("jlbench report").
type Results struct {
	Machine Machine `json:"machine"`
	Runs    int     `json:"runs"`
	// Sessions are the runs of jlbench whose cases this holds, the
	// latest first: with -merge, a run adds its cases to an earlier one's.
	Sessions []Session      `json:"sessions"`
	Cases    []*CaseResult  `json:"cases"`
	Sharing  []*ShareResult `json:"sharing"`
	CacheDir string         `json:"cache_dir"`

	// Fields of results.json before sessions, read to convert it.
	OldFlags   string    `json:"flags,omitempty"`
	OldStarted time.Time `json:"started,omitzero"`
	OldElapsed float64   `json:"elapsed_seconds,omitempty"`
}

// A Session is one run of jlbench.
type Session struct {
	Started   time.Time `json:"started"`
	Elapsed   float64   `json:"elapsed_seconds"`
	Flags     string    `json:"flags"`
	Commit    string    `json:"commit"`
	LoadStart string    `json:"load_start"`
	LoadEnd   string    `json:"load_end"`
	// Cases lists the ids of the cases it measured ("share" for sharing).
	Cases []string `json:"cases"`
}

// A CaseResult is one table: several methods doing the same work.
type CaseResult struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Group string `json:"group"`
	Data  string `json:"data"`
	// Size is the byte count throughput is computed against: the decoded
	// array bytes (or the pickle's bytes for the million-dict case).
	Size int64        `json:"size"`
	Unit string       `json:"unit"`
	Note string       `json:"note,omitempty"`
	Rows []*RowResult `json:"rows"`
}

// A RowResult is one method's samples, one per fresh process.
type RowResult struct {
	Method string `json:"method"`
	// Impl is jlstore, python, go-peer or limit.
	Impl string `json:"impl"`
	// Vs names the jlstore row this one is compared with.
	Vs        string `json:"vs,omitempty"`
	Codec     string `json:"codec,omitempty"`
	File      string `json:"file,omitempty"`
	FileBytes int64  `json:"file_bytes,omitempty"`
	Reps      int    `json:"reps"`
	// First holds, per process, the first timed call (seconds).
	First []float64 `json:"first"`
	// Warm holds, per process, the median of the later calls, when the
	// process made more than one (microsecond operations).
	Warm []float64 `json:"warm,omitempty"`
	// HWM is the peak RSS (VmHWM) per process, Growth its excess over
	// the RSS just before the first timed call; bytes.
	HWM    []int64 `json:"hwm"`
	Growth []int64 `json:"growth"`
	Check  string  `json:"check"`
	Err    string  `json:"error,omitempty"`
	Note   string  `json:"note,omitempty"`
	// Bytes, when positive, is what the row's throughput counts instead
	// of the case's size.
	Bytes int64 `json:"bytes,omitempty"`
}

// rate is the row's throughput in bytes per second.
func (c *CaseResult) rate(r *RowResult) float64 {
	n := c.Size
	if r.Bytes > 0 {
		n = r.Bytes
	}
	return float64(n) / r.Time()
}

// ShareResult is N processes holding the same file at once.
type ShareResult struct {
	Method    string  `json:"method"`
	File      string  `json:"file"`
	FileBytes int64   `json:"file_bytes"`
	Procs     int     `json:"procs"`
	Pss       []int64 `json:"pss"`     // per process, the file's mappings
	Rss       []int64 `json:"rss"`     // per process, VmRSS
	RssAnon   []int64 `json:"rssanon"` // per process, RssAnon
	Check     string  `json:"check"`
	Err       string  `json:"error,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU        string            `json:"cpu"`
	Cores      int               `json:"cores"`
	MemTotal   int64             `json:"mem_total"`
	Kernel     string            `json:"kernel"`
	THP        string            `json:"thp"`
	Go         string            `json:"go"`
	Python     map[string]string `json:"python"`
	PageCache  string            `json:"page_cache"`
	Filesystem string            `json:"filesystem"`
	PythonPath string            `json:"python_path"`
	Prefault   int64             `json:"prefault,omitempty"`
	Balloon    bool              `json:"balloon"`

	// Fields of results.json before sessions, read to convert it.
	OldCommit    string `json:"commit,omitempty"`
	OldLoadStart string `json:"load_start,omitempty"`
	OldLoadEnd   string `json:"load_end,omitempty"`
}

func (r *Results) save(path string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func loadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if len(r.Sessions) == 0 && !r.OldStarted.IsZero() {
		ids := make([]string, len(r.Cases))
		for i, c := range r.Cases {
			ids[i] = c.ID
		}
		if len(r.Sharing) > 0 {
			ids = append(ids, "share")
		}
		r.Sessions = []Session{{Started: r.OldStarted, Elapsed: r.OldElapsed, Flags: r.OldFlags,
			Commit: r.Machine.OldCommit, LoadStart: r.Machine.OldLoadStart, LoadEnd: r.Machine.OldLoadEnd, Cases: ids}}
	}
	r.OldStarted, r.OldElapsed, r.OldFlags = time.Time{}, 0, ""
	r.Machine.OldCommit, r.Machine.OldLoadStart, r.Machine.OldLoadEnd = "", "", ""
	return &r, nil
}

// median of xs (NaN when empty).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medianInt(xs []int64) float64 {
	f := make([]float64, len(xs))
	for i, x := range xs {
		f[i] = float64(x)
	}
	return median(f)
}

// times returns the samples a row is judged by: the warm calls when the
// process made several, else the first (and only) calls.
func (r *RowResult) times() []float64 {
	if len(r.Warm) > 0 {
		return r.Warm
	}
	return r.First
}

// Time is the row's median time in seconds (NaN when it failed).
func (r *RowResult) Time() float64 {
	if r.Err != "" && len(r.First) == 0 {
		return math.NaN()
	}
	return median(r.times())
}

func (r *RowResult) Min() float64 { return slices.Min(r.times()) }
func (r *RowResult) Max() float64 { return slices.Max(r.times()) }

// row finds a row of a case by method.
func (c *CaseResult) row(method string) *RowResult {
	for _, r := range c.Rows {
		if r.Method == method {
			return r
		}
	}
	return nil
}

// ratio is how many times faster the jlstore row it is compared with is:
// the row's time over the jlstore row's time (NaN without one).
func (c *CaseResult) ratio(r *RowResult) float64 {
	if r.Vs == "" {
		return math.NaN()
	}
	ref := c.row(r.Vs)
	if ref == nil || len(ref.times()) == 0 || len(r.times()) == 0 {
		return math.NaN()
	}
	// Rows that count other bytes compare by throughput.
	return c.rate(ref) / c.rate(r)
}

func (res *Results) caseByID(id string) *CaseResult {
	for _, c := range res.Cases {
		if c.ID == id {
			return c
		}
	}
	return nil
}
