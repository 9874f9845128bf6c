package history

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

func TestFindingRowsRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	res := at.Add(time.Hour)
	fs := []finding.Finding{
		{FindingID: "a", CheckID: "ec2-idle-instance", AccountID: "012345678901", Region: "us-east-1", MonthlyCostUSD: finding.Cost(70.08),
			Evidence: map[string]float64{"cpu": 1.5}, Tags: map[string]string{"team": "data"}, Status: finding.Open, FirstSeen: at, LastSeen: at},
		{FindingID: "b", CheckID: "ebs-unattached-volume", AccountID: "012345678901", Region: "us-east-1", Status: finding.Resolved,
			FirstSeen: at, LastSeen: at, ResolvedAt: &res},
	}
	var buf bytes.Buffer
	w := NewFindingWriter(&buf)
	var rows []FindingRow
	for _, f := range fs {
		rows = append(rows, NewFindingRow(f, "r1", at))
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[FindingRow](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rows, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	if got[0].AccountID != "012345678901" || got[1].MonthlyCostUSD != nil || got[0].Evidence != `{"cpu":1.5}` || got[1].Tags != "{}" {
		t.Fatalf("rows %+v", got)
	}
}

func TestColumnsForGlue(t *testing.T) {
	t.Parallel()
	cols, err := Columns(FindingRow{})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, c := range cols {
		types[c.Name] = c.Type
	}
	want := map[string]string{"finding_id": "string", "account_id": "string", "monthly_cost_usd": "double", "first_seen": "timestamp",
		"resolved_at": "timestamp", "evidence": "string", "run_started_at": "timestamp"}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("column %s: %q, want %q", k, types[k], v)
		}
	}
	if len(cols) != 21 {
		t.Errorf("%d columns", len(cols))
	}
	pcols, err := Columns(PairRow{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pcols {
		if c.Name == "findings" && c.Type != "bigint" {
			t.Errorf("findings column %s", c.Type)
		}
	}
	if got := pipeline.HistoryKey(pipeline.FindingsTable, time.Date(2026, 11, 26, 23, 0, 0, 0, time.FixedZone("x", -5*3600)), "r1"); got != "findings/dt=2026-11-27/r1.parquet" {
		t.Errorf("partition key %s", got)
	}
}
