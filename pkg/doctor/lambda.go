package doctor

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/orgscan/orgscan/pkg/deployconfig"
)

// ConcurrencyQuotaCode is the Service Quotas code of Lambda's concurrent
// executions quota.
const ConcurrencyQuotaCode = "L-B99A9384"

// lambda checks the collector's concurrency against the configuration and
// the account's: a reservation the deployment did not make, or too little
// unreserved concurrency for concurrency.maxConcurrency collectors.
func (r *run) lambda(ctx context.Context) {
	if r.collector == "" {
		return // the stack check has reported the missing output
	}
	cc := r.d.Config.Concurrency
	subject := r.collector

	fc, err := r.d.Lambda.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(r.collector)})
	switch {
	case hasCode(err, "ResourceNotFoundException"):
		r.fail(CheckLambda, subject, fmt.Sprintf("collector function %s does not exist", r.collector), fixDeploy)
		return
	case err != nil:
		r.warn(CheckLambda, subject, "could not be checked: lambda:GetFunctionConcurrency: "+couldNot(err),
			fixCouldNot(err, "aws lambda get-function-concurrency --function-name "+r.collector, "lambda:GetFunctionConcurrency on the collector"))
		return
	}
	reserved := -1 // none
	if fc.ReservedConcurrentExecutions != nil {
		reserved = int(*fc.ReservedConcurrentExecutions)
	}
	if cc.CollectorReserved > 0 && reserved != cc.CollectorReserved {
		have := "no reservation"
		if reserved >= 0 {
			have = fmt.Sprintf("a reservation of %d", reserved)
		}
		r.fail(CheckLambda, subject, fmt.Sprintf("the collector has %s; concurrency.collectorReserved is %d", have, cc.CollectorReserved),
			fixDeploy+" (the stack sets the reservation)")
		return
	}

	st, err := r.d.Lambda.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		r.warn(CheckLambda, subject, "the account's unreserved concurrency could not be checked: lambda:GetAccountSettings: "+couldNot(err),
			fixCouldNot(err, "aws lambda get-account-settings", "lambda:GetAccountSettings"))
		return
	}
	var limit, unreserved int
	if st.AccountLimit != nil {
		limit = int(st.AccountLimit.ConcurrentExecutions)
		if st.AccountLimit.UnreservedConcurrentExecutions != nil {
			unreserved = int(*st.AccountLimit.UnreservedConcurrentExecutions)
		}
	}
	if reserved < 0 && unreserved < cc.MaxConcurrency {
		r.warn(CheckLambda, subject,
			fmt.Sprintf("the account's unreserved concurrency is %d (quota %d), below concurrency.maxConcurrency %d: the Map will run at most %d collectors at once",
				unreserved, limit, cc.MaxConcurrency, unreserved),
			fmt.Sprintf("request a Lambda concurrency quota increase (Service Quotas %s) or lower concurrency.maxConcurrency", ConcurrencyQuotaCode))
		return
	}
	what := "no reservation"
	if reserved >= 0 {
		what = fmt.Sprintf("a reservation of %d", reserved)
	}
	r.ok(CheckLambda, subject, fmt.Sprintf("the collector has %s; the account's quota is %d, %d unreserved (concurrency.maxConcurrency %d)", what, limit, unreserved, cc.MaxConcurrency))
}

// couldNot explains why a call could not be made.
func couldNot(err error) string {
	if notImplemented(err) {
		return fmt.Sprintf("the endpoint does not implement it (HTTP %d)", httpStatus(err))
	}
	return err.Error()
}

// fixCouldNot is the fix of a check that could not be made: check by hand
// where the endpoint lacks the call, else grant the caller the permission.
func fixCouldNot(err error, byHand, permission string) string {
	if notImplemented(err) {
		return "check it by hand against AWS: " + byHand
	}
	return "the caller needs " + permission
}

// reservationFits checks, before a deployment, that Lambda will accept
// concurrency.collectorReserved: an account must keep at least 100
// unreserved concurrent executions ("Configuring reserved concurrency" in
// the Lambda developer guide), and a new account's quota may be 10. The
// collector's current reservation, when the stack is already deployed,
// is given back first.
func (r *run) reservationFits(ctx context.Context) {
	want := r.d.Config.Concurrency.CollectorReserved
	if want == 0 {
		r.ok(CheckLambda, "collector", "no reserved concurrency configured (concurrency.collectorReserved 0)")
		return
	}
	current := 0
	if out, err := r.d.CloudFormation.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(r.d.stack())}); err == nil && len(out.Stacks) == 1 {
		for _, o := range out.Stacks[0].Outputs {
			if aws.ToString(o.OutputKey) != deployconfig.OutputCollectorFunction {
				continue
			}
			fc, err := r.d.Lambda.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: o.OutputValue})
			if err == nil && fc.ReservedConcurrentExecutions != nil {
				current = int(*fc.ReservedConcurrentExecutions)
			}
		}
	}
	st, err := r.d.Lambda.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil || st.AccountLimit == nil || st.AccountLimit.UnreservedConcurrentExecutions == nil {
		if err == nil {
			err = fmt.Errorf("no account limit in the answer")
		}
		r.warn(CheckLambda, "collector", "the reservation could not be checked against the account's quota: lambda:GetAccountSettings: "+couldNot(err),
			fixCouldNot(err, "aws lambda get-account-settings", "lambda:GetAccountSettings"))
		return
	}
	limit, unreserved := int(st.AccountLimit.ConcurrentExecutions), int(*st.AccountLimit.UnreservedConcurrentExecutions)
	if left := unreserved + current - want; left < deployconfig.UnreservedMinimum {
		r.fail(CheckLambda, "collector",
			fmt.Sprintf("concurrency.collectorReserved %d would leave %d unreserved concurrent executions (quota %d, %d unreserved now); Lambda keeps at least %d and would refuse the deployment",
				want, left, limit, unreserved+current, deployconfig.UnreservedMinimum),
			fmt.Sprintf("set concurrency.collectorReserved to 0 (the dispatcher then caps the Map at the unreserved pool) or at most %d, or request a quota increase (Service Quotas %s)",
				max(0, unreserved+current-deployconfig.UnreservedMinimum), ConcurrencyQuotaCode))
		return
	}
	r.ok(CheckLambda, "collector", fmt.Sprintf("concurrency.collectorReserved %d fits: the account's quota is %d, %d unreserved after it", want, limit, unreserved+current-want))
}
