package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/orgscan/orgscan/pkg/awsx/discovery"
	"github.com/orgscan/orgscan/pkg/deployconfig"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// scoped is an account in scope.
type scoped struct {
	pipeline.Account
	// management: the organization's management account, whose member
	// role comes from the stack OrgScanManagementRole, not the StackSet.
	management bool
}

// organization checks the organization and the caller's place in it, and
// returns the accounts in scope: the ACTIVE accounts of the targets minus
// scan.excludeAccounts, sorted by ID.
func (r *run) organization(ctx context.Context) []scoped {
	org := r.d.Config.Organization
	out, err := r.d.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		switch {
		case hasCode(err, "AWSOrganizationsNotInUseException"):
			r.fail(CheckOrganization, r.caller.account, "the caller's account is not in an organization",
				"run the doctor with credentials of the pipeline account (--profile), in the organization the deployment scans")
		case accessDenied(err):
			r.fail(CheckOrganization, r.caller.account, "cannot describe the organization: "+err.Error(),
				"the caller needs organizations:DescribeOrganization, ListRoots, ListAccounts, ListAccountsForParent and ListOrganizationalUnitsForParent (the management account, or a delegated administrator)")
		default:
			r.fail(CheckOrganization, r.caller.account, "organizations:DescribeOrganization: "+err.Error(), "")
		}
		return nil
	}
	master := aws.ToString(out.Organization.MasterAccountId)
	orgID := aws.ToString(out.Organization.Id)
	problems := 0
	switch org.Mode {
	case deployconfig.ModeManagement:
		if r.caller.account != master {
			problems++
			r.fail(CheckOrganization, r.caller.account,
				fmt.Sprintf("organization.mode is %s, but the caller's account %s is not the management account %s", org.Mode, r.caller.account, master),
				"run the doctor with the pipeline account's credentials; if the pipeline runs in a member account, set organization.mode: delegated-admin and organization.managementAccountId: \""+master+"\"")
		}
	case deployconfig.ModeDelegatedAdmin:
		if r.caller.account == master {
			problems++
			r.fail(CheckOrganization, r.caller.account,
				fmt.Sprintf("organization.mode is %s, but the caller's account %s is the management account", org.Mode, r.caller.account),
				"set organization.mode: management, or run the doctor with the delegated administrator's credentials")
		}
	}
	// Required in delegated-admin mode; checked in either mode when given.
	if org.ManagementAccountID != "" && org.ManagementAccountID != master {
		problems++
		r.fail(CheckOrganization, org.ManagementAccountID,
			fmt.Sprintf("organization.managementAccountId is %s, but the organization's management account is %s", org.ManagementAccountID, master),
			fmt.Sprintf("set organization.managementAccountId: \"%s\"", master))
	}
	if org.OrganizationID != "" && org.OrganizationID != orgID {
		problems++
		r.fail(CheckOrganization, org.OrganizationID,
			fmt.Sprintf("organization.organizationId is %s, but the caller's organization is %s", org.OrganizationID, orgID),
			fmt.Sprintf("set organization.organizationId: %s, or remove it", orgID))
	}
	if problems == 0 {
		r.ok(CheckOrganization, orgID, fmt.Sprintf("organization %s, management account %s, mode %s (caller %s)", orgID, master, org.Mode, r.caller.account))
	}

	accounts, ok := r.targets(ctx)
	exclude := map[string]bool{}
	for _, id := range r.d.Config.Scan.ExcludeAccounts {
		exclude[id] = true
	}
	var scope []scoped
	for _, a := range accounts {
		if !exclude[a.ID] {
			scope = append(scope, scoped{Account: a, management: a.ID == master})
		}
	}
	if ok {
		r.ok(CheckTargets, strings.Join(org.Targets, ","), fmt.Sprintf("%d ACTIVE accounts in scope (%d excluded by scan.excludeAccounts)", len(scope), len(accounts)-len(scope)))
	}
	return scope
}

// targets lists the ACTIVE accounts of the configured targets: the root
// with ListAccounts, each OU recursively. A target the organization does
// not have is a failure row; ok is false when a listing failed.
func (r *run) targets(ctx context.Context) ([]pipeline.Account, bool) {
	targets := r.d.Config.Organization.Targets
	disc := &discovery.Organization{Org: r.d.Organizations}
	ok := true
	var all []pipeline.Account
	if r.d.Config.ScansRoot() {
		roots, err := r.d.Organizations.ListRoots(ctx, &organizations.ListRootsInput{})
		if err != nil {
			r.fail(CheckTargets, targets[0], "organizations:ListRoots: "+err.Error(), "the caller needs organizations:ListRoots")
			return nil, false
		}
		var ids []string
		for _, root := range roots.Roots {
			ids = append(ids, aws.ToString(root.Id))
		}
		if !slices.Contains(ids, targets[0]) {
			r.fail(CheckTargets, targets[0], fmt.Sprintf("%s is not this organization's root (%s)", targets[0], strings.Join(ids, ", ")),
				fmt.Sprintf("set organization.targets: [%s]", strings.Join(ids, ", ")))
			return nil, false
		}
		all, err = disc.Accounts(ctx, nil)
		if err != nil {
			r.fail(CheckTargets, targets[0], err.Error(), "the caller needs organizations:ListAccounts")
			return nil, false
		}
	} else {
		seen := map[string]bool{}
		for _, t := range targets {
			as, err := disc.Accounts(ctx, []string{t})
			var ir *pipeline.InvalidRequestError
			switch {
			case errors.As(err, &ir):
				ok = false
				r.fail(CheckTargets, t, fmt.Sprintf("organizational unit %s does not exist in this organization", t),
					"correct organization.targets (aws organizations list-organizational-units-for-parent --parent-id <root or OU>)")
				continue
			case err != nil:
				ok = false
				r.fail(CheckTargets, t, err.Error(), "the caller needs organizations:ListAccountsForParent and ListOrganizationalUnitsForParent")
				continue
			}
			for _, a := range as {
				if !seen[a.ID] {
					seen[a.ID] = true
					all = append(all, a)
				}
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	}
	return all, ok
}
