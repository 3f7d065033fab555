package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/jlstore/jlstore/mmap"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/store"
)

var lsCmd = &command{
	name:     "ls",
	synopsis: "[--json] [--max-bytes SIZE] [--max-ratio R] FILE",
	summary:  "List the numpy arrays of a joblib file or pickle, in pickle order.",
	help: `Each line gives the array's path in the object graph, its dtype as stored
(numpy's dtype.str), shape, order, size in bytes, the byte offset of its data
in the uncompressed stream ("-" when it has none), whether Open maps it
without a copy, and the SHA-256 of its elements in C order with the stored
dtype ("-" for object arrays): hashlib.sha256(np.ascontiguousarray(a).tobytes()).

Paths: $ is the root, [0] a list or tuple index, ["key"] a dict key (other
keys in Python's repr), .name an attribute of an object's state.

--json prints a JSON array of objects with the keys path, dtype, shape,
order, nbytes, offset, sha256 (offset and sha256 may be null), and mmap,
subclass and note. A structured dtype is numpy's dtype.descr as JSON lists,
e.g. [["a","<i4"],["b","<f8",[2]]].

Uncompressed files are memory-mapped, so listing a large file reads only
what the hashes need. Compressed arrays are hashed as they decompress and
never kept, so memory stays bounded whatever the file holds (an F-order
array over 16 MiB goes through an unlinked temporary file).

example:
  jlstore ls model.pkl
  jlstore ls --json model.pkl.gz | jq -r '.[] | select(.nbytes > 1e6) | .path'`,
	run: runLs,
}

func runLs(c *cli, args []string) error {
	fs := c.flags()
	asJSON := fs.Bool("json", false, "print JSON (the stable format for scripts)")
	var lim limits
	lim.register(fs)
	pos, err := c.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	entries, err := listArrays(pos[0], lim.options())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeLsJSON(c.stdout, entries)
	}
	return writeLsText(c.stdout, entries)
}

// lsEntry is one array of ls. The field order is the JSON contract's.
type lsEntry struct {
	Path     string          `json:"path"`
	DType    json.RawMessage `json:"dtype"`
	Shape    []int           `json:"shape"`
	Order    string          `json:"order"`
	NBytes   int64           `json:"nbytes"`
	Offset   *int64          `json:"offset"`
	SHA256   *string         `json:"sha256"`
	Mmap     bool            `json:"mmap"`
	Subclass string          `json:"subclass"`
	Note     string          `json:"note"`

	dtypeText string
	dtypeStr  string // numpy's dtype.str
	fields    int    // of a structured dtype
}

// listArrays opens path, keeping the stored byte order, and describes
// every array. Arrays are hashed as they stream (StreamArrays), so memory
// stays bounded whatever the file holds: a mapped array is hashed from the
// mapping, a compressed one as it decompresses, and an F-order one through
// an unlinked temporary file.
func listArrays(path string, opts []store.LoadOption) ([]lsEntry, error) {
	sums := map[*ndarray.Array]string{}
	hash := func(a *ndarray.Array, r io.Reader) error {
		sum, err := streamSHA256(a, r)
		if err != nil {
			return err
		}
		sums[a] = sum
		return nil
	}
	f, err := store.Open(path, append(opts, store.WithByteOrder(store.ByteOrderKeep), store.StreamArrays(hash))...)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	infos := f.Arrays()
	out := make([]lsEntry, 0, len(infos))
	for _, info := range infos {
		e, err := describeArray(info, sums)
		if err != nil {
			return nil, fileErr(path, fmt.Errorf("array %s: %w", info.Path, err))
		}
		out = append(out, e)
	}
	return out, f.Close()
}

func describeArray(info store.ArrayInfo, sums map[*ndarray.Array]string) (lsEntry, error) {
	a := info.Array
	e := lsEntry{
		Path:      info.Path,
		Shape:     append(make([]int, 0, len(a.Shape)), a.Shape...),
		Order:     a.Order.String(),
		NBytes:    int64(a.NBytes()),
		Mmap:      info.ZeroCopy,
		Subclass:  subclassName(a),
		Note:      info.Note,
		dtypeText: dtypeText(a.DType),
		dtypeStr:  a.DType.String(),
		fields:    len(a.DType.Fields()),
	}
	e.DType = dtypeJSON(a.DType)
	if info.Offset >= 0 {
		off := info.Offset
		e.Offset = &off
	}
	if !a.DType.HasObject() {
		sum, ok := sums[a]
		if !ok {
			// Not a payload: pickled by numpy, or a sidecar file.
			var err error
			if sum, err = arraySHA256(a); err != nil {
				return e, err
			}
		}
		e.SHA256 = &sum
	}
	return e, nil
}

// arraySHA256 hashes the elements in C order, in the stored dtype.
func arraySHA256(a *ndarray.Array) (string, error) {
	h := sha256.New()
	if _, err := a.WriteC(h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// spoolMin is the size from which an F-order payload that streams is
// hashed through a temporary file rather than in memory.
const spoolMin = 16 << 20

// streamSHA256 hashes a payload's elements in C order as they stream: a
// view of the mapping in place, the bytes as they come for a C-contiguous
// array, else (F order) from memory for a small one and through an
// unlinked, mapped temporary file for a large one, so memory stays
// bounded.
func streamSHA256(a *ndarray.Array, r io.Reader) (string, error) {
	full := &ndarray.Array{DType: a.DType, Shape: a.Shape, Order: a.Order}
	switch n := int64(a.NBytes()); {
	case a.Data != nil:
		// A view of the mapped file: hash it in place, whatever its order.
		return arraySHA256(a)
	case a.IsCContiguous():
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	case n < spoolMin:
		full.Data = make([]byte, n)
		if _, err := io.ReadFull(r, full.Data); err != nil {
			return "", err
		}
	default:
		tmp, err := os.CreateTemp("", "jlstore-ls-*")
		if err != nil {
			return "", err
		}
		os.Remove(tmp.Name())
		defer tmp.Close()
		if _, err := io.Copy(tmp, r); err != nil {
			return "", fmt.Errorf("spooling an F-order array to %s: %w", tmp.Name(), err)
		}
		m, err := mmap.OpenFile(tmp, mmap.ReadOnly)
		if err != nil {
			return "", err
		}
		defer m.Close()
		if full.Data, err = m.Bytes(0, n); err != nil {
			return "", err
		}
	}
	return arraySHA256(full)
}

func subclassName(a *ndarray.Array) string {
	switch a.Subclass {
	case "":
		return "numpy.ndarray"
	case "matrix", "memmap", "recarray":
		return "numpy." + a.Subclass
	}
	return a.Subclass
}

// dtypeJSON is numpy's dtype.str as a JSON string, or the descr lists of
// a structured dtype.
func dtypeJSON(t *ndarray.DType) json.RawMessage {
	var v any = t.String()
	if b, err := t.MarshalJSON(); err == nil {
		// Re-encode without Go's HTML escaping: "<f8", not "\u003cf8".
		if json.Unmarshal(b, &v) != nil {
			v = t.String()
		}
	} // else overlapping fields have no descr; dtype.str names the size.
	return marshalPlain(v)
}

// marshalPlain is json.Marshal without HTML escaping and without the
// trailing newline of an Encoder.
func marshalPlain(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// dtypeText is the dtype for humans: dtype.str, or the descr of a
// structured dtype as compact JSON.
func dtypeText(t *ndarray.DType) string {
	if !t.IsStruct() {
		if base, shape := t.Subarray(); base != nil {
			return fmt.Sprintf("(%s, %s)", dtypeText(base), shapeText(shape))
		}
		return t.String()
	}
	return string(dtypeJSON(t))
}

// shapeText renders a shape as Python's tuple: (), (4,), (3, 4).
func shapeText(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func writeLsJSON(w io.Writer, entries []lsEntry) error {
	var buf bytes.Buffer
	buf.WriteString("[")
	for i, e := range entries {
		if i > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n  ")
		buf.Write(marshalPlain(e))
	}
	if len(entries) > 0 {
		buf.WriteString("\n")
	}
	buf.WriteString("]\n")
	_, err := w.Write(buf.Bytes())
	return err
}

func writeLsText(w io.Writer, entries []lsEntry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tDTYPE\tSHAPE\tORDER\tNBYTES\tOFFSET\tMMAP\tSHA256")
	for _, e := range entries {
		off, sum, mm := "-", "-", "no"
		if e.Offset != nil {
			off = strconv.FormatInt(*e.Offset, 10)
		}
		if e.SHA256 != nil {
			sum = *e.SHA256
		}
		if e.Mmap {
			mm = "yes"
		}
		dt := e.dtypeText
		if e.fields > 0 {
			// The fields are in --json; keep the table narrow.
			dt = fmt.Sprintf("%s (%s)", e.dtypeStr, plural(e.fields, "field"))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.Path, dt, shapeText(e.Shape), e.Order, e.NBytes, off, mm, sum)
	}
	return tw.Flush()
}
