package pickle

import "unsafe"

// memoChunk is the number of memo entries per chunk. The memo grows by
// whole chunks, so it never copies its entries as a growing slice would.
const memoChunk = 4096

// Memory the decoder builds is charged against its MaxBytes budget at
// these fixed costs, when it is allocated: a slab's block, a grown slice,
// a new container.
const (
	// costAny is an interface value: a memo slot, an item of a list or
	// tuple, a key or a value of a dict, an item of a set.
	costAny = int64(unsafe.Sizeof(any(nil)))
	// costIndex is a key in the hash index of a dict or set of more
	// than smallTable items (a Go map entry, with its share of empty
	// slots).
	costIndex = 64
	// costMemoMap is a memo entry whose index is far from the others.
	costMemoMap = 48
	// costSlice is the header that a tuple or bytes value boxed in an
	// interface takes.
	costSlice = int64(unsafe.Sizeof([]any(nil)))
)

// spend adds n to the bytes claimed, when there is a counter: the
// decoder's allocators report their blocks this way, and the decoder
// checks the total before the next opcode.
func spend(used *int64, n int64) {
	if used != nil {
		*used += n
	}
}

// memoTable is the unpickler's memo: a slice of entries indexed from 0,
// stored in fixed-size chunks.
type memoTable struct {
	chunks [][]any
	n      int
	used   *int64 // the decoder's claimed bytes, charged for the slots
}

func (m *memoTable) len() int { return m.n }

func (m *memoTable) get(i int) any { return m.chunks[uint(i)/memoChunk][uint(i)%memoChunk] }

func (m *memoTable) set(i int, v any) { m.chunks[uint(i)/memoChunk][uint(i)%memoChunk] = v }

func (m *memoTable) append(v any) {
	if m.n < memoChunk {
		// The first chunk grows as a slice, so a small pickle's memo
		// stays small.
		if len(m.chunks) == 0 {
			m.chunks = append(m.chunks, nil)
		}
		if m.n < len(m.chunks[0]) {
			m.chunks[0][m.n] = v
		} else {
			c := cap(m.chunks[0])
			m.chunks[0] = append(m.chunks[0], v)
			spend(m.used, int64(cap(m.chunks[0])-c)*costAny)
		}
		m.n++
		return
	}
	if m.n == len(m.chunks)*memoChunk {
		m.chunks = append(m.chunks, make([]any, memoChunk))
		spend(m.used, memoChunk*costAny)
	}
	m.set(m.n, v)
	m.n++
}

// reset empties the memo, letting go of the values it held.
func (m *memoTable) reset() {
	for i, c := range m.chunks {
		if i*memoChunk >= m.n {
			break
		}
		clear(c)
	}
	m.n = 0
}

// slab hands out values of type T from larger allocations, which saves an
// allocation per value when a pickle holds millions of small containers.
// A value keeps its whole block alive, which is at most a few tens of KiB.
//
// Blocks start small and double up to a maximum, so that decoding a small
// pickle allocates little.
type slab[T any] struct {
	block []T
	next  int    // length of the next block
	used  *int64 // charged for each block, or nil
}

// grow returns the length of the next block, up to limit.
func grow(next *int, limit int) int {
	n := min(max(*next, 8), limit)
	*next = min(2*n, limit)
	return n
}

func (s *slab[T]) new(blockLen int) *T {
	if len(s.block) == 0 {
		s.block = make([]T, grow(&s.next, blockLen))
		spend(s.used, int64(len(s.block))*int64(unsafe.Sizeof(s.block[0])))
	}
	p := &s.block[0]
	s.block = s.block[1:]
	return p
}

// anySlab hands out small []any slices (the items of small dicts) from
// larger blocks. Each slice has its capacity capped at its length, so an
// append past it moves to fresh memory and never touches a neighbor.
type anySlab struct {
	block []any
	next  int
	used  *int64 // charged for each block, or nil
}

const anySlabBlock = 2048

func (s *anySlab) take(n int) []any {
	if n > anySlabBlock/8 {
		spend(s.used, int64(n)*costAny)
		return make([]any, n)
	}
	if len(s.block) < n {
		s.block = make([]any, max(n, grow(&s.next, anySlabBlock)))
		spend(s.used, int64(len(s.block))*costAny)
	}
	out := s.block[:n:n]
	s.block = s.block[n:]
	return out
}

// textArena copies short strings into shared blocks, which saves an
// allocation per string. The bytes of a block are never written again
// once a string points at them, so the strings stay immutable.
type textArena struct {
	block []byte
	next  int
}

const (
	textArenaBlock = 16 << 10
	textArenaMax   = 256 // longer strings get their own allocation
)

func (a *textArena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > textArenaMax {
		return string(b)
	}
	if cap(a.block)-len(a.block) < len(b) {
		a.block = make([]byte, 0, max(len(b), grow(&a.next, textArenaBlock)))
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[start], len(b))
}

// Interface values without an allocation each.
//
// Converting an int64, float64 or string to any copies the value to the
// heap (except small integers), and a pickle of a million small records
// does that millions of times: the allocations, and the garbage
// collector's work on them, dominated decoding. boxes instead stores the
// values in blocks and makes interface values that point into them, as the
// runtime's own conversion points small integers into a static table. A
// value is never written again once boxed, so it stays immutable; a block
// lives as long as any value in it.
//
// This relies on the layout of an empty interface (a type word, then a
// pointer to the data), which has not changed since Go 1. boxesWork checks
// it at start-up; if the check fails, boxes makes ordinary conversions.

type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	int64Type     = typeWord(int64(0))
	float64Type   = typeWord(float64(0))
	stringType    = typeWord("")
	tupleType     = typeWord(Tuple(nil))
	bytesType     = typeWord([]byte(nil))
	byteArrayType = typeWord(ByteArray(nil))
)

// makeAny returns the interface value of type typ whose data is at p.
func makeAny(typ, p unsafe.Pointer) any {
	var out any
	e := (*eface)(unsafe.Pointer(&out))
	e.typ, e.data = typ, p
	return out
}

// boxes hands out interface values of int64, float64, string, Tuple,
// []byte and ByteArray whose data lives in shared blocks.
type boxes struct {
	ints   []int64
	floats []float64
	strs   []string
	nextI  int
	nextF  int
	nextS  int
	slices sliceBoxes // Tuple, []byte and ByteArray headers
	used   *int64     // charged for each block, or nil
}

// sliceBoxes holds the headers of boxed slices.
type sliceBoxes struct {
	tuples [][]any
	bytes  [][]byte
	nextT  int
	nextB  int
}

// boxIn stores v in the next slot of *block, allocating a block when it
// is empty, and returns the interface value of type typ that points to it.
func boxIn[T any](block *[]T, next *int, used *int64, typ unsafe.Pointer, v T) any {
	if len(*block) == 0 {
		*block = make([]T, grow(next, boxBlock))
		spend(used, int64(len(*block))*int64(unsafe.Sizeof(v)))
	}
	p := &(*block)[0]
	*block = (*block)[1:]
	*p = v
	return makeAny(typ, unsafe.Pointer(p))
}

func (b *boxes) tuple(t Tuple) any {
	if !boxesWork {
		return t
	}
	return boxIn(&b.slices.tuples, &b.slices.nextT, b.used, tupleType, []any(t))
}

func (b *boxes) bytes(v []byte) any {
	if !boxesWork {
		return v
	}
	return boxIn(&b.slices.bytes, &b.slices.nextB, b.used, bytesType, v)
}

func (b *boxes) byteArray(v ByteArray) any {
	if !boxesWork {
		return v
	}
	return boxIn(&b.slices.bytes, &b.slices.nextB, b.used, byteArrayType, []byte(v))
}

const boxBlock = 512

func (b *boxes) int64(v int64) any {
	if !boxesWork || uint64(v) < 256 { // small ints never allocate
		return v
	}
	return boxIn(&b.ints, &b.nextI, b.used, int64Type, v)
}

func (b *boxes) float64(v float64) any {
	if !boxesWork {
		return v
	}
	return boxIn(&b.floats, &b.nextF, b.used, float64Type, v)
}

func (b *boxes) string(v string) any {
	if !boxesWork {
		return v
	}
	return boxIn(&b.strs, &b.nextS, b.used, stringType, v)
}

// boxesWork reports whether boxed values are indistinguishable from
// ordinary conversions.
var boxesWork = func() bool {
	b := boxes{ints: make([]int64, 1), floats: make([]float64, 1), strs: make([]string, 1)}
	i := makeAny(int64Type, unsafe.Pointer(&b.ints[0]))
	b.ints[0] = -12345
	f := makeAny(float64Type, unsafe.Pointer(&b.floats[0]))
	b.floats[0] = 2.5
	s := makeAny(stringType, unsafe.Pointer(&b.strs[0]))
	b.strs[0] = "box"
	x, ok1 := i.(int64)
	y, ok2 := f.(float64)
	z, ok3 := s.(string)
	tl := [][]any{{int64(1), "two"}}
	t := makeAny(tupleType, unsafe.Pointer(&tl[0]))
	bl := [][]byte{[]byte("ab")}
	by := makeAny(bytesType, unsafe.Pointer(&bl[0]))
	ba := makeAny(byteArrayType, unsafe.Pointer(&bl[0]))
	tv, ok4 := t.(Tuple)
	bv, ok5 := by.([]byte)
	av, ok6 := ba.(ByteArray)
	_, no := by.(ByteArray)
	return ok1 && ok2 && ok3 && x == -12345 && y == 2.5 && z == "box" &&
		i == any(int64(-12345)) && f == any(2.5) && s == any("box") &&
		ok4 && ok5 && ok6 && !no && len(tv) == 2 && tv[1] == "two" && string(bv) == "ab" && string(av) == "ab"
}()
