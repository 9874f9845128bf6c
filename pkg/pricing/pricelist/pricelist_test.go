package pricelist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/orgscan/orgscan/pkg/pricing"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	pricelist "github.com/aws/aws-sdk-go-v2/service/pricing"
	pltypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"
)

// fakePriceList is a small Price List: GetProducts answers with the
// documents of the service whose product matches every TERM_MATCH filter,
// pageSize documents a page, with a NextToken while more remain. It records
// every request.
type fakePriceList struct {
	docs     map[string][]string // service code -> PriceList documents
	pageSize int
	extra    map[string]string // service code -> a document added to every answer, matched or not
	fail     map[string]error  // service code -> the error every call returns

	mu    sync.Mutex
	calls []pricelist.GetProductsInput
}

func (f *fakePriceList) GetProducts(_ context.Context, in *pricelist.GetProductsInput, _ ...func(*pricelist.Options)) (*pricelist.GetProductsOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, *in)
	f.mu.Unlock()
	service := deref(in.ServiceCode)
	if err := f.fail[service]; err != nil {
		return nil, err
	}
	if in.MaxResults == nil || *in.MaxResults < 1 || *in.MaxResults > 100 {
		return nil, fmt.Errorf("MaxResults %v: must be 1..100", in.MaxResults)
	}
	var matched []string
	for _, doc := range f.docs[service] {
		var p struct {
			Product struct {
				ProductFamily string            `json:"productFamily"`
				Attributes    map[string]string `json:"attributes"`
			} `json:"product"`
		}
		if err := json.Unmarshal([]byte(doc), &p); err != nil {
			return nil, fmt.Errorf("fake catalogue: %v", err)
		}
		ok := true
		for _, flt := range in.Filters {
			if flt.Type != pltypes.FilterTypeTermMatch {
				return nil, fmt.Errorf("filter %s: the fake knows TERM_MATCH only", flt.Type)
			}
			v := p.Product.Attributes[deref(flt.Field)]
			if deref(flt.Field) == "productFamily" {
				v = p.Product.ProductFamily
			}
			ok = ok && v == deref(flt.Value)
		}
		if ok {
			matched = append(matched, doc)
		}
	}
	if doc, ok := f.extra[service]; ok {
		matched = append(matched, doc)
	}
	start := 0
	if in.NextToken != nil {
		n, err := strconv.Atoi(strings.TrimPrefix(*in.NextToken, "offset-"))
		if err != nil {
			return nil, fmt.Errorf("bad NextToken %q", *in.NextToken)
		}
		start = n
	}
	end := min(start+f.pageSize, len(matched))
	out := &pricelist.GetProductsOutput{PriceList: matched[start:end], FormatVersion: in.FormatVersion}
	if end < len(matched) {
		out.NextToken = new("offset-" + strconv.Itoa(end))
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// dim is one price dimension of a document.
type dim struct{ unit, usd, begin string }

var skuSeq struct {
	sync.Mutex
	n int
}

// doc is a Price List document (FormatVersion aws_v1) with one on-demand
// term holding dims.
func doc(family string, attrs map[string]string, dims ...dim) string {
	skuSeq.Lock()
	skuSeq.n++
	sku := fmt.Sprintf("TESTSKU%09d", skuSeq.n)
	skuSeq.Unlock()
	term := sku + ".JRTCKXETXF"
	pd := map[string]any{}
	for i, d := range dims {
		code := fmt.Sprintf("%s.DIM%d", term, i)
		pd[code] = map[string]any{"unit": d.unit, "endRange": "Inf", "description": d.usd + " per " + d.unit,
			"appliesTo": []string{}, "rateCode": code, "beginRange": cmpOr(d.begin, "0"), "pricePerUnit": map[string]string{"USD": d.usd}}
	}
	b, err := json.Marshal(map[string]any{
		"product":     map[string]any{"productFamily": family, "attributes": attrs, "sku": sku},
		"serviceCode": attrs["servicecode"],
		"terms": map[string]any{"OnDemand": map[string]any{term: map[string]any{
			"priceDimensions": pd, "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z",
			"offerTermCode": "JRTCKXETXF", "termAttributes": map[string]string{}}}},
		"version": "20261120163914", "publicationDate": "2026-11-20T16:39:14Z",
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// attrs builds product attributes: the service, region, usage type and
// location type every product has, plus kv pairs.
func attrs(service, region, usagetype string, kv ...string) map[string]string {
	a := map[string]string{"servicecode": service, "regionCode": region, "usagetype": usagetype, "locationType": "AWS Region"}
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i]] = kv[i+1]
	}
	return a
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hrs(usd string) dim  { return dim{"Hrs", usd, ""} }
func gbmo(usd string) dim { return dim{"GB-Mo", usd, ""} }

// catalogue is a Price List for us-east-1 and eu-west-1 with the products
// Generate wants and the look-alikes it must leave out (Windows, Local Zone,
// Multi-AZ, per-GB, archive, TS-, pricing.Regional, free-tier and request-unit
// variants). eu-west-1 lacks some families on purpose.
func catalogue(t *testing.T) map[string][]string {
	t.Helper()
	ec2 := func(region, usage, typ string, d dim, kv ...string) string {
		base := []string{"instanceType", typ, "operatingSystem", "Linux", "tenancy", "Shared", "preInstalledSw", "NA",
			"capacitystatus", "Used", "licenseModel", "No License required", "marketoption", "OnDemand", "operation", "RunInstances"}
		a := attrs("AmazonEC2", region, usage, base...)
		for i := 0; i+1 < len(kv); i += 2 {
			a[kv[i]] = kv[i+1]
		}
		return doc("Compute Instance", a, d)
	}
	ebs := func(family, region, usage, vt string, d dim) string {
		return doc(family, attrs("AmazonEC2", region, usage, "volumeApiName", vt), d)
	}
	return map[string][]string{
		"AmazonEC2": {
			fixture(t, "ec2-m5.large-linux-us-east-1.json"), // 0.096, plus a Reserved term to ignore
			ec2("us-east-1", "BoxUsage:m5.large", "m5.large", hrs("0.192"), "operatingSystem", "Windows", "operation", "RunInstances:0002"),
			ec2("us-east-1", "BoxUsage:m5.large", "m5.large", hrs("0.096"), "capacitystatus", "UnusedCapacityReservation"),
			ec2("us-east-1", "USE1-BOS1-BoxUsage:m5.large", "m5.large", hrs("0.12"), "locationType", "AWS Local Zone"),
			ec2("us-east-1", "BoxUsage:t3.micro", "t3.micro", hrs("0.0104")),
			ec2("us-east-1", "BoxUsage:t3.nano", "t3.nano", hrs("0.0000000000")), // zero-priced: no price
			ec2("eu-west-1", "EU-BoxUsage:m5.large", "m5.large", hrs("0.107")),
			// eu-west-1 has no t3.micro.

			ebs("Storage", "us-east-1", "EBS:VolumeUsage.gp2", "gp2", gbmo("0.10")),
			ebs("Storage", "us-east-1", "EBS:VolumeUsage.gp3", "gp3", gbmo("0.08")),
			ebs("Storage", "us-east-1", "EBS:VolumeUsage.piops", "io1", gbmo("0.125")),
			ebs("Storage", "us-east-1", "EBS:VolumeUsage.io2", "io2", gbmo("0.125")),
			ebs("Storage", "us-east-1", "EBS:VolumeUsage.st1", "st1", gbmo("0.045")),
			ebs("Storage", "us-east-1", "EBS:VolumeUsage.sc1", "sc1", gbmo("0.015")),
			ebs("Storage", "us-east-1", "EBS:VolumeUsage", "standard", gbmo("0.05")),
			ebs("System Operation", "us-east-1", "EBS:VolumeP-IOPS.gp3", "gp3", dim{"IOPS-Mo", "0.005", ""}),
			ebs("System Operation", "us-east-1", "EBS:VolumeP-IOPS.piops", "io1", dim{"IOPS-Mo", "0.065", ""}),
			ebs("System Operation", "us-east-1", "EBS:VolumeP-IOPS.io2", "io2", dim{"IOPS-Mo", "0.065", ""}),
			ebs("System Operation", "us-east-1", "EBS:VolumeP-IOPS.io2.tier2", "io2", dim{"IOPS-Mo", "0.0455", ""}),
			ebs("System Operation", "us-east-1", "EBS:VolumeIOUsage", "standard", dim{"IOs", "0.00000005", ""}),
			fixture(t, "ebs-gp3-throughput-us-east-1.json"), // 40.96 per GiBps-month
			doc("Storage Snapshot", attrs("AmazonEC2", "us-east-1", "EBS:SnapshotUsage"), gbmo("0.05")),
			doc("Storage Snapshot", attrs("AmazonEC2", "us-east-1", "EBS:SnapshotArchiveStorage"), gbmo("0.0125")),
			doc("NAT Gateway", attrs("AmazonEC2", "us-east-1", "NatGateway-Hours"), hrs("0.045")),
			doc("NAT Gateway", attrs("AmazonEC2", "us-east-1", "NatGateway-Bytes"), dim{"GB", "0.045", ""}),
			doc("NAT Gateway", attrs("AmazonEC2", "us-east-1", "USE1-RegionalNatGateway-Hours"), hrs("0.05")),
			ebs("Storage", "eu-west-1", "EU-EBS:VolumeUsage.gp2", "gp2", gbmo("0.11")),
			ebs("Storage", "eu-west-1", "EU-EBS:VolumeUsage.gp3", "gp3", gbmo("0.088")),
			ebs("System Operation", "eu-west-1", "EU-EBS:VolumeP-IOPS.gp3", "gp3", dim{"IOPS-Mo", "0.0055", ""}),
			// eu-west-1 has no gp3 throughput price, and no NAT gateway.
		},
		"AmazonRDS": {
			doc("Database Instance", attrs("AmazonRDS", "us-east-1", "InstanceUsage:db.t3.micro", "instanceType", "db.t3.micro",
				"databaseEngine", "MySQL", "deploymentOption", "Single-AZ"), hrs("0.017")),
			doc("Database Instance", attrs("AmazonRDS", "us-east-1", "InstanceUsage:db.t3.micro", "instanceType", "db.t3.micro",
				"databaseEngine", "PostgreSQL", "deploymentOption", "Single-AZ"), hrs("0.018")),
			doc("Database Instance", attrs("AmazonRDS", "us-east-1", "Multi-AZUsage:db.t3.micro", "instanceType", "db.t3.micro",
				"databaseEngine", "MySQL", "deploymentOption", "Multi-AZ"), hrs("0.034")),
			doc("Database Storage", attrs("AmazonRDS", "us-east-1", "RDS:GP2-Storage", "volumeType", "General Purpose",
				"deploymentOption", "Single-AZ", "databaseEngine", "Any"), gbmo("0.115")),
			doc("Database Instance", attrs("AmazonRDS", "eu-west-1", "EU-InstanceUsage:db.t3.micro", "instanceType", "db.t3.micro",
				"databaseEngine", "MySQL", "deploymentOption", "Single-AZ"), hrs("0.018")),
			// eu-west-1 has no RDS storage price.
		},
		"AmazonElastiCache": {
			doc("Cache Instance", attrs("AmazonElastiCache", "us-east-1", "NodeUsage:cache.t3.micro", "instanceType", "cache.t3.micro",
				"cacheEngine", "Redis"), hrs("0.017")),
			doc("Cache Instance", attrs("AmazonElastiCache", "us-east-1", "NodeUsage:cache.t3.micro", "instanceType", "cache.t3.micro",
				"cacheEngine", "Valkey"), hrs("0.0136")),
			doc("Cache Instance", attrs("AmazonElastiCache", "eu-west-1", "EU-NodeUsage:cache.t3.micro", "instanceType", "cache.t3.micro",
				"cacheEngine", "Redis"), hrs("0.018")),
		},
		"AmazonVPC": {
			doc("", attrs("AmazonVPC", "us-east-1", "USE1-PublicIPv4:InUseAddress", "group", "VPCPublicIPv4Address"), hrs("0.005")),
			doc("", attrs("AmazonVPC", "us-east-1", "USE1-PublicIPv4:IdleAddress", "group", "VPCPublicIPv4Address"), hrs("0.0051")),
			doc("VpcEndpoint", attrs("AmazonVPC", "us-east-1", "USE1-VpcEndpoint-Hours"), hrs("0.01")),
			doc("VpcEndpoint", attrs("AmazonVPC", "us-east-1", "USE1-VpcEndpoint-Bytes"), dim{"GB", "0.01", ""}),
			doc("VpcEndpoint", attrs("AmazonVPC", "us-east-1", "USE1-VpcEndpoint-GWLBE-Hours"), hrs("0.011")),
			doc("", attrs("AmazonVPC", "eu-west-1", "EU-PublicIPv4:InUseAddress", "group", "VPCPublicIPv4Address"), hrs("0.005")),
		},
		"AWSELB": {
			doc("Load Balancer-Application", attrs("AWSELB", "us-east-1", "LoadBalancerUsage"), hrs("0.0225")),
			doc("Load Balancer-Application", attrs("AWSELB", "us-east-1", "TS-LoadBalancerUsage"), hrs("0.005")),
			doc("Load Balancer-Application", attrs("AWSELB", "us-east-1", "LCUUsage"), dim{"LCU-Hrs", "0.008", ""}),
			doc("Load Balancer-Network", attrs("AWSELB", "us-east-1", "LoadBalancerUsage"), hrs("0.0225")),
			doc("Load Balancer-Gateway", attrs("AWSELB", "us-east-1", "LoadBalancerUsage"), hrs("0.0125")),
			doc("Load Balancer-Application", attrs("AWSELB", "eu-west-1", "EU-LoadBalancerUsage"), hrs("0.0252")),
		},
		"AmazonDynamoDB": {
			doc("Provisioned IOPS", attrs("AmazonDynamoDB", "us-east-1", "ReadCapacityUnit-Hrs", "group", "DDB-ReadUnits"),
				dim{"ReadCapacityUnit-Hrs", "0.0000000000", "0"}, dim{"ReadCapacityUnit-Hrs", "0.00013", "18600"}),
			doc("Provisioned IOPS", attrs("AmazonDynamoDB", "us-east-1", "WriteCapacityUnit-Hrs", "group", "DDB-WriteUnits"),
				dim{"WriteCapacityUnit-Hrs", "0.0000000000", "0"}, dim{"WriteCapacityUnit-Hrs", "0.00065", "18600"}),
			doc("Amazon DynamoDB PayPerRequest Throughput", attrs("AmazonDynamoDB", "us-east-1", "ReadRequestUnits", "group", "DDB-ReadUnits"),
				dim{"ReadRequestUnits", "0.000000125", ""}),
			fixture(t, "dynamodb-read-units-eu-west-1.json"), // free tier, then 0.000147
			doc("Provisioned IOPS", attrs("AmazonDynamoDB", "eu-west-1", "EU-WriteCapacityUnit-Hrs", "group", "DDB-WriteUnits"),
				dim{"WriteCapacityUnit-Hrs", "0.000735", "0"}),
		},
		"AmazonCloudWatch": {
			doc("Storage Snapshot", attrs("AmazonCloudWatch", "us-east-1", "TimedStorage-ByteHrs"), gbmo("0.03")),
			doc("Data Payload", attrs("AmazonCloudWatch", "us-east-1", "DataProcessing-Bytes"), dim{"GB", "0.50", ""}),
			doc("Storage Snapshot", attrs("AmazonCloudWatch", "eu-west-1", "EU-TimedStorage-ByteHrs"), gbmo("0.03")),
		},
	}
}

var asOf = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

func request() Request {
	return Request{
		Regions:        []string{"us-east-1", "eu-west-1"},
		InstanceTypes:  []string{"m5.large", "t3.micro", "t3.nano", "x9.huge"},
		DBClasses:      []string{"db.t3.micro"},
		CacheNodeTypes: []string{"cache.t3.micro"},
		AsOf:           asOf,
	}
}

func TestGeneratePlacesPrices(t *testing.T) {
	t.Parallel()
	api := &fakePriceList{docs: catalogue(t), pageSize: 2}
	tab, err := Generate(context.Background(), api, request())
	if err != nil {
		t.Fatal(err)
	}
	if tab.AsOf != "2026-11-26" || !strings.Contains(tab.Source, "Price List API") || tab.HoursPerMonth != 730 {
		t.Fatalf("header: asOf %q source %q hours %v", tab.AsOf, tab.Source, tab.HoursPerMonth)
	}
	if got := slices.Sorted(maps.Keys(tab.Regions)); !slices.Equal(got, []string{"eu-west-1", "us-east-1"}) {
		t.Fatalf("regions %v", got)
	}
	use1, euw1 := tab.Regions["us-east-1"], tab.Regions["eu-west-1"]
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"us-east-1 EC2 m5.large (fixture; not Windows, Local Zone or reserved)", use1.EC2["m5.large"], 0.096},
		{"us-east-1 EC2 t3.micro", use1.EC2["t3.micro"], 0.0104},
		{"eu-west-1 EC2 m5.large (EU- prefix)", euw1.EC2["m5.large"], 0.107},
		{"us-east-1 RDS db.t3.micro (MySQL single-AZ)", use1.RDS["db.t3.micro"], 0.017},
		{"us-east-1 RDS storage", use1.RDSStorageGBMonth, 0.115},
		{"us-east-1 ElastiCache Redis", use1.ElastiCache["cache.t3.micro"], 0.017},
		{"eu-west-1 ElastiCache Redis", euw1.ElastiCache["cache.t3.micro"], 0.018},
		{"us-east-1 EBS gp2", use1.EBSGBMonth["gp2"], 0.10},
		{"us-east-1 EBS gp3", use1.EBSGBMonth["gp3"], 0.08},
		{"us-east-1 EBS io1 (piops)", use1.EBSGBMonth["io1"], 0.125},
		{"us-east-1 EBS standard", use1.EBSGBMonth["standard"], 0.05},
		{"us-east-1 EBS sc1", use1.EBSGBMonth["sc1"], 0.015},
		{"us-east-1 gp3 IOPS", use1.EBSIOPSMonth["gp3"], 0.005},
		{"us-east-1 io2 IOPS (first tier)", use1.EBSIOPSMonth["io2"], 0.065},
		{"us-east-1 gp3 throughput (GiBps-mo / 1024)", use1.EBSThroughputMBpsMonth["gp3"], 0.04},
		{"us-east-1 snapshots (not archive)", use1.EBSSnapshotGBMonth, 0.05},
		{"us-east-1 public IPv4 (in use)", use1.PublicIPv4Hour, 0.005},
		{"us-east-1 NAT (not bytes or regional)", use1.NATGatewayHour, 0.045},
		{"us-east-1 ALB (not TS- or LCU)", use1.LoadBalancerHour["application"], 0.0225},
		{"us-east-1 NLB", use1.LoadBalancerHour["network"], 0.0225},
		{"us-east-1 GWLB", use1.LoadBalancerHour["gateway"], 0.0125},
		{"eu-west-1 ALB", euw1.LoadBalancerHour["application"], 0.0252},
		{"us-east-1 interface endpoint", use1.InterfaceEndpointAZHour, 0.01},
		{"us-east-1 DynamoDB RCU (past the free tier)", use1.DynamoDBRCUHour, 0.00013},
		{"us-east-1 DynamoDB WCU", use1.DynamoDBWCUHour, 0.00065},
		{"eu-west-1 DynamoDB RCU (fixture)", euw1.DynamoDBRCUHour, 0.000147},
		{"us-east-1 Logs storage", use1.LogsStorageGBMonth, 0.03},
		{"eu-west-1 public IPv4", euw1.PublicIPv4Hour, 0.005},
	} {
		if !near(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	// Absent from the answer: absent from the table, so unknown, not $0.
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"us-east-1 x9.huge (no product)", has(use1.EC2, "x9.huge")},
		{"us-east-1 t3.nano (zero-priced)", has(use1.EC2, "t3.nano")},
		{"eu-west-1 t3.micro", has(euw1.EC2, "t3.micro")},
		{"eu-west-1 RDS (no storage price)", has(euw1.RDS, "db.t3.micro")},
		{"eu-west-1 gp3 (no throughput price)", has(euw1.EBSGBMonth, "gp3")},
		{"eu-west-1 io1", has(euw1.EBSGBMonth, "io1")},
		{"eu-west-1 network LB", has(euw1.LoadBalancerHour, "network")},
	} {
		if tc.ok {
			t.Errorf("%s: priced, want absent", tc.name)
		}
	}
	if !near(euw1.EBSGBMonth["gp2"], 0.11) {
		t.Errorf("eu-west-1 gp2 = %v", euw1.EBSGBMonth["gp2"])
	}
	if _, ok := tab.EC2Instance("eu-west-1", "t3.micro"); ok {
		t.Error("EC2Instance: eu-west-1 t3.micro must be unknown")
	}
	if _, ok := tab.NATGateway("eu-west-1"); ok {
		t.Error("NATGateway: eu-west-1 must be unknown")
	}
	if _, ok := tab.RDSInstance("eu-west-1", "db.t3.micro", 20, false); ok {
		t.Error("RDSInstance: eu-west-1 must be unknown without a storage price")
	}
	if _, ok := tab.EBSVolume("eu-west-1", "gp3", 100, 3000, 125); ok {
		t.Error("EBSVolume: eu-west-1 gp3 must be unknown without a throughput price")
	}

	missing := Missing(tab, request())
	for _, want := range []string{"us-east-1: EC2 x9.huge", "us-east-1: EC2 t3.nano", "eu-west-1: EC2 t3.micro",
		"eu-west-1: NAT gateway", "eu-west-1: RDS db.t3.micro", "eu-west-1: EBS gp3", "eu-west-1: interface endpoints"} {
		if !slices.Contains(missing, want) {
			t.Errorf("Missing() lacks %q: %q", want, missing)
		}
	}
	if slices.Contains(missing, "us-east-1: EC2 m5.large") || slices.Contains(missing, "us-east-1: NAT gateway") {
		t.Errorf("Missing() names priced items: %q", missing)
	}
}

func has(m map[string]float64, k string) bool { _, ok := m[k]; return ok }

// The filters are what keeps Windows, Multi-AZ, on-demand request units
// and the other look-alikes out of the answer; every call pages 100 at a
// time and names its region.
func TestGenerateSendsFilters(t *testing.T) {
	t.Parallel()
	api := &fakePriceList{docs: catalogue(t), pageSize: 2}
	if _, err := Generate(context.Background(), api, request()); err != nil {
		t.Fatal(err)
	}
	type call struct {
		service string
		filters map[string]string
		token   string
	}
	var calls []call
	for _, in := range api.calls {
		c := call{service: deref(in.ServiceCode), filters: map[string]string{}, token: deref(in.NextToken)}
		for _, f := range in.Filters {
			if f.Type != pltypes.FilterTypeTermMatch {
				t.Errorf("%s: filter %s is %s, want TERM_MATCH", c.service, deref(f.Field), f.Type)
			}
			c.filters[deref(f.Field)] = deref(f.Value)
		}
		if c.filters["regionCode"] == "" {
			t.Errorf("%s %v: no regionCode filter", c.service, c.filters)
		}
		if in.MaxResults == nil || *in.MaxResults != 100 {
			t.Errorf("%s: MaxResults %v, want 100", c.service, in.MaxResults)
		}
		if deref(in.FormatVersion) != "aws_v1" {
			t.Errorf("%s: FormatVersion %q", c.service, deref(in.FormatVersion))
		}
		calls = append(calls, c)
	}
	// find returns the first-page call of service whose filters include want.
	find := func(service string, want map[string]string) (call, bool) {
		for _, c := range calls {
			if c.service != service || c.token != "" {
				continue
			}
			match := true
			for k, v := range want {
				match = match && c.filters[k] == v
			}
			if match {
				return c, true
			}
		}
		return call{}, false
	}
	for _, tc := range []struct {
		service string
		want    map[string]string
	}{
		{"AmazonEC2", map[string]string{"regionCode": "us-east-1", "instanceType": "m5.large", "operatingSystem": "Linux",
			"tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}},
		{"AmazonRDS", map[string]string{"regionCode": "eu-west-1", "instanceType": "db.t3.micro", "databaseEngine": "MySQL",
			"deploymentOption": "Single-AZ", "productFamily": "Database Instance"}},
		{"AmazonRDS", map[string]string{"productFamily": "Database Storage", "volumeType": "General Purpose",
			"deploymentOption": "Single-AZ", "databaseEngine": "Any"}},
		{"AmazonElastiCache", map[string]string{"instanceType": "cache.t3.micro", "cacheEngine": "Redis", "productFamily": "Cache Instance"}},
		{"AmazonEC2", map[string]string{"productFamily": "Storage"}},
		{"AmazonEC2", map[string]string{"productFamily": "System Operation"}},
		{"AmazonEC2", map[string]string{"productFamily": "Provisioned Throughput"}},
		{"AmazonEC2", map[string]string{"productFamily": "Storage Snapshot"}},
		{"AmazonEC2", map[string]string{"productFamily": "NAT Gateway"}},
		{"AmazonVPC", map[string]string{"group": "VPCPublicIPv4Address"}},
		{"AmazonVPC", map[string]string{"productFamily": "VpcEndpoint"}},
		{"AWSELB", map[string]string{"productFamily": "Load Balancer-Application"}},
		{"AWSELB", map[string]string{"productFamily": "Load Balancer-Network"}},
		{"AWSELB", map[string]string{"productFamily": "Load Balancer-Gateway"}},
		{"AmazonDynamoDB", map[string]string{"productFamily": "Provisioned IOPS", "group": "DDB-ReadUnits"}},
		{"AmazonDynamoDB", map[string]string{"productFamily": "Provisioned IOPS", "group": "DDB-WriteUnits"}},
		{"AmazonCloudWatch", map[string]string{"productFamily": "Storage Snapshot"}},
	} {
		if _, ok := find(tc.service, tc.want); !ok {
			t.Errorf("no %s call with filters %v", tc.service, tc.want)
		}
	}
	// 7 EBS storage products in us-east-1, 2 a page: the generator asked
	// for pages 2 to 4 with the tokens the fake handed out.
	pages := 0
	for _, c := range calls {
		if c.service == "AmazonEC2" && c.filters["productFamily"] == "Storage" && c.filters["regionCode"] == "us-east-1" {
			pages++
		}
	}
	if pages != 4 {
		t.Errorf("us-east-1 EBS storage: %d pages requested, want 4", pages)
	}
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	throttled := errors.New("ThrottlingException: Rate exceeded")
	for _, tc := range []struct {
		name  string
		api   func(*fakePriceList)
		req   func(*Request)
		want  []string
		cause error
	}{
		{name: "truncated document",
			api: func(f *fakePriceList) {
				f.extra = map[string]string{"AmazonVPC": `{"product":{"productFamily":"VpcEndpoint","attr`}
			},
			want: []string{"in us-east-1", "PriceList item", "not a Price List product document"}},
		{name: "document without a product",
			api:  func(f *fakePriceList) { f.extra = map[string]string{"AWSELB": `{"serviceCode":"AWSELB","terms":{}}`} },
			want: []string{"load balancer hours in us-east-1", "no product attributes"}},
		{name: "price that is not a number",
			api: func(f *fakePriceList) {
				d := doc("NAT Gateway", attrs("AmazonEC2", "us-east-1", "NatGateway-Hours"), hrs("zero"))
				f.docs["AmazonEC2"] = append(f.docs["AmazonEC2"], d)
			},
			want: []string{"NAT gateway hours in us-east-1", `price "zero" is not a number`}},
		{name: "two prices for one item",
			api: func(f *fakePriceList) {
				d := doc("NAT Gateway", attrs("AmazonEC2", "us-east-1", "NatGateway-Hours"), hrs("0.05"))
				f.docs["AmazonEC2"] = append(f.docs["AmazonEC2"], d)
			},
			want: []string{"us-east-1", "NAT gateway hours", "two prices", "$0.045", "$0.05"}},
		{name: "API error",
			api:   func(f *fakePriceList) { f.fail = map[string]error{"AmazonCloudWatch": throttled} },
			want:  []string{"CloudWatch Logs storage in", "Rate exceeded"},
			cause: throttled},
		{name: "region with no prices", req: func(r *Request) { r.Regions = []string{"us-east-1", "us-eats-1"} },
			want: []string{`no prices found for region "us-eats-1"`}},
		{name: "no regions", req: func(r *Request) { r.Regions = nil }, want: []string{"no regions"}},
		{name: "no as-of date", req: func(r *Request) { r.AsOf = time.Time{} }, want: []string{"as-of"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := &fakePriceList{docs: catalogue(t), pageSize: 100}
			if tc.api != nil {
				tc.api(api)
			}
			req := request()
			req.Regions = []string{"us-east-1"} // errors name the region that failed first
			if tc.req != nil {
				tc.req(&req)
			}
			tab, err := Generate(context.Background(), api, req)
			if err == nil {
				t.Fatalf("no error; table %+v", tab)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("error %q does not wrap %q", err, tc.cause)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

// The encoded table has prices.json's shape, so it can replace the embedded
// file, and decodes to a pricing.Table whose methods price with the generated values.
func TestGeneratedTableRoundTrips(t *testing.T) {
	t.Parallel()
	tab, err := Generate(context.Background(), &fakePriceList{docs: catalogue(t), pageSize: 3}, request())
	if err != nil {
		t.Fatal(err)
	}
	b, err := tab.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var back pricing.Table
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  func(*pricing.Table) (float64, bool)
		want float64
	}{
		{"EC2 m5.large", func(p *pricing.Table) (float64, bool) { return p.EC2Instance("us-east-1", "m5.large") }, 0.096 * 730},
		{"RDS db.t3.micro 20 GB multi-AZ", func(p *pricing.Table) (float64, bool) { return p.RDSInstance("us-east-1", "db.t3.micro", 20, true) },
			2 * (0.017*730 + 20*0.115)},
		{"gp3 100 GB 4000 IOPS 250 MB/s", func(p *pricing.Table) (float64, bool) { return p.EBSVolume("us-east-1", "gp3", 100, 4000, 250) },
			100*0.08 + 1000*0.005 + 125*0.04},
		{"io2 100 GB 1000 IOPS", func(p *pricing.Table) (float64, bool) { return p.EBSVolume("us-east-1", "io2", 100, 1000, 0) }, 12.5 + 65},
		{"public IPv4", func(p *pricing.Table) (float64, bool) { return p.PublicIPv4("eu-west-1") }, 3.65},
		{"NAT gateway", func(p *pricing.Table) (float64, bool) { return p.NATGateway("us-east-1") }, 0.045 * 730},
		{"snapshot 100 GB", func(p *pricing.Table) (float64, bool) { return p.EBSSnapshot("us-east-1", 100) }, 5},
		{"ALB", func(p *pricing.Table) (float64, bool) { return p.LoadBalancer("eu-west-1", "application") }, 0.0252 * 730},
		{"endpoint in 3 AZs", func(p *pricing.Table) (float64, bool) { return p.InterfaceEndpoint("us-east-1", 3) }, 3 * 0.01 * 730},
		{"2 cache nodes", func(p *pricing.Table) (float64, bool) { return p.CacheNodes("us-east-1", "cache.t3.micro", 2) }, 2 * 0.017 * 730},
		{"DynamoDB 100 RCU 50 WCU", func(p *pricing.Table) (float64, bool) { return p.DynamoDBProvisioned("us-east-1", 100, 50) },
			(100*0.00013 + 50*0.00065) * 730},
		{"10 GiB of logs", func(p *pricing.Table) (float64, bool) { return p.LogsStorage("us-east-1", 10<<30) }, 0.3},
	} {
		for _, p := range []*pricing.Table{tab, &back} {
			if got, ok := tc.got(p); !ok || !near(got, tc.want) {
				t.Errorf("%s = %v %v, want %v", tc.name, got, ok, tc.want)
			}
		}
	}

	// Same keys as the embedded file, at the top and in every region.
	var gen, embedded map[string]any
	if err := json.Unmarshal(b, &gen); err != nil {
		t.Fatal(err)
	}
	pricesJSON, err := os.ReadFile(filepath.Join("..", "prices.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(pricesJSON, &embedded); err != nil {
		t.Fatal(err)
	}
	keys := func(m any) []string { return slices.Sorted(maps.Keys(m.(map[string]any))) }
	if g, e := keys(gen), keys(embedded); !slices.Equal(g, e) {
		t.Errorf("top-level keys %v, embedded file has %v", g, e)
	}
	want := keys(embedded["regions"].(map[string]any)["us-east-1"])
	for region, r := range gen["regions"].(map[string]any) {
		if g := keys(r); !slices.Equal(g, want) {
			t.Errorf("%s keys %v, embedded file has %v", region, g, want)
		}
	}
	if !strings.HasPrefix(string(b), "{\n \"asOf\": \"2026-11-26\",\n") {
		t.Errorf("encoding differs from prices.json (sorted keys, one-space indent): %.60q", b)
	}
}

// The SDK client itself, against a local server speaking the Price List
// wire protocol (JSON 1.1) with the fake behind it: the filters, MaxResults
// and NextToken survive serialization, and the PriceList strings arrive as
// the documents. No request leaves the machine.
func TestGenerateThroughSDKClient(t *testing.T) {
	t.Parallel()
	fake := &fakePriceList{docs: catalogue(t), pageSize: 2}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "AWSPriceListService.GetProducts" {
			http.Error(w, "unexpected target "+got, http.StatusBadRequest)
			return
		}
		var in struct {
			ServiceCode, FormatVersion, NextToken string
			MaxResults                            int32
			Filters                               []struct{ Type, Field, Value string }
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gi := &pricelist.GetProductsInput{ServiceCode: aws.String(in.ServiceCode), FormatVersion: aws.String(in.FormatVersion),
			MaxResults: aws.Int32(in.MaxResults)}
		if in.NextToken != "" {
			gi.NextToken = aws.String(in.NextToken)
		}
		for _, f := range in.Filters {
			gi.Filters = append(gi.Filters, pltypes.Filter{Type: pltypes.FilterType(f.Type), Field: aws.String(f.Field), Value: aws.String(f.Value)})
		}
		out, err := fake.GetProducts(r.Context(), gi)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"FormatVersion": aws.ToString(out.FormatVersion), "PriceList": out.PriceList,
			"NextToken": out.NextToken})
	}))
	defer srv.Close()
	client := pricelist.New(pricelist.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})

	tab, err := Generate(context.Background(), client, request())
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tab.EC2Instance("us-east-1", "m5.large"); !ok || !near(got, 0.096*730) {
		t.Errorf("m5.large = %v %v", got, ok)
	}
	if got := tab.Regions["us-east-1"].EBSGBMonth["sc1"]; !near(got, 0.015) {
		t.Errorf("sc1 = %v (a later page)", got)
	}
	if got := tab.Regions["us-east-1"].EBSThroughputMBpsMonth["gp3"]; !near(got, 0.04) {
		t.Errorf("gp3 throughput = %v", got)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
