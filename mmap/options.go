package mmap

import "fmt"

// Hint is an madvise hint about how a mapping will be read.
type Hint int

const (
	// Normal is the kernel's default read-ahead (MADV_NORMAL).
	Normal Hint = iota
	// Random turns read-ahead off (MADV_RANDOM).
	Random
	// Sequential reads ahead aggressively and drops pages behind
	// (MADV_SEQUENTIAL).
	Sequential
	// WillNeed starts reading the whole range in now (MADV_WILLNEED).
	WillNeed
)

var hintNames = [...]string{"normal", "random", "sequential", "willneed"}

func (h Hint) String() string {
	if h < 0 || int(h) >= len(hintNames) {
		return fmt.Sprintf("Hint(%d)", int(h))
	}
	return hintNames[h]
}

func (h Hint) valid() error {
	if h < 0 || int(h) >= len(hintNames) {
		return fmt.Errorf("mmap: unknown hint %v: %w", h, ErrRange)
	}
	return nil
}

// Option configures Open and OpenRange.
type Option func(*options) error

type options struct {
	advice *Hint // nil: leave the kernel's default
}

// WithAdvice applies h to the new mapping, as Advise would. By default no
// madvise call is made.
func WithAdvice(h Hint) Option {
	return func(o *options) error {
		if err := h.valid(); err != nil {
			return err
		}
		o.advice = &h
		return nil
	}
}

func buildOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}
