package store

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/jlstore/jlstore/ndarray"
)

// procStatus returns a field of /proc/self/status in bytes.
func procStatus(t testing.TB, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestPeakRSSCompressedLoad loads a compressed file in a fresh process and
// checks that its peak RSS grows by at most the array bytes + 16 MiB: the
// payload is decompressed straight into its final buffer. With
// -jlstore.big the array is 1 GiB, else 64 MiB.
func TestPeakRSSCompressedLoad(t *testing.T) {
	if path := os.Getenv("JLSTORE_RSS_CHILD"); path != "" {
		debug.SetGCPercent(-1) // no GC help: the peak is what Load needs
		runtime.GC()
		base := procStatus(t, "VmRSS")
		v, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		peak := procStatus(t, "VmHWM")
		runtime.KeepAlive(v)
		fmt.Printf("RSS base=%d peak=%d\n", base, peak)
		return
	}
	if raceEnabled {
		t.Skip("RSS is meaningless under the race detector; make test runs this without -race")
	}
	n := int64(64 << 20)
	if *benchBig {
		n = 1 << 30
	}
	x := make([]float64, n/8)
	for i := range x {
		x[i] = math.Round(1000*math.Sin(float64(i)/1000)) / 1000
	}
	a, err := ndarray.FromFloat64s([]int{len(x) / 1024, 1024}, x)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, ext := range []string{".z", ".lz4"} {
		path := filepath.Join(dir, "big"+ext)
		if err := Dump(path, map[string]any{"x": a}); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSSCompressedLoad$", "-test.count=1")
		cmd.Env = append(os.Environ(), "JLSTORE_RSS_CHILD="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var base, peak int64
		for _, line := range strings.Split(string(out), "\n") {
			if _, err := fmt.Sscanf(line, "RSS base=%d peak=%d", &base, &peak); err == nil {
				break
			}
		}
		if peak == 0 {
			t.Fatalf("child printed no RSS:\n%s", out)
		}
		grow := peak - base
		t.Logf("%s: %d MiB of arrays, peak RSS grew by %.1f MiB (base %.1f MiB)", ext, n>>20, float64(grow)/(1<<20), float64(base)/(1<<20))
		if grow > n+16<<20 {
			t.Errorf("%s: peak RSS grew by %d bytes for %d bytes of arrays (limit +16 MiB)", ext, grow, n)
		}
	}
}
