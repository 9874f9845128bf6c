package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The items that coordinate aggregations (docs/dynamodb.md): an account's
// run mark, and the aggregation lease.
const (
	// dynamoAccountRunSK is the account mark's sort key, in the account's
	// partition. It must not begin with dynamoFindingPrefix: AccountFindings
	// reads the partition's FINDING# items.
	dynamoAccountRunSK = "#RUN"
	dynamoMarkAttr     = "mark"
	dynamoLeasePK      = "LEASE"
	dynamoLeaseSK      = "aggregation"
	dynamoHolderAttr   = "holder"
	dynamoUntilAttr    = "until" // Unix milliseconds
)

// AdvanceAccount writes m.String() as the mark of the account (PK
// ACCOUNT#<id>, SK #RUN) with one conditional PutItem: when there is no
// mark yet or the stored one is not later (the strings sort as the marks
// do). When the stored mark is later, it returns false and that mark, taken
// from the failed write's response (ReturnValuesOnConditionCheckFailure
// ALL_OLD), so the answer is the value the check saw; if the response
// carries no item it reads the mark with a strongly consistent GetItem.
// Other errors are returned; the SDK's retryer has retried throttling.
func (s *DynamoState) AdvanceAccount(ctx context.Context, accountID string, m RunMark) (bool, RunMark, error) {
	if m.RunID == "" {
		return false, RunMark{}, fmt.Errorf("advance account %s: run mark without a run ID", accountID)
	}
	mark := m.String()
	cond := expression.Name(dynamoMarkAttr).AttributeNotExists().
		Or(expression.Name(dynamoMarkAttr).LessThanEqual(expression.Value(mark)))
	item := dynamoKey(dynamoAccountPrefix+accountID, dynamoAccountRunSK)
	item[dynamoMarkAttr] = &ddbtypes.AttributeValueMemberS{Value: mark}
	ok, cur, err := s.putIf(ctx, item, cond)
	if err != nil {
		return false, RunMark{}, fmt.Errorf("dynamodb %s: advance account %s to %s: %w", s.Table, accountID, mark, err)
	}
	if ok {
		return true, m, nil
	}
	if cur == nil {
		// Only without ALL_OLD, when the mark went between the write and
		// the read: which cannot happen, marks are never deleted.
		return false, RunMark{}, fmt.Errorf("dynamodb %s: advance account %s to %s: refused, and no mark to read", s.Table, accountID, mark)
	}
	current, err := ParseRunMark(dynamoString(cur[dynamoMarkAttr]))
	if err != nil {
		return false, RunMark{}, fmt.Errorf("dynamodb %s: account %s: %w", s.Table, accountID, err)
	}
	return false, current, nil
}

// AcquireLease puts the lease item (PK LEASE, SK aggregation) with holder
// and until (Unix milliseconds, rounded up) in one conditional PutItem:
// when there is none, when it is holder's, or when its until is not after
// now (rounded down), as LocalState. When refused it returns the holder and
// expiry from the failed write's response (ALL_OLD), or from a strongly
// consistent GetItem if the response carries none; a lease released
// between the two is then reported as refused with an empty holder.
func (s *DynamoState) AcquireLease(ctx context.Context, holder string, now, until time.Time) (bool, string, time.Time, error) {
	if holder == "" {
		return false, "", time.Time{}, errors.New("acquire lease: empty holder")
	}
	untilMs := until.UnixMilli()
	if until.Sub(time.UnixMilli(untilMs)) > 0 {
		untilMs++
	}
	cond := expression.Name(DynamoPK).AttributeNotExists().
		Or(expression.Name(dynamoHolderAttr).Equal(expression.Value(holder)),
			expression.Name(dynamoUntilAttr).LessThanEqual(expression.Value(now.UnixMilli())))
	item := dynamoKey(dynamoLeasePK, dynamoLeaseSK)
	item[dynamoHolderAttr] = &ddbtypes.AttributeValueMemberS{Value: holder}
	item[dynamoUntilAttr] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(untilMs, 10)}
	ok, cur, err := s.putIf(ctx, item, cond)
	if err != nil {
		return false, "", time.Time{}, fmt.Errorf("dynamodb %s: acquire lease for %s: %w", s.Table, holder, err)
	}
	if ok || cur == nil {
		return ok, "", time.Time{}, nil
	}
	var heldUntil time.Time
	if n, isN := cur[dynamoUntilAttr].(*ddbtypes.AttributeValueMemberN); isN {
		ms, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return false, "", time.Time{}, fmt.Errorf("dynamodb %s: lease until %q: %w", s.Table, n.Value, err)
		}
		heldUntil = time.UnixMilli(ms).UTC()
	}
	return false, dynamoString(cur[dynamoHolderAttr]), heldUntil, nil
}

// ReleaseLease deletes the lease item on condition that holder holds it;
// when another holds it, or nobody, the failed condition is not an error.
func (s *DynamoState) ReleaseLease(ctx context.Context, holder string) error {
	expr, err := expression.NewBuilder().
		WithCondition(expression.Name(dynamoHolderAttr).Equal(expression.Value(holder))).Build()
	if err != nil {
		return err
	}
	_, err = s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       dynamoKey(dynamoLeasePK, dynamoLeaseSK),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var failed *ddbtypes.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("dynamodb %s: release lease of %s: %w", s.Table, holder, err)
	}
	return nil
}

// putIf puts item when cond holds, and reports whether it did. When cond
// does not hold it returns the item the table holds under the same key:
// the one DynamoDB returns with the ConditionalCheckFailedException
// (ALL_OLD), or a strongly consistent read of it when the response has
// none (nil when there is no item).
func (s *DynamoState) putIf(ctx context.Context, item map[string]ddbtypes.AttributeValue, cond expression.ConditionBuilder) (bool, map[string]ddbtypes.AttributeValue, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, nil, err
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.Table),
		Item:                                item,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *ddbtypes.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil, nil
	case !errors.As(err, &failed):
		return false, nil, err
	case len(failed.Item) > 0:
		return false, failed.Item, nil
	}
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            dynamoKey(dynamoString(item[DynamoPK]), dynamoString(item[DynamoSK])),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, nil, err
	}
	if len(out.Item) == 0 {
		return false, nil, nil
	}
	return false, out.Item, nil
}
