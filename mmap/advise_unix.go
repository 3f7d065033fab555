//go:build unix

package mmap

import "golang.org/x/sys/unix"

var madvHints = [...]int{
	Normal:     unix.MADV_NORMAL,
	Random:     unix.MADV_RANDOM,
	Sequential: unix.MADV_SEQUENTIAL,
	WillNeed:   unix.MADV_WILLNEED,
}

// advise calls madvise on b, which must start on a page boundary.
func advise(b []byte, h Hint) error {
	return unix.Madvise(b, madvHints[h])
}
