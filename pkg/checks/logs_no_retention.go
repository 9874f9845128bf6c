package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
	"github.com/orgscan/orgscan/pkg/finding"
)

// bytesPerGiB is what CloudWatch Logs bills storage by.
const bytesPerGiB = 1 << 30

// LogsNoRetention finds log groups with no retention policy ("never
// expire") that already hold a sizeable amount of data. Storage keeps
// growing and is billed every month for as long as the group lives.
//
// The check needs no age: a missing retention policy is a configuration
// fact, not a pattern over time, and the size threshold already keeps
// groups that have barely started out of the report.
var LogsNoRetention = Check{
	ID:           "logs-no-retention",
	Service:      "logs",
	ResourceType: "AWS::Logs::LogGroup",
	Category:     finding.Hygiene,
	Description:  "CloudWatch Logs log groups without a retention policy (events never expire) storing at least the threshold, billed for that storage every month.",
	Params: []Param{
		{Name: "minStoredGiB", Default: 1, Min: 0, Max: 1e6, Unit: "GiB", Description: "smallest StoredBytes reported",
			Source: "orgscan default: below 1 GiB a never-expiring group costs about 3 cents a month"},
	},
	Actions:     []string{"logs:DescribeLogGroups"},
	MissingData: "no metrics: decided from DescribeLogGroups (RetentionInDays absent, StoredBytes)",
	Select:      selectNoRetentionLogGroups,
	Evaluate:    evaluateNoRetentionLogGroup,
}

func selectNoRetentionLogGroups(ctx context.Context, inv *Inventory, env Env) ([]Candidate, error) {
	groups, err := inv.LogGroups(ctx)
	if err != nil {
		return nil, err
	}
	minBytes := env.Params["minStoredGiB"] * bytesPerGiB
	var out []Candidate
	for _, g := range groups {
		if g.RetentionInDays != nil || float64(aws.ToInt64(g.StoredBytes)) < minBytes {
			continue
		}
		name := aws.ToString(g.LogGroupName)
		var created time.Time
		if ms := aws.ToInt64(g.CreationTime); ms > 0 {
			created = time.UnixMilli(ms).UTC()
		}
		out = append(out, Candidate{
			Resource: Resource{Type: "AWS::Logs::LogGroup", ID: name, ARN: logGroupARN(g), Name: name, Created: created},
			Data:     g,
		})
	}
	return out, nil
}

// logGroupARN prefers LogGroupArn; Arn, the older field, ends in ":*".
func logGroupARN(g logstypes.LogGroup) string {
	if a := aws.ToString(g.LogGroupArn); a != "" {
		return a
	}
	return strings.TrimSuffix(aws.ToString(g.Arn), ":*")
}

func evaluateNoRetentionLogGroup(c Candidate, _ cwbatch.Results, env Env) (*Verdict, error) {
	g := c.Data.(logstypes.LogGroup)
	stored := aws.ToInt64(g.StoredBytes)
	// The cost is what the stored data is billed now, per month; it grows
	// with every event the group keeps.
	usd := cost(env.Prices.LogsStorage(env.Region, stored))
	created := ""
	if !c.Resource.Created.IsZero() {
		created = "; created " + c.Resource.Created.Format("2006-01-02")
	}
	return &Verdict{
		Reason: fmt.Sprintf("no retention policy (events never expire): %.2f GiB stored (threshold %g GiB); cost is today's monthly storage charge, which grows as events arrive%s%s",
			float64(stored)/bytesPerGiB, env.Params["minStoredGiB"], created, unknownNote(usd, "CloudWatch Logs storage", env.Region)),
		Evidence:       map[string]float64{"storedBytes": float64(stored)},
		MonthlyCostUSD: usd,
	}, nil
}
