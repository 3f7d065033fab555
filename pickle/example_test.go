package pickle_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/jlstore/jlstore/pickle"
)

// Decode a pickle that Python wrote: pickle.dumps({'a': 1, 'b': [2, 3]},
// protocol=2).
func ExampleDecoder() {
	data := []byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02]q\x03(K\x02K\x03eu.")
	v, err := pickle.NewDecoderBytes(data).Decode()
	if err != nil {
		log.Fatal(err)
	}
	d := v.(*pickle.Dict)
	for k, v := range d.All() {
		fmt.Printf("%v: %v\n", k, v)
	}
	b, _ := d.Get("b")
	fmt.Println(b.(*pickle.List).Items)
	// Output:
	// a: 1
	// b: &{[2 3]}
	// [2 3]
}

// A pickle that names os.system loads as an inert object; nothing runs.
// With Strict, it is refused.
func ExampleDecoder_strict() {
	data := []byte("cos\nsystem\n(Vecho hi\ntR.")
	v, _ := pickle.NewDecoderBytes(data).Decode()
	o := v.(*pickle.Object)
	fmt.Println(o.Class, o.Args)

	_, err := pickle.NewDecoderBytes(data, pickle.Strict(true)).Decode()
	fmt.Println(errors.Is(err, pickle.ErrUnsafe))
	fmt.Println(err)
	// Output:
	// os.system [echo hi]
	// true
	// pickle: GLOBAL: global os.system is not allowed: jlstore: unsafe global (at byte 0)
}

// Write Go values as a pickle file that Python's pickle.load reads.
func ExampleEncoder() {
	type point struct {
		X, Y int
		Tag  string `pickle:"tag"`
	}
	shared := pickle.NewList("x")
	v := map[string]any{
		"point":  point{1, 2, "p"},
		"twice":  pickle.Tuple{shared, shared}, // one list, referenced twice
		"values": []float64{0.5, 1.5},
	}
	dir, err := os.MkdirTemp("", "pickle-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "example.pkl")
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pickle.NewEncoder(f, pickle.Protocol(4)).Encode(v); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	data, _ := os.ReadFile(path)
	back, err := pickle.NewDecoderBytes(data).Decode()
	if err != nil {
		log.Fatal(err)
	}
	d := back.(*pickle.Dict)
	p, _ := d.Get("point")
	fmt.Println(p.(*pickle.Dict).Keys())
	tw, _ := d.Get("twice")
	fmt.Println(tw.(pickle.Tuple)[0] == tw.(pickle.Tuple)[1])
	// Output:
	// [X Y tag]
	// true
}

// Encoder.Raw splices bytes into the stream outside every frame, and a
// registered constructor reads them back through Decoder.Stream: the way
// joblib stores array data.
func ExampleEncoder_Raw() {
	var buf bytes.Buffer
	payload := []byte("raw array bytes")
	hook := pickle.Hook(func(e *pickle.Encoder, v any) (bool, error) {
		if _, ok := v.(rawBlob); !ok {
			return false, nil
		}
		if err := e.Reduce(pickle.Global{Module: "example", Name: "blob"}, pickle.Tuple{len(payload)}); err != nil {
			return true, err
		}
		return true, e.Raw(payload)
	})
	enc := pickle.NewEncoder(&buf, hook)
	if err := enc.Encode([]any{rawBlob{}, "after"}); err != nil {
		log.Fatal(err)
	}

	r := pickle.NewRegistry()
	r.Register("example", "blob", pickle.Class{Call: func(d *pickle.Decoder, args pickle.Tuple) (any, error) {
		n := args[0].(int64)
		if err := d.Reserve(n, n); err != nil {
			return nil, err
		}
		b := make([]byte, n)
		return b, d.Stream().ReadFull(b)
	}})
	v, err := pickle.NewDecoderBytes(buf.Bytes(), pickle.WithRegistry(r)).Decode()
	if err != nil {
		log.Fatal(err)
	}
	items := v.(*pickle.List).Items
	fmt.Printf("%s, %s\n", items[0], items[1])
	// Output:
	// raw array bytes, after
}

type rawBlob struct{}

// List the opcodes of a pickle without running them, as Python's
// pickletools.genops does: pickle.dumps({'a': (1, 2.5)}, protocol=2).
func ExampleScanner() {
	data := []byte("\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01G@\x04\x00\x00\x00\x00\x00\x00\x86q\x02s.")
	sc := pickle.NewScanner(pickle.NewStreamBytes(data))
	for {
		op, err := sc.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%2d: %-10s %v\n", op.Offset, op.Name, op.Arg)
	}
	// Output:
	//  0: PROTO      2
	//  2: EMPTY_DICT <nil>
	//  3: BINPUT     0
	//  5: BINUNICODE a
	// 11: BINPUT     1
	// 13: BININT1    1
	// 15: BINFLOAT   2.5
	// 24: TUPLE2     <nil>
	// 25: BINPUT     2
	// 27: SETITEM    <nil>
	// 28: STOP       <nil>
}
