package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// FuzzCommands runs ls, show and dis over arbitrary files. Each must exit
// 0, or 1 with one jlstore: line; never 2, and never panic (run turns a
// panic into "internal error", which fails here).
func FuzzCommands(f *testing.F) {
	for _, name := range []string{"basic_p4.pkl", "basic_p0.pkl", "basic_p2.gz", "graph_p0.pkl", "concat_p4.pkl", "pipeline_p4.z", "basic_p5.lz4"} {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("\x80\x04."))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in.pkl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]string{{"ls", "--json"}, {"show"}, {"dis"}} {
			args := append(cmd, "--max-bytes", "64MiB", path)
			_, errOut, code := jl(t, args...)
			switch {
			case strings.Contains(errOut, "internal error"):
				t.Fatalf("%v panicked: %s", cmd, errOut)
			case code == 0 && errOut == "":
			case code == 1 && errLine.MatchString(errOut):
			default:
				t.Fatalf("%v: exit %d, stderr %q", cmd, code, errOut)
			}
		}
	})
}

// FuzzDis disassembles arbitrary streams in memory, compressed or not.
func FuzzDis(f *testing.F) {
	for _, name := range []string{"basic_p4.pkl", "basic_p1.pkl", "basic_p2.z", "many_small_p4.pkl", "random_forest_p4.pkl"} {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		open := func() (io.Reader, string, func() error, error) {
			return bytes.NewReader(data), "", func() error { return nil }, nil
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			disassemble(io.Discard, open, 64<<20)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("hang: %s", buf[:n])
		}
	})
}

// TestBinary runs the built command, as a shell would: exit statuses,
// one line on stderr, nothing drawn on a stderr that is not a terminal.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	exe := filepath.Join(t.TempDir(), "jlstore")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	build := exec.Command("go", "build", "-o", exe, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	runExe := func(args ...string) (string, string, int) {
		cmd := exec.Command(exe, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
	good := filepath.Join(fixtures, "basic_p4.pkl")
	out, errOut, code := runExe("ls", good)
	if code != 0 || errOut != "" || !strings.Contains(out, `$["f8_c"]`) {
		t.Errorf("ls: exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pkl")
	b, _ := os.ReadFile(good)
	os.WriteFile(bad, b[:1000], 0o644)
	for _, cmd := range []string{"ls", "show", "dis"} {
		_, errOut, code = runExe(cmd, bad)
		if code != 1 || !errLine.MatchString(errOut) || !strings.HasPrefix(errOut, "jlstore: "+bad+": ") {
			t.Errorf("%s on a truncated file: exit %d, stderr %q", cmd, code, errOut)
		}
	}
	if _, errOut, code = runExe("ls"); code != 2 || !strings.Contains(errOut, "usage") {
		t.Errorf("ls without a file: exit %d, stderr %q", code, errOut)
	}
	// A large convert with stderr not a terminal draws no progress.
	big := filepath.Join(dir, "big.npz")
	if _, errOut, code = runExe("bench", "--size", "65MiB", "--codecs", "none,lz4", "--runs", "1", "--dir", dir); code != 0 || errOut != "" {
		t.Errorf("bench: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code = runExe("export", filepath.Join(dir, "bench.pkl"), big); code != 0 || errOut != "" {
		t.Errorf("export of 65 MiB: exit %d, stderr %q", code, errOut)
	}
}
