// Package sysmem tells how much memory this process can really get, so that
// decoders can refuse a declared size before allocating it.
package sysmem

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fallback is used when nothing can be read from the system.
const Fallback = 1 << 32

var (
	mu       sync.Mutex
	cached   int64
	cachedAt time.Time
)

// Available is AvailableNow, cached for 100 ms: decoders call it once per
// decode, and reading /proc costs tens of microseconds.
func Available() int64 {
	mu.Lock()
	defer mu.Unlock()
	if now := time.Now(); cachedAt.IsZero() || now.Sub(cachedAt) > 100*time.Millisecond {
		cached, cachedAt = AvailableNow(), now
	}
	return cached
}

// AvailableNow returns the smaller of MemAvailable (from /proc/meminfo) and the
// headroom under RLIMIT_AS and RLIMIT_DATA. It is a best effort: on systems
// without /proc it returns Fallback.
func AvailableNow() int64 {
	avail := int64(-1)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			line := s.Text()
			if strings.HasPrefix(line, "MemAvailable:") {
				fields := strings.Fields(line)
				if len(fields) >= 2 {
					if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
						avail = kb * 1024
					}
				}
				break
			}
		}
		f.Close()
	}
	for _, res := range []int{syscall.RLIMIT_AS, syscall.RLIMIT_DATA} {
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(res, &rl); err != nil || rl.Cur == ^uint64(0) || rl.Cur > 1<<62 {
			continue
		}
		head := int64(rl.Cur) - vmSize()
		if head < 0 {
			head = 0
		}
		if avail < 0 || head < avail {
			avail = head
		}
	}
	if avail < 0 {
		return Fallback
	}
	return avail
}

// vmSize returns this process's virtual size in bytes (VmSize), or 0.
func vmSize() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmSize:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				kb, _ := strconv.ParseInt(fields[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
