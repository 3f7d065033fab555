package mmap_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/jlstore/jlstore/mmap"
)

// Map a file copy-on-write: the view can be changed, the file never is.
func Example() {
	dir, err := os.MkdirTemp("", "mmap-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(path, []byte("hello, mapped world"), 0o644); err != nil {
		log.Fatal(err)
	}

	m, err := mmap.Open(path, mmap.CopyOnWrite)
	if err != nil {
		log.Fatal(err)
	}
	head, err := m.Bytes(0, 5) // aliases the mapping: no copy
	if err != nil {
		log.Fatal(err)
	}
	copy(head, "HELLO")
	all, _ := m.Bytes(0, int64(m.Len()))
	fmt.Printf("mapping: %s\n", all)
	if err := m.Close(); err != nil { // head and all are invalid from here on
		log.Fatal(err)
	}

	disk, _ := os.ReadFile(path)
	fmt.Printf("file:    %s\n", disk)
	// Output:
	// mapping: HELLO, mapped world
	// file:    hello, mapped world
}

func ExampleParseMode() {
	for _, s := range []string{"r", "r+", "w+", "c", "copyonwrite", "x"} {
		m, err := mmap.ParseMode(s)
		fmt.Printf("%q -> %q %v\n", s, m, err != nil)
	}
	// Output:
	// "r" -> "r" false
	// "r+" -> "r+" false
	// "w+" -> "r+" false
	// "c" -> "c" false
	// "copyonwrite" -> "c" false
	// "x" -> "" true
}

// Open a range that does not start on a page boundary; offsets count from
// the start of the range.
func ExampleOpenRange() {
	dir, err := os.MkdirTemp("", "mmap-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(path, []byte("header|payload|trailer"), 0o644); err != nil {
		log.Fatal(err)
	}

	m, err := mmap.OpenRange(path, mmap.ReadOnly, 7, 7)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	p := make([]byte, m.Len())
	if _, err := m.ReadAt(p, 0); err != nil { // guarded copy
		log.Fatal(err)
	}
	fmt.Printf("%d bytes: %s\n", m.Len(), p)
	// Output:
	// 7 bytes: payload
}
