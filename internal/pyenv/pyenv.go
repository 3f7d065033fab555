// Package pyenv finds a Python interpreter with numpy and joblib for the
// interop tests. A test that needs Python skips when none is found, unless
// CI is set, where a missing Python is a failure.
package pyenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once   sync.Once
	found  string
	reason string
)

// candidates lists interpreters to try, Debian's first: the python3 first
// on PATH may be another one without numpy.
func candidates() []string {
	c := []string{}
	if p := os.Getenv("JLSTORE_PYTHON"); p != "" {
		c = append(c, p)
	}
	c = append(c, "/usr/bin/python3")
	if p, err := exec.LookPath("python3"); err == nil {
		c = append(c, p)
	}
	return c
}

// Find returns the path of an interpreter that imports numpy and joblib, or
// "" and the reason none was found.
func Find() (string, string) {
	once.Do(func() {
		reason = "no python3 that imports numpy and joblib"
		for _, p := range candidates() {
			cmd := exec.Command(p, "-c", "import numpy, joblib")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err == nil {
				found = p
				return
			} else {
				reason += "; " + p + ": " + err.Error()
			}
		}
	})
	return found, reason
}

// Python returns the interpreter for an interop test. It skips the test
// when there is none, or fails it under CI.
func Python(t testing.TB) string {
	t.Helper()
	p, why := Find()
	if p == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but Python is missing: %s", why)
		}
		t.Skipf("skipping interop test: %s", why)
	}
	return p
}

// Run runs a Python script with args and returns its stdout. It fails the
// test, with stderr, when the script fails.
func Run(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	py := Python(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "script.py")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, append([]string{f}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python failed: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	return stdout.Bytes()
}
