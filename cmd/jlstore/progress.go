package main

import (
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressThreshold is the amount of work below which no progress is
// shown: smaller jobs finish before a bar is worth drawing.
const progressThreshold = 64 << 20

// interactive reports whether the tool's stderr is a terminal.
func (c *cli) interactive() bool {
	f, ok := c.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar is a byte progress bar on stderr, or nothing.
type bar struct{ pb *progressbar.ProgressBar }

// progress returns a bar for total bytes of work, drawn only when stderr
// is a terminal and the work is large.
func (c *cli) progress(total int64, desc string) *bar {
	return c.newBar(total, total, true, desc)
}

// steps returns a bar that counts n steps of a job over size bytes.
func (c *cli) steps(n, size int64, desc string) *bar {
	return c.newBar(n, size, false, desc)
}

func (c *cli) newBar(total, size int64, bytes bool, desc string) *bar {
	if size < progressThreshold || !c.interactive() {
		return &bar{}
	}
	return &bar{progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(c.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(bytes),
		progressbar.OptionShowCount(),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *bar) add(n int64) {
	if b.pb != nil {
		b.pb.Add64(n)
	}
}

func (b *bar) finish() {
	if b.pb != nil {
		b.pb.Finish()
		b.pb = nil
	}
}

// spin is an indeterminate progress indicator for one step whose
// progress cannot be measured (a Load or a Dump), with elapsed time.
type spin struct {
	pb   *progressbar.ProgressBar
	stop chan struct{}
	wg   sync.WaitGroup
}

// spinner starts an indicator for a step over size bytes of input, drawn
// only when stderr is a terminal and the input is large.
func (c *cli) spinner(size int64, desc string) *spin {
	if size < progressThreshold || !c.interactive() {
		return &spin{}
	}
	s := &spin{
		pb: progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(c.stderr),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
		),
		stop: make(chan struct{}),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.pb.Add(1)
			}
		}
	}()
	return s
}

func (s *spin) done() {
	if s.pb == nil {
		return
	}
	close(s.stop)
	s.wg.Wait()
	s.pb.Finish()
	s.pb = nil
}
