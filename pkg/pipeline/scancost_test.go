package pipeline_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/orgscan/orgscan/pkg/pipeline"
)

func TestEstimateScanCost(t *testing.T) {
	t.Parallel()
	var pairs []pipeline.PairResult
	for _, acct := range []string{"111111111111", "222222222222"} {
		for _, region := range []string{"us-east-1", "eu-west-1"} {
			pairs = append(pairs, pipeline.PairResult{AccountID: acct, Region: region, MetricsRequested: 600, DurationMs: 4000,
				ChunkKey: "c", InventoryKey: "i"})
		}
	}
	got := pipeline.EstimateScanCost(pairs)
	// 2,400 metrics at $0.01/1,000; 18 PUTs (manifest, 8 pair objects, 7
	// run files, 2 Map results) and 10 GETs; two batches of 8 s of pair
	// scans, 4 at a time at 512 MB = 2 GB-s; 5 + 2 transitions, 2 Express
	// children of 2 s at 64 MB.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"metrics", float64(got.Metrics), 2400},
		{"metrics $", got.MetricsUSD, 0.024},
		{"S3 requests", float64(got.S3Requests), 28},
		{"S3 $", got.S3USD, 18*0.005/1000 + 10*0.0004/1000},
		{"GB-s", got.LambdaGBSeconds, 2},
		{"Lambda $", got.LambdaUSD, 2*0.0000133334 + 2*0.2/1e6},
		{"transitions", float64(got.StateTransitions), 7},
		{"children", float64(got.ChildExecutions), 2},
		{"Step Functions $", got.StepFunctionsUSD, 7*0.025/1000 + 2*1.0/1e6 + 4*(64.0/1024)*0.00001667},
		{"total $", got.TotalUSD, got.MetricsUSD + got.S3USD + got.LambdaUSD + got.StepFunctionsUSD},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if z := pipeline.EstimateScanCost(nil); z.Metrics != 0 || z.ChildExecutions != 0 || z.StateTransitions != 5 {
		t.Errorf("empty run: %+v", z)
	}
}

// A pair's API counts are an object in JSON, sorted, and read back alike.
func TestOpCountsJSON(t *testing.T) {
	t.Parallel()
	c := pipeline.CountsOf(map[string]int{"ec2:DescribeVolumes": 2, "cloudwatch:GetMetricData": 1, `odd"name`: 3})
	b, err := json.Marshal(pipeline.PairResult{APICalls: c})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"apiCalls":{"cloudwatch:GetMetricData":1,"ec2:DescribeVolumes":2,"odd\"name":3}`; !strings.Contains(string(b), want) {
		t.Fatalf("%s lacks %s", b, want)
	}
	var back pipeline.PairResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.APICalls, c) || c.Total() != 6 {
		t.Fatalf("round trip %+v, want %+v (total %d)", back.APICalls, c, c.Total())
	}
	if b, _ := json.Marshal(pipeline.PairResult{}); strings.Contains(string(b), "apiCalls") {
		t.Errorf("empty counts written: %s", b)
	}
}
