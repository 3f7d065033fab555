package store

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// openF8 dumps {"x": n float64s 0..n-1} to a fresh file and opens it.
func openF8(t *testing.T, n int, opts ...LoadOption) (string, *File, *ndarray.Array) {
	t.Helper()
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i)
	}
	path := filepath.Join(t.TempDir(), "x.pkl")
	if err := Dump(path, map[string]any{"x": x}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	v, _ := f.Root().(*pickle.Dict).Get("x")
	a := v.(*ndarray.Array)
	if !f.Arrays()[0].ZeroCopy {
		t.Fatal("x is not a view of the mapping")
	}
	return path, f, a
}

func sumF8(a *ndarray.Array) float64 {
	x, err := a.Float64s(ndarray.NoCopy())
	if err != nil {
		panic(err)
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

// TestGuardTruncatedFile truncates a mapped file from another process:
// reading the pages past the new end raises SIGBUS, which Guard turns
// into an error wrapping ErrFault; the part still in the file reads fine.
func TestGuardTruncatedFile(t *testing.T) {
	const n = 1 << 17 // 1 MiB
	path, f, a := openF8(t, n)
	if err := f.Guard(func() error {
		if s := sumF8(a); s != float64(n)*(n-1)/2 {
			return fmt.Errorf("sum %v", s)
		}
		return nil
	}); err != nil {
		t.Fatalf("before truncation: %v", err)
	}
	if out, err := exec.Command("truncate", "-s", "8192", path).CombinedOutput(); err != nil {
		t.Skipf("truncate: %v %s", err, out)
	}
	err := f.Guard(func() error {
		_ = sumF8(a)
		return nil
	})
	if !errors.Is(err, ErrFault) {
		t.Fatalf("reading a truncated mapping: err = %v, want ErrFault", err)
	}
	var pe *PathError
	if !errors.As(err, &pe) || pe.Path != path {
		t.Errorf("err = %v, want a *PathError naming %s", err, path)
	}
	t.Logf("%v", err)
	// Other panics pass through.
	defer func() {
		if r := recover(); r != "not a fault" {
			t.Errorf("recovered %v, want the panic of fn", r)
		}
	}()
	f.Guard(func() error { panic("not a fault") })
}

// TestGuardAfterClose reads a view after Close inside Guard: the memory is
// unmapped, and the SIGSEGV comes back as ErrClosed. (Should the address
// space have been reused in between, the read succeeds and reads whatever
// is there: views are invalid after Close.)
func TestGuardAfterClose(t *testing.T) {
	_, f, a := openF8(t, 1<<17)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	err := f.Guard(func() error { _ = sumF8(a); return nil })
	if err == nil {
		t.Skip("the unmapped address range was reused")
	}
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

// TestReadWriteFlushOnClose writes through an "r+" view: Close flushes it
// to the file, which loads with the change. A "c" view's change never
// reaches the file.
func TestReadWriteFlushOnClose(t *testing.T) {
	path, f, a := openF8(t, 1024, MmapMode("r+"))
	x, err := a.Float64s(ndarray.NoCopy())
	if err != nil {
		t.Fatal(err)
	}
	x[7] = 42.5
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	v, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := v.(*pickle.Dict).Get("x")
	if y, _ := got.(*ndarray.Array).Float64s(); y[7] != 42.5 {
		t.Errorf("after Close of an r+ mapping the file holds x[7] = %v, want 42.5", y[7])
	}

	fc, err := Open(path, MmapMode("c"))
	if err != nil {
		t.Fatal(err)
	}
	cv, _ := fc.Root().(*pickle.Dict).Get("x")
	cx, _ := cv.(*ndarray.Array).Float64s(ndarray.NoCopy())
	cx[7] = -1
	if err := fc.Close(); err != nil {
		t.Fatal(err)
	}
	v, _ = Load(path)
	got, _ = v.(*pickle.Dict).Get("x")
	if y, _ := got.(*ndarray.Array).Float64s(); y[7] != 42.5 {
		t.Errorf("a \"c\" mapping changed the file: x[7] = %v", y[7])
	}
}

// TestConcurrentReaders runs Load, Open and reads of one open File from
// many goroutines while another goroutine replaces the file with Dump
// over and over: every load succeeds and sees one whole version, never a
// mix or a partial file, and the race detector finds nothing.
func TestConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shared.pkl")
	version := func(k int) map[string]any {
		x := make([]float64, 4096)
		for i := range x {
			x[i] = float64(k)
		}
		return map[string]any{"k": int64(k), "x": x}
	}
	if err := Dump(path, version(0)); err != nil {
		t.Fatal(err)
	}
	check := func(root any) error {
		d, ok := root.(*pickle.Dict)
		if !ok {
			return fmt.Errorf("root is %s", pickle.TypeName(root))
		}
		k, _ := d.Get("k")
		xv, _ := d.Get("x")
		x, err := xv.(*ndarray.Array).Float64s()
		if err != nil {
			return err
		}
		for _, v := range x {
			if v != float64(k.(int64)) {
				return fmt.Errorf("version %v holds %v", k, v)
			}
		}
		return nil
	}
	shared, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()

	const readers, rounds = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, readers*rounds*3)
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		for k := 1; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := Dump(path, version(k%1000)); err != nil {
				errs <- err
				return
			}
		}
	}()
	var rg sync.WaitGroup
	for r := range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for range rounds {
				switch r % 3 {
				case 0:
					v, err := Load(path)
					if err == nil {
						err = check(v)
					}
					if err != nil {
						errs <- fmt.Errorf("Load: %w", err)
					}
				case 1:
					f, err := Open(path)
					if err == nil {
						err = check(f.Root())
						_ = f.Arrays()
						if cerr := f.Close(); err == nil {
							err = cerr
						}
					}
					if err != nil {
						errs <- fmt.Errorf("Open: %w", err)
					}
				case 2:
					// One File, many readers: its arrays and Arrays().
					if err := check(shared.Root()); err != nil {
						errs <- fmt.Errorf("shared File: %w", err)
					}
					if len(shared.Arrays()) != 1 {
						errs <- errors.New("shared File lists the wrong arrays")
					}
				}
			}
		}()
	}
	rg.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if l := temps(t, path); len(l) != 0 {
		t.Errorf("temporary files left: %v", l)
	}
	// Close may race with Close.
	var cg sync.WaitGroup
	for range 4 {
		cg.Add(1)
		go func() { defer cg.Done(); shared.Close() }()
	}
	cg.Wait()
}
