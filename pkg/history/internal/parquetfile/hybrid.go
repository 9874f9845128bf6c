package parquetfile

import "encoding/binary"

// minRepeatRun is the shortest run of equal values written as an RLE run
// rather than inside a bit-packed run. Bit-packed runs hold whole groups of
// 8 values, so a shorter RLE run would rarely save anything.
const minRepeatRun = 8

// appendHybrid appends vals in the RLE/bit-packed hybrid encoding
// (Encodings.md, "Run Length Encoding / Bit-Packing Hybrid") with the given
// bit width, without a length prefix. It is used for definition levels
// (width 1) and dictionary indices.
//
// Runs of at least minRepeatRun equal values become RLE runs: a ULEB128
// header (count << 1) and the value in ceil(width/8) little-endian bytes.
// Everything else is bit-packed in groups of 8 values: a ULEB128 header
// (groups << 1 | 1) and the values packed LSB first. Only the last group of
// the encoding can be partial; it is padded with zeros, which readers
// ignore because they know how many values the page holds.
func appendHybrid[T uint8 | int32](dst []byte, vals []T, width int) []byte {
	for i := 0; i < len(vals); {
		if n := runLength(vals, i, len(vals)); n >= minRepeatRun {
			dst = binary.AppendUvarint(dst, uint64(n)<<1)
			v := uint32(vals[i])
			for b := 0; b < (width+7)/8; b++ {
				dst = append(dst, byte(v>>(8*b)))
			}
			i += n
			continue
		}
		// A bit-packed run: whole groups of 8 until a long run of equal
		// values starts at a group boundary, or the values end.
		j := i
		for {
			j += 8
			if j >= len(vals) {
				j = len(vals)
				break
			}
			if runLength(vals, j, j+minRepeatRun) >= minRepeatRun {
				break
			}
		}
		groups := (j - i + 7) / 8
		dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
		dst = appendBitPacked(dst, vals[i:j], groups*8, width)
		i = j
	}
	return dst
}

// runLength is the number of values equal to vals[i] from i on, counting
// no further than limit.
func runLength[T uint8 | int32](vals []T, i, limit int) int {
	limit = min(limit, len(vals))
	j := i + 1
	for j < limit && vals[j] == vals[i] {
		j++
	}
	return j - i
}

// appendBitPacked packs n values (vals, then zeros) of width bits each,
// least significant bit first. n*width is a multiple of 8 (n is a multiple
// of 8), so the output ends on a byte boundary.
func appendBitPacked[T uint8 | int32](dst []byte, vals []T, n, width int) []byte {
	var acc uint64 // pending bits, at most 7 + 32
	bits := 0
	for k := range n {
		if k < len(vals) {
			acc |= uint64(uint32(vals[k])) << bits
		}
		bits += width
		for bits >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			bits -= 8
		}
	}
	return dst
}
