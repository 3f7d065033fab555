package xxh32_test

import (
	"fmt"

	"github.com/jlstore/jlstore/internal/xxh32"
)

func ExampleChecksum() {
	fmt.Printf("%#08x\n", xxh32.Checksum([]byte("abc")))

	var d xxh32.Digest
	d.Write([]byte("a"))
	d.Write([]byte("bc"))
	fmt.Printf("%#08x\n", d.Sum32())
	// Output:
	// 0x32d153ff
	// 0x32d153ff
}
