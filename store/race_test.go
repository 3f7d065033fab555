//go:build race

package store

// raceEnabled: the race detector's shadow memory makes RSS figures
// meaningless, so memory tests skip under it (make test runs them again
// without -race).
const raceEnabled = true
