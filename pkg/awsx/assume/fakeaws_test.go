package assume_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orgscan/orgscan/pkg/awsx"
)

// session is what fakeAWS knows of one AssumeRole answer: the role, its
// number among the role's sessions (1-based), and the requests signed with
// it that the services have served and refused so far.
type session struct {
	Role    string
	N       int
	Served  int
	Refused int

	key string
}

// fakeAWS is an HTTP server that plays STS and the scanned services for the
// accounts of roleARN. Each AssumeRole issues a new session (a distinct
// access key and session token, Expiration now+ttl); EC2 DescribeVolumes and
// DynamoDB ListTables accept only a signature with an issued access key and
// its X-Amz-Security-Token, then answer with the error code fail returns
// for the session, or serve the request.
type fakeAWS struct {
	// refuse returns the error code of the role's n-th AssumeRole ("": it
	// succeeds).
	refuse func(role string, n int) string
	// fail returns the error code of a request signed with s ("": it is
	// served). s counts the requests before this one.
	fail func(s session) string
	ttl  time.Duration // default an hour
	// pages is DescribeVolumes' number of pages (default 1).
	pages int

	srv      *httptest.Server
	mu       sync.Mutex
	assumes  map[string]int
	sessions map[string]*session // by session token
	unknown  []string            // requests with credentials never issued
}

func newFakeAWS(t *testing.T, f *fakeAWS) *fakeAWS {
	t.Helper()
	f.assumes = map[string]int{}
	f.sessions = map[string]*session{}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// config is a base config whose every service endpoint is the fake and
// whose retryer retries at once.
func (f *fakeAWS) config() aws.Config {
	cfg := baseConfig()
	cfg.BaseEndpoint = aws.String(f.srv.URL)
	cfg.HTTPClient = f.srv.Client()
	cfg.Retryer = func() aws.Retryer { return awsx.NewRetryer(awsx.RetryOptions{NoBackoff: true}) }
	return cfg
}

var sigCredential = regexp.MustCompile(`Credential=([^/]+)/`)

// statusFor is the HTTP status AWS answers an error code with.
func statusFor(code string) int {
	switch code {
	case "AccessDenied", "UnauthorizedOperation":
		return http.StatusForbidden
	case "RequestLimitExceeded":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		f.serveJSON(w, r, target)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch action := r.PostForm.Get("Action"); action {
	case "AssumeRole":
		f.assumeRole(w, r.PostForm.Get("RoleArn"))
	case "DescribeVolumes":
		if code := f.authorize(r); code != "" {
			writeXMLError(w, code, "<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>x</RequestID></Response>")
			return
		}
		page := 1
		if tok := r.PostForm.Get("NextToken"); tok != "" {
			page, _ = strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		}
		next := ""
		if page < max(f.pages, 1) {
			next = fmt.Sprintf("<nextToken>page-%d</nextToken>", page+1)
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>`+
			`<volumeSet><item><volumeId>vol-%d</volumeId></item></volumeSet>%s</DescribeVolumesResponse>`, page, next)
	default:
		http.Error(w, "the fake does not answer "+action, http.StatusNotImplemented)
	}
}

func (f *fakeAWS) serveJSON(w http.ResponseWriter, r *http.Request, target string) {
	if target != "DynamoDB_20120810.ListTables" {
		http.Error(w, "the fake does not answer "+target, http.StatusNotImplemented)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if code := f.authorize(r); code != "" {
		w.WriteHeader(statusFor(code))
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": message(code)})
		return
	}
	fmt.Fprint(w, `{"TableNames":["t"]}`)
}

func (f *fakeAWS) assumeRole(w http.ResponseWriter, roleARN string) {
	f.mu.Lock()
	f.assumes[roleARN]++
	n := f.assumes[roleARN]
	code := ""
	if f.refuse != nil {
		code = f.refuse(roleARN, n)
	}
	account := strings.Split(roleARN, ":")[4]
	key, token := fmt.Sprintf("ASIA%sS%d", account, n), fmt.Sprintf("token-%s-%d", account, n)
	if code == "" {
		f.sessions[token] = &session{Role: roleARN, N: n, key: key}
	}
	f.mu.Unlock()
	if code != "" {
		writeXMLError(w, code, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
			`<Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
		return
	}
	ttl := f.ttl
	if ttl == 0 {
		ttl = time.Hour
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>%s</SessionToken>`+
		`<Expiration>%s</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/OrgScanRole/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>`+
		`</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		key, token, time.Now().Add(ttl).UTC().Format(time.RFC3339), account)
}

// authorize checks the request's access key and session token and returns
// the error code to answer with ("": serve it).
func (f *fakeAWS) authorize(r *http.Request) string {
	m := sigCredential.FindStringSubmatch(r.Header.Get("Authorization"))
	token := r.Header.Get("X-Amz-Security-Token")
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[token]
	if m == nil || !ok || s.key != m[1] {
		f.unknown = append(f.unknown, fmt.Sprintf("%q with token %q", r.Header.Get("Authorization"), token))
		return "AuthFailure"
	}
	code := ""
	if f.fail != nil {
		code = f.fail(*s)
	}
	if code != "" {
		s.Refused++
	} else {
		s.Served++
	}
	return code
}

func message(code string) string {
	switch code {
	case "ExpiredToken", "ExpiredTokenException":
		return "The security token included in the request is expired"
	case "AccessDenied":
		// AWS's message names the role; this one does not, so that a test
		// can see that orgscan's own error does.
		return "not authorized to perform sts:AssumeRole"
	}
	return code + " from the fake"
}

func writeXMLError(w http.ResponseWriter, code, format string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(statusFor(code))
	fmt.Fprintf(w, format, code, html.EscapeString(message(code)))
}

// assumeCalls returns the AssumeRole calls per role.
func (f *fakeAWS) assumeCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.assumes {
		out[k] = v
	}
	return out
}

// sessionsOf returns the role's sessions in the order they were issued.
func (f *fakeAWS) sessionsOf(role string) []session {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []session
	for _, s := range f.sessions {
		if s.Role == role {
			out = append(out, *s)
		}
	}
	slices.SortFunc(out, func(a, b session) int { return a.N - b.N })
	return out
}

func (f *fakeAWS) unknownCredentials() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.unknown...)
}
