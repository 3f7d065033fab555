package compressors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pierrec/lz4/v4"

	"github.com/jlstore/jlstore/internal/pyenv"
	"github.com/jlstore/jlstore/internal/xxh32"
)

// lz4Opts describe a frame for lz4Build.
type lz4Opts struct {
	bd          int // block maximum index, 4 (64 KiB) to 7 (4 MiB)
	independent bool
	blockSum    bool
	contentSum  bool
	size        int64 // content size to declare; -1: none
	dictID      bool
}

// lz4Block is one block of a hand-built frame: its bytes as they go in
// the frame, stored or LZ4-compressed.
type lz4Block struct {
	data   []byte
	stored bool
}

// lz4Build writes a frame around blocks; content is what they decode to
// (for the content checksum).
func lz4Build(o lz4Opts, blocks []lz4Block, content []byte) []byte {
	flg := byte(0x40)
	if o.independent {
		flg |= lz4FlagIndependent
	}
	if o.blockSum {
		flg |= lz4FlagBlockSum
	}
	if o.size >= 0 {
		flg |= lz4FlagSize
	}
	if o.contentSum {
		flg |= lz4FlagContentSum
	}
	if o.dictID {
		flg |= lz4FlagDictID
	}
	b := binary.LittleEndian.AppendUint32(nil, lz4FrameMagic)
	b = append(b, flg, byte(o.bd<<4))
	if o.size >= 0 {
		b = binary.LittleEndian.AppendUint64(b, uint64(o.size))
	}
	if o.dictID {
		b = binary.LittleEndian.AppendUint32(b, 0xdeadbeef)
	}
	b = append(b, byte(xxh32.Checksum(b[4:])>>8))
	for _, bl := range blocks {
		size := uint32(len(bl.data))
		if bl.stored {
			size |= lz4Stored
		}
		b = binary.LittleEndian.AppendUint32(b, size)
		b = append(b, bl.data...)
		if o.blockSum {
			b = binary.LittleEndian.AppendUint32(b, xxh32.Checksum(bl.data))
		}
	}
	b = binary.LittleEndian.AppendUint32(b, 0)
	if o.contentSum {
		b = binary.LittleEndian.AppendUint32(b, xxh32.Checksum(content))
	}
	return b
}

// lz4Len appends an LZ4 length extension: 255s, then the rest.
func lz4Len(b []byte, n int) []byte {
	for ; n >= 255; n -= 255 {
		b = append(b, 255)
	}
	return append(b, byte(n))
}

// lz4Seq appends one LZ4 sequence: literals, then a match of matchLen
// bytes (at least 4) at offset back; matchLen 0 ends the block.
func lz4Seq(b, lit []byte, offset, matchLen int) []byte {
	ml := 0
	if matchLen > 0 {
		ml = matchLen - 4
	}
	b = append(b, byte(min(len(lit), 15)<<4|min(ml, 15)))
	if len(lit) >= 15 {
		b = lz4Len(b, len(lit)-15)
	}
	b = append(b, lit...)
	if matchLen == 0 {
		return b
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(offset))
	if ml >= 15 {
		b = lz4Len(b, ml-15)
	}
	return b
}

// lz4Linked returns a frame of linked blocks of blockLen bytes (at most
// 64 KiB) whose matches reach 65000 bytes back, into the blocks before
// the previous one when blocks are short, so that only a decoder that
// keeps 64 KiB of history gets the content back; and that content. The
// first blocks are literals (stored when too long to fit compressed),
// until there is 65000 bytes of history; each later block is a match and
// 5 new literals.
func lz4Linked(nblocks, blockLen int, o lz4Opts) (frame, content []byte) {
	return lz4LinkedOffset(nblocks, blockLen, 65000, o)
}

// lz4LinkedOffset is lz4Linked with matches offset bytes back.
func lz4LinkedOffset(nblocks, blockLen, offset int, o lz4Opts) (frame, content []byte) {
	var blocks []lz4Block
	for i := range nblocks {
		if len(content) < offset {
			// Literals: compressed while they fit, stored after.
			lit := randomBytes(blockLen, uint64(10+i))
			bl := lz4Block{data: lz4Seq(nil, lit, 0, 0)}
			if len(bl.data) > 64<<10 {
				bl = lz4Block{data: lit, stored: true}
			}
			blocks = append(blocks, bl)
			content = append(content, lit...)
			continue
		}
		tail := randomBytes(5, uint64(10+i))
		b := lz4Seq(nil, nil, offset, blockLen-5)
		blocks = append(blocks, lz4Block{data: lz4Seq(b, tail, 0, 0)})
		for range blockLen - 5 { // byte by byte: the match may overlap itself
			content = append(content, content[len(content)-offset])
		}
		content = append(content, tail...)
	}
	o.bd = 4
	o.independent = false
	return lz4Build(o, blocks, content), content
}

// readChunks reads r to the end in reads of random sizes up to max.
func readChunks(r io.Reader, max int, seed uint64) ([]byte, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []byte
	buf := make([]byte, max)
	for {
		n, err := r.Read(buf[:1+rng.IntN(max)])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// lz4Decode decodes with our reader: whole into one buffer of the known
// size, and in chunks of up to chunk bytes; both must agree.
func lz4Decode(t *testing.T, enc []byte, size, chunk int) []byte {
	t.Helper()
	c, _ := Lookup(LZ4)
	r, err := c.NewReader(bytes.NewReader(enc))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	whole := make([]byte, size)
	if _, err := io.ReadFull(r, whole); err != nil {
		t.Fatalf("ReadFull: %v", err)
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after %d bytes: %d, %v; want 0, EOF", size, n, err)
	}
	r, _ = c.NewReader(bytes.NewReader(enc))
	chunked, err := readChunks(r, chunk, uint64(size))
	if err != nil {
		t.Fatalf("chunked reads: %v", err)
	}
	if !bytes.Equal(whole, chunked) {
		t.Fatalf("chunked reads of up to %d bytes differ from one read", chunk)
	}
	// Reads of exactly chunk bytes: with chunk the block size, each
	// Read ends on a block decoded straight into the caller's buffer.
	r, _ = c.NewReader(bytes.NewReader(enc))
	pieces := make([]byte, size)
	for off := 0; off < size; off += chunk {
		if _, err := io.ReadFull(r, pieces[off:min(off+chunk, size)]); err != nil {
			t.Fatalf("reads of %d bytes, at %d: %v", chunk, off, err)
		}
	}
	if !bytes.Equal(whole, pieces) {
		t.Fatalf("reads of %d bytes differ from one read", chunk)
	}
	return whole
}

func TestLZ4LinkedBlocks(t *testing.T) {
	for _, blockLen := range []int{15000, 40000, 64 << 10} {
		for _, o := range []lz4Opts{{size: -1}, {size: -1, blockSum: true, contentSum: true}, {size: int64(12 * blockLen)}} {
			frame, content := lz4Linked(12, blockLen, o)
			for _, chunk := range []int{7, 1000, 15000, 40000, 64 << 10, 100 << 10, 1 << 20} {
				t.Run(fmt.Sprintf("block=%d/size=%d/checksums=%v/chunk=%d", blockLen, o.size, o.blockSum, chunk), func(t *testing.T) {
					if got := lz4Decode(t, frame, len(content), chunk); !bytes.Equal(got, content) {
						t.Fatal("decoded bytes differ")
					}
				})
			}
		}
	}
	// pierrec's reader agrees.
	frame, content := lz4Linked(8, 15000, lz4Opts{size: -1})
	got, err := io.ReadAll(lz4.NewReader(bytes.NewReader(frame)))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("pierrec/lz4 reads the hand-built frame differently: %v", err)
	}
	// Without the history the frame does not decode: the test data
	// needs it.
	frame[4] |= lz4FlagIndependent
	frame[6] = byte(xxh32.Checksum(frame[4:6]) >> 8)
	if _, err := readAll(mustLookup(LZ4), frame); err == nil {
		t.Fatal("the frame decodes as independent blocks")
	}
}

func mustLookup(name string) Codec {
	c, ok := Lookup(name)
	if !ok {
		panic(name)
	}
	return c
}

// lz4Mixed returns n bytes that compress, with matches reaching across
// 64 KiB block boundaries: random runs, each repeated once.
func lz4Mixed(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]byte, 0, n)
	for len(out) < n {
		run := randomBytes(1+rng.IntN(50000), rng.Uint64())
		out = append(out, run...)
		out = append(out, run...)
		out = append(out, floatBytes(rng.IntN(2000))...)
	}
	return out[:n]
}

// pierrecFrame compresses data with pierrec/lz4's writer.
func pierrecFrame(t testing.TB, data []byte, opts ...lz4.Option) []byte {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if err := w.Apply(opts...); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLZ4AgainstPierrec decodes frames of pierrec/lz4's writer, in every
// block size and checksum setting, with ours and with its reader.
func TestLZ4AgainstPierrec(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []lz4.BlockSize{lz4.Block64Kb, lz4.Block256Kb, lz4.Block1Mb, lz4.Block4Mb}
	for i := range 24 {
		var data []byte
		switch i % 3 {
		case 0:
			data = lz4Mixed(rng.IntN(600<<10), rng.Uint64())
		case 1:
			data = randomBytes(rng.IntN(300<<10), rng.Uint64()) // stored blocks
		default:
			data = floatBytes(rng.IntN(80 << 10))
		}
		opts := []lz4.Option{lz4.BlockSizeOption(sizes[i%4]), lz4.ChecksumOption(i%2 == 0), lz4.BlockChecksumOption(i%5 < 2)}
		if i%3 == 1 {
			opts = append(opts, lz4.SizeOption(uint64(len(data))))
		}
		enc := pierrecFrame(t, data, opts...)
		t.Run(fmt.Sprintf("case=%d/size=%d", i, len(data)), func(t *testing.T) {
			got := lz4Decode(t, enc, len(data), 1+rng.IntN(300<<10))
			want, err := io.ReadAll(lz4.NewReader(bytes.NewReader(enc)))
			if err != nil || !bytes.Equal(want, data) {
				t.Fatalf("pierrec/lz4: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("decoded bytes differ")
			}
		})
	}
}

// TestLZ4Frames covers the frame format: concatenated and skippable
// frames, content sizes, and the damage that must be reported.
func TestLZ4Frames(t *testing.T) {
	data := lz4Mixed(200<<10, 5)
	ours := compress(t, mustLookup(LZ4), -1, data)
	linked, linkedData := lz4Linked(8, 15000, lz4Opts{size: -1, contentSum: true})
	skip := func(n int) []byte {
		b := binary.LittleEndian.AppendUint32(nil, lz4SkipMagic+7)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		return append(b, make([]byte, n)...)
	}
	small := []byte("hello, hello, hello")
	smallBlock := lz4Seq(nil, small, 0, 0)
	big := make([]byte, 100<<10) // zeros: one small block decodes to 100 KiB
	bigBlock := lz4Seq(lz4Seq(nil, []byte{0}, 1, len(big)-6), make([]byte, 5), 0, 0)
	type tc struct {
		name    string
		in      []byte
		want    []byte
		wantErr error
	}
	cases := []tc{
		{"two_frames", slices2(ours, linked), slices2(data, linkedData), nil},
		{"skippable_between", slices2(ours, skip(100), linked, skip(0)), slices2(data, linkedData), nil},
		{"empty_frame", lz4Build(lz4Opts{bd: 4, size: -1, contentSum: true}, nil, nil), nil, nil},
		{"size_declared", lz4Build(lz4Opts{bd: 4, size: int64(len(small))}, []lz4Block{{data: smallBlock}}, small), small, nil},
		{"size_zero_is_unknown", lz4Build(lz4Opts{bd: 4, size: 0}, []lz4Block{{data: smallBlock}}, small), small, nil},
		{"size_short", lz4Build(lz4Opts{bd: 4, size: int64(len(small)) - 1}, []lz4Block{{data: smallBlock}}, small), nil, ErrCorrupt},
		{"size_long", lz4Build(lz4Opts{bd: 4, size: int64(len(small)) + 1}, []lz4Block{{data: smallBlock}}, small), nil, ErrCorrupt},
		{"stored_block", lz4Build(lz4Opts{bd: 5, size: -1, blockSum: true, contentSum: true}, []lz4Block{{data: small, stored: true}, {data: smallBlock}}, slices2(small, small)), slices2(small, small), nil},
		{"stored_over_max", lz4Build(lz4Opts{bd: 4, size: -1}, []lz4Block{{data: make([]byte, 64<<10+1), stored: true}}, nil), nil, ErrCorrupt},
		{"block_decodes_over_max", lz4Build(lz4Opts{bd: 4, size: -1}, []lz4Block{{data: bigBlock}}, big), nil, ErrCorrupt},
		{"block_within_max", lz4Build(lz4Opts{bd: 5, size: -1, contentSum: true}, []lz4Block{{data: bigBlock}}, big), big, nil},
		{"block_checksum", func() []byte {
			b := lz4Build(lz4Opts{bd: 4, size: -1, blockSum: true}, []lz4Block{{data: smallBlock}}, small)
			b[len(b)-5] ^= 1
			return b
		}(), nil, ErrCorrupt},
		{"dictionary_id", lz4Build(lz4Opts{bd: 4, size: -1, dictID: true}, []lz4Block{{data: smallBlock}}, small), nil, ErrUnsupported},
		{"block_size_2g", func() []byte {
			b := lz4Build(lz4Opts{bd: 7, size: -1}, []lz4Block{{data: smallBlock}}, small)
			binary.LittleEndian.PutUint32(b[7:], 0x7fffffff)
			return b
		}(), nil, ErrCorrupt},
		{"bd_index_3", func() []byte {
			b := lz4Build(lz4Opts{bd: 3, size: -1}, []lz4Block{{data: smallBlock}}, small)
			return b
		}(), nil, ErrCorrupt},
		{"legacy_frame_after", slices2(ours, []byte{0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0}), nil, ErrCorrupt},
		{"truncated_next_magic", slices2(ours, []byte{0x04, 0x22}), nil, io.ErrUnexpectedEOF},
		{"truncated_skippable", slices2(ours, skip(100)[:50]), nil, io.ErrUnexpectedEOF},
		{"garbage_after", slices2(ours, []byte("garbage!")), nil, ErrCorrupt},
		{"bad_block", lz4Build(lz4Opts{bd: 4, size: -1}, []lz4Block{{data: []byte{0x1f, 'a', 0xff, 0xff}}}, nil), nil, ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(mustLookup(LZ4), c.in)
			if c.wantErr == nil {
				if err != nil || !bytes.Equal(got, c.want) {
					t.Fatalf("%d bytes, %v; want %d bytes", len(got), err, len(c.want))
				}
				return
			}
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("got %v, want %v", err, c.wantErr)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > int64(len(c.in)) {
				t.Fatalf("error %v: want a FormatError with an offset in the input", err)
			}
		})
	}
	// A frame that declares more than MaxOutput is refused before
	// decoding.
	in := lz4Build(lz4Opts{bd: 4, size: 1 << 40}, []lz4Block{{data: smallBlock}}, small)
	if _, _, err := NewReader(bytes.NewReader(in), MaxOutput(1<<20)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("content size 2**40 with MaxOutput(1 MiB): %v", err)
	}
	// A skippable frame first is read by the codec's reader (NewReader
	// detects lz4 by the frame magic only).
	got, err := readAll(mustLookup(LZ4), slices2(skip(3), ours))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("skippable frame first: %v", err)
	}
}

func slices2(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// TestLZ4Damage cuts and flips frames that carry every checksum: each cut
// and each flipped byte must be reported, at an offset inside the input.
func TestLZ4Damage(t *testing.T) {
	data := lz4Mixed(150<<10, 6)
	linked, _ := lz4Linked(8, 15000, lz4Opts{size: -1, blockSum: true, contentSum: true})
	frames := map[string][]byte{
		"pierrec_64KiB": pierrecFrame(t, data, lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(true), lz4.BlockChecksumOption(true), lz4.SizeOption(uint64(len(data)))),
		"linked":        linked,
	}
	c := mustLookup(LZ4)
	for name, enc := range frames {
		t.Run("frame="+name, func(t *testing.T) {
			for _, n := range cuts(len(enc)) {
				_, err := readAll(c, enc[:n])
				checkBadInput(t, fmt.Sprintf("cut at %d", n), err)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("cut at %d: %v, want io.ErrUnexpectedEOF", n, err)
				}
				var fe *FormatError
				errors.As(err, &fe)
				// A cut inside a frame's magic is reported where the
				// frame starts: the reader only peeks at a magic.
				if fe.Offset != int64(n) && !(n < 4 && fe.Offset == 0) {
					t.Fatalf("cut at %d: offset %d", n, fe.Offset)
				}
			}
			for i := 0; i < len(enc); i += 1 + len(enc)/500 {
				for _, bit := range []byte{0x01, 0x80} {
					b := bytes.Clone(enc)
					b[i] ^= bit
					_, err := readAll(c, b)
					checkBadInput(t, fmt.Sprintf("byte %d ^ %#x", i, bit), err)
					var fe *FormatError
					errors.As(err, &fe)
					if fe.Offset < 0 || fe.Offset > int64(len(b)) {
						t.Fatalf("byte %d: offset %d", i, fe.Offset)
					}
				}
			}
		})
	}
}

// TestLZ4Allocs: after the reader's buffers, decoding allocates nothing
// per block, reading whole or in small pieces.
func TestLZ4Allocs(t *testing.T) {
	frames := map[string]func(int) ([]byte, []byte){
		"linked_40000": func(n int) ([]byte, []byte) {
			return lz4Linked(n, 40000, lz4Opts{size: -1, contentSum: true, blockSum: true})
		},
		"ours_256KiB": func(n int) ([]byte, []byte) {
			d := lz4Mixed(n*40000, 7)
			return compress(t, mustLookup(LZ4), -1, d), d
		},
	}
	for name, mk := range frames {
		for _, chunk := range []int{0, 1000} {
			t.Run(fmt.Sprintf("frame=%s/chunk=%d", name, chunk), func(t *testing.T) {
				allocs := func(nblocks int) float64 {
					enc, content := mk(nblocks)
					dst := make([]byte, len(content))
					src := bytes.NewReader(enc)
					return testing.AllocsPerRun(5, func() {
						src.Reset(enc)
						r, _, err := NewReader(src)
						if err != nil {
							t.Fatal(err)
						}
						if chunk == 0 {
							_, err = io.ReadFull(r, dst)
						} else {
							for off := 0; off < len(dst) && err == nil; off += chunk {
								_, err = io.ReadFull(r, dst[off:min(off+chunk, len(dst))])
							}
						}
						if err != nil {
							t.Fatal(err)
						}
					})
				}
				few, many := allocs(4), allocs(40)
				if many > few {
					t.Fatalf("%v allocations for 4 blocks, %v for 40", few, many)
				}
			})
		}
	}
}

// pyLZ4Script writes each payload as python-lz4 does, in every block
// size, linked or not, with and without each checksum and the content
// size, and lists the files.
const pyLZ4Script = `
import itertools, json, os, sys
import lz4.frame as f

d = sys.argv[1]
out = []
for p in sys.argv[2:]:
    raw = open(os.path.join(d, p), "rb").read()
    sizes = (f.BLOCKSIZE_MAX64KB, f.BLOCKSIZE_MAX256KB, f.BLOCKSIZE_MAX1MB, f.BLOCKSIZE_MAX4MB)
    for bs, linked, csum, bsum, store in itertools.product(sizes, (True, False), (True, False), (True, False), (True, False)):
        name = "%s_bs%d_linked%d_csum%d_bsum%d_size%d.lz4" % (p, bs, linked, csum, bsum, store)
        blob = f.compress(raw, block_size=bs, block_linked=linked, content_checksum=csum, block_checksum=bsum, store_size=store)
        open(os.path.join(d, name), "wb").write(blob)
        out.append({"file": name, "payload": p})
print(json.dumps(out))
`

// TestLZ4PythonFrames decodes python-lz4's frames in all 64 settings.
func TestLZ4PythonFrames(t *testing.T) {
	pyenv.Python(t)
	dir := t.TempDir()
	payloads := map[string][]byte{
		"mixed_1100KiB": lz4Mixed(1100<<10, 8),
		"mixed_4200KiB": lz4Mixed(4200<<10, 8), // decoded in 4 MiB blocks only
		"random_100KiB": randomBytes(100<<10, 9),
		"small":         inputs()[1].data,
		"empty":         nil,
	}
	args := []string{dir}
	for name, data := range payloads {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, name)
	}
	var files []struct{ File, Payload string }
	if err := json.Unmarshal(pyenv.Run(t, pyLZ4Script, args...), &files); err != nil {
		t.Fatal(err)
	}
	if len(files) != 64*len(payloads) {
		t.Fatalf("python wrote %d files", len(files))
	}
	for _, f := range files {
		enc, err := os.ReadFile(filepath.Join(dir, f.File))
		if err != nil {
			t.Fatal(err)
		}
		want := payloads[f.Payload]
		if f.Payload == "mixed_4200KiB" && !strings.Contains(f.File, "_bs7_") {
			continue // smaller blocks have mixed_1100KiB
		}
		t.Run(f.File, func(t *testing.T) {
			if got := lz4Decode(t, enc, len(want), 64<<10); !bytes.Equal(got, want) {
				t.Fatal("decoded bytes differ")
			}
		})
	}
}

// allocated returns the bytes f allocates (f runs alone: this is not a
// parallel test).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLZ4Memory bounds what a reader allocates: its buffers follow the
// frame's block maximum and declared size, not the input's length.
func TestLZ4Memory(t *testing.T) {
	decode := func(enc []byte, size, piece int) {
		r, _, err := NewReader(bytes.NewReader(enc))
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, piece)
		for off := 0; off < size; off += piece {
			if _, err := io.ReadFull(r, dst[:min(piece, size-off)]); err != nil {
				t.Fatal(err)
			}
		}
		r.Close()
	}
	// A small frame of 4 MiB blocks that declares its size: buffers
	// for the bytes there are, not for 4 MiB blocks.
	small := floatBytes(100 << 10 / 8)
	enc := pierrecFrame(t, small, lz4.BlockSizeOption(lz4.Block4Mb), lz4.SizeOption(uint64(len(small))))
	if n := allocated(func() { decode(enc, len(small), 1000) }); n > 1<<20 {
		t.Errorf("100 KiB frame of 4 MiB blocks: %d bytes allocated", n)
	}
	// 12 MiB in 4 MiB blocks read in small pieces: two block buffers
	// and the reading buffers at most.
	big := lz4Mixed(12<<20, 11)
	enc = pierrecFrame(t, big, lz4.BlockSizeOption(lz4.Block4Mb))
	const bound = 2*4<<20 + lz4Window + 2*bufSize + 64<<10
	if n := allocated(func() { decode(enc, len(big), 1000) }); n > bound {
		t.Errorf("12 MiB in 4 MiB blocks: %d bytes allocated, want at most %d", n, bound)
	}
}
