package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orgscan/orgscan/pkg/finding"
)

// DynamoAPI is what DynamoState needs of a DynamoDB client. Its methods
// are also the IAM actions the aggregator is granted on the table.
type DynamoAPI interface {
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	// PutItem and DeleteItem make the conditional writes of AdvanceAccount
	// and the lease.
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var (
	_ DynamoAPI               = (*dynamodb.Client)(nil)
	_ dynamodb.QueryAPIClient = DynamoAPI(nil)
)

// BatchWriteItem limits and the backoff between retries of the items it
// leaves unprocessed.
const (
	// DynamoBatchSize is the most write requests one BatchWriteItem takes.
	DynamoBatchSize = 25
	// DynamoMaxAttempts is the default number of BatchWriteItem calls made
	// for one batch, the first included.
	DynamoMaxAttempts = 8
	// DynamoBackoffBase and DynamoBackoffCap bound the capped exponential
	// backoff (with full jitter) between calls: at most base·2ⁿ⁻¹ after the
	// nth call, never more than the cap.
	DynamoBackoffBase = 50 * time.Millisecond
	DynamoBackoffCap  = 5 * time.Second
)

// Key prefixes of the state table's items (docs/dynamodb.md).
//
// Every key is bounded well below DynamoDB's 2,048-byte partition and
// 1,024-byte sort key limits, except GSI2SK, which dynamoGSI2SK cuts to
// size: account IDs are 12 digits, finding IDs 32 hex digits, check IDs
// and statuses come from the registry, regions are short names, run IDs
// are at most 80 characters of [A-Za-z0-9._-] (the dispatcher's rule), and
// a run mark is a 35-byte time, "#" and the run ID. checkItem verifies
// every key of every item before a write anyway.
const (
	dynamoAccountPrefix = "ACCOUNT#"
	dynamoFindingPrefix = "FINDING#"
	dynamoCheckPrefix   = "CHECK#"
	dynamoRunPrefix     = "RUN#"
	dynamoPairPrefix    = "PAIR#"
	dynamoRunSummarySK  = "#SUMMARY"
	// dynamoRunsPK holds an item per run, SK = its RunMark: the runs
	// index. dynamoUnfinishedPK holds one per run in status RunAggregating.
	dynamoRunsPK       = "RUNS"
	dynamoUnfinishedPK = "UNFINISHED"
)

// DynamoState keeps the latest state of findings, the run records, the
// accounts' run marks and the aggregation lease in one DynamoDB table
// defined by DynamoStateTable. Use it by pointer; the zero values of the
// optional fields are the defaults. It is safe for concurrent use.
//
// Findings and run records are written with BatchWriteItem, each item
// checked against DynamoDB's size limits first; marks and the lease with
// one conditional PutItem or DeleteItem each. Errors of the calls themselves
// (throttling, 5xx) are retried by the SDK's retryer, not here; the items a
// successful call leaves unprocessed, which the SDK returns to the caller,
// are resent with capped exponential backoff and full jitter, up to
// MaxAttempts calls per batch, after which the write fails with an
// *UnprocessedItemsError.
type DynamoState struct {
	Client DynamoAPI
	Table  string
	// Now hides resolved findings whose retention has ended but which
	// DynamoDB's TTL has not deleted yet (it takes up to a few days).
	// Default time.Now.
	Now func() time.Time
	// Sleep waits between BatchWriteItem calls; default a timer that
	// returns ctx's error when ctx ends first.
	Sleep func(context.Context, time.Duration) error
	// Jitter returns a random duration in [0, max]; default uniform.
	Jitter func(max time.Duration) time.Duration
	// MaxAttempts is the number of BatchWriteItem calls per batch, the
	// first included; 0 means DynamoMaxAttempts.
	MaxAttempts int

	written atomic.Int64
}

var _ State = (*DynamoState)(nil)

// ItemsWritten returns how many items the table has accepted from this
// store's batch writes so far: findings, run records, their problem pairs
// and index items (deletes, account marks and the lease are not counted).
func (s *DynamoState) ItemsWritten() int64 { return s.written.Load() }

// UnprocessedItemsError says that DynamoDB kept returning some items of a
// batch as unprocessed (the table's or a partition's throughput was
// exceeded) after every attempt. Those items were not written; items of
// later batches of the same call were not sent. Writing again is safe.
type UnprocessedItemsError struct {
	Table    string
	Count    int // items still unprocessed
	Attempts int // BatchWriteItem calls made for the batch
}

func (e *UnprocessedItemsError) Error() string {
	return fmt.Sprintf("dynamodb table %s: %d items still unprocessed after %d BatchWriteItem attempts; they were not written",
		e.Table, e.Count, e.Attempts)
}

// AccountFindings queries every finding item of the account (PK
// ACCOUNT#<id>, SK beginning FINDING#) with a strongly consistent read, so
// a merge sees the previous run's writes. Resolved items past their
// retention are left out even when TTL has not deleted them yet.
func (s *DynamoState) AccountFindings(ctx context.Context, accountID string) ([]finding.Finding, error) {
	in, err := s.prefixQuery(dynamoAccountPrefix+accountID, dynamoFindingPrefix)
	if err != nil {
		return nil, err
	}
	in.ConsistentRead = aws.Bool(true)
	now := s.now().Unix()
	var out []finding.Finding
	err = s.query(ctx, in, func(item map[string]ddbtypes.AttributeValue) (bool, error) {
		if exp, ok := item[DynamoTTLAttribute].(*ddbtypes.AttributeValueMemberN); ok {
			if sec, err := strconv.ParseInt(exp.Value, 10, 64); err == nil && sec <= now {
				return true, nil
			}
		}
		f, err := decodeDynamoFinding(item)
		if err != nil {
			return false, err
		}
		out = append(out, f)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamodb %s: findings of account %s: %w", s.Table, accountID, err)
	}
	return out, nil
}

// PutFindings writes the items as whole finding items, DynamoBatchSize per
// BatchWriteItem call, one batch after another. When items holds the same
// finding twice, the later one is written (a batch may not hold a key
// twice). Empty input writes nothing. A finding of another account, or
// with a cost that is not a finite number, is an error before any write,
// and so is an item over DynamoMaxItemBytes (*ItemTooLargeError).
func (s *DynamoState) PutFindings(ctx context.Context, accountID string, items []finding.Finding) error {
	if len(items) == 0 {
		return nil
	}
	reqs := make([]ddbtypes.WriteRequest, 0, len(items))
	at := make(map[string]int, len(items))
	for _, f := range items {
		if f.AccountID != accountID {
			return fmt.Errorf("finding %s belongs to account %s, not %s", f.FindingID, f.AccountID, accountID)
		}
		item, err := encodeDynamoFinding(f)
		if err != nil {
			return err
		}
		if err := s.checkItem(item); err != nil {
			return err
		}
		req := ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: item}}
		if i, ok := at[f.FindingID]; ok {
			reqs[i] = req
			continue
		}
		at[f.FindingID] = len(reqs)
		reqs = append(reqs, req)
	}
	return s.write(ctx, reqs)
}

// GetRun reads the run's summary item and its problem-pair items, both
// strongly consistent. No summary item is no run.
func (s *DynamoState) GetRun(ctx context.Context, runID string) (RunRecord, bool, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            dynamoKey(dynamoRunPrefix+runID, dynamoRunSummarySK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return RunRecord{}, false, fmt.Errorf("dynamodb %s: get run %s: %w", s.Table, runID, err)
	}
	if len(out.Item) == 0 {
		return RunRecord{}, false, nil
	}
	var sum dynamoRunItem
	if err := attributevalue.UnmarshalMap(out.Item, &sum); err != nil {
		return RunRecord{}, false, fmt.Errorf("dynamodb %s: run %s: %w", s.Table, runID, err)
	}
	rec := RunRecord{RunID: sum.RunID, Status: RunStatus(sum.Status), CarriedBy: sum.CarriedBy}
	if sum.StartedAt != "" {
		if rec.StartedAt, err = time.Parse(time.RFC3339Nano, sum.StartedAt); err != nil {
			return RunRecord{}, false, fmt.Errorf("dynamodb %s: run %s: startedAt: %w", s.Table, runID, err)
		}
	}
	if sum.SummaryJSON != "" {
		rec.Summary = json.RawMessage(sum.SummaryJSON)
	}
	pairs, err := s.runPairs(ctx, runID)
	if err != nil {
		return RunRecord{}, false, err
	}
	for _, p := range pairs {
		pr := PairRecord{AccountID: p.AccountID, Region: p.Region, Status: p.Status}
		if p.Errors != "" {
			pr.Errors = json.RawMessage(p.Errors)
		}
		rec.Problems = append(rec.Problems, pr)
	}
	return rec, true, nil
}

// PutRun replaces the run record in three steps, so that a PutRun that
// fails part-way can simply be repeated and a run in status
// RunAggregating is listed by UnfinishedRuns until a record in another
// status has replaced it:
//
//  1. the problem pairs, the runs-index item and, for a record in status
//     RunAggregating, the unfinished-index item are written, and the pair
//     items of an earlier version that this one no longer has are deleted;
//  2. the summary item is written;
//  3. index items that no longer match the record are deleted: those of
//     an earlier start time, and the unfinished-index item of a record in
//     another status.
//
// The writes are not one transaction (a run can have more problem pairs
// than a transaction takes): a reader during PutRun may see a mix of both
// versions; Runs and UnfinishedRuns skip index items that do not match the
// record. Every item is checked against DynamoDB's size limits before the
// first write (*ItemTooLargeError).
func (s *DynamoState) PutRun(ctx context.Context, rec RunRecord) error {
	if rec.RunID == "" {
		return errors.New("run record without a run ID")
	}
	pk := dynamoRunPrefix + rec.RunID
	mark := rec.Mark().String()
	summary, err := encodeDynamoRun(rec)
	if err != nil {
		return err
	}
	var reqs []ddbtypes.WriteRequest
	put := func(item map[string]ddbtypes.AttributeValue) {
		reqs = append(reqs, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: item}})
	}
	keep := make(map[string]bool, len(rec.Problems))
	for i, p := range rec.Problems {
		sk := dynamoPairSK(p)
		if keep[sk] {
			return fmt.Errorf("run %s lists pair %s %s (%s) twice", rec.RunID, p.AccountID, p.Region, p.Status)
		}
		keep[sk] = true
		item, err := attributevalue.MarshalMap(dynamoPairItem{
			PK: pk, SK: sk, AccountID: p.AccountID, Region: p.Region, Status: p.Status, Errors: string(p.Errors), Position: i,
		})
		if err != nil {
			return fmt.Errorf("run %s: pair %s %s: %w", rec.RunID, p.AccountID, p.Region, err)
		}
		put(item)
	}
	put(dynamoIndexItem(dynamoRunsPK, mark, rec.RunID))
	aggregating := rec.Status == RunAggregating
	if aggregating {
		put(dynamoIndexItem(dynamoUnfinishedPK, mark, rec.RunID))
	}
	for _, r := range reqs {
		if err := s.checkItem(r.PutRequest.Item); err != nil {
			return err
		}
	}
	if err := s.checkItem(summary); err != nil {
		return err
	}

	old, err := s.runPairs(ctx, rec.RunID)
	if err != nil {
		return err
	}
	for _, p := range old {
		if !keep[p.SK] {
			reqs = append(reqs, ddbtypes.WriteRequest{DeleteRequest: &ddbtypes.DeleteRequest{Key: dynamoKey(pk, p.SK)}})
		}
	}
	prev, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(s.Table),
		Key:                  dynamoKey(pk, dynamoRunSummarySK),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("startedAt"),
	})
	if err != nil {
		return fmt.Errorf("dynamodb %s: get run %s: %w", s.Table, rec.RunID, err)
	}
	var stale []ddbtypes.WriteRequest
	del := func(pk, sk string) {
		stale = append(stale, ddbtypes.WriteRequest{DeleteRequest: &ddbtypes.DeleteRequest{Key: dynamoKey(pk, sk)}})
	}
	if v, ok := prev.Item["startedAt"].(*ddbtypes.AttributeValueMemberS); ok {
		if t, err := time.Parse(time.RFC3339Nano, v.Value); err == nil {
			if was := (RunMark{RunID: rec.RunID, StartedAt: t}).String(); was != mark {
				del(dynamoRunsPK, was)
				del(dynamoUnfinishedPK, was)
			}
		}
	}
	if !aggregating {
		// Also when there was no summary item: a PutRun in status
		// RunAggregating may have stopped after step 1.
		del(dynamoUnfinishedPK, mark)
	}
	if err := s.write(ctx, reqs); err != nil {
		return err
	}
	if err := s.write(ctx, []ddbtypes.WriteRequest{{PutRequest: &ddbtypes.PutRequest{Item: summary}}}); err != nil {
		return err
	}
	return s.write(ctx, stale)
}

// Runs queries the runs index (PK RUNS, newest start first) and reads each
// record with GetRun: the index items hold only the run ID, so a record
// lives in one place. Index items left behind by an interrupted PutRun
// (no record, or a record that started at another time) are skipped.
func (s *DynamoState) Runs(ctx context.Context, limit int) ([]RunRecord, error) {
	in, err := s.indexQuery(dynamoRunsPK)
	if err != nil {
		return nil, err
	}
	in.ScanIndexForward = aws.Bool(false)
	if limit > 0 {
		in.Limit = aws.Int32(int32(min(limit, math.MaxInt32)))
	}
	out, err := s.indexedRuns(ctx, in, limit, func(RunRecord) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("dynamodb %s: runs: %w", s.Table, err)
	}
	return out, nil
}

// UnfinishedRuns queries the unfinished index (PK UNFINISHED, oldest mark
// first) with strongly consistent reads, and reads each record with
// GetRun. It returns the records still in status RunAggregating whose mark
// is the index item's; other index items (a record replaced by one in
// another status or with another start time, by a PutRun that stopped
// before deleting them) are skipped.
func (s *DynamoState) UnfinishedRuns(ctx context.Context) ([]RunRecord, error) {
	in, err := s.indexQuery(dynamoUnfinishedPK)
	if err != nil {
		return nil, err
	}
	in.ConsistentRead = aws.Bool(true)
	out, err := s.indexedRuns(ctx, in, 0, func(r RunRecord) bool { return r.Status == RunAggregating })
	if err != nil {
		return nil, fmt.Errorf("dynamodb %s: unfinished runs: %w", s.Table, err)
	}
	return out, nil
}

// indexQuery builds a query of every item of an index partition.
func (s *DynamoState) indexQuery(pk string) (*dynamodb.QueryInput, error) {
	keyCond := expression.Key(DynamoPK).Equal(expression.Value(pk))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// indexedRuns runs an index query and returns, in its order, the records
// of its items whose mark is the item's sort key and that keep accepts;
// at most limit (0: all).
func (s *DynamoState) indexedRuns(ctx context.Context, in *dynamodb.QueryInput, limit int, keep func(RunRecord) bool) ([]RunRecord, error) {
	var out []RunRecord
	err := s.query(ctx, in, func(item map[string]ddbtypes.AttributeValue) (bool, error) {
		var idx struct {
			SK    string `dynamodbav:"SK"`
			RunID string `dynamodbav:"runId"`
		}
		if err := attributevalue.UnmarshalMap(item, &idx); err != nil {
			return false, err
		}
		rec, ok, err := s.GetRun(ctx, idx.RunID)
		if err != nil {
			return false, err
		}
		if ok && rec.Mark().String() == idx.SK && keep(rec) {
			out = append(out, rec)
		}
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// write sends the requests DynamoBatchSize at a time and stops at the first
// batch that fails.
func (s *DynamoState) write(ctx context.Context, reqs []ddbtypes.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(len(reqs), DynamoBatchSize)
		if err := s.writeBatch(ctx, reqs[:n]); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

// writeBatch makes one BatchWriteItem call and resends what it leaves
// unprocessed, after a backoff, until nothing is left or MaxAttempts calls
// were made.
func (s *DynamoState) writeBatch(ctx context.Context, pending []ddbtypes.WriteRequest) error {
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = DynamoMaxAttempts
	}
	for attempt := 1; ; attempt++ {
		out, err := s.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]ddbtypes.WriteRequest{s.Table: pending},
		})
		if err != nil {
			return fmt.Errorf("dynamodb %s: batch write of %d items: %w", s.Table, len(pending), err)
		}
		left := out.UnprocessedItems[s.Table]
		s.written.Add(int64(dynamoPuts(pending) - dynamoPuts(left)))
		if len(left) == 0 {
			return nil
		}
		if attempt >= attempts {
			return &UnprocessedItemsError{Table: s.Table, Count: len(left), Attempts: attempt}
		}
		if err := s.sleep(ctx, s.backoff(attempt)); err != nil {
			return fmt.Errorf("dynamodb %s: %d items unprocessed after %d attempts: %w", s.Table, len(left), attempt, err)
		}
		pending = left
	}
}

// backoff is the wait after the nth call: full jitter over
// min(cap, base·2ⁿ⁻¹).
func (s *DynamoState) backoff(n int) time.Duration {
	d := DynamoBackoffBase
	for i := 1; i < n && d < DynamoBackoffCap; i++ {
		d *= 2
	}
	d = min(d, DynamoBackoffCap)
	if s.Jitter != nil {
		return s.Jitter(d)
	}
	return rand.N(d + 1)
}

func (s *DynamoState) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *DynamoState) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// prefixQuery builds a query of the items of partition pk whose sort key
// begins with prefix.
func (s *DynamoState) prefixQuery(pk, prefix string) (*dynamodb.QueryInput, error) {
	keyCond := expression.Key(DynamoPK).Equal(expression.Value(pk)).
		And(expression.Key(DynamoSK).BeginsWith(prefix))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// query pages through the query's items until each returns false or an
// error.
func (s *DynamoState) query(ctx context.Context, in *dynamodb.QueryInput, each func(map[string]ddbtypes.AttributeValue) (bool, error)) error {
	p := dynamodb.NewQueryPaginator(s.Client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			more, err := each(item)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// runPairs returns the problem-pair items of a run in the order of the
// record they were written from.
func (s *DynamoState) runPairs(ctx context.Context, runID string) ([]dynamoPairItem, error) {
	in, err := s.prefixQuery(dynamoRunPrefix+runID, dynamoPairPrefix)
	if err != nil {
		return nil, err
	}
	in.ConsistentRead = aws.Bool(true)
	var out []dynamoPairItem
	err = s.query(ctx, in, func(item map[string]ddbtypes.AttributeValue) (bool, error) {
		var p dynamoPairItem
		if err := attributevalue.UnmarshalMap(item, &p); err != nil {
			return false, err
		}
		out = append(out, p)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dynamodb %s: pairs of run %s: %w", s.Table, runID, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Position < out[j].Position })
	return out, nil
}

// dynamoRunItem is a run's summary item. SummaryJSON holds the summary
// verbatim, once: a copy as DynamoDB attributes would double an item that
// must stay under DynamoMaxItemBytes. An item written before runs had a
// status has none (and may have a "summary" map attribute, ignored).
type dynamoRunItem struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	RunID       string `dynamodbav:"runId"`
	StartedAt   string `dynamodbav:"startedAt"`
	Status      string `dynamodbav:"status,omitempty"`
	CarriedBy   string `dynamodbav:"carriedBy,omitempty"`
	SummaryJSON string `dynamodbav:"summaryJson,omitempty"`
	Problems    int    `dynamodbav:"problems"`
}

// dynamoPairItem is one problem pair of a run. Position keeps the order of
// RunRecord.Problems; Errors is the errors JSON as a string.
type dynamoPairItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	AccountID string `dynamodbav:"accountId"`
	Region    string `dynamodbav:"region"`
	Status    string `dynamodbav:"status"`
	Errors    string `dynamodbav:"errors,omitempty"`
	Position  int    `dynamodbav:"position"`
}

func encodeDynamoRun(rec RunRecord) (map[string]ddbtypes.AttributeValue, error) {
	item := dynamoRunItem{
		PK: dynamoRunPrefix + rec.RunID, SK: dynamoRunSummarySK, RunID: rec.RunID,
		StartedAt: rec.StartedAt.Format(time.RFC3339Nano), Status: string(rec.Status), CarriedBy: rec.CarriedBy,
		Problems: len(rec.Problems),
	}
	if len(rec.Summary) > 0 {
		if !json.Valid(rec.Summary) {
			return nil, fmt.Errorf("run %s: the summary is not valid JSON", rec.RunID)
		}
		item.SummaryJSON = string(rec.Summary)
	}
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", rec.RunID, err)
	}
	return av, nil
}

// encodeDynamoFinding returns the item of a finding: its fields under their
// JSON names (the one schema, DESIGN §3), the table and index keys, and the
// TTL of a resolved finding. An unknown cost is NULL and leaves GSI1SK out.
func encodeDynamoFinding(f finding.Finding) (map[string]ddbtypes.AttributeValue, error) {
	if f.FindingID == "" {
		return nil, fmt.Errorf("finding of %s %s %s without an ID", f.CheckID, f.AccountID, f.ResourceID)
	}
	if c := f.MonthlyCostUSD; c != nil && (math.IsNaN(*c) || math.IsInf(*c, 0)) {
		return nil, fmt.Errorf("finding %s: monthly cost %v is not a number DynamoDB can store", f.FindingID, *c)
	}
	item, err := attributevalue.MarshalMapWithOptions(f, dynamoJSONTags)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", f.FindingID, err)
	}
	str := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	item[DynamoPK] = str(dynamoAccountPrefix + f.AccountID)
	item[DynamoSK] = str(dynamoFindingPrefix + f.FindingID)
	item[DynamoGSI1PK] = str(dynamoCheckPrefix + f.CheckID + "#" + string(f.Status))
	if f.MonthlyCostUSD != nil {
		// The same number as monthlyCostUsd, which cannot be the index key
		// itself: an unknown cost is NULL there, and an index key must be
		// a number or absent.
		item[DynamoGSI1SK] = item["monthlyCostUsd"]
	}
	item[DynamoGSI2PK] = str(dynamoAccountPrefix + f.AccountID + "#" + string(f.Status))
	item[DynamoGSI2SK] = str(dynamoGSI2SK(f.Region, f.CheckID, f.ResourceID))
	if f.Status == finding.Resolved && f.ResolvedAt != nil {
		item[DynamoTTLAttribute] = &ddbtypes.AttributeValueMemberN{
			Value: strconv.FormatInt(f.ResolvedAt.Add(ResolvedRetention).Unix(), 10),
		}
	}
	return item, nil
}

func decodeDynamoFinding(item map[string]ddbtypes.AttributeValue) (finding.Finding, error) {
	var f finding.Finding
	err := attributevalue.UnmarshalMapWithOptions(item, &f, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" })
	if err != nil {
		sk, _ := item[DynamoSK].(*ddbtypes.AttributeValueMemberS)
		if sk != nil {
			return f, fmt.Errorf("item %s: %w", sk.Value, err)
		}
		return f, err
	}
	return f, nil
}

func dynamoJSONTags(o *attributevalue.EncoderOptions) { o.TagKey = "json" }

func dynamoKey(pk, sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		DynamoPK: &ddbtypes.AttributeValueMemberS{Value: pk},
		DynamoSK: &ddbtypes.AttributeValueMemberS{Value: sk},
	}
}

// dynamoPairSK sorts a run's problem pairs by status first, so that one
// begins_with query returns the failed ones.
func dynamoPairSK(p PairRecord) string {
	return dynamoPairPrefix + p.Status + "#" + p.AccountID + "#" + p.Region
}

// dynamoIndexItem is an item of the runs or unfinished index: SK is the
// run's mark, and runId names the record, which lives in one place.
func dynamoIndexItem(pk, mark, runID string) map[string]ddbtypes.AttributeValue {
	item := dynamoKey(pk, mark)
	item["runId"] = &ddbtypes.AttributeValueMemberS{Value: runID}
	return item
}

func dynamoPuts(reqs []ddbtypes.WriteRequest) int {
	n := 0
	for _, r := range reqs {
		if r.PutRequest != nil {
			n++
		}
	}
	return n
}
