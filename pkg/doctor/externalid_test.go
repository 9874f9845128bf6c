package doctor_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgscan/orgscan/pkg/doctor"
)

// fakeSSM is a parameter store of one account and region.
type fakeSSM struct {
	params map[string]ssmtypes.Parameter
	puts   []*ssm.PutParameterInput
	putErr error
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	p, ok := f.params[aws.ToString(in.Name)]
	if !ok {
		return nil, apiErr("ParameterNotFound")
	}
	return &ssm.GetParameterOutput{Parameter: &p}, nil
}

func (f *fakeSSM) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.puts = append(f.puts, in)
	if f.putErr != nil {
		return nil, f.putErr
	}
	p, ok := f.params[aws.ToString(in.Name)]
	if ok && !aws.ToBool(in.Overwrite) {
		return nil, apiErr("ParameterAlreadyExists")
	}
	p.Name, p.Value, p.Type, p.Version = in.Name, in.Value, in.Type, p.Version+1
	f.params[aws.ToString(in.Name)] = p
	return &ssm.PutParameterOutput{Version: p.Version}, nil
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// The external ID is created once with 32 random lowercase hex characters,
// left alone when it exists, and replaced by --rotate; the value is never
// part of what EnsureExternalID returns.
func TestEnsureExternalID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := &fakeSSM{params: map[string]ssmtypes.Parameter{}}
	random := bytes.NewReader(bytes.Repeat([]byte{0xab}, 16*3))

	ch, err := doctor.EnsureExternalID(ctx, f, param, false, random)
	if err != nil || ch != (doctor.ExternalIDChange{Name: param, Version: 1, Created: true}) {
		t.Fatalf("create: %+v %v", ch, err)
	}
	in := f.puts[0]
	if v := aws.ToString(in.Value); !hex32.MatchString(v) || v != strings.Repeat("ab", 16) || in.Type != ssmtypes.ParameterTypeString ||
		aws.ToBool(in.Overwrite) || aws.ToString(in.Description) != doctor.ExternalIDDescription {
		t.Fatalf("put %+v", in)
	}

	ch, err = doctor.EnsureExternalID(ctx, f, param, false, random)
	if err != nil || ch != (doctor.ExternalIDChange{Name: param, Version: 1}) {
		t.Fatalf("again: %+v %v", ch, err)
	}
	if v := aws.ToString(f.params[param].Value); v != strings.Repeat("ab", 16) {
		t.Fatalf("value changed to %s", v)
	}

	ch, err = doctor.EnsureExternalID(ctx, f, param, true, nil) // crypto/rand
	if err != nil || ch != (doctor.ExternalIDChange{Name: param, Version: 2, Rotated: true}) {
		t.Fatalf("rotate: %+v %v", ch, err)
	}
	if v := aws.ToString(f.params[param].Value); !hex32.MatchString(v) || v == strings.Repeat("ab", 16) {
		t.Fatalf("rotated value %q", v)
	}

	// Rotating a parameter that does not exist creates it.
	ch, err = doctor.EnsureExternalID(ctx, f, "/other", true, nil)
	if err != nil || ch != (doctor.ExternalIDChange{Name: "/other", Version: 1, Created: true}) {
		t.Fatalf("rotate new: %+v %v", ch, err)
	}

	f.putErr = apiErr("AccessDeniedException")
	if _, err := doctor.EnsureExternalID(ctx, f, param, true, nil); err == nil || !strings.Contains(err.Error(), "ssm:PutParameter /orgscan/external-id") {
		t.Fatalf("denied: %v", err)
	}
	if _, err := doctor.EnsureExternalID(ctx, f, param, false, bytes.NewReader(nil)); err == nil {
		t.Fatal("no randomness, no error")
	}
}
