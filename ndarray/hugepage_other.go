//go:build !linux

package ndarray

const hugePage = 2 << 20

func adviseHuge(b []byte) {}

// Prefault backs b with memory now where the platform can without
// writing to it; here it cannot, and Prefault does nothing.
func Prefault(b []byte) {}
