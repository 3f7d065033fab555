package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/jlstore/jlstore/bench"
)

// machine describes the CPU, kernel, Go and Python of this run.
func machine(py, cache string) Machine {
	m := Machine{
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		MemTotal:   meminfoKB("MemTotal") << 10,
		Kernel:     readTrim("/proc/sys/kernel/osrelease"),
		THP:        readTrim("/sys/kernel/mm/transparent_hugepage/enabled"),
		Go:         runtime.Version(),
		PageCache:  "warm: every input file is read once before its case runs, so loads read from the page cache; no case drops the cache",
		Filesystem: filesystem(cache),
		PythonPath: py,
		Balloon:    hasBalloon(),
	}
	if out, err := pythonCmd(py, bench.PyScript, "versions").Output(); err == nil {
		json.Unmarshal(out, &m.Python)
	}
	return m
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func meminfoKB(key string) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			var n int64
			fmt.Sscan(strings.TrimSpace(v), &n)
			return n
		}
	}
	return 0
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// gitCommit names the jlstore commit measured: $JLBENCH_COMMIT when set
// (for a build from an exported tree), else git's HEAD.
func gitCommit() string {
	if c := os.Getenv("JLBENCH_COMMIT"); c != "" {
		return c
	}
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// filesystem names the file system the inputs are on.
func filesystem(path string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "?"
	}
	names := map[int64]string{
		0xEF53: "ext4", 0x01021994: "tmpfs", 0x58465342: "xfs", 0x9123683E: "btrfs",
		0x794C7630: "overlayfs", 0x6969: "nfs", 0x65735546: "fuse",
	}
	if n, ok := names[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", st.Type)
}

// hasBalloon reports a virtio balloon device: in such a virtual machine,
// memory a process frees may go back to the host, and the next first
// touch of it costs a fault in the host.
func hasBalloon() bool {
	ents, err := os.ReadDir("/sys/bus/virtio/drivers/virtio_balloon")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "virtio") {
			return true
		}
	}
	return false
}
