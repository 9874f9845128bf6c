package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orgscan/orgscan/pkg/finding"
)

func TestDynamoItemSize(t *testing.T) {
	t.Parallel()
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	n := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }
	for _, tc := range []struct {
		name string
		item map[string]ddbtypes.AttributeValue
		want int
	}{
		{"empty", nil, 0},
		// The rules of CapacityUnitCalculations.html, one type at a time.
		{"string", map[string]ddbtypes.AttributeValue{"a": s("abc")}, 4},
		{"UTF-8 name and value", map[string]ddbtypes.AttributeValue{"é": s("𝄞<")}, 2 + 5},
		{"empty string", map[string]ddbtypes.AttributeValue{"a": s("")}, 1},
		{"binary", map[string]ddbtypes.AttributeValue{"bin": &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 2, 3, 4}}}, 3 + 5},
		{"null and bool", map[string]ddbtypes.AttributeValue{
			"n": &ddbtypes.AttributeValueMemberNULL{Value: true}, "b": &ddbtypes.AttributeValueMemberBOOL{Value: false}}, 2 + 2},
		// A number is about 1 byte + 1 per two digits; never less than
		// its string (moto's count).
		{"number one digit", map[string]ddbtypes.AttributeValue{"a": n("7")}, 1 + 2},
		{"number 20 digits", map[string]ddbtypes.AttributeValue{"a": n("12345678901234567890")}, 1 + 20},
		{"number negative", map[string]ddbtypes.AttributeValue{"a": n("-5")}, 1 + 3},
		{"number 38 digits", map[string]ddbtypes.AttributeValue{"a": n(strings.Repeat("9", 38))}, 1 + 38},
		{"empty list and map", map[string]ddbtypes.AttributeValue{
			"l": &ddbtypes.AttributeValueMemberL{}, "m": &ddbtypes.AttributeValueMemberM{}}, 1 + 3 + 1 + 3},
		{"list", map[string]ddbtypes.AttributeValue{"l": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{s("ab"), s("c")}}},
			1 + 3 + 2 + 2 + 1},
		{"map names count", map[string]ddbtypes.AttributeValue{"tags": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"team": s("data"), "env": s(""),
		}}}, 4 + 3 + 2 + (4 + 4) + (3 + 0)},
		{"nested", map[string]ddbtypes.AttributeValue{"m": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"l": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberBOOL{Value: true}}},
		}}}, 1 + 3 + 1 + (1 + 3 + 1 + 1)},
		{"sets", map[string]ddbtypes.AttributeValue{
			"ss": &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "bc"}},
			"ns": &ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2345"}},
			"bs": &ddbtypes.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
		}, (2 + 3) + (2 + 2 + 4) + (2 + 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := DynamoItemSize(tc.item); got != tc.want {
				t.Errorf("DynamoItemSize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDynamoGSI2SK(t *testing.T) {
	t.Parallel()
	if got := dynamoGSI2SK("eu-west-1", "ec2-idle-instance", "i-1"); got != "eu-west-1#ec2-idle-instance#i-1" {
		t.Errorf("short key changed: %q", got)
	}
	prefix := "eu-west-1#ec2-idle-instance#"
	fits := strings.Repeat("x", DynamoMaxSortKeyBytes-len(prefix))
	if got := dynamoGSI2SK("eu-west-1", "ec2-idle-instance", fits); got != prefix+fits {
		t.Errorf("a key of exactly %d bytes changed", DynamoMaxSortKeyBytes)
	}
	for _, tc := range []struct{ name, res string }{
		{"one byte over", fits + "y"},
		{"512 four-byte characters", strings.Repeat("𝄞", 512)},
		{"512 three-byte characters", strings.Repeat("€", 512)},
		{"two-byte characters at odd offset", "a" + strings.Repeat("é", 600)},
		{"2048 ASCII", strings.Repeat("r", 2048)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := dynamoGSI2SK("eu-west-1", "ec2-idle-instance", tc.res)
			if len(got) > DynamoMaxSortKeyBytes || !utf8.ValidString(got) || !strings.HasPrefix(got, prefix) {
				t.Fatalf("key of %d bytes (valid UTF-8 %v): %q", len(got), utf8.ValidString(got), got)
			}
			if len(got) < DynamoMaxSortKeyBytes-utf8.UTFMax {
				t.Errorf("cut to %d bytes: more than a character short of the limit", len(got))
			}
			if again := dynamoGSI2SK("eu-west-1", "ec2-idle-instance", tc.res); again != got {
				t.Error("not stable")
			}
			// The same first kilobyte, another ending: another key.
			if other := dynamoGSI2SK("eu-west-1", "ec2-idle-instance", tc.res+"2"); other == got {
				t.Error("two resource IDs sharing their start share the key")
			}
		})
	}
}

// A finding or run item over the limit is refused before anything is
// written, and the error says which item and how large.
func TestDynamoItemTooLarge(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", DynamoMaxItemBytes)
	for _, tc := range []struct {
		name   string
		put    func(*DynamoState) error
		pk, sk string
	}{
		{"finding", func(s *DynamoState) error {
			items := dynFindings("111111111111", 30)
			items[29].Reason = big
			return s.PutFindings(context.Background(), "111111111111", items)
		}, "ACCOUNT#111111111111", "FINDING#" + dynFindings("111111111111", 30)[29].FindingID},
		{"run summary", func(s *DynamoState) error {
			sum, _ := json.Marshal(map[string]string{"x": big})
			return s.PutRun(context.Background(), RunRecord{RunID: "r1", Status: RunAggregating, Summary: sum,
				Problems: []PairRecord{{AccountID: "111111111111", Region: "eu-west-1", Status: "failed"}}})
		}, "RUN#r1", "#SUMMARY"},
		{"problem pair", func(s *DynamoState) error {
			errs, _ := json.Marshal([]string{big})
			return s.PutRun(context.Background(), RunRecord{RunID: "r1", Status: RunAggregating, Problems: []PairRecord{
				{AccountID: "111111111111", Region: "eu-west-1", Status: "failed"},
				{AccountID: "111111111111", Region: "us-east-1", Status: "failed", Errors: errs},
			}})
		}, "RUN#r1", "PAIR#failed#111111111111#us-east-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newDynFake()
			s, _ := dynState(fake)
			err := tc.put(s)
			var tl *ItemTooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("error %v, want *ItemTooLargeError", err)
			}
			if tl.Table != "state" || tl.PK != tc.pk || tl.SK != tc.sk || tl.Bytes <= DynamoMaxItemBytes || tl.Bytes > DynamoMaxItemBytes+2000 {
				t.Errorf("error %+v", *tl)
			}
			if len(fake.batches) != 0 || len(fake.items) != 0 || fake.calls["PutItem"] != 0 {
				t.Errorf("wrote before refusing: %d batches, %d items", len(fake.batches), len(fake.items))
			}
		})
	}
}

// A finding whose GSI2SK would be over the limit is written with the key
// cut, and reads back whole.
func TestDynamoLongResourceID(t *testing.T) {
	t.Parallel()
	fake := newDynFake()
	s, _ := dynState(fake)
	f := dynFindings("111111111111", 1)[0]
	f.ResourceID = strings.Repeat("𝄞", 512)
	f.FindingID = finding.ID(f.CheckID, f.AccountID, f.Region, f.ResourceID)
	if err := s.PutFindings(context.Background(), f.AccountID, []finding.Finding{f}); err != nil {
		t.Fatal(err)
	}
	item := fake.items["ACCOUNT#111111111111\x00FINDING#"+f.FindingID]
	if k := dynS(item[DynamoGSI2SK]); len(k) > DynamoMaxSortKeyBytes {
		t.Errorf("GSI2SK of %d bytes", len(k))
	}
	got, err := s.AccountFindings(context.Background(), f.AccountID)
	if err != nil || len(got) != 1 || got[0].ResourceID != f.ResourceID {
		t.Fatalf("AccountFindings = %v, %v", got, err)
	}
}
