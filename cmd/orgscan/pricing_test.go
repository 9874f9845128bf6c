package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awspricing "github.com/aws/aws-sdk-go-v2/service/pricing"

	"github.com/orgscan/orgscan/pkg/pricing"
	"github.com/orgscan/orgscan/pkg/pricing/pricelist"
)

func TestPricingShow(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runApp(t, "pricing", "show")
	if code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, stderr)
	}
	def := pricing.Default()
	for _, want := range []string{"as of:           " + def.AsOf, def.Source, "REGION", "EC2 TYPES", "UNPRICED"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for r := range def.Regions {
		if !strings.Contains(stdout, "\n"+r+" ") {
			t.Errorf("stdout lacks region %s:\n%s", r, stdout)
		}
	}
}

// Bad input exits 2 with one line naming it, before any AWS call.
func TestPricingBadInputExits2WithOneLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pricing"}, "refresh or show"},
		{[]string{"pricing", "frobnicate"}, `"frobnicate"`},
		{[]string{"pricing", "show", "extra"}, `"extra"`},
		{[]string{"pricing", "show", "--json"}, "json"},
		{[]string{"pricing", "refresh", "--bogus"}, "bogus"},
		{[]string{"pricing", "refresh", "extra"}, `"extra"`},
		{[]string{"pricing", "refresh", "--regions", "us-east-1,mars"}, `"mars"`},
		{[]string{"pricing", "refresh", "--regions", ","}, `","`},
		{[]string{"pricing", "refresh", "--out", "/no/such/dir/prices.json"}, `"/no/such/dir"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runApp(t, tc.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "orgscan pricing: ") || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q: want one line naming %s", stderr, tc.want)
			}
			if stdout != "" {
				t.Fatalf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// oneEC2Price is a Price List that knows one price: Linux m5.large in
// us-east-1.
type oneEC2Price struct{}

func (oneEC2Price) GetProducts(_ context.Context, in *awspricing.GetProductsInput, _ ...func(*awspricing.Options)) (*awspricing.GetProductsOutput, error) {
	f := map[string]string{}
	for _, fl := range in.Filters {
		f[aws.ToString(fl.Field)] = aws.ToString(fl.Value)
	}
	if aws.ToString(in.ServiceCode) != "AmazonEC2" || f["instanceType"] != "m5.large" || f["regionCode"] != "us-east-1" {
		return &awspricing.GetProductsOutput{}, nil
	}
	doc := `{"product":{"productFamily":"Compute Instance","attributes":{"instanceType":"m5.large","regionCode":"us-east-1",` +
		`"usagetype":"BoxUsage:m5.large","operatingSystem":"Linux","tenancy":"Shared","locationType":"AWS Region"},"sku":"S"},` +
		`"terms":{"OnDemand":{"S.T":{"priceDimensions":{"S.T.D":{"unit":"Hrs","beginRange":"0","pricePerUnit":{"USD":"0.0960000000"}}}}}}}`
	return &awspricing.GetProductsOutput{PriceList: []string{doc}}, nil
}

// Not parallel: it replaces the package's Price List constructor.
func TestPricingRefreshWritesTable(t *testing.T) {
	prev := newPriceListAPI
	t.Cleanup(func() { newPriceListAPI = prev })
	newPriceListAPI = func(context.Context, string) (pricelist.PriceListAPI, error) { return oneEC2Price{}, nil }

	out := filepath.Join(t.TempDir(), "prices.json")
	code, stdout, stderr := runApp(t, "pricing", "refresh", "--regions", "us-east-1", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d; stderr %q", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q: the table goes to --out", stdout)
	}
	if !strings.Contains(stderr, "priced 1 regions") || !strings.Contains(stderr, "us-east-1: NAT gateway") {
		t.Errorf("stderr %q: want the summary and what stays unknown", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var tab pricing.Table
	if err := json.Unmarshal(b, &tab); err != nil {
		t.Fatal(err)
	}
	if c, ok := tab.EC2Instance("us-east-1", "m5.large"); !ok || c != 0.096*730 {
		t.Errorf("m5.large = %v %v", c, ok)
	}
	if _, ok := tab.NATGateway("us-east-1"); ok {
		t.Error("a price the API did not give must be unknown")
	}

	// Without --out the table is the only thing on stdout.
	code, stdout, stderr = runApp(t, "pricing", "refresh", "--regions", "us-east-1")
	if code != exitOK || !json.Valid([]byte(stdout)) {
		t.Fatalf("exit %d, stdout not JSON: %.80q; stderr %q", code, stdout, stderr)
	}
}
