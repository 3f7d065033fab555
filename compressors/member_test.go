package compressors

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// multiMember are the codecs whose streams may hold several members that
// the reader reads as one: two compressed streams back to back.
var multiMember = map[string]bool{Gzip: true, BZ2: true, XZ: true, LZ4: true, Zstd: true}

// readNoCross reads r to its end with a large buffer and fails if a Read
// returns bytes on both sides of boundary.
func readNoCross(t *testing.T, r io.Reader, boundary int) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(buf)
		if len(out) < boundary && len(out)+n > boundary {
			t.Fatalf("a Read returned bytes %d to %d, across the member boundary at %d", len(out), len(out)+n, boundary)
		}
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(out), err)
		}
	}
}

// TestFinishMember: after some of a member's bytes, FinishMember reads
// the rest of it and leaves the next member, and whatever follows, in the
// caller's bufio.Reader.
func TestFinishMember(t *testing.T) {
	first, second := floatBytes(20000), []byte("the second member, short")
	next := []byte("\x80\x04\x95 the next object")
	for _, c := range writableCodecs(t) {
		a := compress(t, c, -1, first)
		var b []byte
		if multiMember[c.Name] {
			b = compress(t, c, -1, second)
		}
		in := slices2(a, b, next)
		t.Run("codec="+c.Name+"/whole", func(t *testing.T) {
			// Without FinishMember, both members read as one, and no
			// Read crosses from one to the other.
			if !multiMember[c.Name] {
				t.Skip("one member")
			}
			r, _, err := NewReader(bufio.NewReader(bytes.NewReader(slices2(a, b))))
			if err != nil {
				t.Fatal(err)
			}
			if got := readNoCross(t, r, len(first)); !bytes.Equal(got, slices2(first, second)) {
				t.Fatalf("decoded %d bytes, want %d", len(got), len(first)+len(second))
			}
		})
		for _, read := range []int{0, 1, len(first) / 2, len(first)} {
			for _, ch := range chunkings[:2] {
				for _, size := range []int{16, 64 << 10} {
					if c.Name == ZF && size < zfMaxHeader {
						continue
					}
					t.Run(fmt.Sprintf("codec=%s/read=%d/chunks=%s/buf=%d", c.Name, read, ch.name, size), func(t *testing.T) {
						br := bufio.NewReaderSize(ch.wrap(bytes.NewReader(in)), size)
						r, _, err := NewReader(br)
						if err != nil {
							t.Fatal(err)
						}
						got := make([]byte, read)
						if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, first[:read]) {
							t.Fatalf("ReadFull: %v", err)
						}
						if read < len(first) {
							// Too little room for the rest.
							_, err := FinishMember(r, int64(len(first)-read-1))
							if !errors.Is(err, ErrTooLarge) {
								t.Fatalf("FinishMember with too small a max: %v", err)
							}
							return
						}
						n, err := FinishMember(r, int64(len(first)-read))
						if err != nil || n != int64(len(first)-read) {
							t.Fatalf("FinishMember: %d, %v; want %d", n, err, len(first)-read)
						}
						if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
							t.Fatalf("Read after FinishMember: %d, %v", n, err)
						}
						r.Close()
						rest := slices2(b, next)
						if b != nil {
							// The second member, as a stream of its own.
							r, _, err := NewReader(br)
							if err != nil {
								t.Fatal(err)
							}
							got, err := io.ReadAll(io.LimitReader(r, int64(len(second))))
							if err != nil || !bytes.Equal(got, second) {
								t.Fatalf("second member: %q, %v", got, err)
							}
							if n, err := FinishMember(r, 0); n != 0 || err != nil {
								t.Fatalf("FinishMember at the member's end: %d, %v", n, err)
							}
							rest = next
						}
						if got, _ := io.ReadAll(br); !bytes.Equal(got, rest) {
							t.Fatalf("the bufio.Reader holds %d bytes after the member, want %d", len(got), len(rest))
						}
					})
				}
			}
		}
	}
}

// TestFinishMemberDamage: FinishMember checks the member's trailer (lzma
// has none).
func TestFinishMemberDamage(t *testing.T) {
	data := inputs()[1].data
	for _, c := range writableCodecs(t) {
		if c.Name == LZMA {
			continue
		}
		for _, d := range framingDamage[c.Name] {
			enc := compress(t, c, -1, data)
			d.edit(enc)
			if bytes.Equal(enc, compress(t, c, -1, data)) {
				continue
			}
			t.Run(fmt.Sprintf("codec=%s/damage=%s", c.Name, d.name), func(t *testing.T) {
				r, _, err := NewReader(bytes.NewReader(enc))
				if err != nil {
					checkBadInput(t, "NewReader", err)
					return
				}
				got := make([]byte, len(data))
				if _, err := io.ReadFull(r, got); err != nil {
					checkBadInput(t, "ReadFull", err)
					return
				}
				_, err = FinishMember(r, 1<<20)
				checkBadInput(t, "FinishMember", err)
			})
		}
	}
}

func TestFinishMemberOther(t *testing.T) {
	// Data passed through: nothing to finish, nothing read.
	br := bufio.NewReader(bytes.NewReader([]byte("plain bytes")))
	r, name, err := NewReader(br)
	if err != nil || name != "" {
		t.Fatal(name, err)
	}
	if n, err := FinishMember(r, 100); n != 0 || err != nil {
		t.Fatalf("plain: %d, %v", n, err)
	}
	if got, _ := io.ReadAll(br); string(got) != "plain bytes" {
		t.Fatalf("plain: %q left", got)
	}
	// Not a reader of this package.
	if _, err := FinishMember(bytes.NewReader(nil), 100); err == nil {
		t.Fatal("FinishMember of a bytes.Reader succeeded")
	}
	// A cut member.
	enc := compress(t, mustLookup(Gzip), -1, floatBytes(1000))
	r, _, err = NewReader(bytes.NewReader(enc[:len(enc)-3]))
	if err != nil {
		t.Fatal(err)
	}
	_, err = FinishMember(r, 1<<20)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a cut member: %v", err)
	}
}

// TestBZ2SourceCoincidence feeds bz2Source bytes that hold the end-of-
// stream magic followed by more data, as a block might: every byte comes
// out in order and is counted, and the two held after the magic are taken
// from the bufio.Reader when a third is asked for.
func TestBZ2SourceCoincidence(t *testing.T) {
	for pad := range uint(8) {
		// 16 bytes of header-like data, then the magic and a CRC shifted
		// to leave pad bits, then more.
		var bits []byte
		var acc uint64
		var nacc uint
		put := func(v uint64, n uint) {
			for i := int(n) - 1; i >= 0; i-- {
				acc = acc<<1 | v>>uint(i)&1
				nacc++
				if nacc == 8 {
					bits = append(bits, byte(acc))
					acc, nacc = 0, 0
				}
			}
		}
		put(0x425a6839, 32)
		put(0x31415926, 32)
		put(0, 8-pad)
		put(bz2EndMagic, 48)
		put(0xdeadbeef, 32)
		put(0x55, pad) // the padding bits
		if nacc != 0 {
			t.Fatalf("pad %d: %d bits left", pad, nacc)
		}
		data := append(bits, "after the magic"...)
		for _, ch := range chunkings {
			src := &bz2Source{countReader: newCountReader(bufio.NewReaderSize(ch.wrap(bytes.NewReader(data)), 16))}
			var got []byte
			for {
				b, err := src.ReadByte()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, b)
			}
			if !bytes.Equal(got, data) || src.offset() != int64(len(data)) {
				t.Fatalf("pad %d, %s: got % x (offset %d), want % x", pad, ch.name, got, src.offset(), data)
			}
		}
	}
}
