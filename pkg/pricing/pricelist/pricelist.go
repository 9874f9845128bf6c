// Package pricelist builds a pricing.Table from the AWS Price List API
// (`orgscan pricing refresh`). Only the CLI links it: the functions use the
// embedded table and need not link the Price List client.
package pricelist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/orgscan/orgscan/pkg/pricing"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	pricelist "github.com/aws/aws-sdk-go-v2/service/pricing"
	pltypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"
	"golang.org/x/sync/errgroup"
)

// PriceListAPI is the one AWS Price List Query API call Generate makes, with
// the SDK's own signature. The Price List endpoint lives in us-east-1 whatever
// region is priced: the priced region is a filter, not the endpoint.
// *pricing.Client is safe for concurrent use and retries throttling with the
// SDK retryer; Generate calls it from several goroutines, so a fake must be
// safe for concurrent use too.
type PriceListAPI interface {
	GetProducts(ctx context.Context, params *pricelist.GetProductsInput, optFns ...func(*pricelist.Options)) (*pricelist.GetProductsOutput, error)
}

var _ PriceListAPI = (*pricelist.Client)(nil)

// Request says which prices Generate fetches.
type Request struct {
	Regions        []string  // region codes, like us-east-1
	InstanceTypes  []string  // EC2 instance types, like m5.large
	DBClasses      []string  // RDS DB instance classes, like db.t3.micro
	CacheNodeTypes []string  // ElastiCache node types, like cache.t3.micro
	AsOf           time.Time // the table's asOf date (its UTC day)
}

// Source is the generated table's source: what was priced and what was not.
const Source = "AWS Price List API (GetProducts, on-demand USD): Linux shared-tenancy EC2, " +
	"single-AZ MySQL RDS with gp2 storage, EBS volumes, IOPS, throughput and snapshots, in-use public IPv4, " +
	"NAT gateway hours, ALB/NLB/GWLB hours, interface endpoint AZ-hours, Redis ElastiCache node hours, " +
	"DynamoDB provisioned capacity and CloudWatch Logs storage; no Savings Plans, Reserved Instances, " +
	"free tiers or data-processing charges"

const (
	// hoursPerMonth is AWS's own convention on its pricing pages (24 × 365 / 12).
	hoursPerMonth = 730
	// pageSize is the largest MaxResults GetProducts accepts.
	pageSize = 100
	// queryConcurrency bounds GetProducts calls in flight: the Price List API
	// throttles a burst, and the SDK retryer would only queue it.
	queryConcurrency = 4
)

// slot names the pricing.Regional field a price goes to.
type slot int

const (
	slotEC2 slot = iota
	slotRDS
	slotRDSStorage
	slotEBSGB
	slotEBSIOPS
	slotEBSThroughput
	slotPublicIPv4
	slotNAT
	slotSnapshot
	slotLB
	slotEndpoint
	slotCache
	slotDynamoRead
	slotDynamoWrite
	slotLogs
)

// unitKind is the price dimension a query wants; others (per-GB data
// processing, per-request) are ignored.
type unitKind int

const (
	perHour unitKind = iota
	perGBMonth
	perIOPSMonth
	perMBpsMonth
)

// query is one GetProducts question for one region: a service, TERM_MATCH
// filters (regionCode is added per region), and which usage types of the
// answer it prices.
type query struct {
	what    string // names the price in errors, e.g. "EC2 m5.large"
	service string
	filters [][2]string // field, value
	slot    slot
	// usage maps a product's usagetype, without its region prefix, to the
	// price's key in the slot ("" for single-valued slots). Products with
	// other usage types are not this query's price: the answer to a
	// productFamily filter mixes hourly, per-GB and tiered variants.
	usage map[string]string
	unit  unitKind
}

// EBS usage types (CUR "Amazon EBS" usage types, AWS Data Exports docs; the
// same strings as the Price List usagetype attribute).
var (
	ebsStorageUsage = map[string]string{
		"EBS:VolumeUsage":       "standard",
		"EBS:VolumeUsage.gp2":   "gp2",
		"EBS:VolumeUsage.gp3":   "gp3",
		"EBS:VolumeUsage.piops": "io1",
		"EBS:VolumeUsage.io2":   "io2",
		"EBS:VolumeUsage.st1":   "st1",
		"EBS:VolumeUsage.sc1":   "sc1",
	}
	// io2 IOPS are tiered as separate products (.io2.tier2 above 32,000,
	// .io2.tier3 above 64,000); the table keeps the first tier, which is
	// every io2 volume's rate up to 32,000 IOPS.
	ebsIOPSUsage = map[string]string{
		"EBS:VolumeP-IOPS.gp3":   "gp3",
		"EBS:VolumeP-IOPS.piops": "io1",
		"EBS:VolumeP-IOPS.io2":   "io2",
	}
	ebsThroughputUsage = map[string]string{"EBS:VolumeP-Throughput.gp3": "gp3"}
	// ebsNeeds lists the separately billed prices a volume type's estimate
	// needs: without them the GB price alone would understate the volume, so
	// the type is left unknown instead.
	ebsNeeds = map[string][]slot{"gp3": {slotEBSIOPS, slotEBSThroughput}, "io1": {slotEBSIOPS}, "io2": {slotEBSIOPS}}
	// lbFamilies maps the table's load balancer types to AWSELB product families.
	lbFamilies = map[string]string{
		"application": "Load Balancer-Application",
		"network":     "Load Balancer-Network",
		"gateway":     "Load Balancer-Gateway",
	}
)

// queries returns the questions Generate asks for one region.
//
// Filter sources (the attribute names are not a documented fixed list:
// DescribeServices and GetAttributeValues list them per service, and they
// have changed before, so each filter names where it comes from):
//   - EC2: the aws_pricing_product example of the Terraform AWS provider and
//     Pulumi (instanceType, operatingSystem Linux, preInstalledSw NA, tenancy
//     Shared, capacitystatus Used); BoxUsage:<type> is the on-demand usage type.
//   - RDS: infracost db_instance.go (productFamily "Database Instance",
//     instanceType, databaseEngine MySQL, deploymentOption Single-AZ; storage
//     is productFamily "Database Storage", databaseEngine Any, volumeType
//     "General Purpose"); usage types InstanceUsage:<class> and
//     RDS:GP2-Storage (Multi-AZ and Aurora ones differ).
//   - EBS: AmazonEC2 productFamily "Storage" (keyed by the usage types above;
//     volumeApiName carries the same type), "System Operation" for
//     provisioned IOPS, "Provisioned Throughput" for gp3 throughput (priced
//     per GiBps-month), "Storage Snapshot" with usagetype EBS:SnapshotUsage
//     (the family also holds archive tiers).
//   - Public IPv4: AmazonVPC group VPCPublicIPv4Address (these products have
//     no productFamily; AmazonEC2 "IP Address" matches nothing since the
//     February 2024 change), usagetype PublicIPv4:InUseAddress.
//   - NAT gateway: AmazonEC2 productFamily "NAT Gateway" (infracost
//     nat_gateway.go), usagetype NatGateway-Hours exactly (the family also
//     holds NatGateway-Bytes and RegionalNatGateway-Hours).
//   - Load balancers: AWSELB productFamily "Load Balancer-Application",
//     "-Network", "-Gateway" (infracost lb.go), usagetype LoadBalancerUsage
//     exactly (TS-LoadBalancerUsage and LCUUsage share the family).
//   - Interface endpoints: AmazonVPC productFamily "VpcEndpoint", usagetype
//     VpcEndpoint-Hours (not -Bytes or GWLBE).
//   - ElastiCache: productFamily "Cache Instance", cacheEngine Redis,
//     instanceType (infracost elasticache_cluster.go), usagetype
//     NodeUsage:<type> (Extended Support and Outposts rows differ).
//   - DynamoDB: productFamily "Provisioned IOPS" with group DDB-ReadUnits /
//     DDB-WriteUnits (infracost dynamodb_table.go; the groups alone also
//     match on-demand request units), usagetype ReadCapacityUnit-Hrs /
//     WriteCapacityUnit-Hrs; the free-tier dimension is $0 and skipped.
//   - CloudWatch Logs storage: AmazonCloudWatch productFamily "Storage
//     Snapshot", which is where AWS files it (infracost
//     cloudwatch_log_group.go prices "Archival Storage" from it),
//     usagetype TimedStorage-ByteHrs, priced per GB-month.
func queries(req Request) []query {
	var qs []query
	for _, t := range req.InstanceTypes {
		qs = append(qs, query{what: "EC2 " + t, service: "AmazonEC2", slot: slotEC2, unit: perHour,
			filters: [][2]string{{"instanceType", t}, {"operatingSystem", "Linux"}, {"tenancy", "Shared"},
				{"preInstalledSw", "NA"}, {"capacitystatus", "Used"}},
			usage: map[string]string{"BoxUsage:" + t: t}})
	}
	for _, c := range req.DBClasses {
		qs = append(qs, query{what: "RDS " + c, service: "AmazonRDS", slot: slotRDS, unit: perHour,
			filters: [][2]string{{"productFamily", "Database Instance"}, {"instanceType", c},
				{"databaseEngine", "MySQL"}, {"deploymentOption", "Single-AZ"}},
			usage: map[string]string{"InstanceUsage:" + c: c}})
	}
	if len(req.DBClasses) > 0 {
		qs = append(qs, query{what: "RDS gp2 storage", service: "AmazonRDS", slot: slotRDSStorage, unit: perGBMonth,
			filters: [][2]string{{"productFamily", "Database Storage"}, {"volumeType", "General Purpose"},
				{"deploymentOption", "Single-AZ"}, {"databaseEngine", "Any"}},
			usage: map[string]string{"RDS:GP2-Storage": ""}})
	}
	for _, t := range req.CacheNodeTypes {
		qs = append(qs, query{what: "ElastiCache " + t, service: "AmazonElastiCache", slot: slotCache, unit: perHour,
			filters: [][2]string{{"productFamily", "Cache Instance"}, {"instanceType", t}, {"cacheEngine", "Redis"}},
			usage:   map[string]string{"NodeUsage:" + t: t}})
	}
	qs = append(qs,
		query{what: "EBS volume storage", service: "AmazonEC2", slot: slotEBSGB, unit: perGBMonth,
			filters: [][2]string{{"productFamily", "Storage"}}, usage: ebsStorageUsage},
		query{what: "EBS provisioned IOPS", service: "AmazonEC2", slot: slotEBSIOPS, unit: perIOPSMonth,
			filters: [][2]string{{"productFamily", "System Operation"}}, usage: ebsIOPSUsage},
		query{what: "EBS provisioned throughput", service: "AmazonEC2", slot: slotEBSThroughput, unit: perMBpsMonth,
			filters: [][2]string{{"productFamily", "Provisioned Throughput"}}, usage: ebsThroughputUsage},
		query{what: "EBS snapshot storage", service: "AmazonEC2", slot: slotSnapshot, unit: perGBMonth,
			filters: [][2]string{{"productFamily", "Storage Snapshot"}}, usage: map[string]string{"EBS:SnapshotUsage": ""}},
		query{what: "public IPv4 address", service: "AmazonVPC", slot: slotPublicIPv4, unit: perHour,
			filters: [][2]string{{"group", "VPCPublicIPv4Address"}}, usage: map[string]string{"PublicIPv4:InUseAddress": ""}},
		query{what: "NAT gateway hours", service: "AmazonEC2", slot: slotNAT, unit: perHour,
			filters: [][2]string{{"productFamily", "NAT Gateway"}}, usage: map[string]string{"NatGateway-Hours": ""}},
		query{what: "interface endpoint hours", service: "AmazonVPC", slot: slotEndpoint, unit: perHour,
			filters: [][2]string{{"productFamily", "VpcEndpoint"}}, usage: map[string]string{"VpcEndpoint-Hours": ""}},
		query{what: "DynamoDB read capacity", service: "AmazonDynamoDB", slot: slotDynamoRead, unit: perHour,
			filters: [][2]string{{"productFamily", "Provisioned IOPS"}, {"group", "DDB-ReadUnits"}},
			usage:   map[string]string{"ReadCapacityUnit-Hrs": ""}},
		query{what: "DynamoDB write capacity", service: "AmazonDynamoDB", slot: slotDynamoWrite, unit: perHour,
			filters: [][2]string{{"productFamily", "Provisioned IOPS"}, {"group", "DDB-WriteUnits"}},
			usage:   map[string]string{"WriteCapacityUnit-Hrs": ""}},
		query{what: "CloudWatch Logs storage", service: "AmazonCloudWatch", slot: slotLogs, unit: perGBMonth,
			filters: [][2]string{{"productFamily", "Storage Snapshot"}}, usage: map[string]string{"TimedStorage-ByteHrs": ""}},
	)
	for _, lb := range slices.Sorted(maps.Keys(lbFamilies)) {
		qs = append(qs, query{what: lb + " load balancer hours", service: "AWSELB", slot: slotLB, unit: perHour,
			filters: [][2]string{{"productFamily", lbFamilies[lb]}}, usage: map[string]string{"LoadBalancerUsage": lb}})
	}
	return qs
}

// found is one price a query found.
type found struct {
	key string
	usd float64
	sku string
}

// Generate builds a price table for req from the Price List API. It asks
// GetProducts one question per price family and region (per type for EC2,
// RDS and ElastiCache), following every page, at most queryConcurrency at
// once. A price the answer lacks stays out of the table, so the table
// reports it unknown, never zero (a map has no entry; a single-valued price
// stays 0, which the pricing.Table methods read as unknown; an RDS class without
// the storage price, or a gp3/io1/io2 volume without its IOPS or
// throughput price, is left out too). A region with no price at all is an
// error, as is an answer that is not Price List JSON or that prices the
// same item twice differently. The first GetProducts error cancels the
// rest and is returned.
func Generate(ctx context.Context, api PriceListAPI, req Request) (*pricing.Table, error) {
	if len(req.Regions) == 0 {
		return nil, errors.New("pricing: no regions to price")
	}
	if req.AsOf.IsZero() {
		return nil, errors.New("pricing: the request has no as-of date")
	}
	for _, r := range req.Regions {
		if strings.TrimSpace(r) == "" {
			return nil, errors.New("pricing: empty region name")
		}
	}
	qs := queries(req)
	results := make([][][]found, len(req.Regions)) // region, query, prices
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(queryConcurrency)
	for ri, region := range req.Regions {
		results[ri] = make([][]found, len(qs))
		for qi, q := range qs {
			g.Go(func() error {
				prices, err := ask(gctx, api, q, region)
				if err != nil {
					return fmt.Errorf("pricing: %s in %s: %w", q.what, region, err)
				}
				results[ri][qi] = prices
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	t := &pricing.Table{
		AsOf:          req.AsOf.UTC().Format(time.DateOnly),
		Source:        Source,
		HoursPerMonth: hoursPerMonth,
		Regions:       make(map[string]pricing.Regional, len(req.Regions)),
	}
	for ri, region := range req.Regions {
		r, n, err := assemble(qs, results[ri])
		if err != nil {
			return nil, fmt.Errorf("pricing: %s: %w", region, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("pricing: no prices found for region %q (is it a region code, like us-east-1?)", region)
		}
		t.Regions[region] = r
	}
	return t, nil
}

// assemble places one region's prices and returns how many it placed.
func assemble(qs []query, results [][]found) (pricing.Regional, int, error) {
	type at struct {
		slot slot
		key  string
	}
	prices := map[at]found{}
	for qi, q := range qs {
		for _, f := range results[qi] {
			k := at{q.slot, f.key}
			if prev, dup := prices[k]; dup && prev.usd != f.usd {
				what := q.what
				if f.key != "" && !strings.Contains(what, f.key) {
					what += " " + f.key
				}
				return pricing.Regional{}, 0, fmt.Errorf("%s: two prices: SKU %s $%g and SKU %s $%g (a filter is too loose)",
					what, prev.sku, prev.usd, f.sku, f.usd)
			}
			prices[k] = f
		}
	}
	get := func(s slot, key string) (float64, bool) {
		f, ok := prices[at{s, key}]
		return f.usd, ok
	}
	scalar := func(s slot) float64 { v, _ := get(s, ""); return v }
	r := pricing.Regional{
		EC2: map[string]float64{}, RDS: map[string]float64{}, EBSGBMonth: map[string]float64{},
		EBSIOPSMonth: map[string]float64{}, EBSThroughputMBpsMonth: map[string]float64{},
		LoadBalancerHour: map[string]float64{}, ElastiCache: map[string]float64{},
		PublicIPv4Hour:          scalar(slotPublicIPv4),
		NATGatewayHour:          scalar(slotNAT),
		EBSSnapshotGBMonth:      scalar(slotSnapshot),
		InterfaceEndpointAZHour: scalar(slotEndpoint),
		DynamoDBRCUHour:         scalar(slotDynamoRead),
		DynamoDBWCUHour:         scalar(slotDynamoWrite),
		LogsStorageGBMonth:      scalar(slotLogs),
		RDSStorageGBMonth:       scalar(slotRDSStorage),
	}
	maps := map[slot]map[string]float64{
		slotEC2: r.EC2, slotRDS: r.RDS, slotEBSGB: r.EBSGBMonth, slotEBSIOPS: r.EBSIOPSMonth,
		slotEBSThroughput: r.EBSThroughputMBpsMonth, slotLB: r.LoadBalancerHour, slotCache: r.ElastiCache,
	}
	for k, f := range prices {
		if m, ok := maps[k.slot]; ok {
			m[k.key] = f.usd
		}
	}
	// RDSInstance adds storage to the instance price: without the storage
	// price every DB instance would be understated, so none is priced.
	if r.RDSStorageGBMonth == 0 {
		clear(r.RDS)
	}
	for vt, needs := range ebsNeeds {
		for _, s := range needs {
			if _, ok := get(s, vt); !ok {
				delete(r.EBSGBMonth, vt)
			}
		}
	}
	return r, len(prices), nil
}

// ask runs one query for one region, following every page.
func ask(ctx context.Context, api PriceListAPI, q query, region string) ([]found, error) {
	filters := []pltypes.Filter{termMatch("regionCode", region)}
	for _, f := range q.filters {
		filters = append(filters, termMatch(f[0], f[1]))
	}
	in := &pricelist.GetProductsInput{
		ServiceCode:   aws.String(q.service),
		Filters:       filters,
		FormatVersion: aws.String("aws_v1"),
		MaxResults:    aws.Int32(pageSize),
	}
	var out []found
	item := 0
	for p := pricelist.NewGetProductsPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, doc := range page.PriceList {
			item++
			f, ok, err := price(q, region, doc)
			if err != nil {
				return nil, fmt.Errorf("PriceList item %d: %w", item, err)
			}
			if ok {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

func termMatch(field, value string) pltypes.Filter {
	return pltypes.Filter{Type: pltypes.FilterTypeTermMatch, Field: aws.String(field), Value: aws.String(value)}
}

// product is the part of a Price List product document Generate reads
// (FormatVersion aws_v1: product, serviceCode, terms, version,
// publicationDate).
type product struct {
	Product *struct {
		ProductFamily string            `json:"productFamily"`
		Attributes    map[string]string `json:"attributes"`
		SKU           string            `json:"sku"`
	} `json:"product"`
	Terms struct {
		OnDemand map[string]struct {
			PriceDimensions map[string]dimension `json:"priceDimensions"`
		} `json:"OnDemand"`
	} `json:"terms"`
}

type dimension struct {
	Unit         string            `json:"unit"`
	BeginRange   string            `json:"beginRange"`
	PricePerUnit map[string]string `json:"pricePerUnit"`
}

// usagePrefix is a usage type's region prefix: USE2-, EUC1-, APN1-, UGW1-,
// and EU- for eu-west-1. us-east-1 usage types often have none. A prefix
// needs a digit (or is EU), so TS-LoadBalancerUsage keeps its TS-.
var usagePrefix = regexp.MustCompile(`^(?:[A-Z]{2,4}[0-9]|EU)-`)

// price reads one PriceList document: the query's price, ok false when the
// product is not the query's (another usage type, a Local Zone, a Capacity
// Block, no positive on-demand price in the wanted unit), or an error when
// the document is not Price List JSON.
func price(q query, region, doc string) (found, bool, error) {
	var p product
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return found{}, false, fmt.Errorf("not a Price List product document: %v", err)
	}
	if p.Product == nil || p.Product.Attributes == nil {
		return found{}, false, errors.New("not a Price List product document: no product attributes")
	}
	a := p.Product.Attributes
	if rc := a["regionCode"]; rc != "" && rc != region {
		return found{}, false, nil
	}
	if lt := a["locationType"]; lt != "" && lt != "AWS Region" {
		return found{}, false, nil // Local Zone, Wavelength, Outposts
	}
	if mo := a["marketoption"]; mo != "" && mo != "OnDemand" {
		return found{}, false, nil // EC2 Capacity Blocks
	}
	key, ok := q.usage[usagePrefix.ReplaceAllString(a["usagetype"], "")]
	if !ok {
		return found{}, false, nil
	}
	usd, ok, err := onDemand(p, q.unit)
	if err != nil || !ok {
		return found{}, false, err
	}
	return found{key: key, usd: usd, sku: p.Product.SKU}, true, nil
}

// onDemand is the product's on-demand USD price per the wanted unit: the
// lowest-starting positive tier (a $0 free tier before it is skipped).
func onDemand(p product, want unitKind) (float64, bool, error) {
	type tier struct {
		begin, usd float64
		code       string
	}
	var tiers []tier
	for termCode, term := range p.Terms.OnDemand {
		for code, d := range term.PriceDimensions {
			scale, ok := unitScale(d.Unit, want)
			if !ok {
				continue
			}
			s, ok := d.PricePerUnit["USD"]
			if !ok {
				continue
			}
			usd, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, false, fmt.Errorf("OnDemand term %s: price %q is not a number", termCode, s)
			}
			if usd <= 0 {
				continue
			}
			begin := 0.0
			if d.BeginRange != "" {
				if begin, err = strconv.ParseFloat(d.BeginRange, 64); err != nil {
					return 0, false, fmt.Errorf("OnDemand term %s: beginRange %q is not a number", termCode, d.BeginRange)
				}
			}
			tiers = append(tiers, tier{begin, usd * scale, code})
		}
	}
	if len(tiers) == 0 {
		return 0, false, nil
	}
	sort.Slice(tiers, func(i, j int) bool {
		if tiers[i].begin != tiers[j].begin {
			return tiers[i].begin < tiers[j].begin
		}
		return tiers[i].code < tiers[j].code
	})
	return tiers[0].usd, true, nil
}

// unitScale says whether a price dimension's unit is the wanted one and what
// turns its price into the table's unit.
func unitScale(unit string, want unitKind) (float64, bool) {
	u := strings.ToLower(unit)
	switch want {
	case perHour:
		// DynamoDB says ReadCapacityUnit-Hrs, everything else Hrs.
		return 1, u == "hrs" || u == "hours" || strings.HasSuffix(u, "-hrs")
	case perGBMonth:
		return 1, u == "gb-mo" || u == "gb-month"
	case perIOPSMonth:
		return 1, u == "iops-mo" || u == "iops-month"
	case perMBpsMonth:
		switch u {
		case "gibps-mo", "gibps-month":
			return 1.0 / 1024, true // gp3 throughput is listed per GiBps-month
		case "mibps-mo", "mbps-mo", "mibps-month", "mbps-month":
			return 1, true
		}
	}
	return 0, false
}

// Missing lists what req asked for that t has no price for, one
// "region: what" line each, so a refresh can say what stays unknown.
func Missing(t *pricing.Table, req Request) []string {
	var out []string
	for _, region := range req.Regions {
		r, ok := t.Region(region)
		if !ok {
			out = append(out, region+": every price")
			continue
		}
		miss := func(what string) { out = append(out, region+": "+what) }
		for _, it := range req.InstanceTypes {
			if _, ok := r.EC2[it]; !ok {
				miss("EC2 " + it)
			}
		}
		for _, c := range req.DBClasses {
			if _, ok := r.RDS[c]; !ok {
				miss("RDS " + c)
			}
		}
		if len(req.DBClasses) > 0 && r.RDSStorageGBMonth == 0 {
			miss("RDS gp2 storage (so every RDS class)")
		}
		for _, n := range req.CacheNodeTypes {
			if _, ok := r.ElastiCache[n]; !ok {
				miss("ElastiCache " + n)
			}
		}
		for _, vt := range slices.Sorted(maps.Values(ebsStorageUsage)) {
			if _, ok := r.EBSGBMonth[vt]; !ok {
				miss("EBS " + vt)
			}
		}
		for _, lb := range slices.Sorted(maps.Keys(lbFamilies)) {
			if _, ok := r.LoadBalancerHour[lb]; !ok {
				miss(lb + " load balancer")
			}
		}
		for _, s := range []struct {
			what string
			v    float64
		}{
			{"public IPv4", r.PublicIPv4Hour}, {"NAT gateway", r.NATGatewayHour}, {"EBS snapshots", r.EBSSnapshotGBMonth},
			{"interface endpoints", r.InterfaceEndpointAZHour}, {"DynamoDB read capacity", r.DynamoDBRCUHour},
			{"DynamoDB write capacity", r.DynamoDBWCUHour}, {"CloudWatch Logs storage", r.LogsStorageGBMonth},
		} {
			if s.v == 0 {
				miss(s.what)
			}
		}
	}
	return out
}
