package finding

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestIDStable(t *testing.T) {
	t.Parallel()
	a := ID("ec2-idle-instance", "123456789012", "us-east-1", "i-0abc")
	b := ID("ec2-idle-instance", "123456789012", "us-east-1", "i-0abc")
	if a != b {
		t.Fatalf("same tuple, different IDs: %s %s", a, b)
	}
	if len(a) != 32 {
		t.Fatalf("ID length = %d, want 32 hex chars", len(a))
	}
	others := []string{
		ID("ec2-idle-instance", "123456789012", "us-east-2", "i-0abc"),
		ID("ec2-idle-instance", "123456789013", "us-east-1", "i-0abc"),
		ID("rds-idle-instance", "123456789012", "us-east-1", "i-0abc"),
		ID("ec2-idle-instance", "123456789012", "us-east-1", "i-0abd"),
		// Shifting characters between fields must not collide.
		ID("ec2-idle-instanc", "e123456789012", "us-east-1", "i-0abc"),
	}
	for _, o := range others {
		if o == a {
			t.Fatalf("different tuple produced the same ID %s", a)
		}
	}
}

func TestJSONFieldNames(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Finding{FindingID: "x", MonthlyCostUSD: nil})
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"findingId"`, `"runId"`, `"checkId"`, `"category"`, `"accountId"`, `"region"`,
		`"service"`, `"resourceType"`, `"resourceId"`, `"reason"`, `"monthlyCostUsd":null`, `"firstSeen"`, `"lastSeen"`, `"status"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON %s lacks %s", b, field)
		}
	}
}
