package doctor

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/orgscan/orgscan/pkg/deployconfig"
)

// StackSetName is the service-managed StackSet that puts the member role
// into the targets' accounts.
const StackSetName = deployconfig.StackSetName

// SessionName is the role session name of the doctor's AssumeRole calls, as
// CloudTrail shows them.
const SessionName = "orgscan-doctor"

// sessionSeconds is the shortest session STS grants: the doctor makes two
// calls with it.
const sessionSeconds = 900

// maxAccountsListed bounds the accounts a grouped row names in its message
// (its Accounts field has them all).
const maxAccountsListed = 10

// member is what one account's check found.
type member struct {
	rows []Result
	// regions maps each region the account lists to its opt-in status;
	// nil when they could not be listed.
	regions map[string]string
}

// members checks the member role of every account in scope, at most
// Concurrency accounts at once: one AssumeRole each, then the role's policy
// and the account's regions with the role. Rows come out in account order,
// then one row per region in scope that some accounts do not have enabled.
func (r *run) members(ctx context.Context, scope []scoped, externalID string) error {
	if len(scope) == 0 {
		return nil
	}
	if externalID == "" {
		r.fail(CheckMemberRole, "*", fmt.Sprintf("member roles not checked in the %d accounts in scope: no external ID to assume them with", len(scope)),
			"create the external ID parameter (see the external-id row), deploy, and run the doctor again")
		return nil
	}
	r.memberSTS = r.d.STS
	if r.d.Via != nil {
		arn := fmt.Sprintf("arn:%s:iam::%s:role/%s", r.caller.partition, r.caller.account, r.d.Config.Advanced.DoctorRoleName)
		out, err := r.d.STS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String(SessionName),
			DurationSeconds: aws.Int32(sessionSeconds)})
		if err == nil && out.Credentials == nil {
			err = fmt.Errorf("no credentials returned")
		}
		if err != nil {
			r.fail(CheckMemberRole, "doctor role", fmt.Sprintf("member roles not checked in the %d accounts in scope: cannot assume %s: %s", len(scope), arn, err.Error()),
				"the member roles trust only the collector and this role: let your principal sts:AssumeRole it (it is the pipeline stack's; "+fixDeploy+" if it is missing)")
			return nil
		}
		c := out.Credentials
		r.memberSTS = r.d.Via(aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
			SessionToken: aws.ToString(c.SessionToken), CanExpire: c.Expiration != nil, Expires: aws.ToTime(c.Expiration), Source: SessionName})
	}
	n := r.d.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	found := make([]member, len(scope))
	var mu sync.Mutex
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for i, a := range scope {
		g.Go(func() (err error) {
			defer func() {
				// One account's surprise must not take the others down.
				if p := recover(); p != nil {
					found[i] = member{rows: []Result{r.memberRow(a, Fail, fmt.Sprintf("the check panicked: %v", p), "")}}
				}
				mu.Lock()
				done++
				if r.d.Progress != nil {
					r.d.Progress(done, len(scope))
				}
				mu.Unlock()
			}()
			found[i] = r.member(gctx, a, externalID)
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, m := range found {
		r.results = append(r.results, m.rows...)
	}
	r.regionRows(scope, found)
	return nil
}

func (r *run) memberRow(a scoped, status Status, msg, fix string) Result {
	return Result{Check: CheckMemberRole, Subject: a.ID, Name: a.Name, Status: status, Message: msg, Fix: fix}
}

// member checks one account.
func (r *run) member(ctx context.Context, a scoped, externalID string) member {
	role := r.d.Config.MemberRole.Name
	arn := fmt.Sprintf("arn:%s:iam::%s:role/%s", r.caller.partition, a.ID, role)
	missingFix := r.missingRoleFix(a)
	out, err := r.memberSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String(SessionName),
		ExternalId: aws.String(externalID), DurationSeconds: aws.Int32(sessionSeconds)})
	switch {
	case accessDenied(err):
		return member{rows: []Result{r.memberRow(a, Fail, fmt.Sprintf("cannot assume %s: %s", arn, err.Error()),
			"the role is missing there, or its trust policy does not let the caller in with the external ID of "+r.d.Config.MemberRole.ExternalIDParameter+
				" (after a rotation: "+fixDeploy+"); "+missingFix)}}
	case hasCode(err, "RegionDisabledException"):
		return member{rows: []Result{r.memberRow(a, Fail, "cannot assume the role: STS is not activated in "+r.d.Region+" for the account: "+err.Error(),
			"activate the STS regional endpoint (IAM → Account settings) in that account")}}
	case err != nil:
		return member{rows: []Result{r.memberRow(a, Fail, "sts:AssumeRole "+arn+": "+err.Error(), "")}}
	case out.Credentials == nil:
		return member{rows: []Result{r.memberRow(a, Fail, "sts:AssumeRole "+arn+" returned no credentials", "")}}
	}
	c := out.Credentials
	clients := r.d.Member(aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), CanExpire: c.Expiration != nil, Expires: aws.ToTime(c.Expiration), Source: SessionName})

	var m member
	pol, err := clients.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(deployconfig.MemberPolicyName)})
	switch {
	case hasCode(err, "NoSuchEntity"):
		m.rows = append(m.rows, r.memberRow(a, Fail, fmt.Sprintf("role %s missing (no role, or no policy %s on it)", role, deployconfig.MemberPolicyName), missingFix))
	case accessDenied(err):
		m.rows = append(m.rows, r.memberRow(a, Fail, fmt.Sprintf("the role cannot read its own policy (iam:GetRolePolicy denied): it was deployed from an older template, or an SCP denies it: %s", err.Error()),
			"the StackSet has an older template: "+fixDeploy))
	case err != nil:
		m.rows = append(m.rows, r.memberRow(a, Fail, "iam:GetRolePolicy: "+err.Error(), ""))
	default:
		missing, perr := missingActions(aws.ToString(pol.PolicyDocument), r.d.actions())
		switch {
		case perr != nil:
			m.rows = append(m.rows, r.memberRow(a, Fail, fmt.Sprintf("policy %s of role %s: %v", deployconfig.MemberPolicyName, role, perr), fixDeploy))
		case len(missing) > 0:
			m.rows = append(m.rows, r.memberRow(a, Fail, fmt.Sprintf("role policy out of date (missing: %s)", listSome(missing, maxAccountsListed)),
				"the StackSet has an older template: "+fixDeploy))
		}
	}

	if hasCode(err, "NoSuchEntity") {
		// No role: its regions cannot be read with it (AWS refuses the
		// AssumeRole itself; an emulator may not).
		return m
	}
	regions, err := clients.EC2.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	switch {
	case err != nil && len(m.rows) == 0:
		m.rows = append(m.rows, r.memberRow(a, Fail, "cannot list the account's regions with the role (ec2:DescribeRegions): "+err.Error(),
			"the role lacks the doctor's policy "+deployconfig.PreflightPolicyName+" (an older template: "+fixDeploy+"), or an SCP denies ec2:DescribeRegions"))
	case err == nil:
		m.regions = map[string]string{}
		for _, reg := range regions.Regions {
			m.regions[aws.ToString(reg.RegionName)] = aws.ToString(reg.OptInStatus)
		}
	}
	if len(m.rows) == 0 {
		m.rows = append(m.rows, r.memberRow(a, OK, fmt.Sprintf("role %s assumed; its policy allows every check's actions", role), ""))
	}
	return m
}

// missingRoleFix says how the role reaches the account: the StackSet, or
// for the management account its own stack.
func (r *run) missingRoleFix(a scoped) string {
	mode := r.d.Config.Organization.Mode
	if a.management {
		how := fixDeploy + " deploys it with the pipeline"
		if mode == deployconfig.ModeDelegatedAdmin {
			how = "make deploy-management-role, with the management account's credentials"
		}
		return fmt.Sprintf("this is the management account, which StackSets never reach: deploy the stack %s there (%s)", deployconfig.ManagementRoleStackName, how)
	}
	callAs := ""
	if mode == deployconfig.ModeDelegatedAdmin {
		callAs = " --call-as DELEGATED_ADMIN"
	}
	return fmt.Sprintf("the StackSet has no instance there (is the account in organization.targets? check the StackSet's instances: aws cloudformation list-stack-instances --stack-set-name %s%s)", StackSetName, callAs)
}

// enabled reports whether an opt-in status is that of a usable region.
func enabled(status string) bool {
	return status == "opt-in-not-required" || status == "opted-in"
}

// regionRows groups the regions in scope that accounts do not have
// enabled: one row per region, naming the accounts.
func (r *run) regionRows(scope []scoped, found []member) {
	listed := 0
	for _, m := range found {
		if m.regions != nil {
			listed++
		}
	}
	if listed == 0 {
		return // every account has a failure row already
	}
	for _, region := range r.regions {
		var off []string
		for i, m := range found {
			if m.regions != nil && !enabled(m.regions[region]) {
				off = append(off, scope[i].ID)
			}
		}
		sort.Strings(off)
		if len(off) == 0 {
			r.ok(CheckMemberRegions, region, fmt.Sprintf("region %s is enabled in all %d accounts whose regions could be listed", region, listed))
			continue
		}
		noun := "accounts"
		if len(off) == 1 {
			noun = "account"
		}
		r.add(Result{Check: CheckMemberRegions, Subject: region, Status: Fail, Accounts: off,
			Message: fmt.Sprintf("region %s in scope is not enabled in %d %s: %s", region, len(off), noun, listSome(off, maxAccountsListed)),
			Fix:     "enable it in those accounts (aws account enable-region --region-name " + region + " --account-id <id>) or remove it from regions in the config"})
	}
}
