package main

import (
	"reflect"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/orgscan/orgscan/pkg/checks"
)

func TestMemberRole(t *testing.T) {
	s := synth(t)
	tmpl := s.memberJSON
	// A StackSet template: nothing that needs a bootstrapped account.
	if _, ok := tmpl["Rules"]; ok {
		t.Errorf("member template has Rules (the CDK bootstrap version check?): %s", js(tmpl["Rules"]))
	}
	params := tmpl["Parameters"].(map[string]any)
	if len(params) != 2 || params["PipelineAccountId"] == nil || params["ExternalId"] == nil {
		t.Errorf("member template parameters %s, want PipelineAccountId and ExternalId", js(params))
	}
	if d := params["PipelineAccountId"].(map[string]any)["Default"]; d != testAccount {
		t.Errorf("PipelineAccountId default %v, want the context value %s", d, testAccount)
	}
	if d := params["ExternalId"].(map[string]any)["Default"]; d != testExternalID {
		t.Errorf("ExternalId default %v, want the context value %s", d, testExternalID)
	}
	if n := len(tmpl["Resources"].(map[string]any)); n != 1 {
		t.Errorf("member template has %d resources, want the role only", n)
	}
	assert(t, "one role", func() { s.memberT.ResourceCountIs(jsii.String("AWS::IAM::Role"), jsii.Number(1)) })

	_, r := only(t, tmpl, "AWS::IAM::Role")
	p := props(r)
	if p["RoleName"] != "OrgScanMember" {
		t.Errorf("role name %v", p["RoleName"])
	}
	trust := statements(p["AssumeRolePolicyDocument"])
	want := []map[string]any{{
		"Action":    "sts:AssumeRole",
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${PipelineAccountId}:role/orgscan-collector"}},
		"Condition": map[string]any{"StringEquals": map[string]any{"sts:ExternalId": map[string]any{"Ref": "ExternalId"}}},
	}}
	if !reflect.DeepEqual(trust, want) {
		t.Errorf("trust policy %s, want %s", js(trust), js(want))
	}
	pols := p["Policies"].([]any)
	if len(pols) != 1 || p["ManagedPolicyArns"] != nil {
		t.Fatalf("policies %s, managed %v: want the one inline policy", js(pols), p["ManagedPolicyArns"])
	}
	pol := pols[0].(map[string]any)
	st := statements(pol["PolicyDocument"])
	if pol["PolicyName"] != MemberPolicyName || len(st) != 1 {
		t.Fatalf("policy %s", js(pol))
	}
	if got, want := strs(st[0]["Action"]), checks.Actions(checks.All()); !reflect.DeepEqual(got, want) {
		t.Errorf("member role actions\n got %v\nwant %v (checks.Actions(checks.All()))", got, want)
	}
	if st[0]["Effect"] != "Allow" || st[0]["Resource"] != "*" || st[0]["Condition"] != nil {
		t.Errorf("member role statement %s", js(st[0]))
	}
}
