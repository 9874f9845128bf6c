package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB's size limits, which moto enforces only in part (DESIGN §9).
const (
	// DynamoMaxItemBytes is the largest item DynamoDB stores, 400 KB,
	// attribute names included, counted as DynamoItemSize does
	// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
	DynamoMaxItemBytes = 400 * 1024
	// DynamoMaxPartitionKeyBytes and DynamoMaxSortKeyBytes bound the value
	// of a partition and a sort key, of the table and of a global secondary
	// index alike
	// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys).
	DynamoMaxPartitionKeyBytes = 2048
	DynamoMaxSortKeyBytes      = 1024
)

// ItemTooLargeError says that an item is larger than DynamoMaxItemBytes.
// PutFindings and PutRun return it before writing anything.
type ItemTooLargeError struct {
	Table string
	PK    string
	SK    string
	Bytes int // the item's size by DynamoItemSize
}

func (e *ItemTooLargeError) Error() string {
	return fmt.Sprintf("dynamodb table %s: item %s %s is %d bytes, more than the %d DynamoDB stores; nothing was written",
		e.Table, e.PK, e.SK, e.Bytes, DynamoMaxItemBytes)
}

// DynamoItemSize returns the size DynamoDB counts against
// DynamoMaxItemBytes, by the rules of
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html:
// each attribute's name (UTF-8 bytes) plus its value. A string is its UTF-8
// bytes, binary its raw bytes, a null or a Boolean 1 byte; a list or a map
// 3 bytes plus 1 per element plus its elements (a map's element names
// included); a set the sum of its elements. A number is "approximately"
// 1 byte plus 1 per two significant digits: this counts every digit of the
// string, leading and trailing zeros included, plus a byte for a sign, and
// never less than the string's length (which is what moto counts), so it
// errs on the large side.
func DynamoItemSize(item map[string]ddbtypes.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + dynamoValueSize(v)
	}
	return n
}

func dynamoValueSize(v ddbtypes.AttributeValue) int {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		return dynamoNumberSize(v.Value)
	case *ddbtypes.AttributeValueMemberB:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL, *ddbtypes.AttributeValueMemberNULL:
		return 1
	case *ddbtypes.AttributeValueMemberL:
		n := 3 + len(v.Value)
		for _, e := range v.Value {
			n += dynamoValueSize(e)
		}
		return n
	case *ddbtypes.AttributeValueMemberM:
		n := 3 + len(v.Value)
		for name, e := range v.Value {
			n += len(name) + dynamoValueSize(e)
		}
		return n
	case *ddbtypes.AttributeValueMemberSS:
		n := 0
		for _, e := range v.Value {
			n += len(e)
		}
		return n
	case *ddbtypes.AttributeValueMemberNS:
		n := 0
		for _, e := range v.Value {
			n += dynamoNumberSize(e)
		}
		return n
	case *ddbtypes.AttributeValueMemberBS:
		n := 0
		for _, e := range v.Value {
			n += len(e)
		}
		return n
	}
	return 0 // nil; the SDK's unknown union member is never written
}

func dynamoNumberSize(s string) int {
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	n := 1 + (digits+1)/2
	if strings.HasPrefix(s, "-") {
		n++
	}
	return max(n, len(s))
}

// checkItem returns an *ItemTooLargeError for an item over
// DynamoMaxItemBytes, and an error for a key attribute over its limit.
// The keys orgscan writes are bounded by construction (see the key
// functions); this check is the backstop that turns a mistake into an
// error before any write instead of a ValidationException half-way.
func (s *DynamoState) checkItem(item map[string]ddbtypes.AttributeValue) error {
	pk, sk := dynamoString(item[DynamoPK]), dynamoString(item[DynamoSK])
	if n := DynamoItemSize(item); n > DynamoMaxItemBytes {
		return &ItemTooLargeError{Table: s.Table, PK: pk, SK: sk, Bytes: n}
	}
	for _, k := range []struct {
		name string
		max  int
	}{
		{DynamoPK, DynamoMaxPartitionKeyBytes}, {DynamoSK, DynamoMaxSortKeyBytes},
		{DynamoGSI1PK, DynamoMaxPartitionKeyBytes}, {DynamoGSI2PK, DynamoMaxPartitionKeyBytes}, {DynamoGSI2SK, DynamoMaxSortKeyBytes},
		// GSI1SK is a number: at most 38 digits.
	} {
		if n := len(dynamoString(item[k.name])); n > k.max {
			return fmt.Errorf("dynamodb table %s: item %.64s %.64s: key %s is %d bytes, more than the %d DynamoDB takes", s.Table, pk, sk, k.name, n, k.max)
		}
	}
	return nil
}

// dynamoGSI2SK is the byAccountStatus sort key,
// "<region>#<checkId>#<resourceId>". Regions and check IDs are short, but
// a resource ID is whatever the service returns: 512 characters of 4-byte
// UTF-8 are 2 KB, over DynamoMaxSortKeyBytes. A longer value is cut at a
// UTF-8 boundary and ends with "#" and the first 16 hex digits of the
// SHA-256 of the whole value, so it stays within the limit, stays under
// its "<region>#<checkId>#" prefix for begins_with queries, and two
// resource IDs that share their first kilobyte still differ. The finding
// keeps the whole ID in resourceId.
func dynamoGSI2SK(region, checkID, resourceID string) string {
	v := region + "#" + checkID + "#" + resourceID
	if len(v) <= DynamoMaxSortKeyBytes {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	suffix := "#" + hex.EncodeToString(sum[:8])
	n := DynamoMaxSortKeyBytes - len(suffix)
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n] + suffix
}

func dynamoString(av ddbtypes.AttributeValue) string {
	if s, ok := av.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
