// Package parquetfile writes Parquet files of flat tables: a fixed list of
// top-level columns, each required or optional, with no nesting and no
// repeated fields. It is the small, standard-library-only subset of the
// format (github.com/apache/parquet-format, parquet.thrift) that the
// history tables need, so that the functions linking it stay small.
//
// A file is written as:
//
//   - "PAR1", then row groups of at most Options.RowGroupRows rows (and
//     about Options.RowGroupBytes of values), each holding one column chunk
//     per column, in schema order;
//   - a column chunk is an optional dictionary page followed by version 1
//     data pages (DataPageHeader) of about Options.PageBytes each;
//   - the footer: FileMetaData in the Thrift compact protocol, its length as
//     4 little-endian bytes, and "PAR1".
//
// Column types are a closed set (Type), each written with its logical type
// and the matching legacy ConvertedType, so that old and new readers see
// the same types: UTF-8 strings and JSON text (BYTE_ARRAY; STRING/UTF8 or
// JSON/JSON), signed 64-bit integers (INT64; INTEGER(64,true)/INT_64),
// doubles (DOUBLE, no annotation), and instants in milliseconds since the
// Unix epoch (INT64; TIMESTAMP(isAdjustedToUTC=true, unit=MILLIS)/
// TIMESTAMP_MILLIS).
//
// Encodings: values are PLAIN, except in columns declared Dictionary,
// whose chunks have a PLAIN dictionary page and RLE_DICTIONARY data pages
// (the form the spec recommends since format 2.0) when that is smaller than
// PLAIN and the dictionary stays under Options.DictBytes; otherwise the
// chunk falls back to PLAIN. Definition levels of optional columns use the
// RLE/bit-packed hybrid with bit width 1 and the 4-byte length prefix of v1
// pages; required columns have none, and no column has repetition levels.
//
// Every page is compressed with GZIP (compress/gzip). Athena (Trino),
// DuckDB, Spark and parquet-go all read it; ZSTD or SNAPPY would need a
// third-party codec in every binary that links this package.
//
// Column chunks carry statistics: null_count always, and min_value and
// max_value (with TypeDefinedOrder column orders in the footer, which the
// spec requires for those fields to be meaningful) for numbers, timestamps
// and strings of at most MaxStatBytes bytes. The deprecated min and max
// fields, page statistics, page indexes, bloom filters and CRCs are not
// written.
//
// A Writer buffers one row group at a time and writes it when it is full,
// so its memory is bounded by the row group size.
package parquetfile

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"
)

// Type is a column's type: its physical type and logical annotation.
type Type uint8

// The column types.
const (
	// String is UTF-8 text: BYTE_ARRAY annotated STRING (UTF8).
	String Type = iota + 1
	// JSON is JSON text: BYTE_ARRAY annotated JSON.
	JSON
	// Int64 is a signed 64-bit integer: INT64 annotated INTEGER(64, signed)
	// (INT_64).
	Int64
	// Double is an IEEE 754 double: DOUBLE, no annotation.
	Double
	// Timestamp is an instant in milliseconds since the Unix epoch:
	// INT64 annotated TIMESTAMP(isAdjustedToUTC=true, unit=MILLIS).
	Timestamp
)

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case JSON:
		return "json"
	case Int64:
		return "int64"
	case Double:
		return "double"
	case Timestamp:
		return "timestamp"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Column describes one column of a flat schema.
type Column struct {
	Name string
	Type Type
	// Optional columns may hold nulls (repetition OPTIONAL); the others are
	// REQUIRED.
	Optional bool
	// Dictionary asks for dictionary encoding (for String and JSON
	// columns), worth it for columns with few distinct values.
	Dictionary bool
}

// Schema is a flat table: the root's name and its columns, in order.
type Schema struct {
	Name    string
	Columns []Column
}

// Validate returns an error naming the problem when s is not a schema
// this package can write: no columns, an unnamed or repeated column, an
// unknown type, or dictionary encoding on a non-string column.
func (s Schema) Validate() error {
	if len(s.Columns) == 0 {
		return errors.New("parquet schema without columns")
	}
	seen := map[string]bool{}
	for _, c := range s.Columns {
		switch {
		case c.Name == "":
			return errors.New("parquet column without a name")
		case seen[c.Name]:
			return fmt.Errorf("parquet column %s declared twice", c.Name)
		case c.Type < String || c.Type > Timestamp:
			return fmt.Errorf("parquet column %s: unknown type %v", c.Name, c.Type)
		case c.Dictionary && c.Type != String && c.Type != JSON:
			return fmt.Errorf("parquet column %s: dictionary encoding is for string columns, not %v", c.Name, c.Type)
		}
		seen[c.Name] = true
	}
	return nil
}

// Value is one cell of a row: build it with StringValue, Int64Value,
// DoubleValue, TimestampValue or Null.
type Value struct {
	kind valueKind
	num  uint64 // an int64, or a float64's bits
	str  string
}

type valueKind uint8

const (
	nullValue valueKind = iota
	byteArrayValue
	int64Value
	doubleValue
)

// Null is the null of an optional column.
func Null() Value { return Value{} }

// StringValue is a String or JSON column's value; it must be valid UTF-8
// (and valid JSON for a JSON column).
func StringValue(s string) Value { return Value{kind: byteArrayValue, str: s} }

// Int64Value is an Int64 column's value.
func Int64Value(v int64) Value { return Value{kind: int64Value, num: uint64(v)} }

// DoubleValue is a Double column's value.
func DoubleValue(v float64) Value { return Value{kind: doubleValue, num: math.Float64bits(v)} }

// TimestampValue is a Timestamp column's value: t in whole milliseconds
// since the Unix epoch (sub-millisecond precision is truncated towards the
// past, as time.Time.UnixMilli does).
func TimestampValue(t time.Time) Value { return Int64Value(t.UnixMilli()) }

func (t Type) accepts(k valueKind) bool {
	switch t {
	case String, JSON:
		return k == byteArrayValue
	case Int64, Timestamp:
		return k == int64Value
	case Double:
		return k == doubleValue
	}
	return false
}

// Options tune a Writer; zero fields take the defaults.
type Options struct {
	// CreatedBy is the footer's created_by (the writing application).
	CreatedBy string
	// RowGroupRows caps a row group's rows (default DefaultRowGroupRows).
	RowGroupRows int
	// RowGroupBytes ends a row group early once its buffered values reach
	// about this size (default DefaultRowGroupBytes), bounding memory when
	// rows are large.
	RowGroupBytes int
	// PageBytes is the size of encoded values after which a data page is
	// cut (default DefaultPageBytes).
	PageBytes int
	// DictBytes caps a dictionary page (default DefaultDictBytes): past it
	// the column chunk falls back to PLAIN.
	DictBytes int
}

// Defaults of Options. 64Ki rows per row group lets Athena read a large
// file's row groups in parallel; 1 MiB pages and dictionaries are the usual
// defaults of parquet-mr and Arrow.
const (
	DefaultRowGroupRows  = 64 * 1024
	DefaultRowGroupBytes = 64 << 20
	DefaultPageBytes     = 1 << 20
	DefaultDictBytes     = 1 << 20
)

// MaxStatBytes is the longest string kept as a column chunk's min or max
// statistic; a chunk whose min or max is longer has none.
const MaxStatBytes = 64

var magic = []byte("PAR1")

// Writer writes one Parquet file. It is not safe for concurrent use.
type Writer struct {
	out    countingWriter
	schema Schema
	opts   Options

	cols      []*columnBuffer
	rows      int // rows buffered in the current row group
	bytes     int // approximate size of the values buffered
	rowGroups []rowGroupMeta
	numRows   int64

	gz      *gzip.Writer
	page    []byte // scratch: a page's uncompressed body
	zpage   growBuffer
	header  compact
	started bool // the leading magic is written
	closed  bool
	err     error // the first write error; the file is unusable after it
}

// NewWriter returns a writer of a file with schema s to w. Nothing is
// written until the first row group is full or Close is called.
func NewWriter(w io.Writer, s Schema, o Options) (*Writer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = DefaultRowGroupBytes
	}
	if o.PageBytes <= 0 {
		o.PageBytes = DefaultPageBytes
	}
	if o.DictBytes <= 0 {
		o.DictBytes = DefaultDictBytes
	}
	pw := &Writer{out: countingWriter{w: w}, schema: s, opts: o}
	for _, c := range s.Columns {
		pw.cols = append(pw.cols, newColumnBuffer(c, o.DictBytes))
	}
	return pw, nil
}

// WriteRow appends one row: a value per column, in schema order. A row
// that does not fit the schema (wrong length, a value of the wrong type, a
// null in a required column, a string that is not UTF-8, a JSON value that
// is not JSON) is refused with an error and nothing of it is written; the
// writer stays usable. An error
// writing to the underlying writer is returned by every later call.
func (w *Writer) WriteRow(row []Value) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("parquet: write after Close")
	}
	if len(row) != len(w.cols) {
		return fmt.Errorf("parquet: row of %d values, schema has %d columns", len(row), len(w.cols))
	}
	for i, v := range row {
		c := w.schema.Columns[i]
		switch {
		case v.kind == nullValue:
			if !c.Optional {
				return fmt.Errorf("parquet column %s: null in a required column", c.Name)
			}
		case !c.Type.accepts(v.kind):
			return fmt.Errorf("parquet column %s: a %s column, not %s", c.Name, c.Type, v.kind)
		case v.kind == byteArrayValue && !utf8.ValidString(v.str):
			return fmt.Errorf("parquet column %s: string is not valid UTF-8", c.Name)
		case c.Type == JSON && v.kind == byteArrayValue && !json.Valid([]byte(v.str)):
			// Readers may parse JSON columns: DuckDB fails the whole query.
			return fmt.Errorf("parquet column %s: not valid JSON", c.Name)
		}
	}
	for i, v := range row {
		w.bytes += w.cols[i].append(v)
	}
	w.rows++
	if w.rows >= w.opts.RowGroupRows || w.bytes >= w.opts.RowGroupBytes {
		return w.flush()
	}
	return nil
}

func (k valueKind) String() string {
	switch k {
	case byteArrayValue:
		return "a string"
	case int64Value:
		return "an int64"
	case doubleValue:
		return "a double"
	}
	return "null"
}

// Close writes the buffered rows and the footer. It does not close the
// underlying writer. A file of no rows is valid: a schema and no row
// groups. Close after Close does nothing.
func (w *Writer) Close() error {
	if w.err != nil || w.closed {
		return w.err
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.closed = true
	if err := w.start(); err != nil {
		return err
	}
	footer := w.footer()
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(footer)))
	for _, b := range [][]byte{footer, n[:], magic} {
		if err := w.write(b); err != nil {
			return err
		}
	}
	return nil
}

// start writes the leading magic once.
func (w *Writer) start() error {
	if w.started {
		return nil
	}
	w.started = true
	return w.write(magic)
}

func (w *Writer) write(b []byte) error {
	if w.err != nil {
		return w.err
	}
	if _, err := w.out.Write(b); err != nil {
		w.err = fmt.Errorf("parquet: %w", err)
	}
	return w.err
}

// flush writes the buffered rows as a row group.
func (w *Writer) flush() error {
	if w.rows == 0 {
		return nil
	}
	if err := w.start(); err != nil {
		return err
	}
	rg := rowGroupMeta{numRows: int64(w.rows), offset: w.out.n}
	for _, cb := range w.cols {
		cm, err := w.writeChunk(cb, w.rows)
		if err != nil {
			return err
		}
		rg.chunks = append(rg.chunks, cm)
		rg.totalByteSize += cm.uncompressed
		cb.reset()
	}
	rg.totalCompressed = w.out.n - rg.offset
	w.rowGroups = append(w.rowGroups, rg)
	w.numRows += rg.numRows
	w.rows, w.bytes = 0, 0
	return nil
}

// countingWriter tracks the file offset, which the footer records for every
// page.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// growBuffer is an io.Writer appending to a reusable slice (the gzip
// writer's destination).
type growBuffer struct{ b []byte }

func (g *growBuffer) Write(p []byte) (int, error) {
	g.b = append(g.b, p...)
	return len(p), nil
}
