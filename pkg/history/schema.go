package history

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/orgscan/orgscan/pkg/history/internal/parquetfile"
)

// A row type's `parquet` struct tags are its table's schema, in the syntax
// parquet-go reads (so tests and tools can read the files back into the
// same types): `parquet:"name[,option...]"` with the options
//
//	dict                     dictionary-encode the column (strings)
//	json                     a string column holding JSON text
//	optional                 nullable (the field must be a pointer)
//	timestamp(millisecond)   a time.Time as milliseconds since the epoch, UTC
//
// and the field types string, int64, float64, *float64, time.Time and
// *time.Time. Anything else is refused, so a schema can only be one this
// package writes correctly.

// table is a row type's schema and how to read its fields.
type table struct {
	fields []field
	schema parquetfile.Schema
}

// field is one column: the struct field it comes from and how to read it.
type field struct {
	index int
	kind  fieldKind
}

type fieldKind uint8

const (
	stringField fieldKind = iota
	int64Field
	float64Field
	float64PtrField
	timeField
	timePtrField
)

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
	float64Ptr  = reflect.TypeFor[*float64]()
)

const timestampOpt = "timestamp(millisecond)"

// tableOf parses the schema of struct type t.
func tableOf(t reflect.Type) (*table, error) {
	if t == nil {
		return nil, errors.New("history row type is nil")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("history row type %v is not a struct", t)
	}
	// The root is named after the type, as parquet-go names it.
	tb := &table{schema: parquetfile.Schema{Name: t.Name()}}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("parquet")
		if !ok || !sf.IsExported() {
			return nil, fmt.Errorf("%v.%s: every field of a history row needs a parquet tag and must be exported", t, sf.Name)
		}
		f, col, err := parseField(sf, tag)
		if err != nil {
			return nil, fmt.Errorf("%v.%s: %w", t, sf.Name, err)
		}
		tb.fields = append(tb.fields, f)
		tb.schema.Columns = append(tb.schema.Columns, col)
	}
	if err := tb.schema.Validate(); err != nil {
		return nil, fmt.Errorf("%v: %w", t, err)
	}
	return tb, nil
}

func parseField(sf reflect.StructField, tag string) (field, parquetfile.Column, error) {
	name, rest, _ := strings.Cut(tag, ",")
	col := parquetfile.Column{Name: name}
	var isJSON, isTimestamp bool
	if rest != "" {
		for _, opt := range strings.Split(rest, ",") {
			switch opt {
			case "dict":
				col.Dictionary = true
			case "json":
				isJSON = true
			case "optional":
				col.Optional = true
			case timestampOpt:
				isTimestamp = true
			default:
				return field{}, col, fmt.Errorf("unsupported parquet option %q", opt)
			}
		}
	}
	f := field{index: sf.Index[0]}
	switch t := sf.Type; {
	case t.Kind() == reflect.String:
		f.kind, col.Type = stringField, parquetfile.String
		if isJSON {
			col.Type = parquetfile.JSON
		}
	case t.Kind() == reflect.Int64:
		f.kind, col.Type = int64Field, parquetfile.Int64
	case t.Kind() == reflect.Float64:
		f.kind, col.Type = float64Field, parquetfile.Double
	case t == float64Ptr:
		f.kind, col.Type = float64PtrField, parquetfile.Double
	case t == timeType:
		f.kind, col.Type = timeField, parquetfile.Timestamp
	case t == timePtrType:
		f.kind, col.Type = timePtrField, parquetfile.Timestamp
	default:
		return f, col, fmt.Errorf("unsupported field type %v", t)
	}
	pointer := sf.Type.Kind() == reflect.Pointer
	switch {
	case isJSON && col.Type != parquetfile.JSON:
		return f, col, fmt.Errorf("json is for string fields, not %v", sf.Type)
	case isTimestamp != (col.Type == parquetfile.Timestamp):
		return f, col, fmt.Errorf("a time.Time field needs the %s option, and only it may have it", timestampOpt)
	case col.Optional != pointer:
		return f, col, fmt.Errorf("optional and a pointer type go together (%v)", sf.Type)
	}
	return f, col, nil
}

// mustTable is tableOf for the package's own row types, whose tags are
// fixed at compile time (and tested).
func mustTable[R any]() *table {
	t, err := tableOf(reflect.TypeFor[R]())
	if err != nil {
		panic(err)
	}
	return t
}

// values reads row (an addressable value of the table's type) into dst, one
// value per column.
func (tb *table) values(row reflect.Value, dst []parquetfile.Value) {
	for i, f := range tb.fields {
		v := row.Field(f.index)
		switch f.kind {
		case stringField:
			dst[i] = parquetfile.StringValue(v.String())
		case int64Field:
			dst[i] = parquetfile.Int64Value(v.Int())
		case float64Field:
			dst[i] = parquetfile.DoubleValue(v.Float())
		case float64PtrField:
			dst[i] = parquetfile.Null()
			if !v.IsNil() {
				dst[i] = parquetfile.DoubleValue(v.Elem().Float())
			}
		case timeField:
			dst[i] = parquetfile.TimestampValue(*v.Addr().Interface().(*time.Time))
		case timePtrField:
			dst[i] = parquetfile.Null()
			if t := v.Interface().(*time.Time); t != nil {
				dst[i] = parquetfile.TimestampValue(*t)
			}
		}
	}
}
