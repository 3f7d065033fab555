package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jlstore/jlstore/bench"
	"github.com/jlstore/jlstore/mmap"
)

// share starts procs processes that each hold the joblib file at path
// (mapped with jlstore Open or joblib's mmap_mode='r', or loaded into the
// heap with jlstore Load) and have summed every element, and reads their
// memory from /proc while they all hold it.
func (s *suite) share(method, path string, procs int) *ShareResult {
	res := &ShareResult{Method: method, File: filepath.Base(path), FileBytes: fileSize(path), Procs: procs}
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
	}
	var kids []child
	defer func() {
		for _, k := range kids {
			k.stdin.Close()
			k.cmd.Wait()
		}
	}()
	var pids []int
	for range procs {
		var cmd *exec.Cmd
		switch method {
		case "jlstore Open":
			cmd = exec.Command(s.exe, "child", "share", "open", path)
		case "jlstore Load":
			cmd = exec.Command(s.exe, "child", "share", "load", path)
		case "joblib.load(mmap_mode='r')":
			cmd = exec.Command(s.py, "-c", bench.PyScript, "share", path)
		default:
			res.Err = "unknown method"
			return res
		}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			res.Err = err.Error()
			return res
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			res.Err = err.Error()
			return res
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			res.Err = err.Error()
			return res
		}
		kids = append(kids, child{cmd, stdin})
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			stdin.Close()
			cmd.Wait()
			res.Err = fmt.Sprintf("child: %v: %s", err, lastLine(stderr.String()))
			return res
		}
		var rep struct {
			Pid   int    `json:"pid"`
			Check string `json:"check"`
		}
		if err := json.Unmarshal([]byte(line), &rep); err != nil {
			res.Err = fmt.Sprintf("bad report %q", line)
			return res
		}
		if res.Check != "" && !checksAgree(res.Check, rep.Check) {
			res.Err = fmt.Sprintf("check mismatch: %q and %q", res.Check, rep.Check)
		}
		res.Check = rep.Check
		pids = append(pids, rep.Pid)
	}
	// All of them hold the file now.
	for _, pid := range pids {
		pss, _, _, err := mmap.Pss(pid, path)
		if err != nil {
			pss = 0 // not mapped (jlstore Load)
		}
		p := strconv.Itoa(pid)
		res.Pss = append(res.Pss, pss)
		res.Rss = append(res.Rss, procStatusKB(p, "VmRSS")<<10)
		res.RssAnon = append(res.RssAnon, procStatusKB(p, "RssAnon")<<10)
	}
	return res
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
