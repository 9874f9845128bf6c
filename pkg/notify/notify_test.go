package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/orgscan/orgscan/pkg/finding"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

type fakeEvents struct {
	entries []ebtypes.PutEventsRequestEntry
	out     *eventbridge.PutEventsOutput
}

func (f *fakeEvents) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.entries = append(f.entries, in.Entries...)
	if f.out != nil {
		return f.out, nil
	}
	return &eventbridge.PutEventsOutput{}, nil
}

// EntrySize counts what EventBridge counts: the UTF-8 bytes of Source,
// DetailType, Detail, Resources and EventBusName, and 14 for a Time.
func TestEntrySize(t *testing.T) {
	t.Parallel()
	e := ebtypes.PutEventsRequestEntry{Source: aws.String("orgscan"), DetailType: aws.String("é"), Detail: aws.String(`{"a":"𝄞"}`),
		EventBusName: aws.String("default"), Resources: []string{"arn:x"}}
	if got, want := EntrySize(e), 7+2+12+7+5; got != want {
		t.Fatalf("EntrySize %d, want %d", got, want)
	}
}

// The event put on the bus is the detail cut to fit, whatever the run
// found: within EventBridge's 256 KiB with findings whose resource IDs are
// long and full of characters JSON escapes.
func TestNotifyFitsTheEntryLimit(t *testing.T) {
	t.Parallel()
	ev := pipeline.RunEvent{RunID: "r1", NewCostlyTotal: 100}
	for i := range 100 {
		f := finding.Finding{FindingID: fmt.Sprintf("%032x", i), CheckID: "ec2-idle-instance", AccountID: "123456789012", Region: "us-east-1",
			ResourceID: strings.Repeat("<", 5000), MonthlyCostUSD: finding.Cost(10)}
		ev.NewCostly = append(ev.NewCostly, pipeline.NewEventFinding(f))
	}
	fake := &fakeEvents{}
	if err := (EventBridge{Client: fake}).Notify(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(fake.entries) != 1 {
		t.Fatalf("%d entries", len(fake.entries))
	}
	if n := EntrySize(fake.entries[0]) + 14; n > MaxEntryBytes {
		t.Fatalf("entry of %d bytes, over %d", n, MaxEntryBytes)
	}
	var got pipeline.RunEvent
	if err := json.Unmarshal([]byte(aws.ToString(fake.entries[0].Detail)), &got); err != nil {
		t.Fatal(err)
	}
	if got.NewCostlyTotal != 100 || len(got.NewCostly) == 0 || len(got.NewCostly) >= 100 {
		t.Fatalf("%d of %d findings listed", len(got.NewCostly), got.NewCostlyTotal)
	}
}

// An entry EventBridge rejects is an error (which the aggregator turns
// into a warning).
func TestNotifyRejectedEntry(t *testing.T) {
	t.Parallel()
	fake := &fakeEvents{out: &eventbridge.PutEventsOutput{FailedEntryCount: 1,
		Entries: []ebtypes.PutEventsResultEntry{{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try later")}}}}
	err := (EventBridge{Client: fake}).Notify(context.Background(), pipeline.RunEvent{RunID: "r1"})
	if err == nil || !strings.Contains(err.Error(), "InternalFailure") {
		t.Fatalf("err %v", err)
	}
}
