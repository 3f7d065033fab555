package ndarray

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jlstore/jlstore/internal/pread"
	"github.com/jlstore/jlstore/internal/sysmem"
	"github.com/jlstore/jlstore/mmap"
	"github.com/jlstore/jlstore/pickle"
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// MaxHeaderLen bounds the .npy header this package reads (numpy's own
// literal_eval limit is 10000 characters; structured arrays with many
// fields need more, which format 2.0 allows).
const MaxHeaderLen = 1 << 20

// growthAxisDigits is numpy's GROWTH_AXIS_MAX_DIGITS: the header keeps
// room for the growing axis to reach 21 digits.
const growthAxisDigits = 21

// npyHeader is a parsed .npy header.
type npyHeader struct {
	major   byte
	dtype   *DType
	shape   []int
	fortran bool
	dataOff int64 // where the data starts
	nbytes  int   // data length (0 for object arrays, whose data is a pickle)
}

// readHeader reads the magic, version, length and header dict from r,
// leaving r at the start of the data.
func readHeader(r io.Reader) (*npyHeader, error) {
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:10]); err != nil {
		return nil, truncated(err, 0, "magic")
	}
	if string(pre[:6]) != npyMagic {
		return nil, formatErr("npy", 0, ErrFormat, "not a .npy file (magic %q)", pre[:6])
	}
	major, minor := pre[6], pre[7]
	if (major < 1 || major > 3) || minor != 0 {
		return nil, formatErr("npy", 6, ErrUnsupported, "format version %d.%d (known: 1.0, 2.0, 3.0)", major, minor)
	}
	var hlen uint64
	off := int64(10)
	if major == 1 {
		hlen = uint64(binary.LittleEndian.Uint16(pre[8:10]))
	} else {
		if _, err := io.ReadFull(r, pre[10:12]); err != nil {
			return nil, truncated(err, 10, "header length")
		}
		hlen = uint64(binary.LittleEndian.Uint32(pre[8:12]))
		off = 12
	}
	if hlen > MaxHeaderLen {
		return nil, formatErr("npy", 8, ErrTooLarge, "header of %d bytes (MaxHeaderLen is %d)", hlen, MaxHeaderLen)
	}
	raw := make([]byte, hlen)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, truncated(err, off, "header")
	}
	var text string
	if major == 3 {
		if !utf8.Valid(raw) {
			return nil, formatErr("npy", off, ErrCorrupt, "format 3.0 header is not UTF-8")
		}
		text = string(raw)
	} else {
		text = latin1(raw)
	}
	h, err := parseHeader(text, off)
	if err != nil {
		return nil, err
	}
	h.major = major
	h.dataOff = off + int64(hlen)
	return h, nil
}

func truncated(err error, off int64, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErr("npy", off, io.ErrUnexpectedEOF, "truncated %s", what)
	}
	return fmt.Errorf("ndarray: reading .npy %s: %w", what, err)
}

func latin1(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out)
}

// parseHeader reads numpy's header dict.
func parseHeader(text string, off int64) (*npyHeader, error) {
	v, err := parseLiteral(text, off)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pickle.Dict)
	if !ok {
		return nil, formatErr("npy", off, ErrCorrupt, "header is a %s, not a dict", pickle.TypeName(v))
	}
	descr, ok1 := d.Get("descr")
	fo, ok2 := d.Get("fortran_order")
	sh, ok3 := d.Get("shape")
	if !ok1 || !ok2 || !ok3 || d.Len() != 3 {
		keys := make([]string, 0, d.Len())
		for _, k := range d.Keys() {
			keys = append(keys, fmt.Sprint(k))
		}
		return nil, formatErr("npy", off, ErrCorrupt, "header keys %v, want descr, fortran_order and shape", keys)
	}
	fortran, ok := fo.(bool)
	if !ok {
		return nil, formatErr("npy", off, ErrCorrupt, "fortran_order is a %s, not a bool", pickle.TypeName(fo))
	}
	if _, ok := sh.(pickle.Tuple); !ok {
		return nil, formatErr("npy", off, ErrCorrupt, "shape is a %s, not a tuple", pickle.TypeName(sh))
	}
	shape, err := intsOf(sh, "shape")
	if err != nil {
		return nil, formatErr("npy", off, ErrCorrupt, "%v", err)
	}
	dt, err := ParseDescr(descr)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, formatErr("npy", off, fe.Err, "descr: %s", fe.What)
		}
		return nil, formatErr("npy", off, ErrCorrupt, "descr: %v", err)
	}
	if dt.sub != nil && fortran {
		return nil, formatErr("npy", off, ErrUnsupported, "Fortran-order array of subarray dtype %s", dt)
	}
	dt, shape = foldSubarray(dt, shape)
	n, err := checkShape(dt, shape)
	if err != nil {
		return nil, formatErr("npy", off, ErrTooLarge, "%v", err)
	}
	if dt.HasObject() {
		n = 0
	}
	return &npyHeader{dtype: dt, shape: shape, fortran: fortran, nbytes: n}, nil
}

func (h *npyHeader) order() Order {
	if h.fortran {
		return OrderF
	}
	return OrderC
}

// remainingOf returns how many bytes r has left when that is known
// cheaply, else -1.
func remainingOf(r io.Reader) int64 {
	switch x := r.(type) {
	case interface{ Len() int }:
		return int64(x.Len())
	case *os.File:
		st, err := x.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		pos, err := x.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return st.Size() - pos
	case *io.SectionReader:
		pos, err := x.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return x.Size() - pos
	}
	return -1
}

// readPayload reads n bytes from r into a 64-byte aligned buffer.
// remaining is how many bytes r holds, or -1 if unknown.
func readPayload(r io.Reader, n int, remaining int64, off int64) ([]byte, error) {
	if remaining >= 0 && int64(n) > remaining {
		return nil, formatErr("npy", off, io.ErrUnexpectedEOF, "data of %d bytes but only %d remain", n, remaining)
	}
	if int64(n) > sysmem.Available() {
		return nil, formatErr("npy", off, ErrTooLarge, "data of %d bytes is more than the memory available", n)
	}
	if remaining >= 0 || n <= readStep {
		buf := AlignedBytes(n, DefaultAlign)
		if f, ok := r.(*os.File); ok && n >= pread.Min {
			if err := readFileParallel(f, buf); err != nil {
				return nil, truncated(err, off, "data")
			}
			return buf, nil
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, truncated(err, off, "data")
		}
		return buf, nil
	}
	buf, got, err := ReadGrowing(r, n)
	if err != nil {
		return nil, truncated(err, off+int64(got), "data")
	}
	return buf, nil
}

// readFileParallel fills buf from f at its current offset with
// pread.ReadAt, which splits a large read among the cores, then moves the
// offset past the data, as a single Read would.
func readFileParallel(f *os.File, buf []byte) error {
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		_, err = io.ReadFull(f, buf)
		return err
	}
	n, err := pread.ReadAt(f, buf, pos)
	if n < len(buf) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	_, err = f.Seek(pos+int64(len(buf)), io.SeekStart)
	return err
}

// ReadNpy reads one .npy array (format 1.0, 2.0 or 3.0) from r into
// 64-byte aligned heap memory. It reads nothing past the array, so
// arrays written one after another can be read one after another. When r
// is an *os.File, a *bytes.Reader or anything with Len() int, a data length
// beyond the end of the input fails before anything is allocated.
//
// Object arrays, which numpy stores as a pickle, are decoded with the
// pickle package and numpy's constructors (nothing is executed); their
// elements are pickle values.
func ReadNpy(r io.Reader) (*Array, error) {
	h, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	return readBody(r, h, remainingOf(r))
}

func readBody(r io.Reader, h *npyHeader, remaining int64) (*Array, error) {
	if h.dtype.HasObject() {
		return readObjectBody(r, h, remaining)
	}
	data, err := readPayload(r, h.nbytes, remaining, h.dataOff)
	if err != nil {
		return nil, err
	}
	return &Array{DType: h.dtype, Shape: h.shape, Order: h.order(), Data: data}, nil
}

// readObjectBody decodes the pickle numpy writes for object arrays.
func readObjectBody(r io.Reader, h *npyHeader, remaining int64) (*Array, error) {
	var s *pickle.Stream
	if remaining >= 0 {
		s = pickle.NewStreamSize(r, remaining)
	} else {
		s = pickle.NewStream(r)
	}
	v, err := pickle.NewDecoder(s, pickle.WithRegistry(defaultRegistry())).Decode()
	if err != nil {
		if err == io.EOF {
			err = formatErr("npy", h.dataOff, io.ErrUnexpectedEOF, "object array pickle missing")
		}
		return nil, err
	}
	a, ok := v.(*Array)
	if !ok {
		return nil, formatErr("npy", h.dataOff, ErrCorrupt, "object array pickle holds a %s", pickle.TypeName(v))
	}
	if !a.DType.Equal(h.dtype) || !equalInts(a.Shape, h.shape) {
		return nil, formatErr("npy", h.dataOff, ErrCorrupt, "pickled array %v %s does not match the header's %v %s", a.Shape, a.DType, h.shape, h.dtype)
	}
	return a, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var defaultRegistry = sync.OnceValue(NewRegistry)

// LoadNpy reads the .npy file at path into heap memory and closes it.
func LoadNpy(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := ReadNpy(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// OpenNpy maps the .npy file at path in mode ("r", "r+" or "c", see
// package mmap) and returns an array whose Data is the mapped file data:
// nothing is copied and the file is closed. Opening costs the same
// whatever the file's size. The array holds the mapping: Data stays valid
// until [Array.Close]; with mode "r", writing to Data kills the process.
// Object arrays cannot be mapped (ErrUnsupported), as in numpy.
func OpenNpy(path string, mode mmap.Mode) (*Array, error) {
	m, err := mmap.Open(path, mode)
	if err != nil {
		return nil, err
	}
	defer m.Close() // the array keeps its own reference
	a, err := arrayInMapping(m, 0, int64(m.Len()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// arrayInMapping parses the .npy held in [off, off+n) of m and returns the
// array over the mapped data.
func arrayInMapping(m *mmap.Mapping, off, n int64) (*Array, error) {
	head, err := m.Bytes(off, min(n, 12+MaxHeaderLen))
	if err != nil {
		return nil, err
	}
	br := bytes.NewReader(head)
	h, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	if h.dtype.HasObject() {
		return nil, formatErr("npy", h.dataOff, ErrUnsupported, "an array of %s holds Python objects and cannot be memory-mapped", h.dtype)
	}
	if int64(h.nbytes) > n-h.dataOff {
		return nil, formatErr("npy", h.dataOff, io.ErrUnexpectedEOF, "data of %d bytes but only %d remain", h.nbytes, n-h.dataOff)
	}
	return FromMapping(m, off+h.dataOff, h.dtype, h.shape, h.order())
}

// headerText returns numpy's header dict for a, padded as numpy pads it.
func headerText(a *Array) (string, error) {
	fortran := a.isFortran()
	var descr any = a.DType.String()
	if a.DType.fields != nil {
		var err error
		if descr, err = a.DType.Descr(); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	b.WriteString("{'descr': ")
	if err := pyRepr(&b, descr); err != nil {
		return "", err
	}
	b.WriteString(", 'fortran_order': ")
	_ = pyRepr(&b, fortran)
	b.WriteString(", 'shape': ")
	_ = pyRepr(&b, shapeTuple(a.Shape))
	b.WriteString(", }")
	if len(a.Shape) > 0 {
		axis := a.Shape[0]
		if fortran {
			axis = a.Shape[len(a.Shape)-1]
		}
		b.WriteString(strings.Repeat(" ", max(0, growthAxisDigits-len(strconv.Itoa(axis)))))
	}
	return b.String(), nil
}

// npyPrefix returns the magic, version, length and header of a .npy file
// holding a, choosing the version as numpy does: 1.0 when the header fits
// in 64 KiB and is latin-1, 2.0 when it is latin-1, else 3.0 (UTF-8).
func npyPrefix(a *Array) ([]byte, error) {
	text, err := headerText(a)
	if err != nil {
		return nil, err
	}
	enc, isLatin1 := toLatin1(text)
	major := byte(3)
	if isLatin1 {
		major = 2
		if total, _ := wrapLen(len(enc), 1); total <= 0xffff {
			major = 1
		}
	} else {
		enc = []byte(text)
	}
	_, pad := wrapLen(len(enc), major)
	out := make([]byte, 0, 12+len(enc)+pad+1)
	out = append(out, npyMagic...)
	out = append(out, major, 0)
	hl := len(enc) + 1 + pad
	if major == 1 {
		out = binary.LittleEndian.AppendUint16(out, uint16(hl))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(hl))
	}
	out = append(out, enc...)
	for i := 0; i < pad; i++ {
		out = append(out, ' ')
	}
	return append(out, '\n'), nil
}

// wrapLen returns numpy's padded header length and the padding, which
// makes magic, length and header a multiple of 64 bytes (adding 64 spaces
// when it already is, as numpy does).
func wrapLen(n int, major byte) (total, pad int) {
	lenField := 4
	if major == 1 {
		lenField = 2
	}
	hlen := n + 1
	pad = DefaultAlign - (8+lenField+hlen)%DefaultAlign
	return hlen + pad, pad
}

func toLatin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// WriteNpy writes a as a .npy file exactly as numpy.save does: format 1.0,
// or 2.0 when the header needs more than 64 KiB, or 3.0 when field names
// are not latin-1; data starting at a multiple of 64 bytes; F order kept
// (fortran_order True); byte order kept. Object arrays are written as
// numpy writes them, as a protocol 3 pickle.
func WriteNpy(w io.Writer, a *Array) error {
	if err := a.Validate(); err != nil {
		return err
	}
	prefix, err := npyPrefix(a)
	if err != nil {
		return err
	}
	if _, err := w.Write(prefix); err != nil {
		return err
	}
	if a.DType.HasObject() {
		return writeObjects(w, a)
	}
	_, err = w.Write(a.Data)
	return err
}

// writeObjects writes an object array's data as numpy does: a protocol 3
// pickle of the array.
func writeObjects(w io.Writer, a *Array) error {
	return pickle.NewEncoder(w, pickle.Protocol(3)).Encode(a)
}

// SaveNpy writes a to the .npy file at path, through a temporary file in
// the same directory that is renamed into place, so a crash never leaves
// a truncated file.
func SaveNpy(path string, a *Array) error {
	return writeAtomic(path, func(w io.Writer) error { return WriteNpy(w, a) })
}

func writeAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
