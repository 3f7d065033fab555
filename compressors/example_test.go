package compressors_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/jlstore/jlstore/compressors"
)

// Compress as joblib.dump(obj, "model.pkl.gz") would, then read it back
// without naming the codec.
func Example() {
	codec, level, err := compressors.Resolve("", 0, "model.pkl.gz")
	if err != nil {
		log.Fatal(err)
	}
	var file bytes.Buffer
	w, err := codec.NewWriter(&file, level)
	if err != nil {
		log.Fatal(err)
	}
	payload := bytes.Repeat([]byte("joblib "), 1000)
	w.Write(payload)
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r, name, err := compressors.NewReader(&file, compressors.MaxOutput(1<<20))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	dst := make([]byte, len(payload))
	if _, err := io.ReadFull(r, dst); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s level %d, magic % x\n", codec.Name, level, codec.Magic)
	fmt.Println("detected:", name, "same bytes:", bytes.Equal(dst, payload))
	// Output:
	// gzip level 3, magic 1f 8b
	// detected: gzip same bytes: true
}

// A bomb: 16 MiB of zeros packed into kilobytes stops at the limit.
func ExampleMaxOutput() {
	zlib, _ := compressors.Lookup(compressors.Zlib)
	var file bytes.Buffer
	w, _ := zlib.NewWriter(&file, 9)
	w.Write(make([]byte, 16<<20))
	w.Close()

	r, _, _ := compressors.NewReader(&file, compressors.MaxOutput(1<<20))
	_, err := io.Copy(io.Discard, r)
	fmt.Println(file.Len() < 32<<10, err)
	// Output:
	// true zlib: decoded data exceeds the limit of 1048576 bytes: jlstore: too large
}
