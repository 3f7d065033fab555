package ndarray

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	kflate "github.com/klauspost/compress/flate"

	"github.com/jlstore/jlstore/mmap"
)

// Npz is an open .npz archive: a zip file of .npy members, as numpy.savez
// and numpy.savez_compressed write them. Members are read when asked for.
// The zero value is not usable; get one from OpenNpz or NewNpzReader.
type Npz struct {
	m     *mmap.Mapping // set by OpenNpz
	zr    *zip.Reader
	names []string
	files map[string]*zip.File

	mu     sync.Mutex
	closed bool
}

// OpenNpz opens the .npz file at path. The file is memory-mapped in mode
// (see package mmap) and closed: stored (uncompressed) members are
// returned as arrays over the mapped bytes, without copying and without
// checking their CRC; deflated members are decompressed into heap memory
// and CRC-checked. Arrays over the mapping hold their own reference to
// it, so they stay valid after z.Close until each is closed.
func OpenNpz(path string, mode mmap.Mode) (*Npz, error) {
	m, err := mmap.Open(path, mode)
	if err != nil {
		return nil, err
	}
	z, err := newNpz(m, int64(m.Len()))
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	z.m = m
	return z, nil
}

// NewNpzReader reads a .npz archive of size bytes from r. Every member is
// read into heap memory when asked for.
func NewNpzReader(r io.ReaderAt, size int64) (*Npz, error) {
	return newNpz(r, size)
}

func newNpz(r io.ReaderAt, size int64) (*Npz, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		kind := ErrCorrupt
		if errors.Is(err, zip.ErrFormat) {
			kind = ErrFormat
		}
		if errors.Is(err, zip.ErrAlgorithm) {
			kind = ErrUnsupported
		}
		return nil, &FormatError{Layer: "npz", Offset: -1, What: err.Error(), Err: kind}
	}
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return kflate.NewReader(r) })
	z := &Npz{zr: zr, files: map[string]*zip.File{}}
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := z.files[name]; dup {
			continue
		}
		z.files[name] = f
		z.names = append(z.names, name)
	}
	return z, nil
}

// Names returns the member names in archive order, without the ".npy"
// suffix (numpy's NpzFile.files).
func (z *Npz) Names() []string { return slices.Clone(z.names) }

// Get reads the member called name (with or without ".npy").
func (z *Npz) Get(name string) (*Array, error) {
	z.mu.Lock()
	closed := z.closed
	z.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("ndarray: npz member %q: %w", name, ErrClosed)
	}
	f, ok := z.files[strings.TrimSuffix(name, ".npy")]
	if !ok {
		return nil, fmt.Errorf("ndarray: no member %q in the npz: %w", name, os.ErrNotExist)
	}
	a, err := z.read(f)
	if err != nil {
		return nil, fmt.Errorf("npz member %s: %w", f.Name, err)
	}
	return a, nil
}

func (z *Npz) read(f *zip.File) (*Array, error) {
	if f.Method == zip.Store && z.m != nil {
		off, err := f.DataOffset()
		if err != nil {
			return nil, &FormatError{Layer: "npz", Offset: -1, What: err.Error(), Err: ErrCorrupt}
		}
		a, err := arrayInMapping(z.m, off, int64(f.CompressedSize64))
		if err == nil || !errors.Is(err, ErrUnsupported) {
			return a, err
		}
		// Object arrays are pickles: read them like compressed members.
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &FormatError{Layer: "npz", Offset: -1, What: err.Error(), Err: ErrCorrupt}
	}
	defer rc.Close()
	cr := &countReader{r: rc, n: int64(f.UncompressedSize64)}
	h, err := readHeader(cr)
	if err != nil {
		return nil, err
	}
	a, err := readBody(cr, h, max(cr.n, 0))
	if err != nil {
		return nil, err
	}
	// Read to the end, so that archive/zip checks the CRC.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, &FormatError{Layer: "npz", Offset: -1, What: err.Error(), Err: ErrCorrupt}
	}
	return a, nil
}

// countReader tracks how much of a member's declared size is left, so
// that readBody can refuse a data length the member cannot hold.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n -= int64(k)
	return k, err
}

// Len reports the declared bytes left.
func (c *countReader) Len() int { return int(max(c.n, 0)) }

// All reads every member.
func (z *Npz) All() (map[string]*Array, error) {
	out := make(map[string]*Array, len(z.names))
	for _, n := range z.names {
		a, err := z.Get(n)
		if err != nil {
			return nil, err
		}
		out[n] = a
	}
	return out, nil
}

// Close drops the archive's reference to its mapping. Arrays already
// taken from it keep theirs (see OpenNpz). Close may be called more than
// once.
func (z *Npz) Close() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.closed {
		return nil
	}
	z.closed = true
	if z.m != nil {
		return z.m.Close()
	}
	return nil
}

// LoadNpz reads every member of the .npz file at path into heap memory
// and closes the file.
func LoadNpz(path string) (map[string]*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	z, err := NewNpzReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	all, err := z.All()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return all, nil
}

type npzConfig struct {
	compress bool
	level    int
}

// An NpzOption configures an NpzWriter.
type NpzOption func(*npzConfig) error

// Compressed makes members deflated at level (-1 for the default, 1 to 9),
// as numpy.savez_compressed does. The default is stored members.
func Compressed(level int) NpzOption {
	return func(c *npzConfig) error {
		if level < -1 || level > 9 {
			return fmt.Errorf("ndarray: deflate level %d, want -1 to 9", level)
		}
		c.compress, c.level = true, level
		return nil
	}
}

// alignExtraID is the zip extra field Android's zipalign uses to pad a
// member's data to an alignment.
const alignExtraID = 0xd935

// NpzWriter writes a .npz archive that numpy.load reads. Stored members
// are padded (with a zip extra field) so that each array's data starts at
// a multiple of 64 bytes in the file, which lets OpenNpz map them with
// aligned, zero-copy views.
type NpzWriter struct {
	cw    *countWriter
	zw    *zip.Writer
	cfg   npzConfig
	err   error
	names map[string]bool
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n += int64(k)
	return k, err
}

// NewNpzWriter returns a writer of a .npz archive to w. Call Close to
// finish the archive.
func NewNpzWriter(w io.Writer, opts ...NpzOption) *NpzWriter {
	nw := &NpzWriter{cw: &countWriter{w: w}, names: map[string]bool{}, cfg: npzConfig{level: -1}}
	for _, o := range opts {
		if err := o(&nw.cfg); err != nil && nw.err == nil {
			nw.err = err
		}
	}
	nw.zw = zip.NewWriter(nw.cw)
	level := nw.cfg.level
	nw.zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return kflate.NewWriter(out, level)
	})
	return nw
}

// Add writes a as the member name+".npy".
func (w *NpzWriter) Add(name string, a *Array) error {
	if w.err != nil {
		return w.err
	}
	if w.names[name] {
		return fmt.Errorf("ndarray: npz member %q written twice", name)
	}
	if err := a.Validate(); err != nil {
		return err
	}
	prefix, err := npyPrefix(a)
	if err != nil {
		return err
	}
	fh := &zip.FileHeader{Name: name + ".npy", Method: zip.Store, ModifiedDate: 1<<5 | 1}
	if w.cfg.compress {
		fh.Method = zip.Deflate
		fw, err := w.zw.CreateHeader(fh)
		if err == nil {
			err = writeMember(fw, prefix, a)
		}
		if err != nil {
			w.err = err
			return err
		}
		w.names[name] = true
		return nil
	}
	// Stored members are written raw, with their CRC and sizes in the
	// local header and no data descriptor after them, so that the offset
	// of the next member is known here.
	body := a.Data
	if a.DType.HasObject() {
		var buf bytes.Buffer
		if err := writeObjects(&buf, a); err != nil {
			return err
		}
		body = buf.Bytes()
	}
	crc := crc32.Update(crc32.ChecksumIEEE(prefix), crc32.IEEETable, body)
	n := uint64(len(prefix) + len(body))
	fh.CRC32, fh.CompressedSize64, fh.UncompressedSize64 = crc, n, n
	if err := w.zw.Flush(); err != nil {
		w.err = err
		return err
	}
	// Local header: 30 bytes, the name, then the extra field.
	start := w.cw.n + 30 + int64(len(fh.Name)) + 6 + int64(len(prefix))
	pad := int((DefaultAlign - start%DefaultAlign) % DefaultAlign)
	extra := make([]byte, 6+pad)
	binary.LittleEndian.PutUint16(extra[0:], alignExtraID)
	binary.LittleEndian.PutUint16(extra[2:], uint16(2+pad))
	binary.LittleEndian.PutUint16(extra[4:], DefaultAlign)
	fh.Extra = extra
	fw, err := w.zw.CreateRaw(fh)
	if err == nil {
		if _, err = fw.Write(prefix); err == nil {
			_, err = fw.Write(body)
		}
	}
	if err != nil {
		w.err = err
		return err
	}
	w.names[name] = true
	return nil
}

func writeMember(w io.Writer, prefix []byte, a *Array) error {
	if _, err := w.Write(prefix); err != nil {
		return err
	}
	if a.DType.HasObject() {
		return writeObjects(w, a)
	}
	_, err := w.Write(a.Data)
	return err
}

// Close finishes the archive; it does not close the underlying writer.
func (w *NpzWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	w.err = errors.New("ndarray: NpzWriter is closed")
	return w.zw.Close()
}

// SaveNpz writes arrays to the .npz file at path, members in name order,
// through a temporary file renamed into place.
func SaveNpz(path string, arrays map[string]*Array, opts ...NpzOption) error {
	names := make([]string, 0, len(arrays))
	for n := range arrays {
		names = append(names, n)
	}
	slices.Sort(names)
	return writeAtomic(path, func(f io.Writer) error {
		w := NewNpzWriter(f, opts...)
		for _, n := range names {
			if err := w.Add(n, arrays[n]); err != nil {
				return err
			}
		}
		return w.Close()
	})
}
