// Package assume gives the collector each pair's API clients: it assumes
// the member role once per account and run and builds the scan services'
// regional clients with those credentials.
package assume

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
)

// Credential refresh: assumed-role credentials last an hour; the cache
// renews them when 5-10 minutes remain (jittered so many accounts do not
// renew at once), so a long run meets an expired token only when the
// credentials stop working early (see Factory).
const (
	roleDuration       = time.Hour
	refreshBeforeEnd   = 10 * time.Minute
	refreshJitterShare = 0.5
)

// Factory gives the collector the clients of each pair. For an item
// with a RoleARN it assumes that role once per account (one
// aws.CredentialsCache per account, shared by all of the account's regions
// and refreshed before expiry); without one it uses the base credentials
// (single-account mode). It is safe for concurrent use.
//
// Every request of those clients takes its credentials from the account's
// cache, never from a copy made when the pair started, so credentials the
// cache renews sign the very next request of every pair of the account.
//
// Credentials can also stop working before the cache expects: a clock that
// is off, a pair still scanning when the session's hour is up. A request
// refused with ExpiredToken, ExpiredTokenException or RequestExpired is
// then made once more, outside the SDK's retryer (which keeps throttling
// and 5xx to itself), with credentials assumed again. One expiry costs one
// AssumeRole per account, however many pairs of the account meet it: a pair
// whose credentials were already replaced uses the new ones. Renewing is
// bounded: a request is made again at most once, and credentials assumed
// after an expiry that are refused as expired before serving any request
// are not renewed again, so those requests fail with the expired-token code.
// A role that can no longer be assumed (AccessDenied …) fails the request
// with the STS error, naming the role, and is not asked again in the run.
type Factory struct {
	Base       aws.Config
	ExternalID string
	// STS is the client that assumes roles (default: sts.NewFromConfig(Base),
	// the regional endpoint of the home region).
	STS stscreds.AssumeRoleAPIClient
	// BaseFor, when set, gives the configuration an item's clients are
	// built from instead of Base (the simulator answers each pair's
	// requests through its configuration's middleware).
	BaseFor func(item pipeline.WorkItem) (aws.Config, error)

	mu    sync.Mutex
	roles map[roleKey]*role
	run   string // the run whose roles are held
}

// roleKey scopes credentials and refusals to one run: a Lambda container
// serves many runs, and a role fixed between two runs must be asked again
// (and CloudTrail must show each run's own session name).
type roleKey struct{ runID, roleARN string }

// role is one account's credentials for the run. Its Retrieve is the
// credentials provider of the account's clients.
type role struct {
	arn   string
	creds *aws.CredentialsCache // over assumer
	// refused is an access error: the role is not asked again this run.
	refused atomic.Pointer[error]

	renewMu sync.Mutex              // serialises renewals, so one expiry is one AssumeRole
	renewed atomic.Pointer[renewal] // the latest renewal (see renew)
}

var _ collect.ClientFactory = (*Factory)(nil)

var sessionNameUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

// SessionName is the role session name for a run: "orgscan-<runId>",
// cleaned and cut to STS's 64 characters, so CloudTrail shows which run made
// each call.
func SessionName(runID string) string {
	s := "orgscan-" + sessionNameUnsafe.ReplaceAllString(runID, "-")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// Clients returns the item's region clients with the item's credentials.
// A role that cannot be assumed fails here, before any scan call, with the
// STS error (AccessDenied …).
func (f *Factory) Clients(ctx context.Context, item pipeline.WorkItem) (checks.Clients, error) {
	base := f.Base
	if f.BaseFor != nil {
		var err error
		if base, err = f.BaseFor(item); err != nil {
			return checks.Clients{}, err
		}
	}
	if item.RoleARN == "" {
		return ScanClients(base, nil, item.Region), nil
	}
	r := f.role(item)
	// Retrieve now: the first pair of an account assumes the role; the
	// others wait for it (the cache lets one caller at a time ask STS) and
	// then share its credentials.
	if err := r.refusal(); err != nil {
		return checks.Clients{}, err
	}
	if _, err := r.creds.Retrieve(ctx); err != nil {
		return checks.Clients{}, r.assumeError(err)
	}
	return ScanClients(base, r, item.Region), nil
}

func (f *Factory) role(item pipeline.WorkItem) *role {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := roleKey{item.RunID, item.RoleARN}
	if r, ok := f.roles[key]; ok {
		return r
	}
	if f.roles == nil || f.run != item.RunID {
		// A new run: forget the previous run's credentials and refusals, so a
		// long-lived container does not accumulate them.
		f.roles = map[roleKey]*role{}
		f.run = item.RunID
	}
	client := f.STS
	if client == nil {
		client = sts.NewFromConfig(f.Base)
		f.STS = client
	}
	p := stscreds.NewAssumeRoleProvider(client, item.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = SessionName(item.RunID)
		o.Duration = roleDuration
		if f.ExternalID != "" {
			o.ExternalID = aws.String(f.ExternalID)
		}
	})
	r := &role{arn: item.RoleARN}
	r.creds = aws.NewCredentialsCache(assumer{r, p}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = refreshBeforeEnd
		o.ExpiryWindowJitterFrac = refreshJitterShare
	})
	f.roles[key] = r
	return r
}

// assumer is the provider behind an account's cache: it asks STS unless
// the role was refused, and remembers a refusal, so that neither Clients
// nor a renewal nor a request of a running pair asks again.
type assumer struct {
	r *role
	p *stscreds.AssumeRoleProvider
}

func (a assumer) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if err := a.r.refusal(); err != nil {
		return aws.Credentials{}, err
	}
	c, err := a.p.Retrieve(ctx)
	if err != nil && accessError(err) {
		err = fmt.Errorf("assume role %s: %w", a.r.arn, err)
		a.r.refused.CompareAndSwap(nil, &err)
		return aws.Credentials{}, a.r.refusal()
	}
	return c, err
}

func (a assumer) ProviderSources() []aws.CredentialSource { return a.p.ProviderSources() }

// refusal returns the role's refusal in this run, or nil.
func (r *role) refusal() error {
	if p := r.refused.Load(); p != nil {
		return *p
	}
	return nil
}

// assumeError is the error of a failed Retrieve from the account's cache,
// naming the role.
func (r *role) assumeError(err error) error {
	if ref := r.refusal(); ref != nil {
		return ref
	}
	return fmt.Errorf("assume role %s: %w", r.arn, err)
}

// accessError reports errors that a retry within the run will not cure.
func accessError(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "UnrecognizedClientException", "RegionDisabledException":
		return true
	}
	return false
}

// ScanClients returns the clients the checks use in one region, with the
// given credentials (nil: cfg's). With an account's credentials from
// Factory.Clients, the clients also renew them when a request is refused as
// expired (see Factory).
func ScanClients(cfg aws.Config, creds aws.CredentialsProvider, region string) checks.Clients {
	cfg = cfg.Copy()
	cfg.Region = region
	if creds != nil {
		cfg.Credentials = creds
	}
	if r, ok := creds.(*role); ok {
		cfg.APIOptions = append(slices.Clip(cfg.APIOptions), r.addRenewal)
	}
	return checks.Clients{
		EC2:         ec2.NewFromConfig(cfg),
		Lambda:      lambda.NewFromConfig(cfg),
		RDS:         rds.NewFromConfig(cfg),
		ELBv2:       elb.NewFromConfig(cfg),
		ElastiCache: elasticache.NewFromConfig(cfg),
		DynamoDB:    dynamodb.NewFromConfig(cfg),
		Logs:        cloudwatchlogs.NewFromConfig(cfg),
		CloudWatch:  NewCloudWatch(cfg),
	}
}

// NewCloudWatch returns a CloudWatch client. The current CloudWatch client
// speaks RPCv2-CBOR, which emulators do not; with a custom endpoint it speaks
// the awsJson1_0 protocol instead, which CloudWatch and moto both accept.
func NewCloudWatch(cfg aws.Config) *cloudwatch.Client {
	custom := awsx.CustomEndpoint(cfg)
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		if custom {
			o.Protocol = awsjson.New10(cwschemas.GraniteServiceVersion20100801)
		}
	})
}
