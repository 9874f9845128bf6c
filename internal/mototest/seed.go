package mototest

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/awsx/assume"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// RoleName is the member role the seeded organization is scanned with
// (moto lets any principal assume any role name).
const RoleName = "OrgScanMember"

// Expected is one finding the seed planted.
type Expected struct {
	CheckID, AccountID, Region, ResourceID string
}

func (e Expected) String() string {
	return e.CheckID + " " + e.AccountID + " " + e.Region + " " + e.ResourceID
}

// World is a seeded organization.
type World struct {
	// AsOf is the clock to scan with: moto stamps resources with its own
	// present, so the scan looks 40 days ahead to see them as old enough,
	// and the metric datapoints are seeded in the 32 days before AsOf.
	AsOf       time.Time
	Management string
	Members    []pipeline.Account
	// OU contains the third member, one OU further down.
	OU string
	// Outsider is an account outside the organization, seeded too: its
	// resources must never be found.
	Outsider string
	// Regions are the regions to scan; Unscanned is seeded but not scanned.
	Regions   []string
	Unscanned string
	Bucket    string
	Expected  []Expected // for Members × Regions, sorted
}

// Seed creates an organization with three members (one in a nested OU),
// resources in each member and region (one of each kind of waste and a
// healthy twin of each), datapoints for every metric the checks read, and
// a bucket for the run's data. cfg must point at the moto server with the
// management account's credentials.
func Seed(ctx context.Context, cfg aws.Config) (*World, error) {
	w := &World{AsOf: time.Now().UTC().Add(40 * 24 * time.Hour), Regions: []string{"us-east-1", "eu-west-1"}, Unscanned: "us-west-2",
		Outsider: "210987654321", Bucket: "orgscan-it"}
	org := organizations.NewFromConfig(cfg)
	o, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: "ALL"})
	if err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	w.Management = aws.ToString(o.Organization.MasterAccountId)
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return nil, err
	}
	root := aws.ToString(roots.Roots[0].Id)
	outer, err := org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String("workloads")})
	if err != nil {
		return nil, err
	}
	inner, err := org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: outer.OrganizationalUnit.Id, Name: aws.String("prod")})
	if err != nil {
		return nil, err
	}
	w.OU = aws.ToString(outer.OrganizationalUnit.Id)
	for i, name := range []string{"payments-prod", "search-dev", "data-prod"} {
		out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		id := aws.ToString(out.CreateAccountStatus.AccountId)
		w.Members = append(w.Members, pipeline.Account{ID: id, Name: name})
		if i == 2 {
			if _, err := org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(root),
				DestinationParentId: inner.OrganizationalUnit.Id}); err != nil {
				return nil, err
			}
		}
	}
	if _, err := awsx.NewS3(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(w.Bucket)}); err != nil {
		return nil, err
	}
	stsClient := sts.NewFromConfig(cfg)
	targets := append(append([]pipeline.Account(nil), w.Members...), pipeline.Account{ID: w.Outsider})
	for _, a := range targets {
		creds := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, fmt.Sprintf("arn:aws:iam::%s:role/%s", a.ID, RoleName)))
		acfg := cfg.Copy()
		acfg.Credentials = creds
		if err := createLambdaRole(ctx, acfg); err != nil {
			return nil, err
		}
		for _, r := range append(append([]string(nil), w.Regions...), w.Unscanned) {
			rcfg := acfg.Copy()
			rcfg.Region = r
			exp, err := seedPair(ctx, rcfg, a.ID, w.AsOf)
			if err != nil {
				return nil, fmt.Errorf("seed %s/%s: %w", a.ID, r, err)
			}
			if a.ID != w.Outsider && r != w.Unscanned {
				w.Expected = append(w.Expected, exp...)
			}
		}
	}
	sort.Slice(w.Expected, func(i, j int) bool { return w.Expected[i].String() < w.Expected[j].String() })
	return w, nil
}

const lambdaRoleName = "orgscan-it-lambda"

func createLambdaRole(ctx context.Context, cfg aws.Config) error {
	_, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(lambdaRoleName),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	return err
}

// seedPair plants one of each kind of waste and a healthy twin of each.
func seedPair(ctx context.Context, cfg aws.Config, account string, asOf time.Time) ([]Expected, error) {
	region := cfg.Region
	e2 := ec2.NewFromConfig(cfg)
	cw := assume.NewCloudWatch(cfg)
	var exp []Expected
	want := func(check, id string) { exp = append(exp, Expected{check, account, region, id}) }

	run, err := e2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2), InstanceType: "t3.micro"})
	if err != nil {
		return nil, fmt.Errorf("run instances: %w", err)
	}
	idle, busy := aws.ToString(run.Instances[0].InstanceId), aws.ToString(run.Instances[1].InstanceId)
	want("ec2-idle-instance", idle)
	var data []cwtypes.MetricDatum
	daily := func(ns, metric, dim, id string, v float64, days int) {
		for d := 1; d <= days; d++ {
			data = append(data, cwtypes.MetricDatum{MetricName: aws.String(metric), Value: aws.Float64(v),
				Dimensions: []cwtypes.Dimension{{Name: aws.String(dim), Value: aws.String(id)}},
				Timestamp:  aws.Time(asOf.Truncate(24 * time.Hour).Add(-time.Duration(d)*24*time.Hour + 12*time.Hour))})
		}
		if len(data) > 0 {
			_, perr := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data})
			if perr != nil && err == nil {
				err = fmt.Errorf("put %s %s: %w", ns, metric, perr)
			}
			data = nil
		}
	}
	daily("AWS/EC2", "CPUUtilization", "InstanceId", idle, 1.5, 14)
	daily("AWS/EC2", "NetworkIn", "InstanceId", idle, 1e5, 14)
	daily("AWS/EC2", "NetworkOut", "InstanceId", idle, 1e5, 14)
	daily("AWS/EC2", "CPUUtilization", "InstanceId", busy, 45, 14)
	daily("AWS/EC2", "NetworkIn", "InstanceId", busy, 5e8, 14)
	daily("AWS/EC2", "NetworkOut", "InstanceId", busy, 5e8, 14)

	az := region + "a"
	loose, err2 := e2.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(az), Size: aws.Int32(50), VolumeType: "gp3"})
	if err2 != nil {
		return nil, fmt.Errorf("create volume: %w", err2)
	}
	want("ebs-unattached-volume", aws.ToString(loose.VolumeId))
	used, err2 := e2.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(az), Size: aws.Int32(20), VolumeType: "gp3"})
	if err2 != nil {
		return nil, err2
	}
	if _, err2 := e2.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: used.VolumeId, InstanceId: aws.String(busy), Device: aws.String("/dev/sdf")}); err2 != nil {
		return nil, fmt.Errorf("attach volume: %w", err2)
	}

	spare, err2 := e2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err2 != nil {
		return nil, err2
	}
	want("ec2-unassociated-eip", aws.ToString(spare.AllocationId))
	bound, err2 := e2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err2 != nil {
		return nil, err2
	}
	if _, err2 := e2.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: bound.AllocationId, InstanceId: aws.String(busy)}); err2 != nil {
		return nil, fmt.Errorf("associate address: %w", err2)
	}

	vpc, err2 := e2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	if err2 != nil {
		return nil, err2
	}
	subnet, err2 := e2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.20.1.0/24"), AvailabilityZone: aws.String(az)})
	if err2 != nil {
		return nil, err2
	}
	var nats []string
	for range 2 {
		eip, err2 := e2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
		if err2 != nil {
			return nil, err2
		}
		nat, err2 := e2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: subnet.Subnet.SubnetId, AllocationId: eip.AllocationId})
		if err2 != nil {
			return nil, fmt.Errorf("create NAT gateway: %w", err2)
		}
		nats = append(nats, aws.ToString(nat.NatGateway.NatGatewayId))
	}
	idleNAT, busyNAT := nats[0], nats[1]
	want("vpc-idle-nat-gateway", idleNAT)
	rt, err2 := e2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc.Vpc.VpcId})
	if err2 != nil {
		return nil, err2
	}
	if _, err2 := e2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(busyNAT)}); err2 != nil {
		return nil, fmt.Errorf("create route: %w", err2)
	}
	daily("AWS/NATGateway", "ActiveConnectionCount", "NatGatewayId", idleNAT, 0, 32)
	daily("AWS/NATGateway", "ActiveConnectionCount", "NatGatewayId", busyNAT, 12, 32)
	daily("AWS/NATGateway", "PacketsInFromSource", "NatGatewayId", busyNAT, 1e4, 32)
	daily("AWS/NATGateway", "PacketsInFromDestination", "NatGatewayId", busyNAT, 1e4, 32)

	lc := lambda.NewFromConfig(cfg)
	code, zerr := tinyZip()
	if zerr != nil {
		return nil, zerr
	}
	for _, name := range []string{"orders-nightly", "orders-api"} {
		if _, err2 := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: lambdatypes.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", account, lambdaRoleName)),
			Code: &lambdatypes.FunctionCode{ZipFile: code}}); err2 != nil {
			return nil, fmt.Errorf("create function: %w", err2)
		}
	}
	want("lambda-unused-function", "orders-nightly")
	daily("AWS/Lambda", "Invocations", "FunctionName", "orders-api", 250, 30)

	rc := rds.NewFromConfig(cfg)
	for _, id := range []string{"reporting-db", "orders-db"} {
		if _, err2 := rc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t3.micro"),
			Engine: aws.String("mysql"), AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("not-a-secret-1")}); err2 != nil {
			return nil, fmt.Errorf("create DB instance: %w", err2)
		}
	}
	want("rds-idle-instance", "reporting-db")
	daily("AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "reporting-db", 0, 14)
	daily("AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "orders-db", 7, 14)
	if err != nil {
		return nil, err
	}
	return exp, nil
}

// tinyZip is a deployment package with one empty file: moto stores it and
// never runs it.
func tinyZip() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("bootstrap"); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
