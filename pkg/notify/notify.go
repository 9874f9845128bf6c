// Package notify tells people what a run changed: one EventBridge event per
// run (source "orgscan") that rules can route to SNS, Slack or a ticket
// queue.
package notify

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/orgscan/orgscan/pkg/pipeline"
)

// Source and DetailType of the run event; rules match on them.
const (
	Source     = "orgscan"
	DetailType = "orgscan run completed"
)

// EventsAPI is what the notifier needs from EventBridge.
type EventsAPI interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ EventsAPI = (*eventbridge.Client)(nil)

// EventBridge puts a run's event on a bus (default: the account's default
// bus).
type EventBridge struct {
	Client EventsAPI
	Bus    string
}

var _ pipeline.Notifier = EventBridge{}

// MaxEntryBytes is the most a PutEvents entry may hold: the UTF-8 bytes of
// Source, DetailType, Detail, Resources and EventBusName, plus 14 for Time
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
const MaxEntryBytes = 256 * 1024

// EntrySize is an entry's size as EventBridge counts it.
func EntrySize(e ebtypes.PutEventsRequestEntry) int {
	n := len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail)) + len(aws.ToString(e.EventBusName))
	for _, r := range e.Resources {
		n += len(r)
	}
	if e.Time != nil {
		n += 14
	}
	return n
}

// Notify puts one event whose detail is ev, cut to fit (pipeline.FitEvent)
// and refused before sending if the entry would still be over
// MaxEntryBytes. A rejected entry is an error.
func (e EventBridge) Notify(ctx context.Context, ev pipeline.RunEvent) error {
	detail, err := pipeline.FitEvent(&ev, pipeline.MaxEventDetailBytes)
	if err != nil {
		return err
	}
	bus := e.Bus
	if bus == "" {
		bus = "default"
	}
	entry := ebtypes.PutEventsRequestEntry{
		Source: aws.String(Source), DetailType: aws.String(DetailType), Detail: aws.String(string(detail)),
		EventBusName: aws.String(bus), Resources: []string{},
	}
	if n := EntrySize(entry) + 14; n > MaxEntryBytes {
		return fmt.Errorf("put the run event: the entry is %d bytes, over EventBridge's %d", n, MaxEntryBytes)
	}
	out, err := e.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry}})
	if err != nil {
		return fmt.Errorf("put the run event: %w", err)
	}
	if out.FailedEntryCount > 0 {
		code, msg := "", ""
		if len(out.Entries) > 0 {
			code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("put the run event: rejected: %s %s", code, msg)
	}
	return nil
}
