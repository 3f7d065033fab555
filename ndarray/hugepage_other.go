//go:build !linux

package ndarray

const hugePage = 2 << 20

func adviseHuge(b []byte) {}
