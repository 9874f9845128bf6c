// Package sim is a deterministic simulated AWS Organization. It serves
// accounts, regions, resources, pages and daily metric series through the
// same narrow interfaces as the SDK clients, so the whole pipeline runs with
// no account and no network.
//
// Everything is derived from the seed: the same Config gives the same
// accounts, resources, IDs and series. The simulator decides which resources
// are idle when it generates them (including deliberate near-threshold cases)
// and exposes that as ground truth with Truth; it never calls the checks.
//
// Knobs model what breaks scans in real organizations: per-call latency with
// jitter, a throttling rate, accounts whose role cannot be assumed, and
// operations that are denied. Every request is counted per operation.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/awsx/assume"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
)

// DefaultNow is the simulated "now" when Config.Now is zero: fixed, so runs
// are reproducible on any day.
var DefaultNow = time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)

// DefaultRegions are the regions of a simulated organization by default.
var DefaultRegions = []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"}

// CommercialRegions are the 17 regions enabled by default in a commercial
// AWS account, for organization-scale simulations.
var CommercialRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-south-1",
	"sa-east-1",
}

// Config describes a simulated organization.
type Config struct {
	Seed     uint64
	Accounts int      // member accounts (default 25)
	Regions  []string // default DefaultRegions
	// Resources is the average number of resources per account × region
	// (default 50); each pair varies around it.
	Resources int
	// Now is the simulated present of day 0; resources' ages and metric
	// windows are relative to it. Default DefaultNow.
	Now time.Time
	// Day is the number of simulated days since Now: each day deletes some
	// resources and adds new ones (see churn), so two runs on consecutive
	// days show resolved and new findings. The organization's present is
	// Now + Day days.
	Day int

	// Latency is added to every request, ± Jitter (uniform).
	Latency, Jitter time.Duration
	// ThrottleRate is the fraction of requests answered with a throttling
	// error (0..1).
	ThrottleRate float64
	// DenyAccounts are accounts whose role cannot be assumed: Clients fails
	// for every pair of theirs with AccessDenied.
	DenyAccounts []string
	// DenyOperations are requests answered with AccessDenied, as
	// "service:Operation" (every account) or "ACCOUNT/service:Operation".
	DenyOperations []string
	// PageLimit caps the items per Describe/List page below the API's
	// maximum, to force pagination (0: the caller's MaxResults).
	PageLimit int
	// MaxDatapoints caps the datapoints per GetMetricData page (0: the API's
	// 100,800), to force NextToken continuation.
	MaxDatapoints int
	// Retry tunes the SDK retryer of the clients Clients returns.
	Retry awsx.RetryOptions
}

// Org is a simulated organization. It is safe for concurrent use.
type Org struct {
	cfg       Config
	accounts  []pipeline.Account
	deny      map[string]bool // account ID -> AssumeRole denied
	denyOps   map[string]bool // "service:Op" or "ACCOUNT/service:Op"
	retryer   aws.Retryer
	calls     checks.Calls // requests served, all pairs
	throttled atomic.Int64
	// floor is the fewest requests that could have served what was asked
	// (see Pair.needs); metricQueries counts GetMetricData queries received.
	floor         checks.Calls
	metricQueries atomic.Int64
	// roles gives items with a RoleARN their clients, assuming roles with
	// AssumeRole; issued counts the credentials it issued.
	roles  *assume.Factory
	issued atomic.Int64
}

// New validates cfg and returns the organization it describes.
func New(cfg Config) (*Org, error) {
	if cfg.Accounts == 0 {
		cfg.Accounts = 25
	}
	if len(cfg.Regions) == 0 {
		cfg.Regions = DefaultRegions
	}
	if cfg.Resources == 0 {
		cfg.Resources = 50
	}
	if cfg.Now.IsZero() {
		cfg.Now = DefaultNow
	}
	switch {
	case cfg.Accounts < 1 || cfg.Accounts > 100000:
		return nil, fmt.Errorf("sim: accounts must be 1..100000, got %d", cfg.Accounts)
	case cfg.Day < 0 || cfg.Day > 365:
		return nil, fmt.Errorf("sim: day must be 0..365, got %d", cfg.Day)
	case cfg.Resources < 1 || cfg.Resources > 100000:
		return nil, fmt.Errorf("sim: resources per pair must be 1..100000, got %d", cfg.Resources)
	case cfg.ThrottleRate < 0 || cfg.ThrottleRate >= 1:
		return nil, fmt.Errorf("sim: throttle rate must be in [0, 1), got %v", cfg.ThrottleRate)
	case cfg.Latency < 0 || cfg.Jitter < 0 || cfg.Jitter > cfg.Latency:
		return nil, fmt.Errorf("sim: latency %s ± %s: want 0 ≤ jitter ≤ latency", cfg.Latency, cfg.Jitter)
	}
	o := &Org{cfg: cfg, deny: map[string]bool{}, denyOps: map[string]bool{}}
	o.accounts = makeAccounts(cfg.Seed, cfg.Accounts)
	known := map[string]bool{}
	for _, a := range o.accounts {
		known[a.ID] = true
	}
	for _, a := range cfg.DenyAccounts {
		o.deny[a] = true
	}
	for _, op := range cfg.DenyOperations {
		o.denyOps[op] = true
	}
	o.retryer = awsx.NewRetryer(cfg.Retry)
	o.roles = &assume.Factory{STS: o, BaseFor: o.pairConfig}
	return o, nil
}

// Config returns the organization's configuration with defaults filled in.
func (o *Org) Config() Config { return o.cfg }

// Now is the simulated present: use it as the collector's clock.
func (o *Org) Now() time.Time { return o.cfg.Now.Add(time.Duration(o.cfg.Day) * 24 * time.Hour) }

var errNoOUs = errors.New("the simulated organization has no organizational units")

// Accounts lists the member accounts. Asking for organizational units is an
// error: the simulated organization is flat.
func (o *Org) Accounts(_ context.Context, ous []string) ([]pipeline.Account, error) {
	if len(ous) > 0 {
		return nil, &pipeline.InvalidRequestError{Field: "organizationalUnits", Value: ous[0], Reason: "is unknown: " + errNoOUs.Error()}
	}
	return slices.Clone(o.accounts), nil
}

// Regions lists the organization's enabled regions. It never fails.
func (o *Org) Regions(context.Context) ([]string, error) { return slices.Clone(o.cfg.Regions), nil }

// Floor returns, by "service:Operation", the fewest requests AWS would
// have needed to serve what the scans asked for: each listing's pages at the
// API's maximum page size (at least one), and one request per single-item
// call (a DynamoDB table, a target group's health, the account's Elastic
// IPs). GetMetricData is not in it: its floor, ⌈distinct queries/500⌉ per
// pair, is the scan's to compute. Compare it with Calls.
func (o *Org) Floor() map[string]int { return o.floor.Snapshot() }

// MetricQueries returns how many metric queries GetMetricData requests
// carried, all pairs.
func (o *Org) MetricQueries() int { return int(o.metricQueries.Load()) }

// Calls returns the requests served so far across all pairs, by
// "service:Operation", throttled and denied attempts included.
func (o *Org) Calls() map[string]int { return o.calls.Snapshot() }

// Throttled returns how many requests were answered with throttling.
func (o *Org) Throttled() int { return int(o.throttled.Load()) }

var _ pipeline.Discovery = (*Org)(nil)
var _ collect.ClientFactory = (*Org)(nil)

// AccessDeniedError is what a denied AssumeRole or request returns; it is a
// smithy.APIError like the SDK's, so code that classifies real errors
// classifies these too.
func accessDenied(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}
}

// Clients returns SDK clients (EC2, Lambda, RDS, CloudWatch) whose requests
// are answered by the simulated pair instead of the network. Requests go
// through the SDK's own middleware stack, so throttling is retried by the
// SDK's retryer exactly as against AWS. An item with a RoleARN gets its
// credentials the way the collector does in AWS — assume.Factory, one
// cached AssumeRole per account and run — from the simulated STS
// (AssumeRole); an account in DenyAccounts refuses it. Without a RoleARN, an
// account in DenyAccounts fails with AccessDenied as AssumeRole would.
func (o *Org) Clients(ctx context.Context, item pipeline.WorkItem) (checks.Clients, error) {
	if item.RoleARN != "" {
		return o.roles.Clients(ctx, item)
	}
	if o.deny[item.AccountID] {
		o.calls.Add("sts:AssumeRole", 1)
		return checks.Clients{}, fmt.Errorf("assume role in account %s: %w", item.AccountID, accessDenied("AccessDenied",
			fmt.Sprintf("User is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::%s:role/OrgScanMemberRole", item.AccountID)))
	}
	cfg, err := o.pairConfig(item)
	if err != nil {
		return checks.Clients{}, err
	}
	// The same clients a real scan builds; the simulator answers them.
	return assume.ScanClients(cfg, nil, item.Region), nil
}

// pairConfig is the configuration of an item's clients: the pair answers
// their requests.
func (o *Org) pairConfig(item pipeline.WorkItem) (aws.Config, error) {
	p, err := o.Pair(item.AccountID, item.Region)
	if err != nil {
		return aws.Config{}, err
	}
	return aws.Config{
		Region:      item.Region,
		Credentials: aws.AnonymousCredentials{},
		Retryer:     func() aws.Retryer { return o.retryer },
		APIOptions:  p.apiOptions(),
	}, nil
}

// AssumeRole is the simulated STS: it issues an hour's credentials for the
// member role of an account of the organization, after the configured
// latency, and refuses the accounts in DenyAccounts.
func (o *Org) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	o.calls.Add("sts:AssumeRole", 1)
	if err := wait(ctx, o.cfg.Latency); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.RoleArn)
	account := ""
	if parts := strings.Split(arn, ":"); len(parts) == 6 {
		account = parts[4]
	}
	if !slices.ContainsFunc(o.accounts, func(a pipeline.Account) bool { return a.ID == account }) {
		return nil, accessDenied("AccessDenied", fmt.Sprintf("sim: %s is not a role of an account of this organization", arn))
	}
	if o.deny[account] {
		return nil, accessDenied("AccessDenied", fmt.Sprintf("User is not authorized to perform: sts:AssumeRole on resource: %s", arn))
	}
	n := o.issued.Add(1)
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId:     aws.String(fmt.Sprintf("ASIASIM%013d", n)),
		SecretAccessKey: aws.String("simulated"),
		SessionToken:    aws.String(fmt.Sprintf("simulated-session-%d", n)),
		Expiration:      aws.Time(time.Now().Add(time.Hour)),
	}}, nil
}

// Pair returns the simulated account × region. Its methods implement the
// narrow API interfaces directly (no SDK, no retries): use it in tests that
// count calls or need raw behaviour.
func (o *Org) Pair(accountID, region string) (*Pair, error) {
	if !slices.ContainsFunc(o.accounts, func(a pipeline.Account) bool { return a.ID == accountID }) {
		return nil, fmt.Errorf("sim: no account %s in this organization", accountID)
	}
	if !slices.Contains(o.cfg.Regions, region) {
		return nil, fmt.Errorf("sim: region %s is not enabled in this organization", region)
	}
	p := &Pair{org: o, account: accountID, region: region,
		rng: rand.New(rand.NewPCG(o.cfg.Seed, hash64("faults", accountID, region)))}
	p.world = generate(o.cfg, accountID, region)
	return p, nil
}

func makeAccounts(seed uint64, n int) []pipeline.Account {
	rng := rand.New(rand.NewPCG(seed, 0x0a11ce))
	teams := []string{"payments", "search", "data", "platform", "web", "mobile", "ml", "identity", "billing", "growth"}
	envs := []string{"prod", "staging", "dev", "sandbox"}
	seen := map[string]bool{}
	out := make([]pipeline.Account, 0, n)
	for i := 0; len(out) < n; i++ {
		id := fmt.Sprintf("%012d", 100000000000+rng.Uint64N(900000000000))
		if seen[id] {
			continue
		}
		seen[id] = true
		name := fmt.Sprintf("%s-%s-%02d", teams[rng.IntN(len(teams))], envs[rng.IntN(len(envs))], len(out)+1)
		out = append(out, pipeline.Account{ID: id, Name: name})
	}
	return out
}

func hash64(parts ...string) uint64 {
	// FNV-1a: stable across Go releases, unlike maphash.
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// serviceOf maps an operation key to its service prefix.
func serviceOf(op string) string { s, _, _ := strings.Cut(op, ":"); return s }
