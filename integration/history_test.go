package integration

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orgscan/orgscan/internal/historytest"
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
