// Package xxh32 computes XXH32 with seed 0, the checksum of the LZ4 frame
// format (header, block and content checksums).
//
// # Algorithm
//
// XXH32 (Yann Collet, https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md)
// reads the input in 16-byte stripes into four 32-bit accumulators,
// each updated as acc = rotl(acc + lane*prime2, 13) * prime1 for its
// little-endian 4-byte lane; merges them; adds the length; mixes in the
// last 0-15 bytes; and ends with an avalanche of shifts and multiplies.
package xxh32
