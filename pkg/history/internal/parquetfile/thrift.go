package parquetfile

import "encoding/binary"

// Thrift compact protocol type codes (the low nibble of a field header).
// Only the types the footer and page headers use are listed.
const (
	tBoolTrue  = 1
	tBoolFalse = 2
	tByte      = 3
	tI32       = 5
	tI64       = 6
	tBinary    = 8
	tList      = 9
	tStruct    = 12
)

// compact encodes Thrift structs in the compact protocol, write-only and
// just enough of it for parquet.thrift's page headers and FileMetaData.
// Fields must be written in increasing id order within a struct (the delta
// encoding of field ids relies on it, and parquet.thrift's ids are small).
type compact struct {
	buf  []byte
	last []int16 // the last field id written in each open struct
}

// reset starts a new top-level struct in buf (reusing its memory).
func (c *compact) reset(buf []byte) {
	c.buf = buf[:0]
	c.last = append(c.last[:0], 0)
}

// end closes the top-level struct and returns the encoding.
func (c *compact) end() []byte {
	c.stop()
	return c.buf
}

func (c *compact) field(id int16, typ byte) {
	top := &c.last[len(c.last)-1]
	if d := id - *top; d > 0 && d <= 15 {
		c.buf = append(c.buf, byte(d)<<4|typ)
	} else {
		c.buf = append(c.buf, typ)
		c.buf = binary.AppendVarint(c.buf, int64(id)) // zigzag, as Thrift's i16
	}
	*top = id
}

// i8 writes a Thrift byte (i8): one raw byte, not a varint.
func (c *compact) i8(id int16, v int8) {
	c.field(id, tByte)
	c.buf = append(c.buf, byte(v))
}

func (c *compact) i32(id int16, v int32) {
	c.field(id, tI32)
	c.buf = binary.AppendVarint(c.buf, int64(v))
}

func (c *compact) i64(id int16, v int64) {
	c.field(id, tI64)
	c.buf = binary.AppendVarint(c.buf, v)
}

func (c *compact) boolean(id int16, v bool) {
	if v {
		c.field(id, tBoolTrue)
	} else {
		c.field(id, tBoolFalse)
	}
}

func (c *compact) bytes(id int16, b []byte) {
	c.field(id, tBinary)
	c.buf = binary.AppendUvarint(c.buf, uint64(len(b)))
	c.buf = append(c.buf, b...)
}

func (c *compact) str(id int16, s string) {
	c.field(id, tBinary)
	c.appendString(s)
}

func (c *compact) appendString(s string) {
	c.buf = binary.AppendUvarint(c.buf, uint64(len(s)))
	c.buf = append(c.buf, s...)
}

// beginStruct opens a struct-typed field; close it with stop.
func (c *compact) beginStruct(id int16) {
	c.field(id, tStruct)
	c.last = append(c.last, 0)
}

// beginElem opens a struct that is an element of a list (no field header);
// close it with stop.
func (c *compact) beginElem() { c.last = append(c.last, 0) }

// stop ends the innermost open struct.
func (c *compact) stop() {
	c.buf = append(c.buf, 0)
	c.last = c.last[:len(c.last)-1]
}

// list writes a list field's header; the n elements follow, written with
// beginElem/stop (structs), elemI32 or appendString.
func (c *compact) list(id int16, elem byte, n int) {
	c.field(id, tList)
	if n < 15 {
		c.buf = append(c.buf, byte(n)<<4|elem)
	} else {
		c.buf = append(c.buf, 0xf0|elem)
		c.buf = binary.AppendUvarint(c.buf, uint64(n))
	}
}

func (c *compact) elemI32(v int32) { c.buf = binary.AppendVarint(c.buf, int64(v)) }

// emptyUnion writes a union field holding one member that is an empty
// struct (LogicalType's STRING and JSON, TimeUnit's MILLIS,
// ColumnOrder's TYPE_ORDER).
func (c *compact) emptyUnion(id, member int16) {
	c.beginStruct(id)
	c.beginStruct(member)
	c.stop()
	c.stop()
}
