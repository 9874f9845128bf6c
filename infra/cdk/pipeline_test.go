package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/store"
	"github.com/orgscan/orgscan/queries"
)

func TestPipelineResourceCounts(t *testing.T) {
	s := synth(t)
	for typ, n := range map[string]int{
		"AWS::Lambda::Function":            3,
		"AWS::StepFunctions::StateMachine": 1,
		"AWS::DynamoDB::Table":             1,
		"AWS::S3::Bucket":                  2, // data + access logs
		"AWS::Glue::Database":              1,
		"AWS::Glue::Table":                 3,
		"AWS::Athena::WorkGroup":           1,
		"AWS::Athena::NamedQuery":          len(queries.All()),
		"AWS::Scheduler::Schedule":         1,
		"AWS::SQS::Queue":                  1,
		"AWS::CloudWatch::Alarm":           4,
		"AWS::Logs::MetricFilter":          1,
		"AWS::Logs::LogGroup":              4, // three functions + the state machine
	} {
		assert(t, typ, func() { s.pipelineT.ResourceCountIs(jsii.String(typ), jsii.Number(float64(n))) })
	}
}

func TestDataBucket(t *testing.T) {
	s := synth(t)
	data := logicalID(s.pipeline.Stack, s.pipeline.Bucket)
	b := resources(s.pipelineJSON, "AWS::S3::Bucket")[data]
	if b == nil {
		t.Fatalf("no data bucket %s", data)
	}
	if b["DeletionPolicy"] != "Retain" || b["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("data bucket policies: deletion %v, update-replace %v; want Retain", b["DeletionPolicy"], b["UpdateReplacePolicy"])
	}
	assert(t, "data bucket", func() {
		s.pipelineT.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"VersioningConfiguration": map[string]any{"Status": "Enabled"},
			"LoggingConfiguration":    map[string]any{"DestinationBucketName": assertions.Match_AnyValue()},
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Prefix": "runs/", "Status": "Enabled", "ExpirationInDays": 30,
				"NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": 30},
			})})},
		})
	})
	// Both buckets: private, encrypted, and a policy that denies plain HTTP.
	for id, r := range resources(s.pipelineJSON, "AWS::S3::Bucket") {
		p := props(r)
		if p["PublicAccessBlockConfiguration"] == nil || p["BucketEncryption"] == nil {
			t.Errorf("bucket %s: public access block %v, encryption %v", id, p["PublicAccessBlockConfiguration"], p["BucketEncryption"])
		}
		found := false
		for _, pol := range resources(s.pipelineJSON, "AWS::S3::BucketPolicy") {
			pp := props(pol)
			if !reflect.DeepEqual(pp["Bucket"], map[string]any{"Ref": id}) {
				continue
			}
			for _, st := range statements(pp["PolicyDocument"]) {
				if st["Effect"] == "Deny" && reflect.DeepEqual(st["Condition"], map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("bucket %s has no policy denying requests without TLS", id)
		}
	}
}

func TestStateTable(t *testing.T) {
	s := synth(t)
	_, r := only(t, s.pipelineJSON, "AWS::DynamoDB::Table")
	if r["DeletionPolicy"] != "Retain" {
		t.Errorf("table DeletionPolicy %v, want Retain", r["DeletionPolicy"])
	}
	p := props(r)
	// The literal names the store, docs/dynamodb.md and the README's
	// queries use, so a renamed constant is noticed here too.
	want := map[string]any{
		"BillingMode": "PAY_PER_REQUEST",
		"KeySchema":   []any{key(store.DynamoPK, "HASH"), key(store.DynamoSK, "RANGE")},
		"GlobalSecondaryIndexes": []any{
			map[string]any{"IndexName": "byCheckCost", "KeySchema": []any{key("GSI1PK", "HASH"), key("GSI1SK", "RANGE")}, "Projection": map[string]any{"ProjectionType": "ALL"}},
			map[string]any{"IndexName": "byAccountStatus", "KeySchema": []any{key("GSI2PK", "HASH"), key("GSI2SK", "RANGE")}, "Projection": map[string]any{"ProjectionType": "ALL"}},
		},
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
	}
	for k, v := range want {
		if !reflect.DeepEqual(p[k], v) {
			t.Errorf("table %s = %s, want %s", k, js(p[k]), js(v))
		}
	}
	var attrs []string
	for _, a := range p["AttributeDefinitions"].([]any) {
		a := a.(map[string]any)
		attrs = append(attrs, a["AttributeName"].(string)+":"+a["AttributeType"].(string))
	}
	sort.Strings(attrs)
	if got, want := strings.Join(attrs, " "), "GSI1PK:S GSI1SK:N GSI2PK:S GSI2SK:S PK:S SK:S"; got != want {
		t.Errorf("attribute definitions %s, want %s", got, want)
	}
}

func key(name, typ string) map[string]any {
	return map[string]any{"AttributeName": name, "KeyType": typ}
}

func TestFunctions(t *testing.T) {
	s := synth(t)
	st := s.pipeline.Stack
	wantEnv := map[string][]string{
		"dispatcher": {"ORGSCAN_BUCKET", "ORGSCAN_DISCOVERY", "ORGSCAN_ROLE_NAME"},
		"collector":  {"ORGSCAN_BUCKET", "ORGSCAN_EXTERNAL_ID", "ORGSCAN_PAIR_CONCURRENCY"},
		"aggregator": {"ORGSCAN_BUCKET", "ORGSCAN_NOTIFY_MIN_USD", "ORGSCAN_TABLE"},
	}
	fns := resources(s.pipelineJSON, "AWS::Lambda::Function")
	logGroups := resources(s.pipelineJSON, "AWS::Logs::LogGroup")
	for _, fn := range Functions {
		r := fns[logicalID(st, s.pipeline.Functions[fn])]
		if r == nil {
			t.Fatalf("no %s function", fn)
		}
		p := props(r)
		if p["Runtime"] != "provided.al2023" || !reflect.DeepEqual(p["Architectures"], []any{"arm64"}) || p["Handler"] != "bootstrap" {
			t.Errorf("%s: runtime %v, architectures %v, handler %v", fn, p["Runtime"], p["Architectures"], p["Handler"])
		}
		vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		var names []string
		for k := range vars {
			names = append(names, k)
		}
		sort.Strings(names)
		// ORGSCAN_PREFIX must stay unset: the Glue tables, the state
		// machine's ItemReader/ResultWriter and the IAM paths assume keys at
		// the bucket's root.
		if !reflect.DeepEqual(names, wantEnv[fn]) {
			t.Errorf("%s environment %v, want %v", fn, names, wantEnv[fn])
		}
		if !reflect.DeepEqual(vars["ORGSCAN_BUCKET"], map[string]any{"Ref": logicalID(st, s.pipeline.Bucket)}) {
			t.Errorf("%s ORGSCAN_BUCKET = %s", fn, js(vars["ORGSCAN_BUCKET"]))
		}
		lg := p["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
		if ret := props(logGroups[lg])["RetentionInDays"]; ret != float64(90) {
			t.Errorf("%s log group %s retention %v, want 90", fn, lg, ret)
		}
		timeout := p["Timeout"].(float64)
		switch fn {
		case "collector":
			// pipeline.CollectorTimeout, under the 5-minute limit of an
			// EXPRESS child execution.
			if timeout != pipeline.CollectorTimeout.Seconds() || timeout >= pipeline.ExpressChildLimit.Seconds() {
				t.Errorf("collector timeout %vs, want %v (< %v)", timeout, pipeline.CollectorTimeout, pipeline.ExpressChildLimit)
			}
			// No reservation by default: Lambda lets an account reserve at
			// most its quota minus 100, and new accounts' quota can be 10.
			if v, ok := p["ReservedConcurrentExecutions"]; ok {
				t.Errorf("collector reserved concurrency %v, want none", v)
			}
			if !reflect.DeepEqual(vars["ORGSCAN_EXTERNAL_ID"], map[string]any{"Ref": "ExternalId"}) {
				t.Errorf("ORGSCAN_EXTERNAL_ID = %s", js(vars["ORGSCAN_EXTERNAL_ID"]))
			}
		case "aggregator":
			if timeout != 900 {
				t.Errorf("aggregator timeout %vs, want 900", timeout)
			}
			if !reflect.DeepEqual(vars["ORGSCAN_TABLE"], map[string]any{"Ref": logicalID(st, s.pipeline.Table)}) {
				t.Errorf("ORGSCAN_TABLE = %s", js(vars["ORGSCAN_TABLE"]))
			}
		case "dispatcher":
			if vars["ORGSCAN_ROLE_NAME"] != "OrgScanMember" || vars["ORGSCAN_DISCOVERY"] != "organizations" {
				t.Errorf("dispatcher role name %v, discovery %v", vars["ORGSCAN_ROLE_NAME"], vars["ORGSCAN_DISCOVERY"])
			}
		}
	}
	assert(t, "collector role name", func() {
		s.pipelineT.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{"RoleName": "orgscan-collector"})
	})
}

// TestLeastPrivilege reads each role's policies back as action → resources.
func TestLeastPrivilege(t *testing.T) {
	s := synth(t)
	st := s.pipeline.Stack
	bucket := logicalID(st, s.pipeline.Bucket)
	obj := func(suffix string) string { return "<" + bucket + ".Arn>" + suffix }
	table := "<" + logicalID(st, s.pipeline.Table) + ".Arn>"
	want := map[string]map[string][]string{
		"dispatcher": {
			"organizations:ListAccounts":                     {"*"},
			"organizations:ListAccountsForParent":            {"*"},
			"organizations:ListOrganizationalUnitsForParent": {"*"},
			"ec2:DescribeRegions":                            {"*"},
			"lambda:GetAccountSettings":                      {"*"},
			"s3:PutObject":                                   {obj("/runs/*/manifest.jsonl"), obj("/runs/*/options.json")},
		},
		"collector": {
			"sts:AssumeRole": {"arn:<AWS::Partition>:iam::*:role/OrgScanMember"},
			"s3:GetObject":   {obj("/runs/*/options.json")},
			"s3:PutObject":   {obj("/runs/*/chunks/*/*.jsonl.gz"), obj("/runs/*/inventory/*/*.jsonl.gz"), obj("/runs/*/results/*.json")},
		},
		"aggregator": {
			"s3:GetObject":            {obj("/runs/*")},
			"s3:ListBucket":           {obj("")}, // with an s3:prefix condition, checked below
			"s3:PutObject":            {obj("/findings/*"), obj("/inventory/*"), obj("/pairs/*"), obj("/reports/*"), obj("/runs/*")},
			"events:PutEvents":        {"arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default"},
			"dynamodb:BatchWriteItem": {table, table + "/index/byAccountStatus", table + "/index/byCheckCost"},
			"dynamodb:DeleteItem":     {table, table + "/index/byAccountStatus", table + "/index/byCheckCost"},
			"dynamodb:GetItem":        {table, table + "/index/byAccountStatus", table + "/index/byCheckCost"},
			"dynamodb:PutItem":        {table, table + "/index/byAccountStatus", table + "/index/byCheckCost"},
			"dynamodb:Query":          {table, table + "/index/byAccountStatus", table + "/index/byCheckCost"},
		},
	}
	// PutItem and DeleteItem: the aggregation lease and the per-account
	// run marks are conditional writes (pkg/store).
	if got := DynamoActions(); !reflect.DeepEqual(got, []string{"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}) {
		t.Errorf("DynamoActions() = %v", got)
	}
	for _, fn := range Functions {
		role := logicalID(st, s.pipeline.Functions[fn].Role())
		got := rolePermissions(s.pipelineJSON, role)
		logGroup := "<" + logicalID(st, s.pipeline.Functions[fn].LogGroup()) + ".Arn>"
		for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
			if !reflect.DeepEqual(got[a], []string{logGroup}) {
				t.Errorf("%s role %s on %v, want its own log group %s", fn, a, got[a], logGroup)
			}
			delete(got, a)
		}
		for _, a := range []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"} {
			if !reflect.DeepEqual(got[a], []string{"*"}) {
				t.Errorf("%s role %s on %v, want * (tracing)", fn, a, got[a])
			}
			delete(got, a)
		}
		if !reflect.DeepEqual(got, want[fn]) {
			t.Errorf("%s role permissions:\n got %s\nwant %s", fn, js(got), js(want[fn]))
		}
	}
	// The aggregator lists only the Map's results of a run.
	listed := false
	for _, pol := range resources(s.pipelineJSON, "AWS::IAM::Policy") {
		for _, st := range statements(props(pol)["PolicyDocument"]) {
			if reflect.DeepEqual(strs(st["Action"]), []string{"s3:ListBucket"}) {
				listed = true
				if got := js(st["Condition"]); got != js(map[string]any{"StringLike": map[string]any{"s3:prefix": "runs/*/map/*"}}) &&
					got != js(map[string]any{"StringLike": map[string]any{"s3:prefix": []any{"runs/*/map/*"}}}) {
					t.Errorf("s3:ListBucket condition %s, want s3:prefix runs/*/map/*", got)
				}
			}
		}
	}
	if !listed {
		t.Error("no s3:ListBucket statement for the aggregator")
	}
	// The doctor role may only assume the member roles.
	doctor := logicalID(st, st.Node().FindChild(jsii.String("DoctorRole")))
	if got := rolePermissions(s.pipelineJSON, doctor); !reflect.DeepEqual(got, map[string][]string{"sts:AssumeRole": {"arn:<AWS::Partition>:iam::*:role/OrgScanMember"}}) {
		t.Errorf("doctor role permissions %s", js(got))
	}
	// The collector and the doctor role assume roles only in the
	// organization: the pipeline account's own (the example) or the
	// configured one.
	for cfg, org := range map[string]string{exampleConfig: "${aws:PrincipalOrgID}", delegatedConfig: "o-a1b2c3d4e5"} {
		c := synthWith(t, cfg)
		found := 0
		for _, pol := range resources(c.pipelineJSON, "AWS::IAM::Policy") {
			for _, st := range statements(props(pol)["PolicyDocument"]) {
				if st["Action"] == "sts:AssumeRole" {
					found++
					if got := js(st["Condition"]); got != js(map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": org}}) {
						t.Errorf("%s: sts:AssumeRole condition %s, want aws:ResourceOrgID %s", cfg, got, org)
					}
				}
			}
		}
		if found != 2 {
			t.Errorf("%s: %d sts:AssumeRole statements, want 2 (collector, doctor)", cfg, found)
		}
	}
	// No action wildcard anywhere (s3:*, dynamodb:*), except the bucket
	// policies' TLS-only Deny.
	for id, pol := range resources(s.pipelineJSON, "AWS::IAM::Policy") {
		for _, st := range statements(props(pol)["PolicyDocument"]) {
			for _, a := range strs(st["Action"]) {
				if strings.Contains(a, "*") {
					t.Errorf("policy %s allows %s", id, a)
				}
			}
		}
	}
}

// rolePermissions maps action → sorted resources (tokens written as
// <LogicalId.Arn>, like cdk-nag) over every policy attached to role.
func rolePermissions(tmpl map[string]any, role string) map[string][]string {
	out := map[string][]string{}
	for _, pol := range resources(tmpl, "AWS::IAM::Policy") {
		p := props(pol)
		attached := false
		for _, r := range p["Roles"].([]any) {
			if reflect.DeepEqual(r, map[string]any{"Ref": role}) {
				attached = true
			}
		}
		if !attached {
			continue
		}
		for _, st := range statements(p["PolicyDocument"]) {
			var res []string
			switch r := st["Resource"].(type) {
			case []any:
				for _, x := range r {
					res = append(res, flatten(x))
				}
			default:
				res = append(res, flatten(r))
			}
			for _, a := range strs(st["Action"]) {
				out[a] = append(out[a], res...)
				sort.Strings(out[a])
			}
		}
	}
	return out
}

// flatten renders an intrinsic as a string the way cdk-nag does.
func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if r, ok := x["Ref"]; ok {
			if s := r.(string); strings.HasPrefix(s, "AWS::") {
				return "<" + s + ">"
			}
			return "<" + r.(string) + ">"
		}
		if g, ok := x["Fn::GetAtt"]; ok {
			g := g.([]any)
			return "<" + g[0].(string) + "." + g[1].(string) + ">"
		}
		if j, ok := x["Fn::Join"]; ok {
			j := j.([]any)
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, flatten(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	return js(v)
}

func statements(doc any) []map[string]any {
	var out []map[string]any
	for _, s := range doc.(map[string]any)["Statement"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, s := range x {
			out = append(out, s.(string))
		}
		return out
	}
	return nil
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestStateMachine(t *testing.T) {
	s := synth(t)
	st := s.pipeline.Stack
	_, r := only(t, s.pipelineJSON, "AWS::StepFunctions::StateMachine")
	p := props(r)
	asl, err := os.ReadFile(filepath.Join("..", "..", ASLPath))
	if err != nil {
		t.Fatal(err)
	}
	def, ok := p["DefinitionString"].(string)
	if !ok || def != string(asl) {
		t.Fatalf("DefinitionString is not the ASL file as it is (%T)", p["DefinitionString"])
	}
	subs := p["DefinitionSubstitutions"].(map[string]any)
	want := map[string]any{
		"DispatcherFunctionArn": map[string]any{"Fn::GetAtt": []any{logicalID(st, s.pipeline.Functions["dispatcher"]), "Arn"}},
		"CollectorFunctionArn":  map[string]any{"Fn::GetAtt": []any{logicalID(st, s.pipeline.Functions["collector"]), "Arn"}},
		"AggregatorFunctionArn": map[string]any{"Fn::GetAtt": []any{logicalID(st, s.pipeline.Functions["aggregator"]), "Arn"}},
		"BucketName":            map[string]any{"Ref": logicalID(st, s.pipeline.Bucket)},
	}
	if !reflect.DeepEqual(subs, want) {
		t.Errorf("DefinitionSubstitutions %s, want %s", js(subs), js(want))
	}
	// Substitute as CloudFormation will: nothing of the form ${...} may be
	// left (the ASL's own intrinsics, States.Format's "{}", have no "$").
	resolved := aslPlaceholderRe.ReplaceAllStringFunc(def, func(m string) string {
		v, ok := subs[m[2:len(m)-1]]
		if !ok {
			return m
		}
		return flatten(v)
	})
	if i := strings.Index(resolved, "${"); i >= 0 {
		t.Errorf("placeholder left after substitution: %q", resolved[i:min(len(resolved), i+40)])
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(resolved), &d); err != nil {
		t.Fatalf("substituted definition is not JSON: %v", err)
	}
	states := d["States"].(map[string]any)
	fnOf := func(state map[string]any) string {
		return state["Parameters"].(map[string]any)["FunctionName"].(string)
	}
	scan := states["Collect"].(map[string]any)["ItemProcessor"].(map[string]any)["States"].(map[string]any)["Scan"].(map[string]any)
	for name, got := range map[string]string{
		"dispatcher": fnOf(states["Dispatch"].(map[string]any)),
		"collector":  fnOf(scan),
		"aggregator": fnOf(states["Aggregate"].(map[string]any)),
	} {
		if want := "<" + logicalID(st, s.pipeline.Functions[name]) + ".Arn>"; got != want {
			t.Errorf("%s state invokes %s, want %s", name, got, want)
		}
	}
	if p["StateMachineType"] != "STANDARD" || p["StateMachineName"] != "orgscan" {
		t.Errorf("type %v name %v", p["StateMachineType"], p["StateMachineName"])
	}
	logging := p["LoggingConfiguration"].(map[string]any)
	if logging["Level"] != "ALL" || logging["IncludeExecutionData"] != false || len(logging["Destinations"].([]any)) != 1 {
		t.Errorf("logging %s", js(logging))
	}

	// Its role: the three functions, the manifest, the Map's results, and
	// its own executions (Distributed Map).
	got := rolePermissions(s.pipelineJSON, logicalID(st, s.pipeline.StateMachine.Role()))
	bucket := "<" + logicalID(st, s.pipeline.Bucket) + ".Arn>"
	smArn := "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
	var fnArns []string
	for _, fn := range Functions {
		fnArns = append(fnArns, "<"+logicalID(st, s.pipeline.Functions[fn])+".Arn>")
	}
	sort.Strings(fnArns)
	for action, res := range map[string][]string{
		"lambda:InvokeFunction":       fnArns,
		"s3:GetObject":                {bucket + "/runs/*/manifest.jsonl", bucket + "/runs/*/map/*"},
		"s3:PutObject":                {bucket + "/runs/*/map/*"},
		"s3:AbortMultipartUpload":     {bucket + "/runs/*/map/*"},
		"s3:ListMultipartUploadParts": {bucket + "/runs/*/map/*"},
		"states:StartExecution":       {smArn + "stateMachine:orgscan"},
		"states:DescribeExecution":    {smArn + "execution:orgscan/*", smArn + "execution:orgscan:*"},
		"states:StopExecution":        {smArn + "execution:orgscan/*", smArn + "execution:orgscan:*"},
		"states:RedriveExecution":     {smArn + "execution:orgscan/*"},
	} {
		if !reflect.DeepEqual(got[action], res) {
			t.Errorf("state machine role %s on %v, want %v", action, got[action], res)
		}
	}
	// The ASL's ResultWriter prefix is what the role may write.
	rw := states["Collect"].(map[string]any)["ResultWriter"].(map[string]any)["Parameters"].(map[string]any)["Prefix.$"].(string)
	if !strings.Contains(rw, "'runs/{}/map'") {
		t.Errorf("ResultWriter prefix %s is not runs/<runId>/map: update the state machine role", rw)
	}
}

func TestSchedule(t *testing.T) {
	for _, tc := range []struct{ config, expr, state, input string }{
		// The example: its regions in scope, every account (the root),
		// and off until orgscan doctor passes.
		{exampleConfig, "cron(0 6 * * ? *)", "DISABLED", `{"regions":["us-east-1","eu-west-1"],"maxConcurrency":40}`},
		// No regions: the deployment region alone; OUs, exclusions and
		// the options file's thresholds in the request.
		{delegatedConfig, "rate(12 hours)", "ENABLED", `{"excludeAccounts":["333333333333"],"organizationalUnits":["ou-ab12-cdef3456","ou-ab12-99999999"],"regions":["${AWS::Region}"],"params":{"ec2-idle-instance":{"cpuPercent":3}},"maxConcurrency":30}`},
	} {
		s := synthWith(t, tc.config)
		st := s.pipeline.Stack
		_, r := only(t, s.pipelineJSON, "AWS::Scheduler::Schedule")
		p := props(r)
		target := p["Target"].(map[string]any)
		if p["ScheduleExpression"] != tc.expr || p["State"] != tc.state {
			t.Errorf("%s: schedule %v %v", tc.config, p["ScheduleExpression"], p["State"])
		}
		if got := join(target["Input"]); got != tc.input || !reflect.DeepEqual(target["Arn"], map[string]any{"Ref": logicalID(st, s.pipeline.StateMachine)}) {
			t.Errorf("%s: target input %s arn %s, want input %s", tc.config, got, js(target["Arn"]), tc.input)
		}
		dlqID, dlq := only(t, s.pipelineJSON, "AWS::SQS::Queue")
		if !reflect.DeepEqual(target["DeadLetterConfig"], map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{dlqID, "Arn"}}}) {
			t.Errorf("dead-letter config %s", js(target["DeadLetterConfig"]))
		}
		if props(dlq)["SqsManagedSseEnabled"] != true {
			t.Errorf("DLQ not encrypted: %s", js(props(dlq)))
		}
		role := target["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		got := rolePermissions(s.pipelineJSON, role)
		want := map[string][]string{"states:StartExecution": {"<" + logicalID(st, s.pipeline.StateMachine) + ">"}, "sqs:SendMessage": {"<" + dlqID + ".Arn>"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("scheduler role %s, want %s", js(got), js(want))
		}
	}
}

func TestGlueTables(t *testing.T) {
	s := synth(t)
	bucket := "<" + logicalID(s.pipeline.Stack, s.pipeline.Bucket) + ">"
	tables := map[string]map[string]any{}
	for _, r := range resources(s.pipelineJSON, "AWS::Glue::Table") {
		in := props(r)["TableInput"].(map[string]any)
		tables[in["Name"].(string)] = in
	}
	for _, ht := range HistoryTables {
		in := tables[ht.Name]
		if in == nil {
			t.Errorf("no Glue table %s", ht.Name)
			continue
		}
		cols, err := history.Columns(ht.Row)
		if err != nil {
			t.Fatal(err)
		}
		var want []any
		for _, c := range cols {
			want = append(want, map[string]any{"Name": c.Name, "Type": c.Type})
		}
		sd := in["StorageDescriptor"].(map[string]any)
		if !reflect.DeepEqual(sd["Columns"], want) {
			t.Errorf("%s columns %s, want %s", ht.Name, js(sd["Columns"]), js(want))
		}
		if got := flatten(sd["Location"]); got != "s3://"+bucket+"/"+ht.Name+"/" {
			t.Errorf("%s location %s", ht.Name, got)
		}
		if !strings.Contains(sd["SerdeInfo"].(map[string]any)["SerializationLibrary"].(string), "Parquet") {
			t.Errorf("%s serde %s", ht.Name, js(sd["SerdeInfo"]))
		}
		if !reflect.DeepEqual(in["PartitionKeys"], []any{map[string]any{"Name": "dt", "Type": "string"}}) {
			t.Errorf("%s partition keys %s", ht.Name, js(in["PartitionKeys"]))
		}
		params := in["Parameters"].(map[string]any)
		for k, v := range map[string]string{
			"projection.enabled":   "true",
			"projection.dt.type":   "date",
			"projection.dt.format": "yyyy-MM-dd",
			"projection.dt.range":  "2024-01-01,NOW",
			"classification":       "parquet",
		} {
			if params[k] != v {
				t.Errorf("%s parameter %s = %v, want %s", ht.Name, k, params[k], v)
			}
		}
		// The template must name the keys the aggregator writes.
		if got, want := flatten(params["storage.location.template"]), "s3://"+bucket+"/"+ht.Name+"/dt=${dt}"; got != want {
			t.Errorf("%s storage.location.template %s, want %s", ht.Name, got, want)
		}
		key := pipeline.HistoryKey(ht.Name, mustTime(t, "2026-11-26T06:00:00Z"), "r1")
		if key != ht.Name+"/dt=2026-11-26/r1.parquet" {
			t.Errorf("HistoryKey = %s: the Glue location template no longer matches the aggregator's keys", key)
		}
	}
	if len(tables) != len(HistoryTables) {
		t.Errorf("Glue tables %d, want %d", len(tables), len(HistoryTables))
	}
}

func TestAthena(t *testing.T) {
	s := synth(t)
	wgID, wg := only(t, s.pipelineJSON, "AWS::Athena::WorkGroup")
	conf := props(wg)["WorkGroupConfiguration"].(map[string]any)
	if conf["EnforceWorkGroupConfiguration"] != true || conf["BytesScannedCutoffPerQuery"] != float64(10<<30) {
		t.Errorf("workgroup configuration %s", js(conf))
	}
	rc := conf["ResultConfiguration"].(map[string]any)
	if got := flatten(rc["OutputLocation"]); got != "s3://<"+logicalID(s.pipeline.Stack, s.pipeline.Bucket)+">/athena-results/" {
		t.Errorf("output location %s", got)
	}
	dbID, _ := only(t, s.pipelineJSON, "AWS::Glue::Database")
	named := map[string]map[string]any{}
	for _, r := range resources(s.pipelineJSON, "AWS::Athena::NamedQuery") {
		p := props(r)
		named[p["Name"].(string)] = p
	}
	for _, q := range queries.All() {
		p := named[q.Name]
		if p == nil {
			t.Errorf("no named query %s", q.Name)
			continue
		}
		if p["QueryString"] != q.SQL || p["Description"] != q.Description {
			t.Errorf("named query %s differs from queries/%s.sql", q.Name, q.Name)
		}
		if !reflect.DeepEqual(p["WorkGroup"], map[string]any{"Ref": wgID}) || !reflect.DeepEqual(p["Database"], map[string]any{"Ref": dbID}) {
			t.Errorf("named query %s: workgroup %s database %s", q.Name, js(p["WorkGroup"]), js(p["Database"]))
		}
	}
}

func TestAlarms(t *testing.T) {
	s := synth(t)
	metrics := map[string]bool{}
	for id, r := range resources(s.pipelineJSON, "AWS::CloudWatch::Alarm") {
		p := props(r)
		if p["Threshold"] != float64(1) || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || p["TreatMissingData"] != "notBreaching" {
			t.Errorf("alarm %s: %s", id, js(p))
		}
		metrics[p["Namespace"].(string)+"/"+p["MetricName"].(string)] = true
	}
	for _, m := range []string{"AWS/States/ExecutionsFailed", "OrgScan/PairsFailed", "OrgScan/NotificationFailures", "AWS/SQS/ApproximateNumberOfMessagesVisible"} {
		if !metrics[m] {
			t.Errorf("no alarm on %s (have %v)", m, metrics)
		}
	}
	_, f := only(t, s.pipelineJSON, "AWS::Logs::MetricFilter")
	// The aggregator's slog line: {"msg":"aggregated", ..., "failed": N}.
	if got := props(f)["FilterPattern"]; got != `{ ($.msg = "aggregated") && ($.failed > 0) }` {
		t.Errorf("metric filter pattern %v", got)
	}
}

// TestNotifications: run events (source orgscan) go to the notification
// topic, and the aggregator may put them on the default bus.
func TestNotifications(t *testing.T) {
	if n := len(resources(synth(t).pipelineJSON, "AWS::Events::Rule")); n != 0 {
		t.Errorf("%d event rules without a notification topic", n)
	}
	s := synthWith(t, delegatedConfig)
	_, rule := only(t, s.pipelineJSON, "AWS::Events::Rule")
	p := props(rule)
	if js(p["EventPattern"]) != `{"source":["orgscan"]}` {
		t.Errorf("event pattern %s", js(p["EventPattern"]))
	}
	targets, _ := p["Targets"].([]any)
	if len(targets) != 1 || targets[0].(map[string]any)["Arn"] != "arn:aws:sns:us-east-1:111111111111:orgscan-runs" {
		t.Errorf("targets %s", js(p["Targets"]))
	}
	if !strings.Contains(js(s.pipelineJSON), `"events:PutEvents"`) {
		t.Error("no role may put the run events")
	}
}

// TestNoUnsuppressedNagFindings: cdk-nag's AwsSolutions rules leave no
// error and no warning on either stack (suppressions carry their reasons in
// the template metadata and the NagReport CSVs).
func TestNoUnsuppressedNagFindings(t *testing.T) {
	for _, cfg := range []string{exampleConfig, delegatedConfig} {
		s := synthWith(t, cfg)
		for _, st := range []struct {
			name  string
			stack awscdk.Stack
		}{
			{PipelineStackName, s.stacks.Pipeline.Stack},
			{StackSetStackName, s.stacks.StackSet},
			{ManagementRoleStackName, s.stacks.ManagementRole},
		} {
			a := assertions.Annotations_FromStack(st.stack)
			rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
			// (The messages' fields are deprecated in the Go binding; their
			// JSON carries the construct path and the rule's text.)
			for _, e := range *a.FindError(jsii.String("*"), rule) {
				t.Errorf("%s %s: cdk-nag error %s", cfg, st.name, nagMessage(e))
			}
			for _, w := range *a.FindWarning(jsii.String("*"), rule) {
				t.Errorf("%s %s: cdk-nag warning %s", cfg, st.name, nagMessage(w))
			}
		}
	}
}

// nagMessage renders a synthesis message as "<construct path>: <text>".
func nagMessage(m any) string {
	var v struct {
		ID    string `json:"id"`
		Entry struct {
			Data any `json:"data"`
		} `json:"entry"`
	}
	_ = json.Unmarshal([]byte(js(m)), &v)
	return fmt.Sprintf("at %s: %v", v.ID, v.Entry.Data)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestConcurrency: no reservation and no cap in the environment by
// default (the dispatcher reads the account's unreserved concurrency at run
// time); a configured reservation is the collector's and the dispatcher's
// cap.
func TestConcurrency(t *testing.T) {
	for cfg, want := range map[string]any{exampleConfig: nil, delegatedConfig: "50"} {
		s := synthWith(t, cfg)
		fns := resources(s.pipelineJSON, "AWS::Lambda::Function")
		d := props(fns[logicalID(s.pipeline.Stack, s.pipeline.Functions["dispatcher"])])
		got := d["Environment"].(map[string]any)["Variables"].(map[string]any)["ORGSCAN_COLLECTOR_CONCURRENCY"]
		reserved := props(fns[logicalID(s.pipeline.Stack, s.pipeline.Functions["collector"])])["ReservedConcurrentExecutions"]
		if want == nil && (got != nil || reserved != nil) || want != nil && (got != want || reserved != float64(50)) {
			t.Errorf("%s: ORGSCAN_COLLECTOR_CONCURRENCY %v, reserved %v; want %v", cfg, got, reserved, want)
		}
	}
}
