// Package pread reads large ranges of a file with several goroutines at
// once. Copying a file from the page cache into memory is bound by one
// core's memory bandwidth, so two or more cores copy a large range faster
// than one read(2) does.
package pread

import (
	"io"
	"runtime"
	"sync"
)

// Chunk is the piece each goroutine reads at a time, and Min the size from
// which ReadAt splits a read.
const (
	Chunk = 4 << 20
	Min   = 16 << 20
)

// Parallel turns the splitting on; benchmarks turn it off to compare.
var Parallel = true

// ReadAt is io.ReaderAt's ReadAt over f, split among up to four goroutines
// (no more than GOMAXPROCS) when p is at least Min bytes. As for
// io.ReaderAt, a short read returns the bytes read up to the first gap
// and an error (io.EOF at the end of the file).
func ReadAt(f io.ReaderAt, p []byte, off int64) (int, error) {
	workers := min(runtime.GOMAXPROCS(0), 4, (len(p)+Chunk-1)/Chunk)
	if !Parallel || len(p) < Min || workers < 2 {
		return f.ReadAt(p, off)
	}
	chunks := (len(p) + Chunk - 1) / Chunk
	type result struct {
		n   int
		err error
	}
	res := make([]result, chunks)
	var (
		mu     sync.Mutex
		next   int
		failed bool
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := failed || i >= chunks
				mu.Unlock()
				if stop {
					return
				}
				start := i * Chunk
				end := min(start+Chunk, len(p))
				n, err := f.ReadAt(p[start:end], off+int64(start))
				res[i] = result{n, err}
				if err != nil || n < end-start {
					mu.Lock()
					failed = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for i := range chunks {
		start := i * Chunk
		end := min(start+Chunk, len(p))
		r := res[i]
		total += r.n
		if r.n < end-start {
			if r.err == nil {
				// Not read: a goroutine stopped after an earlier failure.
				r.err = io.ErrUnexpectedEOF
			}
			return total, r.err
		}
	}
	return total, nil
}

// Reader reads a file sequentially from an offset with pread, splitting
// large reads as ReadAt does. It never moves the file's own offset.
type Reader struct {
	f   io.ReaderAt
	off int64
}

// NewReader returns a Reader of f from off.
func NewReader(f io.ReaderAt, off int64) *Reader { return &Reader{f: f, off: off} }

// Read reads up to len(p) bytes; at the end of the file it returns io.EOF.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := ReadAt(r.f, p, r.off)
	r.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// Offset returns the file offset of the next byte Read returns.
func (r *Reader) Offset() int64 { return r.off }
