package pipeline

import "math"

// Deployed sizes the scan cost is estimated with. The CDK app deploys the
// functions with these (infra/cdk reads them from here).
const (
	DispatcherMemoryMB = 256
	CollectorMemoryMB  = 512
	AggregatorMemoryMB = 1024
	// CollectorPairConcurrency is the collector's default number of pairs
	// scanned at once within one invocation (ORGSCAN_PAIR_CONCURRENCY).
	CollectorPairConcurrency = 4
)

// AWS list prices (us-east-1, on demand) the scan cost is estimated with.
const (
	// GetMetricDataUSDPerMetric is CloudWatch's price per metric requested
	// with GetMetricData ($0.01 per 1,000).
	GetMetricDataUSDPerMetric = 0.01 / 1000
	// S3 Standard requests: PUT $0.005 per 1,000, GET $0.0004 per 1,000.
	s3PutUSD = 0.005 / 1000
	s3GetUSD = 0.0004 / 1000
	// Lambda on arm64: $0.0000133334 per GB-second, $0.20 per million
	// requests.
	lambdaGBSecondUSD = 0.0000133334
	lambdaRequestUSD  = 0.20 / 1e6
	// Step Functions Standard: $0.025 per 1,000 state transitions. The
	// Distributed Map's children are Express executions: $1.00 per million,
	// plus $0.00001667 per GB-second billed at 64 MB.
	sfnTransitionUSD   = 0.025 / 1000
	sfnExpressUSD      = 1.0 / 1e6
	sfnExpressGBSecUSD = 0.00001667
	sfnExpressGB       = 64.0 / 1024
	// parentTransitions are the states a successful execution enters
	// outside the Map: Dispatch, Collect, Aggregate, Verdict, Done.
	parentTransitions = 5
)

// ScanCost is what a run cost in AWS charges, estimated from what it did:
// the CloudWatch metrics it requested, its S3 requests, the collector's
// Lambda time at the deployed memory size and the state machine's
// transitions and child executions. Describe, List and AssumeRole calls are
// free. The estimate counts the fan-out, which grows with the organization;
// the dispatcher's and aggregator's single invocations (seconds, a fraction
// of a cent) and DynamoDB writes (only changed findings) are left out, so a
// re-run of the same pairs estimates the same cost.
type ScanCost struct {
	Metrics          int     `json:"metrics"`
	MetricsUSD       float64 `json:"metricsUsd"`
	S3Requests       int     `json:"s3Requests"`
	S3USD            float64 `json:"s3Usd"`
	LambdaGBSeconds  float64 `json:"lambdaGbSeconds"`
	LambdaUSD        float64 `json:"lambdaUsd"`
	StateTransitions int     `json:"stateTransitions"`
	ChildExecutions  int     `json:"childExecutions"`
	StepFunctionsUSD float64 `json:"stepFunctionsUsd"`
	TotalUSD         float64 `json:"totalUsd"`
}

// EstimateScanCost estimates the cost of scanning pairs, batched one
// account's regions per collector invocation as the state machine does.
func EstimateScanCost(pairs []PairResult) ScanCost {
	var c ScanCost
	batches := map[string]float64{} // account -> seconds of pair scans
	puts, gets := 1, 0              // the manifest
	for _, p := range pairs {
		c.Metrics += p.MetricsRequested
		batches[p.AccountID] += float64(p.DurationMs) / 1000
		for _, key := range []string{p.ChunkKey, p.InventoryKey} {
			if key != "" {
				puts++ // the collector writes it,
				gets++ // the aggregator reads it
			}
		}
	}
	// findings.jsonl, pairs.jsonl, three Parquet files, the summary and the
	// report; the Map reads the manifest and writes its results.
	puts += 7 + 2
	gets += 1 + 1
	c.S3Requests = puts + gets
	c.ChildExecutions = len(batches)
	var batchSeconds float64
	for _, s := range batches {
		// A batch's pairs run CollectorPairConcurrency at a time; Lambda
		// bills at least a millisecond.
		batchSeconds += math.Max(s/CollectorPairConcurrency, 0.001)
	}
	c.LambdaGBSeconds = batchSeconds * CollectorMemoryMB / 1024
	c.StateTransitions = parentTransitions + c.ChildExecutions

	c.MetricsUSD = float64(c.Metrics) * GetMetricDataUSDPerMetric
	c.S3USD = float64(puts)*s3PutUSD + float64(gets)*s3GetUSD
	c.LambdaUSD = c.LambdaGBSeconds*lambdaGBSecondUSD + float64(c.ChildExecutions)*lambdaRequestUSD
	c.StepFunctionsUSD = float64(c.StateTransitions)*sfnTransitionUSD +
		float64(c.ChildExecutions)*sfnExpressUSD + batchSeconds*sfnExpressGB*sfnExpressGBSecUSD
	c.TotalUSD = c.MetricsUSD + c.S3USD + c.LambdaUSD + c.StepFunctionsUSD
	return c
}
