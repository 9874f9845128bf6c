package doctor

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMissingActions(t *testing.T) {
	t.Parallel()
	want := []string{"ec2:DescribeVolumes", "ec2:DescribeRegions", "cloudwatch:GetMetricData", "rds:DescribeDBInstances"}
	for _, tc := range []struct {
		name, doc string
		missing   []string
		bad       bool
	}{
		{name: "every action", doc: `{"Statement":[{"Effect":"Allow","Action":["ec2:DescribeVolumes","ec2:DescribeRegions","cloudwatch:GetMetricData","rds:DescribeDBInstances"],"Resource":"*"}]}`},
		{name: "one statement object, one action string", doc: `{"Statement":{"Effect":"Allow","Action":"ec2:DescribeVolumes","Resource":"*"}}`,
			missing: []string{"ec2:DescribeRegions", "cloudwatch:GetMetricData", "rds:DescribeDBInstances"}},
		{name: "wildcards, any case", doc: `{"Statement":[{"Effect":"Allow","Action":["EC2:Describe*","cloudwatch:Get?etricData","rds:*"]}]}`},
		{name: "deny does not allow", doc: `{"Statement":[{"Effect":"Deny","Action":"*"},{"Effect":"Allow","Action":"ec2:*"}]}`,
			missing: []string{"cloudwatch:GetMetricData", "rds:DescribeDBInstances"}},
		{name: "not JSON", doc: `Statement`, bad: true},
		{name: "bad escape", doc: `%zz`, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, doc := range []string{tc.doc, url.PathEscape(tc.doc), strings.ReplaceAll(url.QueryEscape(tc.doc), "+", "%20")} {
				got, err := missingActions(doc, want)
				if (err != nil) != tc.bad {
					t.Fatalf("%s: err %v", doc, err)
				}
				if d := cmp.Diff(tc.missing, got); d != "" && !tc.bad {
					t.Fatalf("%s (-want +got):\n%s", doc, d)
				}
			}
		})
	}
}
