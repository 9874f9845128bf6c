package pricing

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestDefaultTable(t *testing.T) {
	t.Parallel()
	p := Default()
	if p.AsOf == "" || p.Source == "" || p.HoursPerMonth != 730 || len(p.Regions) == 0 {
		t.Fatalf("table header incomplete: %+v", p)
	}
	for r, rp := range p.Regions {
		if len(rp.EC2) == 0 || len(rp.RDS) == 0 || len(rp.EBSGBMonth) == 0 || rp.NATGatewayHour == 0 || rp.PublicIPv4Hour == 0 {
			t.Errorf("region %s lacks a price family", r)
		}
	}
}

func TestEstimates(t *testing.T) {
	t.Parallel()
	p := Default()
	if c, ok := p.EC2Instance("us-east-1", "m5.large"); !ok || !near(c, 0.096*730) {
		t.Errorf("m5.large = %v %v", c, ok)
	}
	if _, ok := p.EC2Instance("us-east-1", "x9.huge"); ok {
		t.Error("unknown type must be unknown")
	}
	if _, ok := p.EC2Instance("mars-north-1", "m5.large"); ok {
		t.Error("unknown region must be unknown")
	}
	// gp3 bills IOPS above 3000 and throughput above 125 MB/s.
	if c, ok := p.EBSVolume("us-east-1", "gp3", 100, 4000, 250); !ok || !near(c, 100*0.08+1000*0.005+125*0.04) {
		t.Errorf("gp3 = %v", c)
	}
	if c, _ := p.EBSVolume("us-east-1", "gp3", 100, 3000, 125); !near(c, 8) {
		t.Errorf("gp3 baseline = %v", c)
	}
	if c, _ := p.EBSVolume("us-east-1", "io1", 100, 1000, 0); !near(c, 12.5+65) {
		t.Errorf("io1 = %v", c)
	}
	if c, _ := p.EBSVolume("us-east-1", "gp2", 100, 300, 0); !near(c, 10) {
		t.Errorf("gp2 = %v (IOPS are included)", c)
	}
	if c, ok := p.RDSInstance("us-east-1", "db.t3.micro", 20, true); !ok || !near(c, 2*(0.017*730+20*0.115)) {
		t.Errorf("rds multi-az = %v", c)
	}
	if c, _ := p.PublicIPv4("eu-west-1"); !near(c, 3.65) {
		t.Errorf("ipv4 = %v", c)
	}
	if c, _ := p.NATGateway("us-east-1"); !near(c, 32.85) {
		t.Errorf("nat = %v", c)
	}
}

func TestNilTableKnowsNoPrice(t *testing.T) {
	t.Parallel()
	var p *Table
	if _, ok := p.EC2Instance("us-east-1", "m5.large"); ok {
		t.Fatal("a nil table must know no price")
	}
	if _, ok := p.NATGateway("us-east-1"); ok {
		t.Fatal("a nil table must know no price")
	}
}
