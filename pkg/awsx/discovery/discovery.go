// Package discovery finds what a run may scan: the organization's accounts
// (Organizations), an explicit list, or the caller's own account, and the
// enabled regions. Only the dispatcher and the CLI link it.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgscan/orgscan/pkg/pipeline"
)

// OrganizationsAPI is what account discovery needs from Organizations.
type OrganizationsAPI interface {
	organizations.ListAccountsAPIClient
	organizations.ListAccountsForParentAPIClient
	organizations.ListOrganizationalUnitsForParentAPIClient
}

// RegionsAPI is what region discovery needs from EC2.
type RegionsAPI interface {
	DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// CallerAPI tells whose credentials these are.
type CallerAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var (
	_ OrganizationsAPI = (*organizations.Client)(nil)
	_ RegionsAPI       = (*ec2.Client)(nil)
	_ CallerAPI        = (*sts.Client)(nil)
)

// Organization finds the organization's active accounts (all of them, or
// those under some OUs, recursively) and the enabled regions. It needs the
// management account's or a delegated administrator's credentials.
type Organization struct {
	Org OrganizationsAPI
	EC2 RegionsAPI
}

// AccountList is discovery from an explicit list of accounts (and the
// enabled regions of the caller's account).
type AccountList struct {
	List []pipeline.Account
	EC2  RegionsAPI
}

var (
	_ pipeline.Discovery = (*Organization)(nil)
	_ pipeline.Discovery = (*AccountList)(nil)
)

// Accounts lists ACTIVE accounts; with ous, only those below each OU or root.
func (d *Organization) Accounts(ctx context.Context, ous []string) ([]pipeline.Account, error) {
	var out []pipeline.Account
	add := func(as []orgtypes.Account) {
		for _, a := range as {
			if active(a) {
				out = append(out, pipeline.Account{ID: aws.ToString(a.Id), Name: aws.ToString(a.Name)})
			}
		}
	}
	if len(ous) == 0 {
		p := organizations.NewListAccountsPaginator(d.Org, &organizations.ListAccountsInput{MaxResults: aws.Int32(20)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("organizations:ListAccounts: %w", err)
			}
			add(page.Accounts)
		}
	} else {
		seen := map[string]bool{}
		for _, ou := range ous {
			if err := d.walk(ctx, ou, seen, add); err != nil {
				// A well-formed ID the organization does not have is the
				// request's fault, not a transient failure to retry.
				var nf *orgtypes.ParentNotFoundException
				if errors.As(err, &nf) {
					return nil, &pipeline.InvalidRequestError{Field: "organizationalUnits", Value: ou, Reason: "is not an organizational unit or root of the organization"}
				}
				return nil, err
			}
		}
	}
	return uniqueSorted(out), nil
}

// walk lists the accounts directly under parent, then descends into its OUs.
func (d *Organization) walk(ctx context.Context, parent string, seen map[string]bool, add func([]orgtypes.Account)) error {
	if seen[parent] {
		return nil
	}
	seen[parent] = true
	ap := organizations.NewListAccountsForParentPaginator(d.Org, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent), MaxResults: aws.Int32(20)})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("organizations:ListAccountsForParent %s: %w", parent, err)
		}
		add(page.Accounts)
	}
	op := organizations.NewListOrganizationalUnitsForParentPaginator(d.Org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent), MaxResults: aws.Int32(20)})
	for op.HasMorePages() {
		page, err := op.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("organizations:ListOrganizationalUnitsForParent %s: %w", parent, err)
		}
		for _, ou := range page.OrganizationalUnits {
			if err := d.walk(ctx, aws.ToString(ou.Id), seen, add); err != nil {
				return err
			}
		}
	}
	return nil
}

// active prefers the newer State field and falls back to Status.
func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive
}

func uniqueSorted(as []pipeline.Account) []pipeline.Account {
	sort.Slice(as, func(i, j int) bool { return as[i].ID < as[j].ID })
	return slices.CompactFunc(as, func(a, b pipeline.Account) bool { return a.ID == b.ID })
}

// Regions lists the regions enabled for the account.
func (d *Organization) Regions(ctx context.Context) ([]string, error) {
	return EnabledRegions(ctx, d.EC2)
}

// Accounts returns the list; organizational units cannot be resolved
// without Organizations.
func (d *AccountList) Accounts(_ context.Context, ous []string) ([]pipeline.Account, error) {
	if len(ous) > 0 {
		return nil, &pipeline.InvalidRequestError{Field: "organizationalUnits", Value: ous[0], Reason: "needs organization discovery (--org)"}
	}
	return uniqueSorted(slices.Clone(d.List)), nil
}

// Regions lists the regions enabled for the caller's account.
func (d *AccountList) Regions(ctx context.Context) ([]string, error) {
	return EnabledRegions(ctx, d.EC2)
}

// CallerAccount returns the account of the caller's credentials.
func CallerAccount(ctx context.Context, api CallerAPI) (pipeline.Account, error) {
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return pipeline.Account{}, fmt.Errorf("sts:GetCallerIdentity: %w", err)
	}
	return pipeline.Account{ID: aws.ToString(out.Account)}, nil
}

// EnabledRegions lists regions that need no opt-in or were opted into.
// The filter is applied again on the answer, since some endpoints
// (emulators) ignore it.
func EnabledRegions(ctx context.Context, api RegionsAPI) ([]string, error) {
	out, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{
		Filters: []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"opt-in-not-required", "opted-in"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("ec2:DescribeRegions: %w", err)
	}
	var rs []string
	for _, r := range out.Regions {
		switch aws.ToString(r.OptInStatus) {
		case "opt-in-not-required", "opted-in", "":
			rs = append(rs, aws.ToString(r.RegionName))
		}
	}
	sort.Strings(rs)
	return rs, nil
}
