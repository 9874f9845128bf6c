// Package pricing estimates what a wasted resource costs per month, from an
// embedded on-demand price table. A price the table lacks is reported as
// unknown (ok == false), never as zero.
package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

//go:embed prices.json
var pricesJSON []byte

// Table is an on-demand price list for some regions. Hourly prices are USD
// per hour; monthly ones USD per month.
type Table struct {
	AsOf          string              `json:"asOf"`
	Source        string              `json:"source"`
	HoursPerMonth float64             `json:"hoursPerMonth"`
	Regions       map[string]Regional `json:"regions"`
}

// Regional holds one region's prices.
type Regional struct {
	EC2                     map[string]float64 `json:"ec2"` // instance type -> $/hour
	RDS                     map[string]float64 `json:"rds"` // DB instance class -> $/hour, single-AZ
	RDSStorageGBMonth       float64            `json:"rdsStorageGbMonth"`
	EBSGBMonth              map[string]float64 `json:"ebsGbMonth"`             // volume type -> $/GB-month
	EBSIOPSMonth            map[string]float64 `json:"ebsIopsMonth"`           // volume type -> $/provisioned IOPS-month
	EBSThroughputMBpsMonth  map[string]float64 `json:"ebsThroughputMbpsMonth"` // volume type -> $/MBps-month
	PublicIPv4Hour          float64            `json:"publicIpv4Hour"`
	NATGatewayHour          float64            `json:"natGatewayHour"`
	EBSSnapshotGBMonth      float64            `json:"ebsSnapshotGbMonth"`
	LoadBalancerHour        map[string]float64 `json:"loadBalancerHour"` // type (application, network, gateway) -> $/hour
	InterfaceEndpointAZHour float64            `json:"interfaceEndpointAzHour"`
	ElastiCache             map[string]float64 `json:"elasticache"` // node type -> $/hour
	DynamoDBWCUHour         float64            `json:"dynamodbWcuHour"`
	DynamoDBRCUHour         float64            `json:"dynamodbRcuHour"`
	LogsStorageGBMonth      float64            `json:"logsStorageGbMonth"`
}

var (
	defaultOnce  sync.Once
	defaultTable *Table
)

// Default returns the embedded table. It panics if the embedded file is
// malformed, which the package tests rule out.
func Default() *Table {
	defaultOnce.Do(func() {
		t := &Table{}
		if err := json.Unmarshal(pricesJSON, t); err != nil {
			panic(fmt.Sprintf("pricing: embedded prices.json: %v", err))
		}
		defaultTable = t
	})
	return defaultTable
}

// Unknown explains a missing price; checks put it in the finding's reason.
func Unknown(what, region string) string {
	return fmt.Sprintf("no price known for %s in %s", what, region)
}

// Region returns r's prices; a nil table knows no prices.
func (t *Table) Region(r string) (Regional, bool) {
	if t == nil {
		return Regional{}, false
	}
	p, ok := t.Regions[r]
	return p, ok
}

// EC2Instance is the monthly on-demand cost of a running Linux instance.
func (t *Table) EC2Instance(region, instanceType string) (float64, bool) {
	p, ok := t.Region(region)
	if !ok {
		return 0, false
	}
	h, ok := p.EC2[instanceType]
	return h * t.HoursPerMonth, ok
}

// RDSInstance is the monthly cost of a DB instance and its allocated storage;
// Multi-AZ doubles both, as AWS bills a standby of the same size.
func (t *Table) RDSInstance(region, class string, storageGB int32, multiAZ bool) (float64, bool) {
	p, ok := t.Region(region)
	if !ok {
		return 0, false
	}
	h, ok := p.RDS[class]
	if !ok {
		return 0, false
	}
	c := h*t.HoursPerMonth + float64(storageGB)*p.RDSStorageGBMonth
	if multiAZ {
		c *= 2
	}
	return c, true
}

// gp3 includes a 3,000 IOPS and 125 MB/s baseline in its GB price.
const (
	gp3FreeIOPS       = 3000
	gp3FreeThroughput = 125
)

// EBSVolume is the monthly cost of a volume: storage plus the provisioned
// IOPS and throughput that its type bills separately.
func (t *Table) EBSVolume(region, volumeType string, sizeGB, iops, throughputMBps int32) (float64, bool) {
	p, ok := t.Region(region)
	if !ok {
		return 0, false
	}
	gb, ok := p.EBSGBMonth[volumeType]
	if !ok {
		return 0, false
	}
	c := float64(sizeGB) * gb
	if price, billed := p.EBSIOPSMonth[volumeType]; billed {
		extra := iops
		if volumeType == "gp3" {
			extra = max(0, iops-gp3FreeIOPS)
		}
		c += float64(extra) * price
	}
	if price, billed := p.EBSThroughputMBpsMonth[volumeType]; billed {
		c += float64(max(0, throughputMBps-gp3FreeThroughput)) * price
	}
	return c, true
}

// PublicIPv4 is the monthly cost of one public IPv4 address (in use or not).
func (t *Table) PublicIPv4(region string) (float64, bool) {
	p, ok := t.Region(region)
	if !ok || p.PublicIPv4Hour == 0 {
		return 0, false
	}
	return p.PublicIPv4Hour * t.HoursPerMonth, true
}

// NATGateway is the monthly hourly charge of a NAT gateway, without data
// processing (an idle gateway processes none).
func (t *Table) NATGateway(region string) (float64, bool) {
	p, ok := t.Region(region)
	if !ok || p.NATGatewayHour == 0 {
		return 0, false
	}
	return p.NATGatewayHour * t.HoursPerMonth, true
}

// EBSSnapshot is the monthly storage cost of a snapshot of sizeGB (its
// source volume's size: an upper bound, snapshots being incremental).
func (t *Table) EBSSnapshot(region string, sizeGB int32) (float64, bool) {
	p, ok := t.Region(region)
	if !ok || p.EBSSnapshotGBMonth == 0 {
		return 0, false
	}
	return float64(sizeGB) * p.EBSSnapshotGBMonth, true
}

// LoadBalancer is the monthly hourly charge of a load balancer of the given
// type (application, network, gateway), without capacity units (an idle
// one uses none).
func (t *Table) LoadBalancer(region, lbType string) (float64, bool) {
	p, ok := t.Region(region)
	if !ok {
		return 0, false
	}
	h, ok := p.LoadBalancerHour[lbType]
	return h * t.HoursPerMonth, ok
}

// InterfaceEndpoint is the monthly charge of an interface VPC endpoint in
// azs Availability Zones, without data processing.
func (t *Table) InterfaceEndpoint(region string, azs int) (float64, bool) {
	p, ok := t.Region(region)
	if !ok || p.InterfaceEndpointAZHour == 0 || azs < 1 {
		return 0, false
	}
	return float64(azs) * p.InterfaceEndpointAZHour * t.HoursPerMonth, true
}

// CacheNodes is the monthly charge of nodes ElastiCache nodes of a type.
func (t *Table) CacheNodes(region, nodeType string, nodes int32) (float64, bool) {
	p, ok := t.Region(region)
	if !ok {
		return 0, false
	}
	h, ok := p.ElastiCache[nodeType]
	return h * float64(nodes) * t.HoursPerMonth, ok
}

// DynamoDBProvisioned is the monthly charge of provisioned read and write
// capacity units.
func (t *Table) DynamoDBProvisioned(region string, rcu, wcu int64) (float64, bool) {
	p, ok := t.Region(region)
	if !ok || p.DynamoDBWCUHour == 0 || p.DynamoDBRCUHour == 0 {
		return 0, false
	}
	return (float64(rcu)*p.DynamoDBRCUHour + float64(wcu)*p.DynamoDBWCUHour) * t.HoursPerMonth, true
}

// LogsStorage is the monthly cost of storing bytes in CloudWatch Logs.
func (t *Table) LogsStorage(region string, bytes int64) (float64, bool) {
	p, ok := t.Region(region)
	if !ok || p.LogsStorageGBMonth == 0 {
		return 0, false
	}
	return float64(bytes) / (1 << 30) * p.LogsStorageGBMonth, true
}

// USD formats dollars with cents and thousands separators: $12,345.60.
func USD(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, cents, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + "$" + b.String() + "." + cents
}

// Encode writes t as prices.json is written: keys sorted, one-space indent,
// so a generated table can replace the embedded file and diff cleanly.
func (t *Table) Encode() ([]byte, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var generic map[string]any // maps marshal with sorted keys
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(generic, "", " ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
