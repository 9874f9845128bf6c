package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ExternalIDDescription is the external ID parameter's description.
const ExternalIDDescription = "orgscan: the sts:ExternalId the member roles require"

// externalID checks the external ID parameter and returns its value ("" when
// there is none to use).
func (r *run) externalID(ctx context.Context) string {
	name := r.d.Config.MemberRole.ExternalIDParameter
	fix := "bin/orgscan external-id --config " + r.configFile() + ", then " + fixDeploy
	out, err := r.d.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	switch {
	case hasCode(err, "ParameterNotFound"):
		r.fail(CheckExternalID, name, fmt.Sprintf("parameter %s does not exist in %s: the stacks cannot be deployed and no member role can be assumed", name, r.d.Region), fix)
		return ""
	case err != nil:
		r.fail(CheckExternalID, name, "ssm:GetParameter: "+err.Error(), "the caller needs ssm:GetParameter on the parameter")
		return ""
	case out.Parameter == nil || aws.ToString(out.Parameter.Value) == "":
		r.fail(CheckExternalID, name, "parameter is empty", fix)
		return ""
	case out.Parameter.Type == ssmtypes.ParameterTypeSecureString:
		// CloudFormation's AWS::SSM::Parameter::Value<String> cannot read
		// a SecureString.
		r.fail(CheckExternalID, name, "parameter is a SecureString: CloudFormation parameters of type AWS::SSM::Parameter::Value<String> cannot read it",
			fmt.Sprintf("delete it (aws ssm delete-parameter --name %s) and %s", name, fix))
		return ""
	}
	r.ok(CheckExternalID, name, fmt.Sprintf("parameter exists (version %d)", out.Parameter.Version))
	return aws.ToString(out.Parameter.Value)
}

func (r *run) configFile() string {
	if r.d.Config.File != "" {
		return r.d.Config.File
	}
	return "infra/cdk/deploy.yaml"
}

// ParameterWriter creates and rotates the external ID parameter.
type ParameterWriter interface {
	ParameterReader
	PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

var _ ParameterWriter = (*ssm.Client)(nil)

// ExternalIDChange is what EnsureExternalID did.
type ExternalIDChange struct {
	Name    string
	Version int64
	// Created: the parameter did not exist; Rotated: it was given a new
	// value. Neither: it existed and was left as it was.
	Created, Rotated bool
}

// EnsureExternalID creates the external ID parameter name (a String) with a
// fresh random value if it does not exist, or with rotate gives it a new
// one. The value is 32 lowercase hex characters read from random (nil:
// crypto/rand), and is never returned.
func EnsureExternalID(ctx context.Context, api ParameterWriter, name string, rotate bool, random io.Reader) (ExternalIDChange, error) {
	if random == nil {
		random = rand.Reader
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(random, b); err != nil {
		return ExternalIDChange{}, fmt.Errorf("random external ID: %w", err)
	}
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(hex.EncodeToString(b)), Type: ssmtypes.ParameterTypeString,
		Description: aws.String(ExternalIDDescription), Overwrite: aws.Bool(rotate)}
	out, err := api.PutParameter(ctx, in)
	if err == nil {
		return ExternalIDChange{Name: name, Version: out.Version, Created: !rotate || out.Version == 1, Rotated: rotate && out.Version > 1}, nil
	}
	if rotate || !hasCode(err, "ParameterAlreadyExists") {
		return ExternalIDChange{}, fmt.Errorf("ssm:PutParameter %s: %w", name, err)
	}
	got, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		return ExternalIDChange{}, fmt.Errorf("ssm:GetParameter %s: %w", name, err)
	}
	if got.Parameter == nil {
		return ExternalIDChange{}, errors.New("ssm:GetParameter " + name + ": no parameter in the answer")
	}
	return ExternalIDChange{Name: name, Version: got.Parameter.Version}, nil
}
