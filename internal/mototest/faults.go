package mototest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Faults is an HTTP client for the SDK (awsx.Options.HTTPClient) that
// counts requests and injects faults before they reach the server: it
// answers AssumeRole into one account with AccessDenied, throttles every
// n-th EC2 request the way AWS answers, and fails every n-th request of any
// service with a 500 or a connection reset. Safe for concurrent use.
type Faults struct {
	Base aws.HTTPClient
	// DenyAssumeRoleInto is an account ID whose roles cannot be assumed.
	DenyAssumeRoleInto string
	// ThrottleEC2Every throttles every n-th EC2 request (0: never).
	ThrottleEC2Every int
	// FailEvery answers every n-th request (any service; 0: never),
	// alternately, with an HTTP 500 InternalError and a connection reset.
	FailEvery int
	// DenyAction answers every request of a query-protocol operation (the
	// form's Action, e.g. EC2's "DescribeAddresses") with EC2's
	// UnauthorizedOperation.
	DenyAction string
	// DenyTarget answers every request of a JSON-protocol operation whose
	// X-Amz-Target is this (e.g. "AWSEvents.PutEvents") with
	// AccessDeniedException.
	DenyTarget string

	mu        sync.Mutex
	seen      int
	errors500 int
	resets    int
	actions   map[string]int
	ec2Seen   int
	throttled int
	denied    int
}

// NewFaults returns a fault injector over the SDK's default HTTP client.
func NewFaults() *Faults { return &Faults{Base: awshttp.NewBuildableClient()} }

// Do implements aws.HTTPClient.
func (f *Faults) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	action := formValue(string(body), "Action")
	if action == "" {
		action = req.Header.Get("X-Amz-Target")
	}
	f.mu.Lock()
	if f.actions == nil {
		f.actions = map[string]int{}
	}
	f.actions[action]++
	isEC2 := strings.Contains(string(body), "Version=2016-11-15")
	throttle := false
	if isEC2 && f.ThrottleEC2Every > 0 {
		f.ec2Seen++
		throttle = f.ec2Seen%f.ThrottleEC2Every == 0
		if throttle {
			f.throttled++
		}
	}
	f.seen++
	fail500, reset := false, false
	if !throttle && f.FailEvery > 0 && f.seen%f.FailEvery == 0 {
		if (f.seen/f.FailEvery)%2 == 0 {
			fail500 = true
			f.errors500++
		} else {
			reset = true
			f.resets++
		}
	}
	denyTarget := f.DenyTarget != "" && req.Header.Get("X-Amz-Target") == f.DenyTarget
	denyAction := f.DenyAction != "" && action == f.DenyAction
	if denyTarget || denyAction {
		f.denied++
	}
	deny := action == "AssumeRole" && f.DenyAssumeRoleInto != "" && strings.Contains(formValue(string(body), "RoleArn"), ":"+f.DenyAssumeRoleInto+":")
	if deny {
		f.denied++
	}
	f.mu.Unlock()
	switch {
	case denyAction:
		return response(req, http.StatusForbidden, `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. (injected)</Message></Error></Errors><RequestID>injected</RequestID></Response>`), nil
	case denyTarget:
		r := response(req, http.StatusBadRequest, `{"__type":"AccessDeniedException","message":"not authorized to perform `+f.DenyTarget+` (injected)"}`)
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		return r, nil
	case deny:
		return response(req, http.StatusForbidden, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
			`<Message>User: arn:aws:sts::123456789012:assumed-role/orgscan-collector is not authorized to perform: sts:AssumeRole (injected)</Message></Error><RequestId>injected</RequestId></ErrorResponse>`), nil
	case throttle:
		return response(req, http.StatusServiceUnavailable, `<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded. (injected)</Message></Error></Errors><RequestID>injected</RequestID></Response>`), nil
	case reset:
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	case fail500:
		if req.Header.Get("X-Amz-Target") != "" {
			r := response(req, http.StatusInternalServerError, `{"__type":"InternalFailure","message":"internal error (injected)"}`)
			r.Header.Set("Content-Type", "application/x-amz-json-1.0")
			return r, nil
		}
		return response(req, http.StatusInternalServerError, `<Response><Errors><Error><Code>InternalError</Code><Message>internal error (injected)</Message></Error></Errors><RequestID>injected</RequestID></Response>`), nil
	}
	return f.Base.Do(req)
}

// Count returns how many requests of an action (form Action, or the JSON
// protocols' X-Amz-Target) were sent, injected faults included.
func (f *Faults) Count(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.actions[action]
}

// Throttled and Denied count injected faults.
func (f *Faults) Throttled() int { f.mu.Lock(); defer f.mu.Unlock(); return f.throttled }
func (f *Faults) Denied() int    { f.mu.Lock(); defer f.mu.Unlock(); return f.denied }

// Failed counts injected 500s and connection resets.
func (f *Faults) Failed() (errors500, resets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errors500, f.resets
}

func response(req *http.Request, status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": []string{"text/xml"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}
}

func formValue(body, key string) string {
	for _, kv := range strings.Split(body, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			if u, err := urlUnescape(v); err == nil {
				return u
			}
			return v
		}
	}
	return ""
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }
