package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orgscan/orgscan/internal/historytest"
	"github.com/orgscan/orgscan/internal/mototest"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/store"
)

// Two simulated days aggregated into moto's DynamoDB and S3: findings that
// disappear are resolved, new ones open, unchanged ones keep their first
// sighting, the account that failed on day 2 keeps its findings open, and a
// re-run of day 2's aggregation writes no item and leaves the table as it
// was (compared item by item).
func TestHistoryOnDynamoDBAndS3(t *testing.T) {
	w := seeded(t)
	db, state := stateTable(t)
	cfg, err := awsx.LoadConfig(context.Background(), awsx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs := store.S3{Client: awsx.NewS3(cfg), Bucket: w.Bucket, Prefix: "history-it/"}
	historytest.Run(t, state, blobs, func() []byte { return dumpTable(t, db, state.Table) }, state.ItemsWritten)
}

// dumpTable reads the whole table (a Scan is fine in a test) in a stable
// order.
func dumpTable(t *testing.T, db *dynamodb.Client, table string) []byte {
	t.Helper()
	var lines []string
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			b, err := json.Marshal(item)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, string(b))
		}
	}
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n"))
}

// historyEnv gives each call a table of its own in moto and a prefix of
// its own in the bucket.
func historyEnv(t *testing.T, w *mototest.World) func() historytest.Env {
	cfg, err := awsx.LoadConfig(context.Background(), awsx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	return func() historytest.Env {
		n++
		_, state := stateTable(t)
		prefix := fmt.Sprintf("%s-%d/", strings.ReplaceAll(t.Name(), "/", "_"), n)
		return historytest.Env{State: state, Blobs: store.S3{Client: awsx.NewS3(cfg), Bucket: w.Bucket, Prefix: prefix}}
	}
}

// Days 0, 2, then a late day 1, on DynamoDB and S3: the late run changes
// nothing (each account's run mark refuses it, by a conditional write).
func TestLateRunChangesNothingOnDynamoDB(t *testing.T) {
	historytest.Ordered(t, historyEnv(t, seeded(t)))
}

// A killed aggregation carried by a new run, on DynamoDB and S3.
func TestKilledAggregationIsCarriedOnDynamoDB(t *testing.T) {
	historytest.Resumed(t, historyEnv(t, seeded(t)))
}
