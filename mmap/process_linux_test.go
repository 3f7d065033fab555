package mmap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const helperEnv = "JLSTORE_MMAP_HELPER"

// helperCmd re-executes the test binary as a child that runs
// TestHelperProcess with the given action on path.
func helperCmd(t *testing.T, action, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+action, "JLSTORE_MMAP_PATH="+path)
	return cmd
}

// TestHelperProcess is not a test: it is the child process of the tests
// below, and returns at once unless helperEnv is set.
func TestHelperProcess(t *testing.T) {
	action := os.Getenv(helperEnv)
	if action == "" {
		return
	}
	path := os.Getenv("JLSTORE_MMAP_PATH")
	m, err := Open(path, ReadOnly)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	v, _ := m.Bytes(0, int64(m.Len()))
	switch action {
	case "share":
		// Touch every page, report, and hold the mapping until stdin closes.
		sum := 0
		for i := 0; i < len(v); i += os.Getpagesize() {
			sum += int(v[i])
		}
		fmt.Printf("ready %d\n", sum)
		io.Copy(io.Discard, os.Stdin)
		m.Close()
		os.Exit(0)
	case "write-r":
		fmt.Println("writing")
		v[0] = 1 // SIGSEGV: the mapping is read-only
		os.Exit(0)
	}
	os.Exit(4)
}

// TestTwoProcessesSharePages maps a 64 MiB file read-only in this process and
// a child: the pages are shared, so each one's proportional set size halves.
func TestTwoProcessesSharePages(t *testing.T) {
	const size = 64 << 20
	path := filepath.Join(t.TempDir(), "shared.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(pattern(size)); err != nil {
		t.Fatal(err)
	}
	// Written-back pages count as clean; dirty page-cache pages would show
	// as Shared_Dirty instead of Shared_Clean.
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	m := mustOpen(t, path, ReadOnly)
	v := mustBytes(t, m, 0, size)
	sum := 0
	for i := 0; i < size; i += os.Getpagesize() {
		sum += int(v[i])
	}
	t.Logf("touched %d pages (sum %d)", size/os.Getpagesize(), sum)
	pss, shared, rss, err := Pss(os.Getpid(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("alone:  pss=%d shared_clean=%d rss=%d", pss, shared, rss)
	if rss < size*95/100 || pss < size*95/100 {
		t.Fatalf("alone: pss=%d rss=%d; want both about %d", pss, rss, size)
	}

	cmd := helperCmd(t, "share", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v\n%s", err, stderr.String())
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("child said %q, %v\n%s", line, err, stderr.String())
	}

	for _, p := range []struct {
		who string
		pid int
	}{{"parent", os.Getpid()}, {"child", cmd.Process.Pid}} {
		pss, shared, rss, err := Pss(p.pid, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: pss=%d shared_clean=%d rss=%d", p.who, pss, shared, rss)
		if rss < size*95/100 {
			t.Errorf("%s: rss=%d; want about %d", p.who, rss, size)
		}
		if pss < size*45/100 || pss > size*55/100 {
			t.Errorf("%s: pss=%d; want about half of %d", p.who, pss, size)
		}
		if shared < size*95/100 {
			t.Errorf("%s: shared_clean=%d; want about %d", p.who, shared, size)
		}
	}
}

// TestWriteReadOnlyKillsProcess documents the hazard: a write to a view of
// an "r" mapping is a fatal SIGSEGV, not a panic.
func TestWriteReadOnlyKillsProcess(t *testing.T) {
	path := writeFile(t, "f.bin", pattern(100))
	cmd := helperCmd(t, "write-r", path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child exited with %v; want a crash\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("writing")) || !bytes.Contains(out, []byte("SIGSEGV")) {
		t.Fatalf("child output lacks SIGSEGV:\n%s", out)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, pattern(100)) {
		t.Fatal("file changed")
	}
}

func TestPssNotMapped(t *testing.T) {
	path := writeFile(t, "f.bin", pattern(10))
	if _, _, _, err := Pss(os.Getpid(), path); !errors.Is(err, ErrNotMapped) {
		t.Fatalf("err = %v; want ErrNotMapped", err)
	}
	if _, _, _, err := Pss(-1, path); err == nil {
		t.Fatal("pid -1: no error")
	}
}

const smapsSample = `55d0c0000000-55d0c0001000 r--p 00000000 fd:00 1234                       /usr/bin/cat
Rss:                   4 kB
Pss:                   4 kB
Shared_Clean:          0 kB
VmFlags: rd mr mw me sd
7f0000000000-7f0000400000 r--s 00000000 fd:00 99                         /tmp/a dir/data file.bin
Size:               4096 kB
Rss:                4096 kB
Pss:                2048 kB
Pss_Dirty:             0 kB
Shared_Clean:       4096 kB
Shared_Dirty:          0 kB
VmFlags: rd sh mr mw me ms sd
7f0000400000-7f0000401000 rw-p 00000000 00:00 0 
Rss:                   4 kB
Pss:                   4 kB
7f1000000000-7f1000002000 r--p 00003000 fd:00 99                         /tmp/a dir/data file.bin
Rss:                   8 kB
Pss:                   8 kB
Shared_Clean:          0 kB
`

func TestParseSmaps(t *testing.T) {
	u, err := parseSmaps(strings.NewReader(smapsSample), "/tmp/a dir/data file.bin")
	if err != nil {
		t.Fatal(err)
	}
	want := smapsUsage{mappings: 2, pss: (2048 + 8) << 10, sharedClean: 4096 << 10, rss: (4096 + 8) << 10}
	if u != want {
		t.Fatalf("parseSmaps = %+v; want %+v", u, want)
	}
	if u, _ := parseSmaps(strings.NewReader(smapsSample), "/tmp/a dir"); u.mappings != 0 {
		t.Fatalf("prefix matched: %+v", u)
	}
	if _, err := parseSmaps(strings.NewReader(smapsSample+"7f-7f r--s 0 0:0 1 /x\nPss: lots kB\n"), "/x"); err == nil {
		t.Fatal("bad value: no error")
	}
}

func FuzzParseSmaps(f *testing.F) {
	f.Add([]byte(smapsSample), "/tmp/a dir/data file.bin")
	f.Add([]byte("a-b r--s 0 0:0 1 /x\nPss: 9999999999999999999 kB\n"), "/x")
	f.Add([]byte("\n\n:\n a\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		u, err := parseSmaps(bytes.NewReader(data), path)
		if err == nil && (u.pss < 0 || u.rss < 0 || u.sharedClean < 0 || u.mappings < 0) {
			t.Fatalf("negative usage %+v", u)
		}
	})
}

// TestCleanupBackstop drops a Mapping without Close: the runtime cleanup
// must unmap it once it is garbage.
func TestCleanupBackstop(t *testing.T) {
	path := writeFile(t, "leak.bin", pattern(3*os.Getpagesize()))
	func() {
		m, err := Open(path, ReadOnly)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := Pss(os.Getpid(), path); err != nil {
			t.Fatalf("while open: %v", err)
		}
		runtime.KeepAlive(m)
	}()
	for range 100 {
		runtime.GC()
		if _, _, _, err := Pss(os.Getpid(), path); errors.Is(err, ErrNotMapped) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("an unreachable Mapping is still mapped after GC")
}
