package parquetfile

// Enum values and field ids below are parquet.thrift's.

// physical types (Type)
const (
	physInt64     = 2
	physDouble    = 5
	physByteArray = 6
)

// FieldRepetitionType
const (
	repRequired = 0
	repOptional = 1
)

// ConvertedType
const (
	convUTF8            = 0
	convTimestampMillis = 9
	convInt64           = 18
	convJSON            = 19
)

// LogicalType union members, and TimeUnit's MILLIS
const (
	logicalString    = 1
	logicalTimestamp = 8
	logicalInteger   = 10
	logicalJSON      = 12
	unitMillis       = 1
)

type encoding int32

// Encoding
const (
	encPlain         encoding = 0
	encRLE           encoding = 3
	encRLEDictionary encoding = 8
)

type pageType int32

// PageType
const (
	dataPage       pageType = 0
	dictionaryPage pageType = 2
)

// codecGzip is CompressionCodec GZIP.
const codecGzip = 2

// fileVersion is FileMetaData.version. Version 2 tells readers to expect
// format 2.x features (logical types, RLE_DICTIONARY).
const fileVersion = 2

func (t Type) physical() int32 {
	switch t {
	case Int64, Timestamp:
		return physInt64
	case Double:
		return physDouble
	}
	return physByteArray
}

// rowGroupMeta is what the footer records of a row group.
type rowGroupMeta struct {
	chunks          []chunkMeta
	numRows         int64
	offset          int64 // of its first page
	totalByteSize   int64 // uncompressed, page headers included
	totalCompressed int64
}

// chunkMeta is what the footer records of a column chunk.
type chunkMeta struct {
	col                      Column
	numValues                int64
	uncompressed, compressed int64 // page headers included
	dataOffset               int64
	dictOffset               int64 // 0: no dictionary page (offset 0 is the magic)
	stats                    statistics
	pages                    []pageCount
}

// pageCount is one PageEncodingStats entry: how many pages of a type used an
// encoding.
type pageCount struct {
	typ   pageType
	enc   encoding
	count int32
}

func (cm *chunkMeta) countPage(typ pageType, enc encoding) {
	for i := range cm.pages {
		if cm.pages[i].typ == typ && cm.pages[i].enc == enc {
			cm.pages[i].count++
			return
		}
	}
	cm.pages = append(cm.pages, pageCount{typ, enc, 1})
}

// encodings lists the chunk's encodings, definition levels' RLE included.
func (cm *chunkMeta) encodings() []encoding {
	var out []encoding
	for _, p := range cm.pages {
		if !containsEnc(out, p.enc) {
			out = append(out, p.enc)
		}
	}
	if cm.col.Optional {
		out = append(out, encRLE)
	}
	return out
}

func containsEnc(encs []encoding, e encoding) bool {
	for _, x := range encs {
		if x == e {
			return true
		}
	}
	return false
}

// pageHeader encodes a PageHeader of a v1 data page or a dictionary page
// into c's buffer and returns it.
func pageHeader(c *compact, typ pageType, numValues int, enc encoding, uncompressed, compressed int) []byte {
	c.reset(c.buf)
	c.i32(1, int32(typ))
	c.i32(2, int32(uncompressed))
	c.i32(3, int32(compressed))
	switch typ {
	case dataPage:
		c.beginStruct(5) // DataPageHeader
		c.i32(1, int32(numValues))
		c.i32(2, int32(enc))
		c.i32(3, int32(encRLE)) // definition_level_encoding
		c.i32(4, int32(encRLE)) // repetition_level_encoding (no levels written)
		c.stop()
	case dictionaryPage:
		c.beginStruct(7) // DictionaryPageHeader
		c.i32(1, int32(numValues))
		c.i32(2, int32(enc))
		c.stop()
	}
	return c.end()
}

// footer encodes the FileMetaData.
func (w *Writer) footer() []byte {
	var c compact
	c.reset(nil)
	c.i32(1, fileVersion)

	c.list(2, tStruct, 1+len(w.schema.Columns)) // schema, depth first: the root, then the leaves
	c.beginElem()
	c.str(4, w.schema.Name)
	c.i32(5, int32(len(w.schema.Columns)))
	c.stop()
	for _, col := range w.schema.Columns {
		c.beginElem()
		writeSchemaElement(&c, col)
		c.stop()
	}

	c.i64(3, w.numRows)
	c.list(4, tStruct, len(w.rowGroups))
	for _, rg := range w.rowGroups {
		c.beginElem()
		c.list(1, tStruct, len(rg.chunks))
		for _, cm := range rg.chunks {
			c.beginElem()
			c.i64(2, 0) // file_offset: deprecated, 0 when no ColumnMetaData precedes the footer
			c.beginStruct(3)
			writeColumnMetaData(&c, cm)
			c.stop()
			c.stop()
		}
		c.i64(2, rg.totalByteSize)
		c.i64(3, rg.numRows)
		c.i64(5, rg.offset)
		c.i64(6, rg.totalCompressed)
		c.stop()
	}
	if w.opts.CreatedBy != "" {
		c.str(6, w.opts.CreatedBy)
	}
	c.list(7, tStruct, len(w.schema.Columns)) // column_orders: TYPE_ORDER for every leaf
	for range w.schema.Columns {
		c.beginElem()
		c.emptyUnion(1, 1)
		c.stop()
	}
	return c.end()
}

func writeSchemaElement(c *compact, col Column) {
	c.i32(1, col.Type.physical())
	rep := int32(repRequired)
	if col.Optional {
		rep = repOptional
	}
	c.i32(3, rep)
	c.str(4, col.Name)
	switch col.Type {
	case String:
		c.i32(6, convUTF8)
		c.emptyUnion(10, logicalString)
	case JSON:
		c.i32(6, convJSON)
		c.emptyUnion(10, logicalJSON)
	case Int64:
		c.i32(6, convInt64)
		c.beginStruct(10)
		c.beginStruct(logicalInteger)
		c.i8(1, 64)        // bitWidth
		c.boolean(2, true) // isSigned
		c.stop()
		c.stop()
	case Timestamp:
		c.i32(6, convTimestampMillis)
		c.beginStruct(10)
		c.beginStruct(logicalTimestamp)
		c.boolean(1, true) // isAdjustedToUTC
		c.emptyUnion(2, unitMillis)
		c.stop()
		c.stop()
	}
}

func writeColumnMetaData(c *compact, cm chunkMeta) {
	c.i32(1, cm.col.Type.physical())
	encs := cm.encodings()
	c.list(2, tI32, len(encs))
	for _, e := range encs {
		c.elemI32(int32(e))
	}
	c.list(3, tBinary, 1) // path_in_schema of a top-level column: its name
	c.appendString(cm.col.Name)
	c.i32(4, codecGzip)
	c.i64(5, cm.numValues)
	c.i64(6, cm.uncompressed)
	c.i64(7, cm.compressed)
	c.i64(9, cm.dataOffset)
	if cm.dictOffset > 0 {
		c.i64(11, cm.dictOffset)
	}
	c.beginStruct(12) // Statistics
	c.i64(3, cm.stats.nullCount)
	if cm.stats.min != nil {
		c.bytes(5, cm.stats.max)
		c.bytes(6, cm.stats.min)
	}
	c.stop()
	c.list(13, tStruct, len(cm.pages)) // encoding_stats
	for _, p := range cm.pages {
		c.beginElem()
		c.i32(1, int32(p.typ))
		c.i32(2, int32(p.enc))
		c.i32(3, p.count)
		c.stop()
	}
}
