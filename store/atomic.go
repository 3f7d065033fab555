package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// tempPrefix returns the prefix of the temporary files that Dump writes
// beside path: ".<name>.jlstore-".
func tempPrefix(path string) string {
	return "." + filepath.Base(path) + ".jlstore-"
}

// createTemp creates the temporary file for path in the same folder. Its
// name carries this process's id, so that a later Dump can tell litter left
// by a crashed writer from a file another live process is writing.
func createTemp(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	return os.CreateTemp(dir, tempPrefix(path)+strconv.Itoa(os.Getpid())+"-*.tmp")
}

// removeLitter removes temporary files of path whose writer is no longer
// running. It is best effort: errors are ignored.
func removeLitter(path string) {
	dir := filepath.Dir(path)
	prefix := tempPrefix(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".tmp") {
			continue
		}
		pidText, _, ok := strings.Cut(strings.TrimPrefix(name, prefix), "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 {
			continue
		}
		if pid != os.Getpid() && processAlive(pid) {
			continue
		}
		if pid == os.Getpid() {
			// Our own: only files no writer of ours holds. We cannot tell,
			// so leave them to the deferred cleanup of their Dump.
			continue
		}
		os.Remove(filepath.Join(dir, name))
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// writeAtomic writes path through a temporary file in the same folder:
// write, fsync, close, rename over path, fsync the folder (no fsyncs when
// sync is false). On any error the temporary file is removed and path is
// untouched.
func writeAtomic(path string, sync bool, write func(f *os.File) error) (err error) {
	removeLitter(path)
	f, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("jlstore: dump %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("jlstore: dump %s: %w", path, err)
	}
	if sync {
		if err = f.Sync(); err != nil {
			return fmt.Errorf("jlstore: dump %s: fsync: %w", path, err)
		}
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("jlstore: dump %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("jlstore: dump %s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("jlstore: dump %s: rename: %w", path, err)
	}
	if !sync {
		return nil
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
