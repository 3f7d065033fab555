package xxh32

import (
	"encoding/binary"
	"math/bits"
)

const (
	prime1 uint32 = 0x9E3779B1
	prime2 uint32 = 0x85EBCA77
	prime3 uint32 = 0xC2B2AE3D
	prime4 uint32 = 0x27D4EB2F
	prime5 uint32 = 0x165667B1
)

// Digest is a running XXH32 with seed 0. The zero value is ready to use.
type Digest struct {
	v     [4]uint32 // accumulators, offset by their initial values (see acc)
	total uint64    // bytes written
	mem   [16]byte  // a partial stripe
	n     int       // bytes in mem
}

// initial holds the accumulators' starting values for seed 0; Digest
// stores the accumulators minus these, so that its zero value is a fresh
// digest.
var initial = [4]uint32{0x24234428, prime2, 0, 0x61C8864F} // prime1+prime2, prime2, 0, -prime1 (mod 2**32)

// Reset makes d a fresh digest.
func (d *Digest) Reset() { *d = Digest{} }

// Write adds b to the digest. It never fails.
func (d *Digest) Write(b []byte) (int, error) {
	n := len(b)
	d.total += uint64(n)
	if d.n+len(b) < 16 {
		d.n += copy(d.mem[d.n:], b)
		return n, nil
	}
	v1, v2, v3, v4 := d.v[0]+initial[0], d.v[1]+initial[1], d.v[2]+initial[2], d.v[3]+initial[3]
	if d.n > 0 {
		c := copy(d.mem[d.n:], b)
		b = b[c:]
		m := d.mem[:]
		v1 = round(v1, binary.LittleEndian.Uint32(m[0:]))
		v2 = round(v2, binary.LittleEndian.Uint32(m[4:]))
		v3 = round(v3, binary.LittleEndian.Uint32(m[8:]))
		v4 = round(v4, binary.LittleEndian.Uint32(m[12:]))
		d.n = 0
	}
	for len(b) >= 16 {
		s := b[:16:16]
		v1 = round(v1, binary.LittleEndian.Uint32(s[0:]))
		v2 = round(v2, binary.LittleEndian.Uint32(s[4:]))
		v3 = round(v3, binary.LittleEndian.Uint32(s[8:]))
		v4 = round(v4, binary.LittleEndian.Uint32(s[12:]))
		b = b[16:]
	}
	d.v = [4]uint32{v1 - initial[0], v2 - initial[1], v3 - initial[2], v4 - initial[3]}
	d.n = copy(d.mem[:], b)
	return n, nil
}

// Sum32 returns the checksum of the bytes written so far.
func (d *Digest) Sum32() uint32 {
	var h uint32
	if d.total >= 16 {
		h = bits.RotateLeft32(d.v[0]+initial[0], 1) + bits.RotateLeft32(d.v[1]+initial[1], 7) +
			bits.RotateLeft32(d.v[2]+initial[2], 12) + bits.RotateLeft32(d.v[3]+initial[3], 18)
	} else {
		h = prime5
	}
	h += uint32(d.total)
	tail := d.mem[:d.n]
	for len(tail) >= 4 {
		h += binary.LittleEndian.Uint32(tail) * prime3
		h = bits.RotateLeft32(h, 17) * prime4
		tail = tail[4:]
	}
	for _, c := range tail {
		h += uint32(c) * prime5
		h = bits.RotateLeft32(h, 11) * prime1
	}
	h ^= h >> 15
	h *= prime2
	h ^= h >> 13
	h *= prime3
	h ^= h >> 16
	return h
}

// Checksum returns the XXH32 of b with seed 0.
func Checksum(b []byte) uint32 {
	var d Digest
	d.Write(b)
	return d.Sum32()
}

func round(acc, lane uint32) uint32 {
	return bits.RotateLeft32(acc+lane*prime2, 13) * prime1
}
