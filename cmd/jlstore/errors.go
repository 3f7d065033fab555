package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"

	"github.com/jlstore/jlstore/store"
)

// fileError is a failure about one file.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string { return e.path + ": " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

func fileErr(path string, err error) error {
	if err == nil {
		return nil
	}
	return &fileError{path, err}
}

// errorLine renders err as the one line the tool prints:
// "jlstore: FILE: what went wrong (at byte N)".
func errorLine(err error) string {
	path, msg := "", ""
	var fe *fileError
	var se *store.PathError
	var pe *fs.PathError
	switch {
	case errors.As(err, &se) && se.Path != "":
		path, msg = se.Path, describe(se.Err)
	case errors.As(err, &fe):
		path, msg = fe.path, describe(fe.err)
	default:
		msg = describe(err)
	}
	if path == "" && errors.As(err, &pe) {
		path, msg = pe.Path, describe(pe.Err)
	}
	if path != "" {
		msg = path + ": " + msg
	}
	return "jlstore: " + oneLine(msg)
}

// describe says what went wrong, without the file name (which the caller
// adds) and without the "jlstore: " prefixes that the error kinds carry.
func describe(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		// The path is already named; keep what the system said.
		err = pe.Err
	}
	msg := strings.ReplaceAll(err.Error(), "jlstore: ", "")
	if errors.Is(err, store.ErrTooLarge) {
		msg = limitHint(msg)
	}
	return msg
}

// limitHint names the command-line flag of the limit a file hit.
func limitHint(msg string) string {
	for _, r := range []struct{ api, flag string }{
		{"(MaxBytes)", "(limit --max-bytes)"},
		{"(MaxRatio)", "(limit --max-ratio)"},
		{"(MaxDepth)", "(limit: nesting depth)"},
		{"(MaxMemo)", "(limit: memo size)"},
		{"(key limit)", "(limit: dict key comparisons)"},
	} {
		if strings.Contains(msg, r.api) {
			return strings.Replace(msg, r.api, r.flag, 1)
		}
	}
	return msg + " (limit --max-bytes)"
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// limits are the flags of the commands that load files.
type limits struct {
	maxBytes byteSize
	maxRatio float64
}

func (l *limits) register(fs *flag.FlagSet) {
	fs.Var(&l.maxBytes, "max-bytes", "refuse files that need more than `SIZE` bytes of memory (e.g. 512MiB; default: the memory available)")
	fs.Float64Var(&l.maxRatio, "max-ratio", store.DefaultMaxRatio, "refuse compressed files that declare more than `R` array bytes per compressed byte")
}

// options returns the load options the flags ask for, and more.
func (l *limits) options(more ...store.LoadOption) []store.LoadOption {
	opts := []store.LoadOption{store.MaxRatio(l.maxRatio)}
	if l.maxBytes > 0 {
		opts = append(opts, store.MaxBytes(int64(l.maxBytes)))
	}
	return append(opts, more...)
}

func (l *limits) check() error {
	if !(l.maxRatio >= 1) {
		return usagef("--max-ratio %v: must be at least 1", l.maxRatio)
	}
	return nil
}

// byteSize is a flag value in bytes: 1048576, 64KiB, 1.5GiB, 10MB.
type byteSize int64

func (b *byteSize) String() string {
	if b == nil || *b == 0 {
		return ""
	}
	return formatBytes(int64(*b))
}

func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// parseSize reads a size in bytes with an optional unit.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || !(f > 0) || f*mult >= math.MaxInt64/2 {
		return 0, fmt.Errorf("bad size %q (want e.g. 4096, 64KiB, 1GiB)", s)
	}
	return int64(f * mult), nil
}

// formatBytes renders n in IEC units: "96 B", "1.5 KiB", "1.0 GiB".
func formatBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i]
}
