package mmap

import (
	"fmt"

	xmmap "golang.org/x/exp/mmap"
)

// ReaderAt is a read-only mapping of a whole file that is reachable only
// through io.ReaderAt. It never hands out the mapped bytes, so no slice can
// outlive it, but its reads are not guarded: a file truncated by another
// process crashes the reader with SIGBUS. Close must not run concurrently
// with ReadAt. Use Mapping when you need views, guarded reads or modes
// other than "r".
type ReaderAt struct {
	r *xmmap.ReaderAt
}

// OpenReaderAt maps the file at path read-only using golang.org/x/exp/mmap.
func OpenReaderAt(path string) (*ReaderAt, error) {
	r, err := xmmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	return &ReaderAt{r: r}, nil
}

// ReadAt implements io.ReaderAt.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) { return r.r.ReadAt(p, off) }

// Len returns the file's length.
func (r *ReaderAt) Len() int { return r.r.Len() }

// Close unmaps the file. It may be called more than once.
func (r *ReaderAt) Close() error { return r.r.Close() }
