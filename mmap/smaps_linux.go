package mmap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// ErrNotMapped reports that Pss found no mapping of the file.
var ErrNotMapped = errors.New("mmap: file is not mapped by the process")

// Pss reports how much memory process pid spends on its mappings of the
// file at path, summed over all of them, in bytes, from /proc/PID/smaps:
// pss is the proportional set size (each resident page divided by the
// number of processes that map it), sharedClean the resident clean pages
// that other processes also map, and rss all resident pages. Two processes
// that map and touch the same file read-only each show a pss of about half
// its size. path is made absolute and its symlinks resolved, as the kernel
// prints it. Linux only; benchmarks use it to show that mappings share the
// page cache.
func Pss(pid int, path string) (pss, sharedClean, rss int64, err error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("mmap: %w", err)
	}
	defer f.Close()
	u, err := parseSmaps(f, path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("mmap: /proc/%d/smaps: %w", pid, err)
	}
	if u.mappings == 0 {
		return 0, 0, 0, fmt.Errorf("mmap: %s in process %d: %w", path, pid, ErrNotMapped)
	}
	return u.pss, u.sharedClean, u.rss, nil
}

// smapsUsage sums the smaps fields of every mapping of one file.
type smapsUsage struct {
	mappings              int
	pss, sharedClean, rss int64
}

// parseSmaps reads smaps text: a header line per mapping
// ("start-end perms offset dev inode   path") followed by "Key: value kB"
// lines. A header's first field never ends in ':'; a key's always does.
func parseSmaps(r io.Reader, path string) (smapsUsage, error) {
	var u smapsUsage
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	in := false
	for sc.Scan() {
		line := sc.Bytes()
		key, rest, _ := bytes.Cut(line, []byte{' '})
		if len(key) == 0 {
			continue
		}
		if key[len(key)-1] != ':' {
			in = headerPath(line) == path
			if in {
				u.mappings++
			}
			continue
		}
		if !in {
			continue
		}
		var dst *int64
		switch string(key) {
		case "Pss:":
			dst = &u.pss
		case "Shared_Clean:":
			dst = &u.sharedClean
		case "Rss:":
			dst = &u.rss
		default:
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return u, fmt.Errorf("unexpected line %q", line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return u, fmt.Errorf("unexpected line %q", line)
		}
		*dst += kb << 10
	}
	return u, sc.Err()
}

// headerPath returns the path field of an smaps header line: what follows
// the fifth field and the spaces after it. Paths may contain spaces.
func headerPath(line []byte) string {
	rest := line
	for range 5 {
		rest = bytes.TrimLeft(rest, " ")
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			return ""
		}
		rest = rest[i:]
	}
	return string(bytes.TrimLeft(rest, " "))
}
