package checks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/orgscan/orgscan/pkg/cwbatch"
)

// EC2API is the part of the EC2 API the checks use. *ec2.Client satisfies it,
// and so does the simulator.
type EC2API interface {
	ec2.DescribeInstancesAPIClient
	ec2.DescribeVolumesAPIClient
	ec2.DescribeNatGatewaysAPIClient
	ec2.DescribeRouteTablesAPIClient
	ec2.DescribeSnapshotsAPIClient
	ec2.DescribeImagesAPIClient
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	ec2.DescribeVpcEndpointsAPIClient
	DescribeAddresses(context.Context, *ec2.DescribeAddressesInput, ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error)
}

// LambdaAPI is the part of the Lambda API the checks use.
type LambdaAPI interface {
	lambda.ListFunctionsAPIClient
}

// RDSAPI is the part of the RDS API the checks use.
type RDSAPI interface {
	rds.DescribeDBInstancesAPIClient
}

var (
	_ EC2API    = (*ec2.Client)(nil)
	_ LambdaAPI = (*lambda.Client)(nil)
	_ RDSAPI    = (*rds.Client)(nil)
)

// Clients are the API clients of one account and region.
type Clients struct {
	EC2         EC2API
	Lambda      LambdaAPI
	RDS         RDSAPI
	ELBv2       ELBv2API
	ElastiCache ElastiCacheAPI
	DynamoDB    DynamoDBAPI
	Logs        LogsAPI
	CloudWatch  cwbatch.API
}

// Largest page sizes each API accepts: fewer pages, fewer calls.
const (
	pageDescribeInstances   = 1000
	pageDescribeVolumes     = 500
	pageDescribeNatGateways = 1000
	pageDescribeRouteTables = 100
	pageListFunctions       = 50
	pageDescribeDBInstances = 100
)

// ErrNoClient is returned when a check needs a service whose client was not
// configured for the pair.
var ErrNoClient = errors.New("no client configured for this service")

// Inventory memoises the Describe/List calls of one account and region: each
// API is walked at most once, however many checks read it, and an error is
// memoised like a result (a denied API is not asked again). It is safe for
// concurrent use. It is meant to live for one pair scan; the context of the
// first caller of each API is the one used.
type Inventory struct {
	c     Clients
	calls Calls

	instances   memo[[]ec2types.Instance]
	volumes     memo[[]ec2types.Volume]
	addresses   memo[[]ec2types.Address]
	natGateways memo[[]ec2types.NatGateway]
	routeTables memo[[]ec2types.RouteTable]
	functions   memo[[]lambdatypes.FunctionConfiguration]
	dbInstances memo[[]rdstypes.DBInstance]

	snapshots      memo[[]ec2types.Snapshot]
	images         memo[[]ec2types.Image]
	securityGroups memo[[]ec2types.SecurityGroup]
	interfaces     memo[[]ec2types.NetworkInterface]
	vpcEndpoints   memo[[]ec2types.VpcEndpoint]
	loadBalancers  memo[[]elbtypes.LoadBalancer]
	targetGroups   memo[[]elbtypes.TargetGroup]
	targetHealth   keyed[[]elbtypes.TargetHealthDescription]
	cacheClusters  memo[[]ectypes.CacheCluster]
	tableNames     memo[[]string]
	tables         keyed[*ddbtypes.TableDescription]
	logGroups      memo[[]logstypes.LogGroup]
}

// NewInventory returns an empty inventory over c.
func NewInventory(c Clients) *Inventory { return &Inventory{c: c} }

// Clients returns the clients the inventory reads from.
func (inv *Inventory) Clients() Clients { return inv.c }

// Calls returns the API requests made so far, by "service:Operation".
func (inv *Inventory) Calls() map[string]int { return inv.calls.Snapshot() }

type memo[T any] struct {
	once sync.Once
	v    T
	err  error
	done atomic.Bool // set once f has returned
}

// value returns the memoised result if it was fetched without error.
func (m *memo[T]) value() (T, bool) {
	if !m.done.Load() || m.err != nil {
		var zero T
		return zero, false
	}
	return m.v, true
}

// get runs f once. A panic in f is memoised as an error, so every caller
// fails rather than later callers seeing an empty result.
func (m *memo[T]) get(f func() (T, error)) (T, error) {
	m.once.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				m.err = &PanicError{Value: r, Stack: string(debug.Stack())}
			}
		}()
		defer m.done.Store(true)
		m.v, m.err = f()
	})
	return m.v, m.err
}

// Instances returns every EC2 instance of the pair.
func (inv *Inventory) Instances(ctx context.Context) ([]ec2types.Instance, error) {
	return inv.instances.get(func() ([]ec2types.Instance, error) {
		if inv.c.EC2 == nil {
			return nil, fmt.Errorf("ec2:DescribeInstances: %w", ErrNoClient)
		}
		var out []ec2types.Instance
		p := ec2.NewDescribeInstancesPaginator(inv.c.EC2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(pageDescribeInstances)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			inv.calls.Add("ec2:DescribeInstances", 1)
			if err != nil {
				return nil, err
			}
			for _, r := range page.Reservations {
				out = append(out, r.Instances...)
			}
		}
		return out, nil
	})
}

// Volumes returns every EBS volume of the pair.
func (inv *Inventory) Volumes(ctx context.Context) ([]ec2types.Volume, error) {
	return inv.volumes.get(func() ([]ec2types.Volume, error) {
		if inv.c.EC2 == nil {
			return nil, fmt.Errorf("ec2:DescribeVolumes: %w", ErrNoClient)
		}
		var out []ec2types.Volume
		p := ec2.NewDescribeVolumesPaginator(inv.c.EC2, &ec2.DescribeVolumesInput{MaxResults: aws.Int32(pageDescribeVolumes)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			inv.calls.Add("ec2:DescribeVolumes", 1)
			if err != nil {
				return nil, err
			}
			out = append(out, page.Volumes...)
		}
		return out, nil
	})
}

// Addresses returns every Elastic IP of the pair. DescribeAddresses is not
// paginated: one call returns them all.
func (inv *Inventory) Addresses(ctx context.Context) ([]ec2types.Address, error) {
	return inv.addresses.get(func() ([]ec2types.Address, error) {
		if inv.c.EC2 == nil {
			return nil, fmt.Errorf("ec2:DescribeAddresses: %w", ErrNoClient)
		}
		out, err := inv.c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
		inv.calls.Add("ec2:DescribeAddresses", 1)
		if err != nil {
			return nil, err
		}
		return out.Addresses, nil
	})
}

// NATGateways returns every NAT gateway of the pair.
func (inv *Inventory) NATGateways(ctx context.Context) ([]ec2types.NatGateway, error) {
	return inv.natGateways.get(func() ([]ec2types.NatGateway, error) {
		if inv.c.EC2 == nil {
			return nil, fmt.Errorf("ec2:DescribeNatGateways: %w", ErrNoClient)
		}
		var out []ec2types.NatGateway
		p := ec2.NewDescribeNatGatewaysPaginator(inv.c.EC2, &ec2.DescribeNatGatewaysInput{MaxResults: aws.Int32(pageDescribeNatGateways)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			inv.calls.Add("ec2:DescribeNatGateways", 1)
			if err != nil {
				return nil, err
			}
			out = append(out, page.NatGateways...)
		}
		return out, nil
	})
}

// RouteTables returns every route table of the pair.
func (inv *Inventory) RouteTables(ctx context.Context) ([]ec2types.RouteTable, error) {
	return inv.routeTables.get(func() ([]ec2types.RouteTable, error) {
		if inv.c.EC2 == nil {
			return nil, fmt.Errorf("ec2:DescribeRouteTables: %w", ErrNoClient)
		}
		var out []ec2types.RouteTable
		p := ec2.NewDescribeRouteTablesPaginator(inv.c.EC2, &ec2.DescribeRouteTablesInput{MaxResults: aws.Int32(pageDescribeRouteTables)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			inv.calls.Add("ec2:DescribeRouteTables", 1)
			if err != nil {
				return nil, err
			}
			out = append(out, page.RouteTables...)
		}
		return out, nil
	})
}

// Functions returns every Lambda function of the pair ($LATEST versions),
// without the fields that carry the customer's secrets (see
// dropFunctionSecrets): they are removed from each page as it arrives,
// before anything else sees it.
func (inv *Inventory) Functions(ctx context.Context) ([]lambdatypes.FunctionConfiguration, error) {
	return inv.functions.get(func() ([]lambdatypes.FunctionConfiguration, error) {
		if inv.c.Lambda == nil {
			return nil, fmt.Errorf("lambda:ListFunctions: %w", ErrNoClient)
		}
		var out []lambdatypes.FunctionConfiguration
		p := lambda.NewListFunctionsPaginator(inv.c.Lambda, &lambda.ListFunctionsInput{MaxItems: aws.Int32(pageListFunctions)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			inv.calls.Add("lambda:ListFunctions", 1)
			if err != nil {
				return nil, err
			}
			for i := range page.Functions {
				dropFunctionSecrets(&page.Functions[i])
			}
			out = append(out, page.Functions...)
		}
		return out, nil
	})
}

// DBInstances returns every RDS DB instance of the pair.
func (inv *Inventory) DBInstances(ctx context.Context) ([]rdstypes.DBInstance, error) {
	return inv.dbInstances.get(func() ([]rdstypes.DBInstance, error) {
		if inv.c.RDS == nil {
			return nil, fmt.Errorf("rds:DescribeDBInstances: %w", ErrNoClient)
		}
		var out []rdstypes.DBInstance
		p := rds.NewDescribeDBInstancesPaginator(inv.c.RDS, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(pageDescribeDBInstances)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			inv.calls.Add("rds:DescribeDBInstances", 1)
			if err != nil {
				return nil, err
			}
			out = append(out, page.DBInstances...)
		}
		return out, nil
	})
}

// Calls counts API requests by "service:Operation". The zero value is ready;
// it is safe for concurrent use.
type Calls struct {
	mu sync.Mutex
	m  map[string]int
}

// Add counts n more requests of op.
func (c *Calls) Add(op string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[op] += n
}

// Snapshot returns a copy of the counts.
func (c *Calls) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// SortedOps returns the operations of m in name order.
func SortedOps(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
