package assume

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// expiredCodes are the error codes of a request whose credentials the
// service no longer accepts although the cache still holds them: EC2 and
// the query services answer ExpiredToken (EC2 also RequestExpired, which can
// be clock skew instead: renewing then costs one AssumeRole, and the
// request made again is signed with the SDK's corrected clock), the JSON
// services ExpiredTokenException.
var expiredCodes = map[string]bool{
	"ExpiredToken":          true,
	"ExpiredTokenException": true,
	"RequestExpired":        true,
}

// expiredCode returns err's code when it is one of expiredCodes.
func expiredCode(err error) (string, bool) {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return "", false
	}
	return api.ErrorCode(), expiredCodes[api.ErrorCode()]
}

// renewal is the latest renewal of an account's credentials: the
// credentials it replaced, and whether a request signed with others has
// succeeded since. It is recorded before the new credentials exist, so no
// success with them can go unnoticed.
type renewal struct {
	replaced aws.Credentials
	served   atomic.Bool
}

// signedWithKey is the context key of the credentials an operation's
// latest attempt was signed with (an *aws.Credentials).
type signedWithKey struct{}

// Retrieve returns the account's credentials from its cache. Every attempt
// of every request of the account's clients comes here, so a request is
// signed with what the cache holds at that moment. It also notes the
// credentials for renewOnExpiry, which needs to know which credentials a
// refused request was signed with.
func (r *role) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := r.creds.Retrieve(ctx)
	if err != nil {
		return c, r.assumeError(err)
	}
	if p, ok := ctx.Value(signedWithKey{}).(*aws.Credentials); ok {
		*p = c
	}
	return c, nil
}

// ProviderSources reports where the credentials come from (for the SDK's
// user agent).
func (r *role) ProviderSources() []aws.CredentialSource { return r.creds.ProviderSources() }

// addRenewal adds renewOnExpiry to a client's stack, before the SDK's retry
// loop: the standard retryer keeps throttling, 5xx and connection errors
// and does not retry expired-token errors, and each attempt of the loop
// resolves its credentials again.
func (r *role) addRenewal(stack *middleware.Stack) error {
	return stack.Finalize.Insert(renewOnExpiry{r}, "Retry", middleware.Before)
}

// renewOnExpiry makes a request refused as expired once more, with the
// account's credentials renewed (see Factory).
type renewOnExpiry struct{ r *role }

func (renewOnExpiry) ID() string { return "orgscan:RenewExpiredCredentials" }

func (m renewOnExpiry) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	signed := new(aws.Credentials)
	ctx = context.WithValue(ctx, signedWithKey{}, signed)
	out, md, err := next.HandleFinalize(ctx, in)
	code, expired := expiredCode(err)
	// Without signing credentials the error is not the service's answer
	// (an expired token of the base credentials, refused by STS, for one).
	if !expired || !signed.HasKeys() {
		if err == nil {
			m.r.served(*signed)
		}
		return out, md, err
	}
	if rerr := m.r.renew(ctx, *signed, code, err); rerr != nil {
		return out, md, rerr
	}
	// The retry loop rewinds the body only between its own attempts.
	if s, ok := in.Request.(interface{ RewindStream() error }); ok {
		if rerr := s.RewindStream(); rerr != nil {
			return out, md, fmt.Errorf("make the request again with renewed credentials (it was refused as %s): %w", code, rerr)
		}
	}
	*signed = aws.Credentials{}
	out, md, err = next.HandleFinalize(ctx, in)
	if err == nil {
		m.r.served(*signed)
	} else if code, expired := expiredCode(err); expired {
		err = fmt.Errorf("credentials of role %s refused as expired (%s) again after renewing them: %w", m.r.arn, code, err)
	}
	return out, md, err
}

// served records that c signed a request that succeeded.
func (r *role) served(c aws.Credentials) {
	if rn := r.renewed.Load(); rn != nil && !rn.served.Load() && !sameCredentials(rn.replaced, c) {
		rn.served.Store(true)
	}
}

// renew replaces the account's credentials after a request signed with
// signed was refused as expired (code, cause). It returns nil when the
// request should be made again with the credentials now in the cache:
// those another pair has renewed already, or newly assumed ones. It assumes
// the role only when the cache still holds the refused credentials, under
// renewMu, so the pairs that meet one expiry together cause one AssumeRole.
// It returns an error without asking STS when no request has succeeded
// since the previous renewal: the new credentials are refused too, so the
// cause is not their age, and assuming the role again would not help.
func (r *role) renew(ctx context.Context, signed aws.Credentials, code string, cause error) error {
	r.renewMu.Lock()
	defer r.renewMu.Unlock()
	cur, err := r.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials expired (%s) and renewing them failed: %w", code, r.assumeError(err))
	}
	if !sameCredentials(cur, signed) {
		return nil
	}
	if rn := r.renewed.Load(); rn != nil && !rn.served.Load() && !sameCredentials(rn.replaced, signed) {
		return fmt.Errorf("credentials of role %s renewed after an expiry were refused as expired (%s) before serving any request: %w", r.arn, code, cause)
	}
	r.renewed.Store(&renewal{replaced: signed})
	r.creds.Invalidate()
	if _, err := r.creds.Retrieve(ctx); err != nil {
		return fmt.Errorf("credentials expired (%s) and renewing them failed: %w", code, r.assumeError(err))
	}
	return nil
}

func sameCredentials(a, b aws.Credentials) bool {
	return a.AccessKeyID == b.AccessKeyID && a.SessionToken == b.SessionToken
}
