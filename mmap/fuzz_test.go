package mmap

import (
	"errors"
	"testing"
)

func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"r", "r+", "w+", "c", "readonly", "readwrite", "write", "copyonwrite", "", "rw", "r\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if err != nil {
			if !errors.Is(err, ErrMode) || m != "" {
				t.Fatalf("ParseMode(%q) = %q, %v", s, m, err)
			}
			return
		}
		if m != ReadOnly && m != ReadWrite && m != CopyOnWrite {
			t.Fatalf("ParseMode(%q) = %q", s, m)
		}
		// A parsed mode parses to itself.
		if again, err := ParseMode(string(m)); err != nil || again != m {
			t.Fatalf("ParseMode(%q) = %q, %v", m, again, err)
		}
	})
}
