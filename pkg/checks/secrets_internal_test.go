package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/orgscan/orgscan/pkg/pricing"
)

// secretPrefix begins every secret the fake's functions hold.
const secretPrefix = "s3cr3t-value-"

// secretFunction is a function as ListFunctions returns it: environment
// variables in clear, an environment error quoting one, and a container
// image command that passes another as an argument.
func secretFunction(i int) lambdatypes.FunctionConfiguration {
	name := fmt.Sprintf("fn-%03d", i)
	secret := secretPrefix + name
	return lambdatypes.FunctionConfiguration{
		FunctionName: aws.String(name),
		FunctionArn:  aws.String("arn:aws:lambda:us-east-1:111122223333:function:" + name),
		LastModified: aws.String("2026-01-02T03:04:05.678+0000"),
		State:        lambdatypes.StateActive,
		PackageType:  lambdatypes.PackageTypeImage,
		Description:  aws.String("nightly export"),
		Role:         aws.String("arn:aws:iam::111122223333:role/" + name),
		KMSKeyArn:    aws.String("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
		MemorySize:   aws.Int32(256),
		VpcConfig:    &lambdatypes.VpcConfigResponse{SubnetIds: []string{"subnet-1"}, SecurityGroupIds: []string{"sg-1"}, VpcId: aws.String("vpc-1")},
		Environment: &lambdatypes.EnvironmentResponse{
			Variables: map[string]string{"DB_PASSWORD": secret, "API_KEY": secret + "-api", "LOG_LEVEL": "info"},
			Error:     &lambdatypes.EnvironmentError{ErrorCode: aws.String("KMSAccessDeniedException"), Message: aws.String("cannot decrypt DB_PASSWORD=" + secret)},
		},
		ImageConfigResponse: &lambdatypes.ImageConfigResponse{
			ImageConfig: &lambdatypes.ImageConfig{Command: []string{"serve", "--db-password=" + secret}, EntryPoint: []string{"/app"}, WorkingDirectory: aws.String("/srv")},
			Error:       &lambdatypes.ImageConfigError{ErrorCode: aws.String("x"), Message: aws.String("bad command --db-password=" + secret)},
		},
	}
}

// clone is f as a fresh decoded answer holds it: nothing shared with f.
func clone(f lambdatypes.FunctionConfiguration) lambdatypes.FunctionConfiguration {
	b, err := json.Marshal(f)
	if err != nil {
		panic(err)
	}
	var out lambdatypes.FunctionConfiguration
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// secretLambda is the narrow Lambda client over functions that hold
// secrets. It answers every page afresh, as the SDK decodes one, and keeps
// each answer it gave so the test can look at them afterwards.
type secretLambda struct {
	functions []lambdatypes.FunctionConfiguration

	mu     sync.Mutex
	served []*lambda.ListFunctionsOutput
}

var _ LambdaAPI = (*secretLambda)(nil)

func (f *secretLambda) ListFunctions(_ context.Context, in *lambda.ListFunctionsInput, _ ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error) {
	start := 0
	if m := aws.ToString(in.Marker); m != "" {
		var err error
		if start, err = strconv.Atoi(m); err != nil {
			return nil, err
		}
	}
	end := min(start+int(aws.ToInt32(in.MaxItems)), len(f.functions))
	out := &lambda.ListFunctionsOutput{}
	for _, fn := range f.functions[start:end] {
		out.Functions = append(out.Functions, clone(fn))
	}
	if end < len(f.functions) {
		out.NextMarker = aws.String(strconv.Itoa(end))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.served = append(f.served, out)
	return out, nil
}

// noDatapoints answers every query complete and empty: every function is
// unused, so every one becomes a finding.
type noDatapoints struct{}

func (noDatapoints) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		out.MetricDataResults = append(out.MetricDataResults, cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete})
	}
	return out, nil
}

// leaks walks v by reflection — pointers, interfaces, structs with their
// unexported fields, slices, arrays and maps (keys too) — and returns the
// path of every string that contains secret and of every Lambda function
// configuration that still holds an environment or an image configuration.
func leaks(path string, v reflect.Value, secret string) []string {
	var out []string
	seen := map[uintptr]bool{}
	fnType := reflect.TypeFor[lambdatypes.FunctionConfiguration]()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(path, v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		case reflect.Struct:
			if v.Type() == fnType {
				for _, name := range []string{"Environment", "ImageConfigResponse"} {
					if !v.FieldByName(name).IsNil() {
						out = append(out, path+"."+name+" is set")
					}
				}
			}
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(path+"{key}", it.Key())
				walk(fmt.Sprintf("%s[%v]", path, it.Key()), it.Value())
			}
		case reflect.String:
			if strings.Contains(v.String(), secret) {
				out = append(out, path+" = "+strconv.Quote(v.String()))
			}
		}
	}
	walk(path, v)
	return out
}

// Nothing the Lambda listing produces holds a function's secrets: not the
// pages the client answered (cleared as they arrive), the inventory's
// memoised functions, the inventory records, the check's candidates, nor
// the scan's findings and records. Everything else of each function is
// kept as Lambda returned it.
func TestListedFunctionsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 2*pageListFunctions + 20 // three pages
	var fns []lambdatypes.FunctionConfiguration
	for i := range n {
		fns = append(fns, secretFunction(i))
	}
	if l := leaks("source", reflect.ValueOf(fns), secretPrefix); len(l) < 5*n {
		t.Fatalf("the fake's functions hold %d leaks; want each to hold its secrets, or the test proves nothing", len(l))
	}

	now := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	params, err := LambdaUnusedFunction.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Now: now, AccountID: "111122223333", Region: "us-east-1", Params: params, Prices: pricing.Default()}

	// The listing, as a check reads it.
	api := &secretLambda{functions: fns}
	inv := NewInventory(Clients{Lambda: api, CloudWatch: noDatapoints{}})
	listed, err := inv.Functions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != n || len(api.served) != 3 {
		t.Fatalf("listed %d functions over %d pages; want %d over 3", len(listed), len(api.served), n)
	}
	for i, got := range listed {
		want := clone(fns[i])
		want.Environment, want.ImageConfigResponse = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("function %d is not Lambda's answer without its secrets:\n got %+v\nwant %+v", i, got, want)
			break
		}
	}
	cands, err := LambdaUnusedFunction.Select(ctx, inv, env)
	if err != nil {
		t.Fatal(err)
	}
	records := inv.Records(env)

	// The scan, as the collector runs it.
	cfgs, err := Configure([]Check{LambdaUnusedFunction}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	scanAPI := &secretLambda{functions: fns}
	res := Scan(ctx, ScanInput{AccountID: env.AccountID, Region: env.Region, Now: now, Checks: cfgs, Prices: env.Prices,
		Clients: Clients{Lambda: scanAPI, CloudWatch: noDatapoints{}}})
	if len(res.Errors) > 0 || len(res.Judged) != n || len(res.Records) != n {
		t.Fatalf("scan: %d findings, %d records, errors %+v; want %d findings and records", len(res.Judged), len(res.Records), res.Errors, n)
	}

	produced := map[string]any{
		"Functions":        listed,
		"pages":            api.served,
		"scan pages":       scanAPI.served,
		"Records":          records,
		"candidates":       cands,
		"ScanResult":       res,
		"memoised listing": &inv.functions,
		"second Functions": must(inv.Functions(ctx)),
		"findings":         res.Judged,
	}
	for name, v := range produced {
		for _, l := range leaks(name, reflect.ValueOf(v), secretPrefix) {
			t.Errorf("leak: %s", l)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, s := range []string{secretPrefix, "DB_PASSWORD", "--db-password"} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s marshals with %q", name, s)
			}
		}
	}
	// The whole inventory but its clients (the fake account, which of
	// course holds the secrets).
	iv := reflect.ValueOf(inv).Elem()
	for i := range iv.NumField() {
		if f := iv.Type().Field(i); f.Name != "c" {
			for _, l := range leaks("Inventory."+f.Name, iv.Field(i), secretPrefix) {
				t.Errorf("leak: %s", l)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
