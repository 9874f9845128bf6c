package finding

import "testing"

func TestSuppress(t *testing.T) {
	t.Parallel()
	base := Finding{CheckID: "ec2-idle-instance", AccountID: "111111111111", Region: "eu-west-1", ResourceID: "i-0abc",
		ResourceARN: "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc", Tags: map[string]string{"env": "dev-3", "team": "data"}, Status: Open}
	for _, tc := range []struct {
		name string
		tags map[string]string
		ex   []Exclusion
		want Status
	}{
		{"no rule", nil, nil, Open},
		{"tag names the check", map[string]string{IgnoreTag: "ec2-idle-instance"}, nil, Suppressed},
		{"tag names another check only", map[string]string{IgnoreTag: "ebs-unattached-volume"}, nil, Open},
		{"tag lists several", map[string]string{IgnoreTag: "ebs-unattached-volume, ec2-idle-instance"}, nil, Suppressed},
		{"tag true", map[string]string{IgnoreTag: "true"}, nil, Suppressed},
		{"tag false", map[string]string{IgnoreTag: "false"}, nil, Open},
		{"exclusion by account and region", nil, []Exclusion{{Accounts: []string{"111111111111"}, Regions: []string{"eu-west-1"}}}, Suppressed},
		{"exclusion other region", nil, []Exclusion{{Accounts: []string{"111111111111"}, Regions: []string{"us-east-1"}}}, Open},
		{"exclusion by resource glob", nil, []Exclusion{{Resources: []string{"i-0a*"}}}, Suppressed},
		{"exclusion by ARN glob", nil, []Exclusion{{Resources: []string{"arn:aws:ec2:*:*:instance/i-0abc"}}}, Suppressed},
		{"exclusion by tag glob", nil, []Exclusion{{Tags: map[string]string{"env": "dev-*"}}}, Suppressed},
		{"exclusion tag missing", nil, []Exclusion{{Tags: map[string]string{"owner": "*"}}}, Open},
		{"exclusion other check", nil, []Exclusion{{Checks: []string{"rds-idle-instance"}, Resources: []string{"*"}}}, Open},
		{"empty exclusion matches nothing", nil, []Exclusion{{}}, Open},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := base
			f.Tags = map[string]string{}
			for k, v := range base.Tags {
				f.Tags[k] = v
			}
			for k, v := range tc.tags {
				f.Tags[k] = v
			}
			Suppress(&f, tc.ex, TagPolicy{})
			if f.Status != tc.want {
				t.Fatalf("status %s, want %s", f.Status, tc.want)
			}
			if (f.Status == Suppressed) != (f.SuppressedBy != "") {
				t.Fatalf("suppressedBy %q with status %s", f.SuppressedBy, f.Status)
			}
		})
	}
}

func TestExclusionValidate(t *testing.T) {
	t.Parallel()
	if err := (Exclusion{}).Validate(); err == nil {
		t.Error("empty exclusion accepted")
	}
	if err := (Exclusion{Resources: []string{"i-[abc"}}).Validate(); err == nil {
		t.Error("bad glob accepted")
	}
	if err := (Exclusion{Tags: map[string]string{"env": "[x"}}).Validate(); err == nil {
		t.Error("bad tag glob accepted")
	}
	if err := (Exclusion{Regions: []string{"eu-west-1"}}).Validate(); err != nil {
		t.Error(err)
	}
}
