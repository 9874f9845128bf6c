package checks

// elbChecks are the Elastic Load Balancing checks.
var elbChecks = []Check{
	ELBNoTargets,
	ELBIdle,
	ELBUnusedTargetGroup,
}
