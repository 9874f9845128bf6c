package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/deployconfig"
)

// join renders CDK's {"Fn::Join": ["", [...]]} of literals and Refs as a
// string with ${Ref} for each reference.
func join(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		s, _ := v.(string)
		return s
	}
	if r, ok := m["Ref"].(string); ok {
		return "${" + r + "}"
	}
	parts := m["Fn::Join"].([]any)[1].([]any)
	out := ""
	for _, p := range parts {
		out += join(p)
	}
	return out
}

// checkMemberRole checks a member role template: the trust (the pipeline
// account's root, with the collector role's ARN as aws:PrincipalArn and the
// external ID), the read-only policy exactly checks.Policy, and the
// doctor's preflight policy.
func checkMemberRole(t *testing.T, where string, tmpl map[string]any, roleName, pipelineAccount, externalID string) {
	t.Helper()
	if _, ok := tmpl["Rules"]; ok {
		t.Errorf("%s: template has Rules (the CDK bootstrap version check?): member accounts are not bootstrapped", where)
	}
	if n := len(tmpl["Resources"].(map[string]any)); n != 1 {
		t.Errorf("%s: %d resources, want the role only", where, n)
	}
	_, r := only(t, tmpl, "AWS::IAM::Role")
	p := props(r)
	if p["RoleName"] != roleName || p["MaxSessionDuration"] != float64(3600) {
		t.Errorf("%s: role name %v, session %v", where, p["RoleName"], p["MaxSessionDuration"])
	}
	trust := statements(p["AssumeRolePolicyDocument"])
	if len(trust) != 1 {
		t.Fatalf("%s: trust policy %s", where, js(trust))
	}
	st := trust[0]
	principal := join(st["Principal"].(map[string]any)["AWS"])
	cond := st["Condition"].(map[string]any)
	var arns []string
	for _, a := range cond["ArnEquals"].(map[string]any)["aws:PrincipalArn"].([]any) {
		arns = append(arns, join(a))
	}
	arn := strings.Join(arns, " ")
	ext := join(cond["StringEquals"].(map[string]any)["sts:ExternalId"])
	if st["Action"] != "sts:AssumeRole" || st["Effect"] != "Allow" || len(cond) != 2 ||
		principal != "arn:${AWS::Partition}:iam::"+pipelineAccount+":root" ||
		arn != "arn:${AWS::Partition}:iam::"+pipelineAccount+":role/orgscan-collector arn:${AWS::Partition}:iam::"+pipelineAccount+":role/orgscan-doctor" ||
		ext != externalID {
		t.Errorf("%s: trust %s: principal %s, aws:PrincipalArn %s, sts:ExternalId %s", where, js(st), principal, arn, ext)
	}
	pols := map[string][]map[string]any{}
	for _, pol := range p["Policies"].([]any) {
		pol := pol.(map[string]any)
		pols[pol["PolicyName"].(string)] = statements(pol["PolicyDocument"])
	}
	if len(pols) != 2 || p["ManagedPolicyArns"] != nil {
		t.Fatalf("%s: policies %s, managed %v", where, js(pols), p["ManagedPolicyArns"])
	}
	ro := pols[MemberPolicyName]
	if len(ro) != 1 || !reflect.DeepEqual(strs(ro[0]["Action"]), checks.Actions(checks.All())) || ro[0]["Resource"] != "*" || ro[0]["Condition"] != nil {
		t.Errorf("%s: read-only policy %s, want checks.Actions(checks.All()) on *", where, js(ro))
	}
	pre := pols[deployconfig.PreflightPolicyName]
	if len(pre) != 2 || pre[0]["Action"] != "ec2:DescribeRegions" || pre[0]["Resource"] != "*" ||
		pre[1]["Action"] != "iam:GetRolePolicy" || join(pre[1]["Resource"]) != "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"+roleName {
		t.Errorf("%s: preflight policy %s", where, js(pre))
	}
}

// TestStackSet: the service-managed StackSet, auto-deployed to the
// targets, its template the member role, its parameters the pipeline
// account and the external ID from SSM.
func TestStackSet(t *testing.T) {
	for _, tc := range []struct {
		config, callAs string
		targets        []any
	}{
		{exampleConfig, "SELF", []any{"r-a1b2"}},
		{delegatedConfig, "DELEGATED_ADMIN", []any{"ou-ab12-cdef3456", "ou-ab12-99999999"}},
	} {
		s := synthWith(t, tc.config)
		tmpl := s.json[StackSetStackName]
		_, r := only(t, tmpl, "AWS::CloudFormation::StackSet")
		p := props(r)
		body := p["TemplateBody"].(string)
		delete(p, "TemplateBody")
		want := map[string]any{
			"StackSetName":     StackSetName,
			"Description":      "orgscan: the read-only member role in every account of the targets",
			"PermissionModel":  "SERVICE_MANAGED",
			"CallAs":           tc.callAs,
			"AutoDeployment":   map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
			"Capabilities":     []any{"CAPABILITY_NAMED_IAM"},
			"ManagedExecution": map[string]any{"Active": true},
			"OperationPreferences": map[string]any{
				"FailureTolerancePercentage": float64(10), "MaxConcurrentPercentage": float64(25), "RegionConcurrencyType": "PARALLEL"},
			"Parameters": []any{
				map[string]any{"ParameterKey": "PipelineAccountId", "ParameterValue": map[string]any{"Ref": "AWS::AccountId"}},
				map[string]any{"ParameterKey": "ExternalId", "ParameterValue": map[string]any{"Ref": "ExternalId"}},
			},
			"StackInstancesGroup": []any{map[string]any{
				"DeploymentTargets": map[string]any{"OrganizationalUnitIds": tc.targets},
				"Regions":           []any{map[string]any{"Ref": "AWS::Region"}},
			}},
		}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("%s: StackSet\n got %s\nwant %s", tc.config, js(p), js(want))
		}
		// CloudFormation takes at most 51,200 bytes of template inline.
		if len(body) > MaxTemplateBodyBytes {
			t.Errorf("%s: TemplateBody is %d bytes, over %d", tc.config, len(body), MaxTemplateBodyBytes)
		}
		var member map[string]any
		if err := json.Unmarshal([]byte(body), &member); err != nil {
			t.Fatal(err)
		}
		params := member["Parameters"].(map[string]any)
		if len(params) != 2 || params["PipelineAccountId"].(map[string]any)["Type"] != "String" || params["ExternalId"].(map[string]any)["Type"] != "String" {
			t.Errorf("%s: member template parameters %s", tc.config, js(params))
		}
		role := "OrgScanMember"
		if tc.config == delegatedConfig {
			role = "OrgScanReader"
		}
		checkMemberRole(t, tc.config+" StackSet template", member, role, "${PipelineAccountId}", "${ExternalId}")
		checkExternalIDFromSSM(t, tc.config+" "+StackSetStackName, tmpl)
	}
}

// checkExternalIDFromSSM: the stack's ExternalId parameter is read from the
// SSM parameter of the configuration at every deployment.
func checkExternalIDFromSSM(t *testing.T, where string, tmpl map[string]any) {
	t.Helper()
	p, _ := tmpl["Parameters"].(map[string]any)["ExternalId"].(map[string]any)
	if p["Type"] != "AWS::SSM::Parameter::Value<String>" || p["Default"] != "/orgscan/external-id" {
		t.Errorf("%s: ExternalId parameter %s, want the SSM parameter /orgscan/external-id", where, js(p))
	}
}

// TestExternalIDHasOneHome: every value of the external ID — the
// collector's environment, the StackSet's parameter, the management
// account's role in management mode — is the same SSM parameter, resolved
// by CloudFormation at deploy time; no template holds a value. Rotating it
// (orgscan external-id --rotate) and deploying changes all of them.
func TestExternalIDHasOneHome(t *testing.T) {
	s := synth(t)
	for _, name := range []string{PipelineStackName, StackSetStackName, ManagementRoleStackName} {
		checkExternalIDFromSSM(t, name, s.json[name])
	}
	for _, v := range s.json[PipelineStackName]["Resources"].(map[string]any) {
		v := v.(map[string]any)
		if v["Type"] != "AWS::Lambda::Function" {
			continue
		}
		vars := props(v)["Environment"].(map[string]any)["Variables"].(map[string]any)
		if x, ok := vars["ORGSCAN_EXTERNAL_ID"]; ok && !reflect.DeepEqual(x, map[string]any{"Ref": "ExternalId"}) {
			t.Errorf("ORGSCAN_EXTERNAL_ID = %s, want the SSM-typed parameter", js(x))
		}
	}
	_, r := only(t, s.json[ManagementRoleStackName], "AWS::IAM::Role")
	if ext := join(statements(props(r)["AssumeRolePolicyDocument"])[0]["Condition"].(map[string]any)["StringEquals"].(map[string]any)["sts:ExternalId"]); ext != "${ExternalId}" {
		t.Errorf("management role external ID %s", ext)
	}
	// The delegated administrator's management-account stack cannot read the
	// pipeline account's parameter: it takes the value as a parameter that
	// make deploy-management-role reads from SSM.
	d := synthWith(t, delegatedConfig)
	p := d.json[ManagementRoleStackName]["Parameters"].(map[string]any)
	if p["ExternalId"].(map[string]any)["Type"] != "String" || p["PipelineAccountId"] == nil {
		t.Errorf("delegated-admin management role parameters %s", js(p))
	}
}

// TestManagementRole: the management account's own member role (which
// StackSets never reach): in management mode it trusts its own account's
// collector; in delegated-admin mode the pipeline account is a parameter and
// the stack is pinned to the management account.
func TestManagementRole(t *testing.T) {
	s := synth(t)
	checkMemberRole(t, "management mode", s.json[ManagementRoleStackName], "OrgScanMember", "${AWS::AccountId}", "${ExternalId}")
	if !s.stacks.ManagementRoleWithPipeline {
		t.Error("management mode: the management role is not deployed with the pipeline")
	}
	d := synthWith(t, delegatedConfig)
	checkMemberRole(t, "delegated-admin mode", d.json[ManagementRoleStackName], "OrgScanReader", "${PipelineAccountId}", "${ExternalId}")
	if d.stacks.ManagementRoleWithPipeline {
		t.Error("delegated-admin mode: the management role would be deployed into the pipeline account")
	}
	if acct := *d.stacks.ManagementRole.Account(); acct != "222222222222" {
		t.Errorf("delegated-admin management role stack account %s, want the management account", acct)
	}
}
