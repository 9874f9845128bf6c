package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orgscan/orgscan/internal/mototest"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/notify"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/report"
	"github.com/orgscan/orgscan/pkg/store"
)

// A run puts one event on moto's default EventBridge bus, which a rule
// routes to an SQS queue: it carries the run's counts, its money, and the
// new findings above the threshold, most expensive first.
func TestRunEventOnEventBridge(t *testing.T) {
	w := seeded(t)
	ctx := context.Background()
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg)
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orgscan-events")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("orgscan-runs"), EventPattern: aws.String(`{"source":["orgscan"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("orgscan-runs"),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	h := newHarness(t, w, mototest.NewFaults())
	h.local.Aggregator.Notifier = notify.EventBridge{Client: eb}
	h.local.Aggregator.NotifyMinUSD = 20
	h.local.Aggregator.Reporter = report.HTML{}
	sum, err := h.local.Run(ctx, pipeline.RunRequest{RoleName: mototest.RoleName, Regions: w.Regions})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Messages) != 1 {
		t.Fatalf("%d messages, want the run's one event", len(msgs.Messages))
	}
	var event struct {
		Source     string            `json:"source"`
		DetailType string            `json:"detail-type"`
		Detail     pipeline.RunEvent `json:"detail"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs.Messages[0].Body)), &event); err != nil {
		t.Fatal(err)
	}
	d := event.Detail
	if event.Source != notify.Source || event.DetailType != notify.DetailType || d.RunID != sum.RunID || d.Findings != sum.Findings ||
		d.New != sum.New || d.Pairs != sum.Pairs || d.MonthlyCostUSD != sum.MonthlyCostUSD {
		t.Fatalf("event %+v\nsummary %+v", event, sum)
	}
	if want := "s3://" + w.Bucket + "/" + h.blobs.Prefix + sum.ReportKey; sum.ReportKey == "" || d.ReportURI != want {
		t.Fatalf("event's report %q, want %q", d.ReportURI, want)
	}
	if d.NewCostlyTotal == 0 || len(d.NewCostly) != d.NewCostlyTotal {
		t.Fatalf("new costly findings: %d of %d", len(d.NewCostly), d.NewCostlyTotal)
	}
	prev := 1e18
	for _, f := range d.NewCostly {
		if f.MonthlyCostUSD == nil || *f.MonthlyCostUSD < 20 || *f.MonthlyCostUSD > prev {
			t.Fatalf("new costly finding out of place: %+v", f)
		}
		prev = *f.MonthlyCostUSD
	}
}

// EventBridge refusing the run event (moto behind an HTTP hook that answers
// PutEvents with AccessDeniedException) leaves a completed run: the summary,
// run record and report are written, with a warning saying the event was
// not delivered.
func TestRunEventFailureIsAWarning(t *testing.T) {
	w := seeded(t)
	ctx := context.Background()
	faults := mototest.NewFaults()
	faults.DenyTarget = "AWSEvents.PutEvents"
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{HTTPClient: faults})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, w, mototest.NewFaults())
	h.local.Aggregator.Notifier = notify.EventBridge{Client: eventbridge.NewFromConfig(cfg)}
	sum, err := h.local.Run(ctx, pipeline.RunRequest{RoleName: mototest.RoleName, Regions: w.Regions})
	if err != nil {
		t.Fatalf("a refused run event failed the run: %v", err)
	}
	if faults.Denied() == 0 {
		t.Fatal("PutEvents was never refused: the hook did not see it")
	}
	if sum.Status != store.RunComplete || len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0], "run event not delivered") ||
		!strings.Contains(sum.Warnings[0], "AccessDeniedException") {
		t.Fatalf("status %s, warnings %q", sum.Status, sum.Warnings)
	}
	rc, err := h.blobs.Open(ctx, pipeline.SummaryKey(sum.RunID))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var stored pipeline.RunSummary
	if err := json.NewDecoder(rc).Decode(&stored); err != nil {
		t.Fatal(err)
	}
	if stored.Status != store.RunComplete || len(stored.Warnings) != 1 || stored.Findings != sum.Findings || stored.Findings == 0 {
		t.Fatalf("summary.json: status %s, warnings %q, findings %d", stored.Status, stored.Warnings, stored.Findings)
	}
	rec, ok, err := h.local.Aggregator.State.GetRun(ctx, sum.RunID)
	if err != nil || !ok || rec.Status != store.RunComplete {
		t.Fatalf("run record: %v %v %q", err, ok, rec.Status)
	}
}
