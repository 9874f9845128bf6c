package checks

// ec2Checks are the EC2 and VPC checks beyond the core six: stopped instances, orphan snapshots, unused security groups, detached ENIs, idle interface endpoints.
var ec2Checks = []Check{
	EC2StoppedInstance,
	EBSOrphanSnapshot,
	EC2UnusedSecurityGroup,
	EC2DetachedENI,
	VPCIdleInterfaceEndpoint,
}
