// Package deployconfig reads orgscan's deployment configuration: the one
// file (YAML, or JSON, which is YAML too) that says how the pipeline is
// deployed into an organization — the organization mode, the OUs the member
// role reaches, the regions in scope, the schedule, what a scheduled run
// excludes, where its events go, and the collector's concurrency.
//
// The CDK app (infra/cdk) synthesizes its stacks from it and `orgscan
// doctor` checks a deployment against it, so both read the same values with
// the same validation: a bad value fails `make synth` (and the doctor) with
// the file, line and field at fault, before anything reaches AWS.
//
// infra/cdk/deploy.example.yaml is a complete, commented example.
package deployconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/orgscan/orgscan/pkg/checks/catalog"
	runconfig "github.com/orgscan/orgscan/pkg/config"
	"github.com/orgscan/orgscan/pkg/pipeline"
)

// Organization modes: where the pipeline stack is deployed.
const (
	// ModeManagement: the pipeline runs in the organization's management
	// account. The StackSet reaches the member accounts; the management
	// account itself gets the member role from the member role stack
	// deployed with the pipeline (service-managed StackSets never deploy to
	// the management account).
	ModeManagement = "management"
	// ModeDelegatedAdmin: the pipeline runs in a member account registered
	// as delegated administrator for CloudFormation StackSets. The StackSet
	// is created with CallAs DELEGATED_ADMIN; the management account gets
	// its member role from a separate stack deployed there.
	ModeDelegatedAdmin = "delegated-admin"
)

// Config is a validated deployment configuration. Zero values never reach
// the CDK app: Parse fills every default.
type Config struct {
	Organization  Organization  `yaml:"organization" json:"organization"`
	MemberRole    MemberRole    `yaml:"memberRole" json:"memberRole"`
	Regions       []string      `yaml:"regions" json:"regions"`
	Schedule      Schedule      `yaml:"schedule" json:"schedule"`
	Scan          Scan          `yaml:"scan" json:"scan"`
	Notifications Notifications `yaml:"notifications" json:"notifications"`
	Concurrency   Concurrency   `yaml:"concurrency" json:"concurrency"`
	Advanced      Advanced      `yaml:"advanced" json:"advanced"`

	// File is the path the configuration was read from ("" when parsed
	// from memory); relative paths inside it are relative to its directory.
	File string `yaml:"-" json:"-"`
	// RunOptions are the thresholds, exclusions and ignoreTag policy of
	// Scan.OptionsFile, already validated (zero when there is none).
	RunOptions runconfig.Config `yaml:"-" json:"-"`
}

// Organization is where the pipeline runs and which accounts it scans.
type Organization struct {
	// Mode is ModeManagement or ModeDelegatedAdmin.
	Mode string `yaml:"mode" json:"mode"`
	// Targets are the organization's root (r-…) or OUs (ou-…) whose
	// accounts get the member role (the StackSet's deployment targets,
	// auto-deployed to accounts that join later) and are scanned.
	Targets []string `yaml:"targets" json:"targets"`
	// OrganizationID (o-…), when set, is the organization the collector
	// may assume roles in (aws:ResourceOrgID); by default, the pipeline
	// account's own organization (${aws:PrincipalOrgID}).
	OrganizationID string `yaml:"organizationId" json:"organizationId,omitempty"`
	// ManagementAccountID is the management account's ID, required in
	// ModeDelegatedAdmin: the doctor checks its role, and the management
	// role stack is deployed there.
	ManagementAccountID string `yaml:"managementAccountId" json:"managementAccountId,omitempty"`
}

// MemberRole is the read-only role the collector assumes in every account.
type MemberRole struct {
	Name string `yaml:"name" json:"name"`
	// ExternalIDParameter is the SSM parameter (String) holding the
	// sts:ExternalId: the one place both the collector and the member
	// roles' trust policies take it from, at deploy time.
	ExternalIDParameter string `yaml:"externalIdParameter" json:"externalIdParameter"`
	// StackSetFailureTolerancePercentage and
	// StackSetMaxConcurrentPercentage are the StackSet's operation
	// preferences.
	StackSetFailureTolerancePercentage int `yaml:"stackSetFailureTolerancePercentage" json:"stackSetFailureTolerancePercentage"`
	StackSetMaxConcurrentPercentage    int `yaml:"stackSetMaxConcurrentPercentage" json:"stackSetMaxConcurrentPercentage"`
}

// Schedule is when scheduled runs start.
type Schedule struct {
	// Expression is an EventBridge Scheduler cron(…) or rate(…)
	// expression, in UTC.
	Expression string `yaml:"expression" json:"expression"`
	// Enabled starts the schedule enabled. The default is false: turn it on
	// once `orgscan doctor` passes, so that no run fires before the member
	// roles exist.
	Enabled bool `yaml:"enabled" json:"enabled"`
}

// Scan is what a scheduled run scans, beyond the targets and regions.
type Scan struct {
	ExcludeAccounts []string `yaml:"excludeAccounts" json:"excludeAccounts,omitempty"`
	// Checks limits the checks (default: all).
	Checks       []string `yaml:"checks" json:"checks,omitempty"`
	LookbackDays int      `yaml:"lookbackDays" json:"lookbackDays,omitempty"`
	// OptionsFile is an orgscan configuration file (thresholds, exclusions,
	// ignoreTag: the format of `orgscan run --config`), relative to this
	// file; its contents go into the scheduled run request.
	OptionsFile string `yaml:"optionsFile" json:"optionsFile,omitempty"`
}

// Notifications are where a run's event and the alarms go.
type Notifications struct {
	// TopicARN is an existing SNS topic every run's EventBridge event is
	// sent to.
	TopicARN string `yaml:"topicArn" json:"topicArn,omitempty"`
	// TopicPolicyAllowsEventBridge acknowledges that the topic's policy
	// lets events.amazonaws.com publish (and, for an encrypted topic, its
	// key lets EventBridge use it): the stack cannot add a statement to a
	// topic it does not own, and without it every event is dropped.
	TopicPolicyAllowsEventBridge bool `yaml:"topicPolicyAllowsEventBridge" json:"topicPolicyAllowsEventBridge,omitempty"`
	// MinMonthlyUSD is the monthly cost from which a new finding is named
	// in the event.
	MinMonthlyUSD float64 `yaml:"minMonthlyUsd" json:"minMonthlyUsd"`
	// AlarmTopicARN is an existing SNS topic the alarms notify.
	AlarmTopicARN string `yaml:"alarmTopicArn" json:"alarmTopicArn,omitempty"`
}

// Concurrency bounds the scan's parallelism.
type Concurrency struct {
	// CollectorReserved reserves concurrent executions for the collector
	// (0, the default: none). Lambda lets an account reserve at most its
	// concurrency quota minus 100; new accounts often have a quota of 10.
	CollectorReserved int `yaml:"collectorReserved" json:"collectorReserved"`
	// MaxConcurrency is the Distributed Map's child executions at most
	// (the run request's maxConcurrency); the dispatcher lowers it to what
	// the collector can run.
	MaxConcurrency int `yaml:"maxConcurrency" json:"maxConcurrency"`
	// PairConcurrency is the pairs of a batch one collector scans at once.
	PairConcurrency int `yaml:"pairConcurrency" json:"pairConcurrency"`
}

// Advanced are names and limits that rarely change.
type Advanced struct {
	CollectorRoleName string `yaml:"collectorRoleName" json:"collectorRoleName"`
	// DoctorRoleName is the pipeline account's role `orgscan doctor`
	// assumes the member roles through: the member roles trust only it and
	// the collector role.
	DoctorRoleName           string `yaml:"doctorRoleName" json:"doctorRoleName"`
	StateMachineName         string `yaml:"stateMachineName" json:"stateMachineName"`
	GlueDatabase             string `yaml:"glueDatabase" json:"glueDatabase"`
	AthenaWorkGroup          string `yaml:"athenaWorkGroup" json:"athenaWorkGroup"`
	AthenaBytesScannedCutoff int64  `yaml:"athenaBytesScannedCutoff" json:"athenaBytesScannedCutoff"`
	LogRetentionDays         int    `yaml:"logRetentionDays" json:"logRetentionDays"`
	RunsRetentionDays        int    `yaml:"runsRetentionDays" json:"runsRetentionDays"`
	Tracing                  bool   `yaml:"tracing" json:"tracing"`
}

// Defaults is the configuration of an empty file (besides the required
// organization fields).
func Defaults() Config {
	return Config{
		Organization: Organization{Mode: ModeManagement},
		MemberRole: MemberRole{
			Name:                               "OrgScanMember",
			ExternalIDParameter:                "/orgscan/external-id",
			StackSetFailureTolerancePercentage: 10,
			StackSetMaxConcurrentPercentage:    25,
		},
		Schedule:      Schedule{Expression: "cron(0 6 * * ? *)"},
		Notifications: Notifications{MinMonthlyUSD: 100},
		Concurrency:   Concurrency{MaxConcurrency: pipeline.DefaultMaxConcurrency, PairConcurrency: 4},
		Advanced: Advanced{
			CollectorRoleName:        "orgscan-collector",
			DoctorRoleName:           "orgscan-doctor",
			StateMachineName:         "orgscan",
			GlueDatabase:             "orgscan",
			AthenaWorkGroup:          "orgscan",
			AthenaBytesScannedCutoff: 10 << 30,
			LogRetentionDays:         90,
			RunsRetentionDays:        30,
			Tracing:                  true,
		},
	}
}

// Error is a configuration problem: the file, the line (0 when unknown),
// the dotted field and why.
type Error struct {
	File   string
	Line   int
	Field  string
	Reason string
}

func (e *Error) Error() string {
	loc := e.File
	if loc == "" {
		loc = "deployment configuration"
	}
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field == "" {
		return loc + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Reason)
}

// Errors is every problem of a configuration, in file order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Load reads and validates the configuration file at path.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, &Error{File: path, Reason: err.Error()}
	}
	return Parse(path, b)
}

// The fields a file may have, by dotted path; a mapping's children are
// listed, a leaf maps to nil.
var schema = map[string][]string{
	"":              {"organization", "memberRole", "regions", "schedule", "scan", "notifications", "concurrency", "advanced"},
	"organization":  {"mode", "targets", "organizationId", "managementAccountId"},
	"memberRole":    {"name", "externalIdParameter", "stackSetFailureTolerancePercentage", "stackSetMaxConcurrentPercentage"},
	"schedule":      {"expression", "enabled"},
	"scan":          {"excludeAccounts", "checks", "lookbackDays", "optionsFile"},
	"notifications": {"topicArn", "topicPolicyAllowsEventBridge", "minMonthlyUsd", "alarmTopicArn"},
	"concurrency":   {"collectorReserved", "maxConcurrency", "pairConcurrency"},
	"advanced":      {"collectorRoleName", "doctorRoleName", "stateMachineName", "glueDatabase", "athenaWorkGroup", "athenaBytesScannedCutoff", "logRetentionDays", "runsRetentionDays", "tracing"},
}

var (
	rootRe       = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	ouRe         = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	orgIDRe      = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	accountIDRe  = regexp.MustCompile(`^\d{12}$`)
	iamNameRe    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	sfnNameRe    = regexp.MustCompile(`^[\w-]{1,80}$`)
	ssmNameRe    = regexp.MustCompile(`^(/[\w.-]+)+$`)
	glueNameRe   = regexp.MustCompile(`^[a-z0-9_]{1,255}$`)
	workGroupRe  = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)
	cronRe       = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)
	rateRe       = regexp.MustCompile(`^rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\)$`)
	snsTopicARNs = regexp.MustCompile(`^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$`)
)

// LogRetentions are the retention periods CloudWatch Logs accepts, in days.
var LogRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Parse validates a configuration held in memory; name labels errors and
// anchors the relative paths in it.
func Parse(name string, b []byte) (Config, error) {
	c := Defaults()
	c.File = name
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return Config{}, &Error{File: name, Reason: "not valid YAML or JSON: " + err.Error()}
	}
	if len(doc.Content) == 0 {
		return Config{}, Errors{{File: name, Field: "organization.targets", Reason: "is required: the root (r-…) or OUs (ou-…) to deploy the member role to and scan"}}
	}
	p := &parser{file: name, lines: map[string]int{}}
	root := doc.Content[0]
	p.walk(root, "")
	if len(p.errs) > 0 {
		return Config{}, p.errs
	}
	if err := root.Decode(&c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				p.typeError(m)
			}
			return Config{}, p.errs
		}
		return Config{}, &Error{File: name, Reason: err.Error()}
	}
	p.validate(&c)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return Config{}, p.errs
	}
	return c, nil
}

type parser struct {
	file  string
	lines map[string]int // dotted field → line of its value
	errs  Errors
}

func (p *parser) add(field, reason string) {
	p.errs = append(p.errs, &Error{File: p.file, Line: p.line(field), Field: field, Reason: reason})
}

// line is the line of field's value, or of its closest parent given.
func (p *parser) line(field string) int {
	for f := field; ; {
		if l, ok := p.lines[f]; ok {
			return l
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			return 0
		}
		f = f[:i]
	}
}

// walk records every field's line and refuses unknown and repeated keys.
func (p *parser) walk(n *yaml.Node, path string) {
	p.lines[path] = n.Line
	children, isMapping := schema[path]
	if !isMapping {
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				p.lines[fmt.Sprintf("%s[%d]", path, i)] = c.Line
			}
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return
		}
		p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Field: path, Reason: "must be a mapping of " + strings.Join(children, ", ")})
		return
	}
	seen := map[string]int{}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := k.Value
		if path != "" {
			field = path + "." + k.Value
		}
		if first, ok := seen[k.Value]; ok {
			p.errs = append(p.errs, &Error{File: p.file, Line: k.Line, Field: field, Reason: fmt.Sprintf("given twice (first on line %d)", first)})
			continue
		}
		seen[k.Value] = k.Line
		known := false
		for _, c := range children {
			known = known || c == k.Value
		}
		if !known {
			p.errs = append(p.errs, &Error{File: p.file, Line: k.Line, Field: field, Reason: "unknown field (known: " + strings.Join(children, ", ") + ")"})
			continue
		}
		p.walk(v, field)
	}
}

var typeErrRe = regexp.MustCompile(`^line (\d+): (.*)$`)

// typeError turns one of yaml's "line N: cannot unmarshal …" messages into
// an Error naming the field on that line.
func (p *parser) typeError(msg string) {
	m := typeErrRe.FindStringSubmatch(msg)
	if m == nil {
		p.errs = append(p.errs, &Error{File: p.file, Reason: msg})
		return
	}
	line, _ := strconv.Atoi(m[1])
	field := ""
	for f, l := range p.lines {
		if l == line && (field == "" || len(f) > len(field)) {
			field = f
		}
	}
	reason := m[2]
	if i := strings.Index(reason, "cannot unmarshal "); i >= 0 {
		// "cannot unmarshal !!str `abc` into int" → "must be a number, got `abc`"
		want := reason[strings.LastIndex(reason, " into ")+len(" into "):]
		got := strings.TrimPrefix(reason[i+len("cannot unmarshal "):strings.LastIndex(reason, " into ")], "!!")
		switch {
		case strings.HasPrefix(want, "int"), strings.HasPrefix(want, "float"):
			want = "a number"
		case want == "bool":
			want = "true or false"
		case want == "string":
			want = "a string"
		case strings.HasPrefix(want, "[]"):
			want = "a list"
		}
		reason = "must be " + want + ", got " + got
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Reason: reason})
}

func (p *parser) validate(c *Config) {
	o := &c.Organization
	switch o.Mode {
	case ModeManagement, ModeDelegatedAdmin:
	default:
		p.add("organization.mode", fmt.Sprintf("%q is not %q or %q", o.Mode, ModeManagement, ModeDelegatedAdmin))
	}
	if len(o.Targets) == 0 {
		p.add("organization.targets", "is required: the root (r-…) or OUs (ou-…) to deploy the member role to and scan")
	}
	roots := 0
	seen := map[string]bool{}
	for i, t := range o.Targets {
		f := fmt.Sprintf("organization.targets[%d]", i)
		switch {
		case rootRe.MatchString(t):
			roots++
		case ouRe.MatchString(t):
		default:
			p.add(f, fmt.Sprintf("%q is not a root ID (r-…) or an OU ID (ou-…-…)", t))
		}
		if seen[t] {
			p.add(f, fmt.Sprintf("%q is given twice", t))
		}
		seen[t] = true
	}
	if roots > 0 && len(o.Targets) > 1 {
		p.add("organization.targets", "the root already covers every OU: give the root alone, or OUs")
	}
	if o.OrganizationID != "" && !orgIDRe.MatchString(o.OrganizationID) {
		p.add("organization.organizationId", fmt.Sprintf("%q is not an organization ID (o-…)", o.OrganizationID))
	}
	switch {
	case o.ManagementAccountID != "" && !accountIDRe.MatchString(o.ManagementAccountID):
		p.add("organization.managementAccountId", fmt.Sprintf("%q is not a 12-digit AWS account ID", o.ManagementAccountID))
	case o.Mode == ModeDelegatedAdmin && o.ManagementAccountID == "":
		p.add("organization.managementAccountId", "is required in delegated-admin mode: the management account gets its member role from a stack of its own")
	}

	m := &c.MemberRole
	if !iamNameRe.MatchString(m.Name) {
		p.add("memberRole.name", fmt.Sprintf("%q is not an IAM role name (1-64 of letters, digits, +=,.@_-)", m.Name))
	}
	if !ssmNameRe.MatchString(m.ExternalIDParameter) || len(m.ExternalIDParameter) > 1011 || strings.HasPrefix(strings.ToLower(m.ExternalIDParameter), "/aws") || strings.HasPrefix(strings.ToLower(m.ExternalIDParameter), "/ssm") {
		p.add("memberRole.externalIdParameter", fmt.Sprintf("%q is not an SSM parameter name of this stack's own (a path like /orgscan/external-id; not under /aws or /ssm)", m.ExternalIDParameter))
	}
	if m.StackSetFailureTolerancePercentage < 0 || m.StackSetFailureTolerancePercentage > 100 {
		p.add("memberRole.stackSetFailureTolerancePercentage", fmt.Sprintf("%d is not a percentage in 0..100", m.StackSetFailureTolerancePercentage))
	}
	if m.StackSetMaxConcurrentPercentage < 1 || m.StackSetMaxConcurrentPercentage > 100 {
		p.add("memberRole.stackSetMaxConcurrentPercentage", fmt.Sprintf("%d is not a percentage in 1..100", m.StackSetMaxConcurrentPercentage))
	}

	seen = map[string]bool{}
	for i, r := range c.Regions {
		f := fmt.Sprintf("regions[%d]", i)
		if !pipeline.ValidRegion(r) {
			p.add(f, fmt.Sprintf("%q is not an AWS region name", r))
		} else if seen[r] {
			p.add(f, fmt.Sprintf("%q is given twice", r))
		}
		seen[r] = true
	}

	s := &c.Schedule
	if !cronRe.MatchString(s.Expression) && !rateRe.MatchString(s.Expression) {
		p.add("schedule.expression", fmt.Sprintf("%q is not an EventBridge Scheduler cron(minutes hours day-of-month month day-of-week year) or rate(N unit) expression", s.Expression))
	}

	for i, a := range c.Scan.ExcludeAccounts {
		if !accountIDRe.MatchString(a) {
			p.add(fmt.Sprintf("scan.excludeAccounts[%d]", i), fmt.Sprintf("%q is not a 12-digit AWS account ID", a))
		}
	}
	for i, id := range c.Scan.Checks {
		if _, ok := catalog.Lookup(id); !ok {
			p.add(fmt.Sprintf("scan.checks[%d]", i), fmt.Sprintf("%q is not a check (see `orgscan checks`)", id))
		}
	}
	if c.Scan.LookbackDays < 0 || c.Scan.LookbackDays > 455 {
		p.add("scan.lookbackDays", fmt.Sprintf("%d is not a number of days in 1..455 (CloudWatch keeps daily data 455 days), or 0 for each check's own", c.Scan.LookbackDays))
	}
	if c.Scan.OptionsFile != "" {
		path := c.Scan.OptionsFile
		if !filepath.IsAbs(path) && p.file != "" {
			path = filepath.Join(filepath.Dir(p.file), path)
		}
		opts, err := runconfig.Load(path)
		if err != nil {
			p.add("scan.optionsFile", err.Error())
		} else {
			c.RunOptions = opts
		}
	}

	n := &c.Notifications
	if n.TopicARN != "" && !snsTopicARNs.MatchString(n.TopicARN) {
		p.add("notifications.topicArn", fmt.Sprintf("%q is not an SNS topic ARN", n.TopicARN))
	} else if n.TopicARN != "" && !n.TopicPolicyAllowsEventBridge {
		p.add("notifications.topicPolicyAllowsEventBridge", "must be true once the topic's policy lets EventBridge publish: this stack cannot add a statement to a topic it does not own, and without one every run's event is silently dropped. Add to the topic's policy: "+TopicPolicyStatement(n.TopicARN)+" (for a topic encrypted with a customer managed KMS key, its key policy must also allow events.amazonaws.com kms:GenerateDataKey* and kms:Decrypt; the AWS managed key aws/sns cannot be used)")
	}
	if n.AlarmTopicARN != "" && !snsTopicARNs.MatchString(n.AlarmTopicARN) {
		p.add("notifications.alarmTopicArn", fmt.Sprintf("%q is not an SNS topic ARN", n.AlarmTopicARN))
	}
	if !(n.MinMonthlyUSD >= 0 && n.MinMonthlyUSD <= 1e9) {
		p.add("notifications.minMonthlyUsd", fmt.Sprintf("%v is not a number of dollars in 0..1e9", n.MinMonthlyUSD))
	}

	k := &c.Concurrency
	if k.MaxConcurrency < 1 || k.MaxConcurrency > 10000 {
		p.add("concurrency.maxConcurrency", fmt.Sprintf("%d is not in 1..10000 (the Distributed Map's child executions at most)", k.MaxConcurrency))
	}
	switch {
	case k.CollectorReserved < 0:
		p.add("concurrency.collectorReserved", fmt.Sprintf("%d is negative (0: no reservation)", k.CollectorReserved))
	case k.CollectorReserved > MaxReservable:
		p.add("concurrency.collectorReserved", fmt.Sprintf("%d is over %d: Lambda lets an account reserve at most its concurrency quota minus 100, and the default quota is %d", k.CollectorReserved, MaxReservable, DefaultConcurrencyQuota))
	case k.CollectorReserved > 0 && k.CollectorReserved < k.MaxConcurrency:
		p.add("concurrency.collectorReserved", fmt.Sprintf("%d is below concurrency.maxConcurrency (%d): the Map would start more collectors than may run; lower maxConcurrency or raise the reservation", k.CollectorReserved, k.MaxConcurrency))
	}
	if k.PairConcurrency < 1 || k.PairConcurrency > 64 {
		p.add("concurrency.pairConcurrency", fmt.Sprintf("%d is not in 1..64", k.PairConcurrency))
	}

	a := &c.Advanced
	if !iamNameRe.MatchString(a.CollectorRoleName) {
		p.add("advanced.collectorRoleName", fmt.Sprintf("%q is not an IAM role name", a.CollectorRoleName))
	}
	if !iamNameRe.MatchString(a.DoctorRoleName) || a.DoctorRoleName == a.CollectorRoleName {
		p.add("advanced.doctorRoleName", fmt.Sprintf("%q is not an IAM role name other than the collector's", a.DoctorRoleName))
	}
	if !sfnNameRe.MatchString(a.StateMachineName) {
		p.add("advanced.stateMachineName", fmt.Sprintf("%q is not a state machine name (1-80 letters, digits, '_' or '-')", a.StateMachineName))
	}
	if !glueNameRe.MatchString(a.GlueDatabase) {
		p.add("advanced.glueDatabase", fmt.Sprintf("%q is not a Glue database name (lower-case letters, digits, '_')", a.GlueDatabase))
	}
	if !workGroupRe.MatchString(a.AthenaWorkGroup) {
		p.add("advanced.athenaWorkGroup", fmt.Sprintf("%q is not an Athena workgroup name", a.AthenaWorkGroup))
	}
	if a.AthenaBytesScannedCutoff < 10_000_000 {
		p.add("advanced.athenaBytesScannedCutoff", fmt.Sprintf("%d is below Athena's minimum of 10,000,000 bytes", a.AthenaBytesScannedCutoff))
	}
	if !containsInt(LogRetentions, a.LogRetentionDays) {
		p.add("advanced.logRetentionDays", fmt.Sprintf("%d is not a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, …, 3653)", a.LogRetentionDays))
	}
	if a.RunsRetentionDays < 1 || a.RunsRetentionDays > 3650 {
		p.add("advanced.runsRetentionDays", fmt.Sprintf("%d is not in 1..3650", a.RunsRetentionDays))
	}

	if len(p.errs) == 0 {
		// The scheduled run request, as the dispatcher will parse it (the
		// deployment region stands in when regions are not given).
		if _, err := c.RunRequest("us-east-1"); err != nil {
			p.add("scan", err.Error())
		}
	}
}

// Lambda's concurrency rules (Lambda developer guide, "Lambda quotas" and
// "Configuring reserved concurrency"): an account's default quota is 1,000
// concurrent executions, and reservations must leave at least 100
// unreserved.
const (
	DefaultConcurrencyQuota = 1000
	UnreservedMinimum       = 100
	MaxReservable           = DefaultConcurrencyQuota - UnreservedMinimum
)

// TopicPolicyStatement is the statement an existing topic's policy needs
// for the stack's EventBridge rule to publish to it.
func TopicPolicyStatement(topicARN string) string {
	b, _ := json.Marshal(map[string]any{
		"Sid":       "OrgScanRunEvents",
		"Effect":    "Allow",
		"Principal": map[string]string{"Service": "events.amazonaws.com"},
		"Action":    "sns:Publish",
		"Resource":  topicARN,
	})
	return string(b)
}

// ScansRoot reports whether the targets are the organization's root.
func (c Config) ScansRoot() bool {
	return len(c.Organization.Targets) == 1 && rootRe.MatchString(c.Organization.Targets[0])
}

// RegionsIn returns the regions in scope: the configured ones, or the
// deployment region alone.
func (c Config) RegionsIn(deploymentRegion string) []string {
	if len(c.Regions) > 0 {
		return c.Regions
	}
	return []string{deploymentRegion}
}

// RunRequest is the request every scheduled run starts with: the regions
// in scope (deploymentRegion when none are configured), the target OUs
// (none when the root is the target: every account), the exclusions, checks
// and options. It is checked with the dispatcher's own parser.
func (c Config) RunRequest(deploymentRegion string) (pipeline.RunRequest, error) {
	req := pipeline.RunRequest{
		Regions:         c.RegionsIn(deploymentRegion),
		ExcludeAccounts: c.Scan.ExcludeAccounts,
		Checks:          c.Scan.Checks,
		LookbackDays:    c.Scan.LookbackDays,
		Params:          c.RunOptions.Params,
		Exclusions:      c.RunOptions.Exclusions,
		IgnoreTag:       c.RunOptions.IgnoreTag,
		MaxConcurrency:  c.Concurrency.MaxConcurrency,
	}
	if len(req.Params) == 0 {
		req.Params = nil
	}
	if !c.ScansRoot() {
		req.OrganizationalUnits = c.Organization.Targets
	}
	b, err := json.Marshal(req)
	if err != nil {
		return pipeline.RunRequest{}, err
	}
	if _, err := pipeline.ParseDispatchInput(b); err != nil {
		return pipeline.RunRequest{}, err
	}
	return req, nil
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Stack names: the template file names in cdk.out and the stacks `orgscan
// doctor` reads.
const (
	// PipelineStackName is the pipeline (the pipeline account).
	PipelineStackName = "OrgScanPipeline"
	// StackSetStackName declares the service-managed StackSet that puts
	// the member role into every account of the targets (pipeline account).
	StackSetStackName = "OrgScanMemberStackSet"
	// ManagementRoleStackName is the member role of the management
	// account, which service-managed StackSets never reach: deployed with
	// the pipeline in management mode, into the management account with its
	// own credentials in delegated-admin mode.
	ManagementRoleStackName = "OrgScanManagementRole"
	// StackSetName is the service-managed StackSet of the member role.
	StackSetName = "orgscan-member-role"
)

// The pipeline stack's outputs (CloudFormation output keys).
const (
	OutputBucketName          = "BucketName"
	OutputTableName           = "TableName"
	OutputStateMachineArn     = "StateMachineArn"
	OutputCollectorRoleArn    = "CollectorRoleArn"
	OutputDoctorRoleArn       = "DoctorRoleArn"
	OutputCollectorFunction   = "CollectorFunctionName"
	OutputScheduleName        = "ScheduleName"
	OutputExternalIDParameter = "ExternalIdParameter"
)

// The member role's inline policies: what the checks read (exactly
// checks.Policy(checks.All()), docs/iam-policy.json), and what `orgscan
// doctor` calls with the role.
const (
	MemberPolicyName    = "OrgScanReadOnly"
	PreflightPolicyName = "OrgScanPreflight"
)

// PreflightActions are the calls `orgscan doctor` makes with the member
// role: the account's enabled regions, and the role's own read-only policy
// (to tell a missing or out-of-date role from a working one). The CDK
// grants iam:GetRolePolicy on the role itself only.
var PreflightActions = []string{"ec2:DescribeRegions", "iam:GetRolePolicy"}
