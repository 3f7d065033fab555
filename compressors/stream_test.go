package compressors

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// endKeepers are the codecs whose readers consume nothing after the end
// of their stream from a caller's *bufio.Reader: the store package reads
// the next object from it. (All of them: the test says so per codec.)
var endKeepers = []string{Zlib, Gzip, BZ2, LZMA, XZ, LZ4, Zstd, ZF}

// chunkings wrap the input under the caller's bufio.Reader.
var chunkings = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"onebyte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
}

// TestStopsAtStreamEnd decodes a stream followed by other bytes from one
// bufio.Reader: after the decoded data, the bufio.Reader must still hold
// every byte after the stream.
func TestStopsAtStreamEnd(t *testing.T) {
	payloads := []input{inputs()[1], {"float64_256KiB", floatBytes(32 << 10)}}
	zc, _ := Lookup(Zlib)
	for _, name := range endKeepers {
		c, _ := Lookup(name)
		for _, p := range payloads {
			enc := compress(t, c, -1, p.data)
			// What follows: nothing, another stream (of zlib, which no
			// endKeeper takes for its own continuation), plain bytes.
			nexts := map[string][]byte{
				"none":   nil,
				"zlib":   compress(t, zc, -1, []byte("the next object")),
				"plain":  []byte("\x80\x04\x95 a pickle"),
				"zeros":  make([]byte, 100),
				"1byte":  {0x42},
				"magic3": {0x04, 0x22, 0x4d},
			}
			for nextName, next := range nexts {
				for _, size := range []int{16, 4096, 64 << 10} {
					for _, ch := range chunkings {
						t.Run(fmt.Sprintf("codec=%s/data=%s/next=%s/buf=%d/read=%s", name, p.name, nextName, size, ch.name), func(t *testing.T) {
							if name == ZF && size < zfMaxHeader {
								t.Skip("a z-file header does not fit: ReadZF buffers again")
							}
							if name == XZ && nextName == "zeros" {
								t.Skip("stream padding, which the xz reader reads")
							}
							in := append(bytes.Clone(enc), next...)
							br := bufio.NewReaderSize(ch.wrap(bytes.NewReader(in)), size)
							r, got, err := NewReader(br)
							if err != nil || got != name {
								t.Fatalf("NewReader: %q, %v", got, err)
							}
							dst := make([]byte, len(p.data))
							if _, err := io.ReadFull(r, dst); err != nil || !bytes.Equal(dst, p.data) {
								t.Fatalf("ReadFull: %v", err)
							}
							// The stream's end: EOF, or an error about what
							// follows, which stays unread.
							_, err = r.Read(make([]byte, 1))
							if len(next) == 0 || name == ZF {
								if err != io.EOF {
									t.Fatalf("after the data: %v, want io.EOF", err)
								}
							} else if err == nil || err == io.EOF {
								t.Fatalf("after the data: %v, want an error about the bytes after the stream", err)
							} else {
								checkBadInput(t, "bytes after the stream", err)
							}
							rest, err := io.ReadAll(br)
							if err != nil {
								t.Fatal(err)
							}
							if !bytes.Equal(rest, next) {
								t.Fatalf("bufio.Reader holds % x after the stream, want % x", rest[:min(len(rest), 16)], next[:min(len(next), 16)])
							}
							r.Close()
						})
					}
				}
			}
		}
	}
}

// refDecode decodes zlib or gzip the way the package did before it gave
// flate a bufio.Reader: through a countReader, which flate reads byte by
// byte, so that every byte it takes is counted as it goes.
func refDecode(name string, enc []byte) ([]byte, error) {
	src := newCountReader(bytes.NewReader(enc))
	var dec io.ReadCloser
	var err error
	switch name {
	case Zlib:
		dec, err = zlibNewReader(src)
	case Gzip:
		dec, err = gzipNewReader(src)
	}
	if err != nil {
		return nil, wrapDecodeErr(name, src, err)
	}
	r := &decodeReader{name: name, src: src, dec: dec, strictEnd: name == Zlib}
	return io.ReadAll(r)
}

// TestErrorOffsets: damaged or cut zlib and gzip streams report the same
// offsets (compressed bytes consumed) as a decoder that counts every
// byte it reads, and a cut stream reports the whole input consumed.
func TestErrorOffsets(t *testing.T) {
	payloads := []input{{"float64_64KiB", floatBytes(8 << 10)}, {"uniform_64KiB", uniformFloats(8 << 10)}}
	for _, name := range []string{Zlib, Gzip} {
		c, _ := Lookup(name)
		for _, p := range payloads {
			t.Run(fmt.Sprintf("codec=%s/data=%s", name, p.name), func(t *testing.T) {
				t.Parallel()
				enc := compress(t, c, 9, p.data)
				check := func(what string, b []byte) {
					t.Helper()
					got, err := readAll(c, b)
					want, wantErr := refDecode(name, b)
					if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
						t.Fatalf("%s: %d bytes, %v; the byte-counting decoder: %d bytes, %v", what, len(got), err, len(want), wantErr)
					}
					if err == nil {
						return
					}
					var fe, wfe *FormatError
					if !errors.As(err, &fe) || !errors.As(wantErr, &wfe) {
						t.Fatalf("%s: %v / %v: not FormatErrors", what, err, wantErr)
					}
					if fe.Offset != wfe.Offset || fe.Offset < 0 || fe.Offset > int64(len(b)) {
						t.Fatalf("%s: offset %d, the byte-counting decoder says %d (input %d bytes): %v", what, fe.Offset, wfe.Offset, len(b), err)
					}
				}
				for _, n := range cuts(len(enc)) {
					b := enc[:n]
					check(fmt.Sprintf("cut at %d", n), b)
					_, err := readAll(c, b)
					var fe *FormatError
					if errors.As(err, &fe) && fe.Offset != int64(n) {
						t.Fatalf("cut at %d: offset %d, want %d", n, fe.Offset, n)
					}
				}
				for i := 0; i < len(enc); i += 1 + len(enc)/300 {
					b := bytes.Clone(enc)
					b[i] ^= 0x24
					check(fmt.Sprintf("byte %d flipped", i), b)
				}
			})
		}
	}
}
