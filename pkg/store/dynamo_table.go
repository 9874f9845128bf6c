package store

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The state table's key attributes, index names and TTL attribute. One
// table holds findings, run records, their problem pairs and the runs index
// (docs/dynamodb.md shows the items and a query per access pattern).
const (
	// DynamoPK and DynamoSK are the table's partition and sort key.
	DynamoPK = "PK"
	DynamoSK = "SK"

	// DynamoIndexByCheckCost ranks the findings of a check and status by
	// monthly cost: partition GSI1PK = "CHECK#<checkId>#<status>", sort
	// GSI1SK = monthlyCostUsd (Number). The index is sparse: a finding whose
	// cost is unknown has no GSI1SK and is absent from the ranking.
	DynamoIndexByCheckCost = "byCheckCost"
	DynamoGSI1PK           = "GSI1PK"
	DynamoGSI1SK           = "GSI1SK"

	// DynamoIndexByAccountStatus lists the findings of an account in one
	// status: partition GSI2PK = "ACCOUNT#<accountId>#<status>", sort
	// GSI2SK = "<region>#<checkId>#<resourceId>".
	DynamoIndexByAccountStatus = "byAccountStatus"
	DynamoGSI2PK               = "GSI2PK"
	DynamoGSI2SK               = "GSI2SK"

	// DynamoTTLAttribute is the table's time-to-live attribute: epoch
	// seconds, set on resolved findings only (resolvedAt + ResolvedRetention).
	DynamoTTLAttribute = "expiresAt"
)

// DynamoStateTable returns the definition of a state table named name:
// on-demand capacity, the string keys PK and SK, and the two global
// secondary indexes projecting every attribute (a query through them
// returns whole findings, with no second read). Tests create it in moto;
// the infrastructure code creates the same table.
func DynamoStateTable(name string) *dynamodb.CreateTableInput {
	all := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll}
	key := func(pk, sk string) []ddbtypes.KeySchemaElement {
		return []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: ddbtypes.KeyTypeRange},
		}
	}
	attr := func(name string, t ddbtypes.ScalarAttributeType) ddbtypes.AttributeDefinition {
		return ddbtypes.AttributeDefinition{AttributeName: aws.String(name), AttributeType: t}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			attr(DynamoPK, ddbtypes.ScalarAttributeTypeS),
			attr(DynamoSK, ddbtypes.ScalarAttributeTypeS),
			attr(DynamoGSI1PK, ddbtypes.ScalarAttributeTypeS),
			attr(DynamoGSI1SK, ddbtypes.ScalarAttributeTypeN),
			attr(DynamoGSI2PK, ddbtypes.ScalarAttributeTypeS),
			attr(DynamoGSI2SK, ddbtypes.ScalarAttributeTypeS),
		},
		KeySchema: key(DynamoPK, DynamoSK),
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{
			{IndexName: aws.String(DynamoIndexByCheckCost), KeySchema: key(DynamoGSI1PK, DynamoGSI1SK), Projection: all},
			{IndexName: aws.String(DynamoIndexByAccountStatus), KeySchema: key(DynamoGSI2PK, DynamoGSI2SK), Projection: all},
		},
	}
}

// DynamoStateTTL returns the request that turns on time to live for a state
// table, on DynamoTTLAttribute. DynamoDB deletes expired items in the
// background, typically within a few days; DynamoState hides expired items
// that are still there.
func DynamoStateTTL(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{
			AttributeName: aws.String(DynamoTTLAttribute),
			Enabled:       aws.Bool(true),
		},
	}
}
