package integration

import (
	"context"
	"encoding/json"
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
	if d.NewCostlyTotal == 0 || len(d.NewCostly) != d.NewCostlyTotal {
		t.Fatalf("new costly findings: %d of %d", len(d.NewCostly), d.NewCostlyTotal)
	}
	prev := 1e18
	for _, f := range d.NewCostly {
		if f.MonthlyCostUSD == nil || *f.MonthlyCostUSD < 20 || *f.MonthlyCostUSD > prev || f.OpenedRunID != sum.RunID {
			t.Fatalf("new costly finding out of place: %+v", f)
		}
		prev = *f.MonthlyCostUSD
	}
}
