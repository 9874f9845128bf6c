package checks

// dataChecks are the ElastiCache, DynamoDB and CloudWatch Logs checks.
var dataChecks = []Check{
	ElastiCacheIdleCluster,
	DynamoDBIdleProvisionedTable,
	LogsNoRetention,
}
