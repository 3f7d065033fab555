//go:build !unix

package mmap

// advise does nothing where there is no madvise: hints are only advice.
func advise(b []byte, h Hint) error { return nil }
