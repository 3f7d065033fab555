// Package pickle reads and writes Python pickles, protocols 0 to 5, without
// running anything the pickle names.
//
// Python's pickle module executes the globals a pickle names: loading a
// pickle from an untrusted source runs the author's code. This package never
// does. A global resolves through a [Registry] to a Go constructor that
// another package registered (ndarray registers numpy's, store registers
// joblib's), or else it becomes an inert [Object] that records its class,
// arguments and state, and that the [Encoder] writes back unchanged. With
// the [Strict] option an unregistered global is an error wrapping
// [ErrUnsafe] that names it.
//
// # Types
//
// Python values decode to these Go types, and the encoder writes them back
// as the same Python types:
//
//	Python                Go (decoded)               Go (also accepted when encoding)
//	None                  nil                        nil pointers, nil slices and maps
//	bool                  bool
//	int                   int64, or *big.Int when    int, int8..int32, uint8..uint64, uint
//	                      it does not fit
//	float                 float64                    float32
//	complex               complex128                 complex64
//	str                   string (UTF-8; lone        string (must be UTF-8)
//	                      surrogates kept as
//	                      Python's surrogatepass)
//	bytes                 []byte
//	bytearray             ByteArray
//	Python 2 str          []byte (or string with
//	                      WithPy2Strings)
//	tuple                 Tuple
//	list                  *List                      []any, other slices and arrays
//	dict                  *Dict                      map[K]V (sorted keys; array
//	                                                 keys become tuples), structs
//	collections.          *Dict with Class set
//	  OrderedDict
//	set, frozenset        *Set (Frozen for the
//	                      latter)
//	a class or function   Global
//	an instance, or the   *Object
//	  result of calling
//	  an unregistered
//	  global (or a value
//	  the pickle built,
//	  see Object.Callee)
//	anything registered   what its constructor       any Pickler
//	                      returns
//
// List, Dict, Set and Object are pointers, so that shared references stay
// shared (the encoder writes the second reference as a memo get) and a list
// may contain itself. A Dict keeps insertion order and accepts any hashable
// key, with Python's equalities: 1, 1.0 and True are one key. [Equal]
// compares values as Python's == does.
//
// Go structs encode as a dict of their exported fields, named by the
// "pickle" struct tag (see [StructTag]) or the field name.
//
// Decoded values share memory in blocks: many small dicts, lists, inert
// objects, tuples, ints, floats, strings and the headers of bytes are
// carved out of larger allocations, so one value kept from a large pickle
// keeps at most a few tens of KiB alive. Dicts that have the same str keys
// in the same order, as records do, share one slice of keys, which a dict
// copies before it adds a key. Values are never written by the decoder once
// returned.
//
// # Decoding
//
// A [Decoder] reads one pickle per [Decoder.Decode] call and reads nothing
// past its STOP opcode, so pickles written one after another decode one
// after another. Every opcode of protocols 0 to 5 is supported: FRAME is
// checked and otherwise transparent; NEXT_BUFFER and READONLY_BUFFER take
// the out-of-band buffers given with [Buffers]; PERSID and BINPERSID call
// the [PersistentLoad] hook; EXT1, EXT2 and EXT4 resolve through
// [Extensions]; LONG, LONG1 and LONG4 give int64 or *big.Int. INST and
// OBJ without arguments make cls.__new__(cls), as Python does for a
// class.
//
// The decoder is as strict as CPython's where that costs nothing: str must
// be UTF-8 (lone surrogates allowed, as Python writes them), names of
// globals UTF-8, and a pickle may not stop inside a frame, which writers
// always end with STOP.
//
// The builtins that ordinary values use are handled natively:
// builtins.set, frozenset, bytearray, bytes and complex,
// _codecs.encode, copyreg._reconstructor, copyreg.__newobj__,
// copyreg.__newobj_ex__ and collections.OrderedDict, also under their
// Python 2 module names (__builtin__, copy_reg).
//
// # Scanning
//
// A [Scanner] lists the opcodes of a pickle with their offsets and decoded
// arguments, without running them, as Python's pickletools.genops does
// (see [Op] for the argument types). It reads every argument with the
// Decoder's own code, so the two accept and refuse the same arguments,
// with the same errors; it does not check what the opcodes do. With
// [Preview], long strings and bytes are skipped rather than read, so a
// listing of any pickle takes a few KiB. The caller keeps the [Stream] and
// may skip bytes of it between opcodes, as a reader of joblib files skips
// the array data spliced after a BUILD.
//
// # Limits
//
// Hostile input gets an error, never a panic, a hang or an allocation out of
// proportion to the input. Every length field is checked before anything is
// allocated: against what remains of the input when its size is known
// ([NewStreamBytes], [NewStreamSize]), and always against the [MaxBytes]
// budget, which defaults to the memory the process can really get. From a
// stream of unknown size, long payloads are read in steps, so a lying length
// fails at the end of the input having cost no more than the input.
//
// The same budget counts what the decoder builds from opcodes of a byte or
// two: memo entries, list items, dict entries, containers, objects and
// boxed numbers, each at a fixed cost (see [MaxBytes]), charged when a
// slice grows or a block is allocated. So ten million MEMOIZE opcodes, a
// list appended the same object a million times or a million empty dicts
// fail with ErrTooLarge at the opcode that went over, however well the
// input compresses. The stack plus the marks ([MaxDepth]) and the number
// of memo entries ([MaxMemo]) are bounded too.
//
// Time is bounded as well: a dict key or set item that is a tuple or a
// frozenset is encoded to be compared, at most 1 MiB and 1,000 levels
// deep per key, and at most 512 MiB of such encodings per decode (about
// half a second), since a key may share one large tuple that two bytes of
// BINGET name again for every SETITEM. Over these limits the decode fails
// with ErrTooLarge.
//
// Errors on bad input are a *[FormatError] carrying the byte offset of the
// opcode, its pickletools name and a wrapped kind: [ErrCorrupt],
// [ErrTooLarge], [ErrUnsafe], [ErrUnsupported] or io.ErrUnexpectedEOF for a
// truncated input. errors.Is(err, [ErrFormat]) holds for all of them but
// the limits and refusals.
//
// # Encoding
//
// An [Encoder] writes protocols 2 to 5 (default 4) the way CPython does:
// frames of about 64 KiB at protocol 4 and above, large bytes and strings
// outside the frames, memoized containers, and batches of 1000 items. For
// the values of the model, the bytes are those of Python's pickle.dumps,
// with one difference: equal strings are written once and then fetched
// from the memo, where Python does that only for the same string object.
// Globals use Python 2 module names (__builtin__, copy_reg) below protocol
// 3 and Python 3 names from protocol 3 on, as Python reads them. A
// [Pickler] writes its own opcodes with the Encoder's helpers
// ([Encoder.Global], [Encoder.Reduce], [Encoder.NewObj], [Encoder.Build],
// [Encoder.Memoize]), and [Encoder.Raw] splices raw bytes into the stream
// outside every frame, which is how joblib stores array data.
package pickle
