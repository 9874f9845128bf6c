package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ApplyNag runs cdk-nag's AwsSolutions rules on every construct of scope.
// Its findings become error and warning annotations; the tests require no
// unsuppressed error.
func ApplyNag(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// nag suppresses rule on c and its children, for reason. appliesTo narrows
// a suppression of a rule with findings (IAM4, IAM5) to those findings: a
// literal finding ("Resource::*") or "regex:/.../" for cdk-nag's regex
// form. Without appliesTo every finding of the rule is suppressed, so IAM5
// suppressions always list theirs: a new wildcard must be justified anew.
func nag(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var to []interface{}
		for _, a := range appliesTo {
			if re, ok := strings.CutPrefix(a, "regex:"); ok {
				to = append(to, &cdknag.RegexAppliesTo{Regex: jsii.String(re + "g")})
			} else {
				to = append(to, jsii.String(a))
			}
		}
		s.AppliesTo = &to
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}
