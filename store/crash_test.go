package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// child re-runs this test binary with only the named test and env set,
// so that the test can act as a separate process.
func child(t *testing.T, test string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// temps lists the temporary files Dump leaves beside path.
func temps(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPrefix(path)+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bigValue is what the killed child dumps: 256 MiB of float64s.
func bigValue() any {
	x := make([]float64, 32<<20)
	for i := range x {
		x[i] = float64(i)
	}
	return map[string]any{"x": x}
}

// TestDumpKilledMidWrite kills a process with SIGKILL while it dumps 256
// MiB over an existing file: the old file is intact, since Dump writes a
// temporary file and renames it only when it is complete, and the next
// Dump to the path removes the temporary file the dead writer left.
func TestDumpKilledMidWrite(t *testing.T) {
	if p := os.Getenv("JLSTORE_DUMP_CHILD"); p != "" {
		var opts []DumpOption
		if os.Getenv("JLSTORE_DUMP_NOSYNC") != "" {
			opts = append(opts, NoSync())
		}
		err := Dump(p, bigValue(), opts...)
		t.Fatalf("Dump finished before the kill (err %v)", err)
	}
	for _, mode := range syncModes {
		t.Run(mode.name, func(t *testing.T) { testDumpKilled(t, len(mode.opts) > 0) })
	}
}

func testDumpKilled(t *testing.T, nosync bool) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.pkl")
	old := map[string]any{"version": int64(1), "w": []float64{1, 2, 3}}
	if err := Dump(path, old); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"JLSTORE_DUMP_CHILD=" + path}
	if nosync {
		env = append(env, "JLSTORE_DUMP_NOSYNC=1")
	}
	cmd := child(t, "TestDumpKilledMidWrite", env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once its temporary file holds 16 MiB.
	deadline := time.Now().Add(60 * time.Second)
	var size int64
	for size < 16<<20 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child's temporary file never reached 16 MiB:\n%s", out.String())
		}
		for _, p := range temps(t, path) {
			if fi, err := os.Stat(p); err == nil {
				size = max(size, fi.Size())
			}
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	litter := temps(t, path)
	if len(litter) == 0 {
		t.Fatal("no temporary file left: the kill did not land mid-write")
	}
	fi, _ := os.Stat(litter[0])
	t.Logf("killed the writer with %d MiB of its temporary file written", fi.Size()>>20)

	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, oldBytes) {
		t.Fatalf("the old file changed (%v)", err)
	}
	v, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ver, _ := v.(*pickle.Dict).Get("version"); ver != int64(1) {
		t.Errorf("old file loads as %v", v)
	}

	if err := Dump(path, map[string]any{"version": int64(2)}); err != nil {
		t.Fatal(err)
	}
	if l := temps(t, path); len(l) != 0 {
		t.Errorf("the next Dump left %v", l)
	}
	v, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ver, _ := v.(*pickle.Dict).Get("version"); ver != int64(2) {
		t.Errorf("new file loads as %v", v)
	}
}

var errDiskFull = errors.New("disk full (simulated)")

// failingWriter accepts n bytes, then fails.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestEncodeWriteError: a writer that fails part way (a full disk) makes
// Encode fail with that error, in every codec, wherever it fails.
func TestEncodeWriteError(t *testing.T) {
	v := map[string]any{"x": make([]float64, 1<<13), "s": strings.Repeat("abc", 1000)}
	for _, codec := range []string{"", "zlib", "gzip", "bz2", "lzma", "xz", "lz4", "zstd"} {
		var full bytes.Buffer
		opts := []DumpOption{}
		if codec != "" {
			opts = append(opts, Compress(codec, -1))
		}
		if err := Encode(&full, v, opts...); err != nil {
			t.Fatal(err)
		}
		for _, at := range []int{0, 1, 100, full.Len() / 2, full.Len() - 1} {
			err := Encode(&failingWriter{n: at}, v, opts...)
			if !errors.Is(err, errDiskFull) {
				t.Errorf("codec %q, failing after %d of %d bytes: err = %v", codec, at, full.Len(), err)
			}
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("codec %q: %T is not a *PathError", codec, err)
			}
		}
	}
}

// TestDumpErrorKeepsOldFile: a Dump that fails (a value jlstore cannot
// write, a folder it cannot write to) returns the error, leaves the old
// file as it was and no temporary file.
func TestDumpErrorKeepsOldFile(t *testing.T) {
	for _, mode := range syncModes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keep.pkl")
			if err := Dump(path, []float64{1, 2}, mode.opts...); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			err := Dump(path, map[string]any{"ok": 1.0, "bad": make(chan int)}, mode.opts...)
			if err == nil {
				t.Fatal("Dump of a channel succeeded")
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("a failed Dump changed the file")
			}
			if l := temps(t, path); len(l) != 0 {
				t.Errorf("a failed Dump left %v", l)
			}
		})
	}
}

// syncModes are Dump with and without its fsyncs: both keep the old file
// on an error.
var syncModes = []struct {
	name string
	opts []DumpOption
}{{"sync=on", nil}, {"sync=off", []DumpOption{NoSync()}}}

// TestDumpDiskFull dumps into a 1 MiB tmpfs (mounting needs root; the test
// skips without it): a file that does not fit fails with ENOSPC, the old
// file is intact, and no temporary file is left to fill the disk.
func TestDumpDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	path := filepath.Join(dir, "model.pkl")
	small := map[string]any{"w": make([]float64, 1000)}
	if err := Dump(path, small); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for _, ext := range []string{".pkl", ".gz"} {
		for _, mode := range syncModes {
			p := strings.TrimSuffix(path, ".pkl") + ext
			if ext != ".pkl" {
				if err := Dump(p, small); err != nil {
					t.Fatal(err)
				}
				before, _ = os.ReadFile(p)
			}
			// 4 MiB of noise does not fit, compressed or not.
			noise := make([]byte, 4<<20)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range noise {
				noise[i] = byte(rng.Uint32())
			}
			big, err := ndarray.FromBytes(ndarray.Uint8, []int{len(noise)}, ndarray.OrderC, noise)
			if err != nil {
				t.Fatal(err)
			}
			err = Dump(p, map[string]any{"w": big}, mode.opts...)
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("%s %s: err = %v, want ENOSPC", ext, mode.name, err)
			}
			if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
				t.Errorf("%s %s: a failed Dump changed the file", ext, mode.name)
			}
			if l := temps(t, p); len(l) != 0 {
				t.Errorf("%s %s: a failed Dump left %v", ext, mode.name, l)
			}
			if _, err := Load(p); err != nil {
				t.Errorf("%s %s: the old file no longer loads: %v", ext, mode.name, err)
			}
		}
	}
}

// TestAddressSpaceBudget runs Load in a child process whose address space
// is capped at 4 GiB (RLIMIT_AS), on a file that declares a 6 GiB array
// (a sparse file of that size): Load refuses it with ErrTooLarge before
// allocating, where an allocation would have killed the process with Go's
// unrecoverable "out of memory". Decode of the same file as a stream does
// too, and an array that fits the budget loads.
func TestAddressSpaceBudget(t *testing.T) {
	if p := os.Getenv("JLSTORE_RLIMIT_CHILD"); p != "" {
		lim := syscall.Rlimit{Cur: 4 << 30, Max: 4 << 30}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{"load", "decode", "open"} {
			_, _, err := loadAs(mode, p)
			fmt.Printf("%s: %s: %v\n", mode, kindOf(err), err)
		}
		if fits := os.Getenv("JLSTORE_RLIMIT_FITS"); fits != "" {
			v, err := Load(fits)
			if err == nil {
				a, _ := v.(*pickle.Dict).Get("a")
				fmt.Printf("fits: %d bytes\n", len(a.(*ndarray.Array).Data))
			} else {
				fmt.Printf("fits: %v\n", err)
			}
		}
		return
	}
	dir := t.TempDir()
	sparse := func(name string, n int64) string {
		p := filepath.Join(dir, name)
		b := honestJoblib(wrapperSpec{typestr: "f8", shape: []int64{n / 8}, align: true})
		if err := os.WriteFile(p, b[:len(b)-2], 0o644); err != nil {
			t.Fatal(err)
		}
		// The wrapper's BUILD and padding, n sparse zero bytes, then
		// SETITEMS and STOP.
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte{opSETITEMS, opSTOP}, int64(len(b)-2)+n); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := sparse("six_gib.pkl", 6<<30)
	fits := sparse("fits.pkl", 256<<20)
	cmd := child(t, "TestAddressSpaceBudget", "JLSTORE_RLIMIT_CHILD="+big, "JLSTORE_RLIMIT_FITS="+fits)
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child died: %v", err)
	}
	for _, mode := range []string{"load", "decode"} {
		if !strings.Contains(string(out), mode+": TooLarge: ") {
			t.Errorf("%s of a 6 GiB array under a 4 GiB RLIMIT_AS: want ErrTooLarge", mode)
		}
	}
	if !strings.Contains(string(out), "open: TooLarge: ") {
		t.Errorf("open (mmap) of a 6 GiB file under a 4 GiB RLIMIT_AS: want ErrTooLarge")
	}
	if !raceEnabled && !strings.Contains(string(out), fmt.Sprintf("fits: %d bytes", 256<<20)) {
		t.Errorf("a 256 MiB array under a 4 GiB RLIMIT_AS did not load")
	}
}
