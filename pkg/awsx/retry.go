// Package awsx holds orgscan's AWS SDK plumbing: the retryer every client
// shares and, later, config loading and assume-role credentials.
package awsx

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Retry defaults. A scan makes few, cheap, read-only calls per pair, and a
// throttled call that gives up loses a resource type for a pair, so orgscan
// retries more patiently than the SDK default (3 attempts).
const (
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 10 * time.Second
)

// RetryOptions tune the shared retryer.
type RetryOptions struct {
	MaxAttempts int           // attempts per call, first included; 0 = DefaultMaxAttempts
	MaxBackoff  time.Duration // cap of the exponential jittered backoff; 0 = DefaultMaxBackoff
	// NoBackoff retries at once. Only for tests and simulations, where a
	// delay would slow the run without changing its result.
	NoBackoff bool
}

// NewRetryer returns the SDK's standard retryer (it classifies throttling,
// 5xx and connection errors and backs off with jitter) tuned for orgscan. The
// client-side retry quota is disabled: orgscan bounds its own load with its
// worker pool, and a drained quota would turn throttling into failed pairs.
// The retryer is safe for concurrent use by many clients.
func NewRetryer(o RetryOptions) aws.Retryer {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = o.MaxAttempts
		so.MaxBackoff = o.MaxBackoff
		so.RateLimiter = ratelimit.None
		if o.NoBackoff {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}
	})
}
