package store

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"gonum.org/v1/gonum/mat"

	"github.com/jlstore/jlstore/compressors"
	"github.com/jlstore/jlstore/ndarray"
	"github.com/jlstore/jlstore/pickle"
)

var (
	wrapperClass = pickle.Global{Module: "joblib.numpy_pickle", Name: "NumpyArrayWrapper"}
	ndarrayClass = pickle.Global{Module: "numpy", Name: "ndarray"}
)

// Dump writes v to path as a joblib file that Python's joblib.load reads
// back equal. See the package documentation for how Go values map to
// Python. Without a Compress option the file's extension picks the codec,
// as in joblib (.z .gz .bz2 .lzma .xz .lz4, and .zst for zstd).
//
// The file is written to a temporary file in the same folder, fsynced and
// renamed over path, so a crash or an error leaves the old file intact
// (see NoSync for what leaving out the fsync gives up).
func Dump(path string, v any, opts ...DumpOption) error {
	cfg, err := newDumpConfig(opts)
	if err != nil {
		return &PathError{"dump", path, err}
	}
	codec, level, err := cfg.resolve(path)
	if err != nil {
		return &PathError{"dump", path, err}
	}
	err = writeAtomic(path, !cfg.noSync, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := encode(bw, v, cfg, codec, level); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return &PathError{"dump", path, err}
	}
	return nil
}

// Encode writes v to w as a joblib stream. It compresses only when a
// Compress option says so.
func Encode(w io.Writer, v any, opts ...DumpOption) error {
	cfg, err := newDumpConfig(opts)
	if err != nil {
		return &PathError{"encode", "", err}
	}
	codec, level, err := cfg.resolve("")
	if err != nil {
		return &PathError{"encode", "", err}
	}
	if err := encode(w, v, cfg, codec, level); err != nil {
		return &PathError{"encode", "", err}
	}
	return nil
}

func (c *dumpConfig) resolve(path string) (compressors.Codec, int, error) {
	if !c.explicit {
		return compressors.Resolve("", 0, path)
	}
	return compressors.Resolve(c.codec, c.level, path)
}

func encode(w io.Writer, v any, cfg dumpConfig, codec compressors.Codec, level int) error {
	var cw io.WriteCloser
	if codec.Name != "" {
		var err error
		if cw, err = codec.NewWriter(w, level); err != nil {
			return fmt.Errorf("%s writer: %w", codec.Name, err)
		}
		w = cw
	}
	jw := &joblibWriter{cfg: cfg, compressed: codec.Name != ""}
	enc := pickle.NewEncoder(w, pickle.Protocol(cfg.proto), pickle.StructTag("jlstore"), pickle.Hook(jw.hook))
	if err := enc.Encode(v); err != nil {
		if cw != nil {
			cw.Close()
		}
		return err
	}
	if cw != nil {
		if err := cw.Close(); err != nil {
			return fmt.Errorf("%s writer: %w", codec.Name, err)
		}
	}
	return nil
}

type joblibWriter struct {
	cfg        dumpConfig
	compressed bool
}

// asArray converts the Go values that Dump writes as numpy arrays.
func asArray(v any) (*ndarray.Array, bool, error) {
	var a *ndarray.Array
	var err error
	switch x := v.(type) {
	case *ndarray.Array:
		return x, x != nil, nil
	case ndarray.Array:
		return &x, true, nil
	case *mat.Dense:
		a, err = ndarray.FromDense(x)
	case *mat.VecDense:
		n := x.Len()
		out := make([]float64, n)
		for i := range out {
			out[i] = x.AtVec(i)
		}
		a, err = ndarray.FromFloat64s(nil, out)
	case *mat.CDense:
		r, c := x.Dims()
		out := make([]complex128, 0, r*c)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				out = append(out, x.At(i, j))
			}
		}
		a, err = ndarray.FromComplex128s([]int{r, c}, out)
	case []float64:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []float32:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []int64:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []int32:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []int16:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []int8:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []uint64:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []uint32:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []uint16:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []complex128:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []complex64:
		a, err = ndarray.FromSlice(nil, ndarray.OrderC, x)
	case []bool:
		b := make([]uint8, len(x))
		for i, t := range x {
			if t {
				b[i] = 1
			}
		}
		a, err = ndarray.FromBytes(ndarray.Bool, []int{len(x)}, ndarray.OrderC, b)
	default:
		return nil, false, nil
	}
	return a, true, err
}

// hook writes arrays as joblib does: a NumpyArrayWrapper and the raw bytes
// after it.
func (jw *joblibWriter) hook(e *pickle.Encoder, v any) (bool, error) {
	a, ok, err := asArray(v)
	if !ok || err != nil {
		return ok, err
	}
	return true, jw.writeArray(e, a)
}

func (jw *joblibWriter) writeArray(e *pickle.Encoder, a *ndarray.Array) error {
	if err := a.Validate(); err != nil {
		return err
	}
	sub := ndarrayClass
	switch a.Subclass {
	case "", "memmap":
		// joblib writes memmaps as the arrays they are.
		if a.Subclass == "memmap" {
			sub = pickle.Global{Module: "numpy", Name: "memmap"}
		}
	case "matrix":
		sub = pickle.Global{Module: "numpy", Name: "matrix"}
	default:
		// Other subclasses are pickled by numpy itself, inline, as
		// joblib does.
		return a.PickleTo(e)
	}
	shape := make(pickle.Tuple, len(a.Shape))
	for i, s := range a.Shape {
		shape[i] = int64(s)
	}
	order := "C"
	if a.Order == ndarray.OrderF && !a.IsCContiguous() {
		order = "F"
	}
	object := a.DType.HasObject()
	state := pickle.NewDict()
	state.Set("subclass", sub)
	state.Set("shape", shape)
	state.Set("order", order)
	state.Set("dtype", a.DType)
	state.Set("allow_mmap", !jw.compressed && !object)
	if jw.cfg.alignment > 0 {
		state.Set("numpy_array_alignment_bytes", int64(jw.cfg.alignment))
	}
	if err := e.NewObj(wrapperClass, pickle.Tuple{}); err != nil {
		return err
	}
	e.Memoize(nil)
	if err := e.Build(state); err != nil {
		return err
	}
	// The payload goes outside every frame.
	if err := e.Raw(nil); err != nil {
		return err
	}
	if object {
		// A complete pickle of the array, at protocol 2, as joblib 1.2
		// to 1.4 write it.
		var buf bytes.Buffer
		if err := pickle.NewEncoder(&buf, pickle.Protocol(2)).Encode(a); err != nil {
			return fmt.Errorf("object array: %w", err)
		}
		return e.Raw(buf.Bytes())
	}
	if al := int64(jw.cfg.alignment); al > 0 {
		pad := al - (e.Offset()+1)%al
		p := make([]byte, 1+pad)
		p[0] = byte(pad)
		for i := 1; i < len(p); i++ {
			p[i] = 0xff
		}
		if err := e.Raw(p); err != nil {
			return err
		}
	}
	// Data is in a.Order; an F-order array that is also C-contiguous (at
	// most one dimension above 1) has the same bytes either way.
	return e.Raw(a.Data)
}
