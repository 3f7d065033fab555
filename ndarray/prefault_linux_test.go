//go:build linux

package ndarray

import (
	"runtime"
	"syscall"
	"testing"
)

func minorFaults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// TestPrefault: Prefault keeps a buffer's contents, and writing a fresh
// buffer after Prefault takes (almost) no page faults, where writing one
// without it takes one per page (4 KiB or huge).
func TestPrefault(t *testing.T) {
	b := AlignedBytes(3<<20+123, 64)
	for i := range b {
		b[i] = byte(i * 7)
	}
	Prefault(b)
	Prefault(b[5:77]) // less than a page: nothing to do
	for i := range b {
		if b[i] != byte(i*7) {
			t.Fatalf("byte %d changed", i)
		}
	}

	const n = 64 << 20
	runtime.LockOSThread() // the faults are counted per thread
	defer runtime.UnlockOSThread()
	write := func(prefault bool) int64 {
		// A fresh anonymous mapping: the Go heap may hand back touched
		// memory.
		buf, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Munmap(buf)
		if prefault {
			Prefault(buf)
		}
		before := minorFaults(t)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		return minorFaults(t) - before
	}
	cold, warm := write(false), write(true)
	t.Logf("writing %d MiB: %d faults fresh, %d after Prefault", n>>20, cold, warm)
	// Fresh memory takes a fault per 4 KiB page, or per 2 MiB huge page.
	if cold < n/(2<<20)/2 {
		t.Fatalf("fresh memory took only %d faults", cold)
	}
	if warm > cold/10 {
		t.Errorf("after Prefault writing took %d faults (fresh: %d)", warm, cold)
	}
}
