package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/internal/errs"
	"github.com/jlstore/jlstore/internal/pread"
	"github.com/jlstore/jlstore/mmap"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

// Error kinds, shared with the other jlstore packages (pickle.ErrTooLarge
// is ErrTooLarge, and so on), for errors.Is.
var (
	ErrFormat      = errs.Format
	ErrCorrupt     = errs.Corrupt
	ErrTooLarge    = errs.TooLarge
	ErrUnsafe      = errs.Unsafe
	ErrUnsupported = errs.Unsupported
	// ErrNotZeroCopy reports an array that Open would have had to copy,
	// under StrictZeroCopy.
	ErrNotZeroCopy = errors.New("jlstore: array is not zero-copy")
	// ErrClosed reports use of a File after Close.
	ErrClosed = errors.New("jlstore: file is closed")
)

// FormatError describes bad input at a byte offset; Layer says which
// stream the offset counts in ("pickle" for the uncompressed pickle
// stream, a codec's name for the compressed one).
type FormatError = errs.FormatError

// PathError is the error of Load, Open, Decode and Dump: the operation,
// the file and what went wrong, which is usually a *FormatError.
type PathError struct {
	Op   string
	Path string
	Err  error
}

func (e *PathError) Error() string {
	if e.Path == "" {
		return "jlstore: " + e.Op + ": " + e.Err.Error()
	}
	return "jlstore: " + e.Op + " " + e.Path + ": " + e.Err.Error()
}

func (e *PathError) Unwrap() error { return e.Err }

// ArrayInfo describes one array of a loaded file.
type ArrayInfo struct {
	// Path is where the array sits in the object graph: $ is the root,
	// [0] an index, ["key"] a dict key, .name an attribute.
	Path  string
	Array *ndarray.Array
	// Offset is the byte offset of the payload in the uncompressed
	// stream, or -1 when the array has none (object arrays, arrays
	// pickled by numpy itself, sidecar files).
	Offset int64
	// NBytes is the size of the array's data.
	NBytes int64
	// ZeroCopy reports that the array is a view of the file's mapping.
	ZeroCopy bool
	// Mmappable reports that the file allows mapping the array (joblib's
	// allow_mmap: false for object arrays and in compressed files).
	Mmappable bool
	// Note says how the array was read when it is not a view:
	// "decompressed (zlib)", "copied: unaligned ...", and so on.
	Note string
}

// File is an open joblib file. When the file is uncompressed, it owns a
// memory mapping of it, and its arrays are views of that mapping: they are
// invalid after Close. A compressed file is loaded into memory instead, as
// joblib does; Codec says which codec, and Close is then a no-op.
type File struct {
	path     string
	root     any
	arrays   []ArrayInfo
	indexed  sync.Once
	loader   *loader // until Arrays has listed the arrays
	codec    string
	mapping  *mmap.Mapping
	closers  []func() error
	mu       sync.Mutex
	closed   bool
	closeErr error
}

// Root returns the object graph.
func (f *File) Root() any { return f.root }

// Arrays lists every numpy array of the object graph in pickle order.
func (f *File) Arrays() []ArrayInfo {
	f.indexed.Do(func() {
		f.arrays = f.loader.index(f.root)
		f.loader = nil
	})
	return f.arrays
}

// Codec returns the compression codec of the file, or "" when it is
// uncompressed.
func (f *File) Codec() string { return f.codec }

// Mapped reports whether the file is memory-mapped. A compressed file is
// not: its arrays are in memory.
func (f *File) Mapped() bool { return f.mapping != nil }

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Close releases the mapping. Arrays taken from f are invalid after Close:
// reading them may crash the process. Close may be called more than once;
// it returns the first result each time. Close must not race with readers
// of the arrays; it may race with other Close calls.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.closeErr
	}
	f.closed = true
	var errsList []error
	for _, c := range f.closers {
		if err := c(); err != nil {
			errsList = append(errsList, err)
		}
	}
	if f.mapping != nil {
		if err := f.mapping.Close(); err != nil {
			errsList = append(errsList, err)
		}
	}
	f.closeErr = errors.Join(errsList...)
	return f.closeErr
}

// Load reads a joblib file (any version, any codec) or a plain pickle and
// returns its object graph, with every array in memory that the result
// owns. The file is closed when Load returns.
func Load(path string, opts ...LoadOption) (any, error) {
	cfg, err := newLoadConfig(opts)
	if err != nil {
		return nil, &PathError{"load", path, err}
	}
	cfg.noIndex = true
	f, err := loadFile(path, cfg, false)
	if err != nil {
		return nil, err
	}
	return f.root, nil
}

// Open opens a joblib file or plain pickle with the arrays memory-mapped:
// each aligned array of an uncompressed file is a view of the mapping, so
// opening costs about the same whatever the file's size. Arrays that cannot
// be views (unaligned, as joblib 1.1 and older wrote them, or converted)
// are copied and flagged in Arrays, or refused under StrictZeroCopy. A
// compressed file is loaded into memory instead, without an error, as
// joblib does: File.Codec says so.
func Open(path string, opts ...LoadOption) (*File, error) {
	cfg, err := newLoadConfig(opts)
	if err != nil {
		return nil, &PathError{"open", path, err}
	}
	return loadFile(path, cfg, true)
}

func loadFile(path string, cfg loadConfig, mapIt bool) (file *File, err error) {
	op := "load"
	if mapIt {
		op = "open"
	}
	fail := func(err error) (*File, error) { return nil, &PathError{op, path, err} }
	flag := syscall.O_RDONLY
	if mapIt && cfg.mode == mmap.ReadWrite {
		flag = syscall.O_RDWR
	}
	fh, err := openFile(path, flag)
	if err != nil {
		return fail(err)
	}
	defer fh.Close()
	l := newLoader(cfg, path)
	defer func() {
		if err != nil {
			for _, c := range l.closers {
				c()
			}
		}
	}()
	var (
		stream  *pickle.Stream
		mapping *mmap.Mapping
		size    int64
		codec   compressors.Codec
		packed  bool // compressed
	)
	if mapIt {
		// Map first and read the magic from the mapping: the decoder
		// touches that page anyway, and a compressed file, the rare
		// case, is unmapped again.
		mapping, err = mmap.OpenFile(fh, cfg.mode)
		if err != nil {
			return fail(err)
		}
		defer func() {
			if err != nil && mapping != nil {
				mapping.Close()
			}
		}()
		size = int64(mapping.Len())
		data, err := mapping.Bytes(0, size)
		if err != nil {
			return fail(err)
		}
		if codec, packed, err = detectBytes(data[:min(len(data), 16)]); err != nil {
			return fail(err)
		}
		if packed || size == 0 {
			mapping.Close()
			mapping = nil
		} else {
			stream = pickle.NewStreamBytes(data)
			l.mapped = true
		}
	} else {
		fi, err := fh.Stat()
		if err != nil {
			return fail(err)
		}
		if !fi.Mode().IsRegular() {
			return fail(fmt.Errorf("not a regular file: %w", ErrUnsupported))
		}
		size = fi.Size()
		if codec, packed, err = detect(fh); err != nil {
			return fail(err)
		}
	}
	switch {
	case packed:
		l.codec = codec.Name
		l.inputSize = size
		// Nothing may decode to more than MaxRatio times the file (the
		// ratio reader enforces it), so neither may a declared size or a
		// dictionary: the limit caps lzma's and xz's.
		in := &countingReader{r: fh}
		rc, _, err := compressors.NewReader(bufio.NewReaderSize(in, 64<<10), cfg.outputLimit(size))
		if err != nil {
			return fail(err)
		}
		defer rc.Close()
		stream = pickle.NewStream(&ratioReader{r: rc, codec: codec.Name, in: in.count, ratio: cfg.maxRatio})
	case stream == nil:
		// pread splits a large payload among the cores.
		stream = pickle.NewStreamSize(pread.NewReader(fh, 0), size)
	}
	root, err := l.finish(pickle.NewDecoder(stream, l.decodeOptions()...).Decode())
	if err == io.EOF {
		err = &FormatError{Layer: "pickle", Offset: 0, What: "empty input", Err: io.ErrUnexpectedEOF}
	}
	if err == nil && l.codec == compressors.ZF {
		err = zfEnd(stream)
	}
	if err != nil {
		return fail(err)
	}
	// Arrays lists the arrays when first asked: Load never does.
	return &File{path: path, root: root, codec: l.codec, mapping: mapping, closers: l.closers, loader: l}, nil
}

// openFile opens path with open(2) itself: os.OpenFile also tries to
// register the file with the network poller, which costs a regular file
// a few microseconds of failing system calls, a large part of Open.
func openFile(path string, flag int) (*os.File, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, flag|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// detect reads the first bytes of f, without moving its offset, and
// returns the codec they name.
func detect(f *os.File) (compressors.Codec, bool, error) {
	var head [16]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return compressors.Codec{}, false, err
	}
	return detectBytes(head[:n])
}

func detectBytes(head []byte) (compressors.Codec, bool, error) {
	return compressors.Detect(bufio.NewReaderSize(bytes.NewReader(head), 16))
}

// index lists the arrays of the graph in pickle order with what the load
// learned about them.
func (l *loader) index(root any) []ArrayInfo {
	var out []ArrayInfo
	walk(root, func(path string, a *ndarray.Array) {
		info := ArrayInfo{Path: path, Array: a, Offset: -1, NBytes: int64(a.NBytes())}
		if r, ok := l.records[a]; ok {
			info.Offset = r.offset
			info.ZeroCopy = r.zeroCopy
			info.Mmappable = r.mmapOK
			info.Note = r.note
		} else {
			info.Note = "pickled by numpy"
		}
		if a.DType.HasObject() {
			info.Note = "object array"
		}
		out = append(out, info)
	})
	return out
}

// Decoder reads joblib objects from a stream: a file, a pipe, an HTTP
// body. It never seeks. Objects dumped one after another into one stream
// decode one after another, whatever their codecs: Decode reads nothing
// past an object's end, except into the Decoder's own buffer, which the
// next Decode uses. For a compressed object that is the end of the gzip
// member, lz4 or zstd frame, or bz2 or xz stream that holds the pickle's
// last byte (a pickle may span several of them, as bgzip writes it):
// Decode reads on to it, up to 1 MiB of decoded bytes after the pickle,
// and checks its trailer. When the member goes on for longer, Decode
// returns the object and the next Decode fails, since where the next
// object starts is unknown. Error offsets count from the object's start.
//
// When the input is a regular file (an *os.File, or any reader with Stat
// and Seek), a compressed object may decode to no more than MaxRatio times
// the rest of the file, as in Load, which also caps the lzma and xz
// dictionaries it allocates. For any other input, where a 100-byte xz
// stream may declare a 4 GiB dictionary, the lzma and xz dictionaries are
// capped at 256 MiB (compressors.MaxWindow; zstd windows keep their
// 128 MiB cap): a stream that needs more, which no xz or lzma preset
// writes (xz -9 uses 64 MiB), fails as corrupt.
type Decoder struct {
	cfg    loadConfig
	cfgErr error
	in     *countingReader // the raw input
	br     *bufio.Reader   // buffers in, positioned after held
	held   []byte          // bytes read past the last object, before br's
	err    error           // where the next object starts is unknown
	file   sizedFile       // the input, when it is a regular file
	base   int64           // the file's offset when the Decoder started
	probed bool            // file and base are set
}

// sizedFile is an input whose size Decode can know.
type sizedFile interface {
	Stat() (os.FileInfo, error)
	Seek(offset int64, whence int) (int64, error)
}

// decodeWindow caps the lzma and xz dictionaries and the zstd window of
// an object whose input size Decode cannot know.
const decodeWindow = 256 << 20

// decodeTail is how many decoded bytes Decode reads after a compressed
// pickle to reach the end of its member.
const decodeTail = 1 << 20

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader, opts ...LoadOption) *Decoder {
	cfg, err := newLoadConfig(opts)
	cfg.noIndex = true // Decode returns values, never a File
	in := &countingReader{r: r}
	return &Decoder{cfg: cfg, cfgErr: err, in: in, br: bufio.NewReaderSize(in, 64<<10)}
}

// Decode reads one object: a joblib stream (any codec but the pre-0.10
// formats, which keep arrays in other files) or a plain pickle. It returns
// io.EOF when the input is at its end.
func (d *Decoder) Decode() (any, error) {
	if d.cfgErr != nil {
		return nil, &PathError{"decode", "", d.cfgErr}
	}
	if d.err != nil {
		return nil, d.err
	}
	if !d.probed {
		d.probed = true
		d.probe()
	}
	br := d.input()
	var stream *pickle.Stream
	compressed := false
	defer func() {
		d.keep(br, nil)
		if !compressed && stream != nil {
			// The bytes the stream read past the pickle come first.
			d.keep(nil, stream.Buffered())
		}
	}()
	head, _ := br.Peek(8)
	if len(head) == 0 {
		if _, err := br.Peek(1); err != nil && err != io.EOF {
			return nil, &PathError{"decode", "", err}
		}
		return nil, io.EOF
	}
	l := newLoader(d.cfg, "")
	codec, compressed, err := detectBytes(head)
	if err != nil {
		return nil, &PathError{"decode", "", err}
	}
	var rc io.ReadCloser
	if compressed {
		l.codec = codec.Name
		// The decompressor takes from br exactly its compressed stream.
		start := d.offset(br)
		in := func() int64 { return d.offset(br) - start }
		rc, _, err = compressors.NewReader(br, d.readLimits(start)...)
		if err != nil {
			return nil, &PathError{"decode", "", err}
		}
		defer rc.Close()
		stream = pickle.NewStream(&ratioReader{r: rc, codec: codec.Name, in: in, ratio: d.cfg.maxRatio})
	} else {
		stream = pickle.NewStream(br)
	}
	v, err := l.finish(pickle.NewDecoder(stream, l.decodeOptions()...).Decode())
	if err == io.EOF {
		err = &FormatError{Layer: "pickle", Offset: stream.Offset(), What: "empty input", Err: io.ErrUnexpectedEOF}
	}
	if err == nil && l.codec == compressors.ZF {
		err = zfEnd(stream)
	}
	if err == nil && compressed {
		// Read to the end of the pickle's member and check its trailer.
		// No Read of rc returned bytes of two members, so what the
		// stream holds after the pickle is of the same member.
		_, ferr := compressors.FinishMember(rc, decodeTail-int64(len(stream.Buffered())))
		if errors.Is(ferr, ErrTooLarge) {
			d.err = &PathError{"decode", "", fmt.Errorf("the object before this one: %w", ferr)}
		} else {
			err = ferr
		}
	}
	if err != nil {
		return nil, &PathError{"decode", "", err}
	}
	return v, nil
}

// probe finds out, before the first read, whether the input is a regular
// file, and its offset.
func (d *Decoder) probe() {
	f, ok := d.in.r.(sizedFile)
	if !ok {
		return
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	base, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return
	}
	d.file, d.base = f, base
}

// readLimits returns the limits of the decompressor of an object that
// starts at input offset start: those of Load when the input is a file
// (its size, less start, is the compressed size at most), else the
// decoded size that MaxBytes allows and a 256 MiB window.
func (d *Decoder) readLimits(start int64) []compressors.ReadOption {
	if d.file != nil {
		if fi, err := d.file.Stat(); err == nil {
			return []compressors.ReadOption{d.cfg.outputLimit(max(fi.Size()-d.base-start, 0))}
		}
	}
	return []compressors.ReadOption{compressors.MaxOutput(d.cfg.maxBytes + 1<<20), compressors.MaxWindow(decodeWindow)}
}

// input returns the buffered reader the next object is read from: br, or
// when bytes are held, a small one that reads them and then br.
func (d *Decoder) input() *bufio.Reader {
	if len(d.held) == 0 {
		return d.br
	}
	return bufio.NewReaderSize(heldReader{d}, 4096)
}

// keep puts back, in front of what the Decoder holds, first b (bytes a
// stream read from br past its object), then what br buffers when it is
// not the Decoder's own.
func (d *Decoder) keep(br *bufio.Reader, b []byte) {
	if br != nil && br != d.br && br.Buffered() > 0 {
		rest, _ := br.Peek(br.Buffered())
		d.held = append(bytes.Clone(rest), d.held...)
	}
	if len(b) > 0 {
		d.held = append(bytes.Clone(b), d.held...)
	}
}

// offset returns how many bytes of the input the Decoder has consumed,
// when br is the reader in use.
func (d *Decoder) offset(br *bufio.Reader) int64 {
	n := d.in.n - int64(d.br.Buffered()) - int64(len(d.held))
	if br != d.br {
		n -= int64(br.Buffered())
	}
	return n
}

// heldReader reads the bytes a Decoder holds, then its bufio.Reader.
type heldReader struct{ d *Decoder }

func (h heldReader) Read(p []byte) (int, error) {
	if len(h.d.held) > 0 {
		n := copy(p, h.d.held)
		h.d.held = h.d.held[n:]
		return n, nil
	}
	return h.d.br.Read(p)
}

// Decode reads one object from r; see Decoder.
func Decode(r io.Reader, opts ...LoadOption) (any, error) {
	return NewDecoder(r, opts...).Decode()
}

// zfEnd reads a z-file's stream to its end after its pickle. Python's
// joblib decompresses the whole z-file and checks the header's length
// before unpickling, so a header that declares more than the stream holds
// fails even when the pickle ends first; here too. The z-file reader
// stops at the declared length, which the limits have accepted, so this
// reads no more than the header allowed.
func zfEnd(s *pickle.Stream) error {
	_, err := io.Copy(io.Discard, s)
	return err
}

// outputLimit is what a compressed input of size bytes may decode to: no
// more than MaxRatio times it plus ratioSlack, nor than MaxBytes, with
// 1 MiB to spare for a member's bytes after the pickle. It also caps the
// dictionaries of lzma and xz (see compressors.MaxOutput).
func (c loadConfig) outputLimit(size int64) compressors.ReadOption {
	limit := min(c.maxBytes, int64(min(c.maxRatio*float64(size), 1<<62))+ratioSlack)
	return compressors.MaxOutput(limit + 1<<20)
}

// ratioSlack is the decoded output allowed beyond MaxRatio times the
// compressed input, so that small files and the first blocks of a stream
// (a bz2 block decodes 900 KiB at once) are never refused.
const ratioSlack = 1 << 20

// ratioReader fails once the decoded stream grows past MaxRatio times the
// compressed bytes read so far, plus ratioSlack. Declared array sizes are
// checked against the ratio before anything is read; this check catches
// the rest (a string or bytes object of zeros, arrays in a stream whose
// size is unknown) after a bounded amount of work.
type ratioReader struct {
	r     io.Reader
	codec string
	in    func() int64 // compressed bytes read so far
	ratio float64
	out   int64
	err   error
}

func (r *ratioReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) > 1<<20 {
		p = p[:1<<20] // check at least every MiB
	}
	n, err := r.r.Read(p)
	r.out += int64(n)
	if in := r.in(); float64(r.out) > r.ratio*float64(in)+ratioSlack {
		r.err = &FormatError{Layer: r.codec, Offset: in, What: fmt.Sprintf("decoded %d bytes from %d compressed bytes, over the %g:1 ratio (MaxRatio)", r.out, in, r.ratio), Err: ErrTooLarge}
		return n, r.err
	}
	return n, err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) count() int64 { return c.n }
