// Package aslrules checks an Amazon States Language (ASL) definition against
// documented Step Functions rules that CreateStateMachine enforces but that
// our emulator (moto) and the npm asl-validator do not fully check, so a
// definition that passes both can still be rejected at deploy time.
//
// Checked, each under its own rule ID (see the Rule* constants):
//   - structure: each scope (top level, Map ItemProcessor/Iterator, Parallel
//     branch) has StartAt and States, StartAt names one of its states, every
//     Next/Default/Choices[].Next/Catch[].Next names a state of the same scope,
//     every state is reachable from StartAt and the scope has a terminal state;
//   - states: valid Type, exactly one of Next or End:true where required,
//     neither on Choice/Succeed/Fail, non-empty Choices;
//   - error handling: Retry/Catch only on Task, Parallel and Map; non-empty
//     ErrorEquals; "States.ALL must appear alone and at end of list"; Retrier
//     field values; no unknown Retrier/Catcher fields;
//   - Task: Resource, TimeoutSeconds/HeartbeatSeconds;
//   - paths: fields ending in "Path", Choice Variable and ".$" values are
//     JSONPaths (a deliberately strict subset: $ or $$ then .name, ['name'],
//     [n], [*], .*) or, where AWS allows it, intrinsic function calls;
//   - Distributed Map: ExecutionType, ItemReader, ItemBatcher, ResultWriter,
//     ToleratedFailurePercentage, MaxConcurrency, and ItemReader/ItemBatcher/
//     ResultWriter only in DISTRIBUTED mode.
//
// Only JSONPath definitions are supported (not QueryLanguage JSONata).
package aslrules

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Rule IDs. Each comment names the Step Functions Developer Guide page.
const (
	// RuleJSON: the definition is a JSON object.
	// https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html
	RuleJSON = "definition-json"
	// RuleScope: a state machine (and each ItemProcessor/Iterator and Parallel
	// branch) has a string StartAt and a non-empty States object.
	// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-state-machine-structure.html
	RuleScope = "scope-fields"
	// RuleStartAt: StartAt exactly matches the name of a state of its scope.
	// https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html
	RuleStartAt = "start-at-exists"
	// RuleTransition: Next, Default, Choices[].Next and Catch[].Next name a
	// state of the same scope. https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html
	RuleTransition = "transition-target"
	// RuleReachable: every state is reachable from StartAt.
	// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html
	RuleReachable = "state-reachable"
	// RuleStateType: Type is one of Task, Pass, Choice, Wait, Succeed, Fail,
	// Parallel, Map. https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-common-fields.html
	RuleStateType = "state-type"
	// RuleNextOrEnd: Task, Pass, Wait, Parallel and Map have exactly one of
	// Next or "End": true. https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-common-fields.html
	RuleNextOrEnd = "next-or-end"
	// RuleNoTransition: Choice, Succeed and Fail have neither Next nor End.
	// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-common-fields.html
	RuleNoTransition = "no-next-or-end"
	// RuleChoices: a Choice state has a non-empty Choices array of objects.
	// https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
	RuleChoices = "choice-rules"
	// RuleTerminal: each scope has a Succeed, Fail or "End": true state.
	// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-state-machine-structure.html
	RuleTerminal = "terminal-state"
	// RuleErrorHandlingPlacement: Retry and Catch only on Task, Parallel, Map.
	// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
	RuleErrorHandlingPlacement = "retry-catch-placement"
	// RuleErrorEquals: each Retrier/Catcher has a non-empty ErrorEquals of strings.
	// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
	RuleErrorEquals = "error-equals"
	// RuleStatesAll: States.ALL is alone in its ErrorEquals and only in the
	// last Retrier/Catcher ("States.ALL must appear alone and at end of list").
	// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
	RuleStatesAll = "states-all-alone-and-last"
	// RuleRetrierFields: IntervalSeconds, MaxAttempts, BackoffRate,
	// MaxDelaySeconds and JitterStrategy values.
	// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
	RuleRetrierFields = "retrier-fields"
	// RuleKnownFields: Retriers and Catchers have only documented fields.
	// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
	RuleKnownFields = "retrier-catcher-known-fields"
	// RuleTaskResource: a Task has a string Resource.
	// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-task-state.html
	RuleTaskResource = "task-resource"
	// RuleTaskTimeouts: TimeoutSeconds/HeartbeatSeconds are positive integers,
	// HeartbeatSeconds < TimeoutSeconds, and a value and its *Path are not both set.
	// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-task-state.html
	RuleTaskTimeouts = "task-timeouts"
	// RulePath: path fields and ".$" values are valid (reference) paths or,
	// where allowed, intrinsic functions.
	// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
	// (CausePath/ErrorPath intrinsics: https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html)
	RulePath = "path-syntax"
	// RuleMapMode: ProcessorConfig.Mode is INLINE or DISTRIBUTED, and
	// ItemReader, ItemBatcher and ResultWriter only appear in DISTRIBUTED mode.
	// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
	RuleMapMode = "map-distributed-only"
	// RuleExecutionType: a DISTRIBUTED ItemProcessor has ExecutionType
	// STANDARD or EXPRESS. https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
	RuleExecutionType = "map-execution-type"
	// RuleItemReader: ItemReader has a Resource; for s3:getObject, a valid
	// ReaderConfig.InputType and Parameters with Bucket and Key.
	// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
	RuleItemReader = "map-item-reader"
	// RuleItemBatcher: only documented fields, a value and its *Path not both,
	// MaxInputBytesPerBatch <= 256 KiB.
	// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html
	RuleItemBatcher = "map-item-batcher"
	// RuleResultWriter: an s3:putObject ResultWriter has Parameters with Bucket and Prefix.
	// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html
	RuleResultWriter = "map-result-writer"
	// RuleToleratedFailure: ToleratedFailurePercentage is 0..100 and not set
	// together with its *Path. https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
	RuleToleratedFailure = "map-tolerated-failure"
	// RuleMaxConcurrency: MaxConcurrency is an integer 0..10000 (distributed)
	// and not set together with MaxConcurrencyPath.
	// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
	RuleMaxConcurrency = "map-max-concurrency"
)

// Violation is one broken rule at a place in the definition.
type Violation struct {
	Rule    string // one of the Rule* IDs
	Path    string // e.g. "States.Collect.ItemProcessor.States.Scan.Catch[0]"
	Message string
}

func (v Violation) String() string { return fmt.Sprintf("%s: %s: %s", v.Rule, v.Path, v.Message) }
func (v Violation) Error() string  { return v.String() }

type object = map[string]any

type checker struct{ out []Violation }

func (c *checker) add(rule, path, format string, args ...any) {
	c.out = append(c.out, Violation{Rule: rule, Path: path, Message: fmt.Sprintf(format, args...)})
}

// Check parses definition and returns every violation found, in a stable
// order; nil means the definition passes every rule.
func Check(definition []byte) []Violation {
	var root object
	if err := json.Unmarshal(definition, &root); err != nil {
		return []Violation{{Rule: RuleJSON, Path: "", Message: err.Error()}}
	}
	c := &checker{}
	c.scope(root, "")
	return c.out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

var needsNextOrEnd = map[string]bool{"Task": true, "Pass": true, "Wait": true, "Parallel": true, "Map": true}
var noNextOrEnd = map[string]bool{"Choice": true, "Succeed": true, "Fail": true}

// scope checks one StartAt/States block and recurses into nested scopes.
func (c *checker) scope(m object, path string) {
	startAt, okStart := m["StartAt"].(string)
	if !okStart {
		c.add(RuleScope, join(path, "StartAt"), "StartAt is required and must be a string")
	}
	states, _ := m["States"].(object)
	if len(states) == 0 {
		c.add(RuleScope, join(path, "States"), "States is required and must be a non-empty object")
		return
	}
	if _, ok := states[startAt]; okStart && !ok {
		c.add(RuleStartAt, join(path, "StartAt"), "StartAt %q names no state of this scope", startAt)
	}
	names := slices.Sorted(maps.Keys(states))
	terminal := false
	for _, name := range names {
		s, ok := states[name].(object)
		if !ok {
			c.add(RuleStateType, join(path, "States."+name), "a state must be a JSON object")
			continue
		}
		typ, _ := s["Type"].(string)
		terminal = terminal || typ == "Succeed" || typ == "Fail" || s["End"] == true
		c.state(s, typ, join(path, "States."+name), states)
	}
	if !terminal {
		c.add(RuleTerminal, join(path, "States"), "no Succeed, Fail or \"End\": true state")
	}
	if _, ok := states[startAt]; ok {
		seen := map[string]bool{startAt: true}
		for queue := []string{startAt}; len(queue) > 0; queue = queue[1:] {
			s, _ := states[queue[0]].(object)
			for _, e := range transitions(s, "") {
				if t, ok := e.target.(string); ok && !seen[t] && states[t] != nil {
					seen[t] = true
					queue = append(queue, t)
				}
			}
		}
		for _, name := range names {
			if !seen[name] {
				c.add(RuleReachable, join(path, "States."+name), "state is not reachable from StartAt %q", startAt)
			}
		}
	}
}

type edge struct {
	path   string
	target any
}

// transitions lists the Next, Default, Choices[].Next and Catch[].Next fields.
func transitions(s object, path string) []edge {
	var out []edge
	for _, f := range []string{"Next", "Default"} {
		if v, ok := s[f]; ok {
			out = append(out, edge{join(path, f), v})
		}
	}
	for _, f := range []string{"Choices", "Catch"} {
		list, _ := s[f].([]any)
		for i, item := range list {
			o, _ := item.(object)
			out = append(out, edge{fmt.Sprintf("%s[%d].Next", join(path, f), i), o["Next"]})
		}
	}
	return out
}

func (c *checker) state(s object, typ, path string, states object) {
	if !needsNextOrEnd[typ] && !noNextOrEnd[typ] {
		c.add(RuleStateType, join(path, "Type"), "Type %v is not a valid state type", s["Type"])
		return
	}
	_, hasNext := s["Next"]
	end, hasEnd := s["End"]
	switch {
	case noNextOrEnd[typ] && (hasNext || hasEnd):
		c.add(RuleNoTransition, path, "a %s state may have neither Next nor End", typ)
	case needsNextOrEnd[typ] && hasEnd && end != true && end != false:
		c.add(RuleNextOrEnd, join(path, "End"), "End must be a boolean, got %v", end)
	case needsNextOrEnd[typ] && hasNext == (end == true):
		c.add(RuleNextOrEnd, path, "a %s state needs exactly one of Next or \"End\": true", typ)
	}
	for _, e := range transitions(s, path) {
		if name, ok := e.target.(string); e.target == nil {
			c.add(RuleTransition, e.path, "a state name is required")
		} else if !ok || states[name] == nil {
			c.add(RuleTransition, e.path, "%v names no state of this scope", e.target)
		}
	}
	c.errorHandling(s, typ, path)
	switch typ {
	case "Task":
		c.task(s, path)
	case "Choice":
		if list, _ := s["Choices"].([]any); len(list) == 0 {
			c.add(RuleChoices, join(path, "Choices"), "a Choice state needs a non-empty Choices array")
		}
	case "Parallel":
		branches, _ := s["Branches"].([]any)
		if len(branches) == 0 {
			c.add(RuleScope, join(path, "Branches"), "a Parallel state needs a non-empty Branches array")
		}
		for i, b := range branches {
			bo, _ := b.(object)
			c.scope(bo, fmt.Sprintf("%s[%d]", join(path, "Branches"), i))
		}
	case "Map":
		c.mapState(s, path)
	}
	c.paths(s, path, true)
}

var retrierFields = map[string]bool{"ErrorEquals": true, "IntervalSeconds": true, "MaxAttempts": true,
	"BackoffRate": true, "MaxDelaySeconds": true, "JitterStrategy": true, "Comment": true}
var catcherFields = map[string]bool{"ErrorEquals": true, "Next": true, "ResultPath": true,
	"Comment": true, "Output": true, "Assign": true}

func (c *checker) errorHandling(s object, typ, path string) {
	for _, field := range []string{"Retry", "Catch"} {
		raw, ok := s[field]
		if !ok {
			continue
		}
		if typ != "Task" && typ != "Parallel" && typ != "Map" {
			c.add(RuleErrorHandlingPlacement, join(path, field), "%s is only allowed on Task, Parallel and Map states, not %s", field, typ)
			continue
		}
		list, ok := raw.([]any)
		if !ok {
			c.add(RuleKnownFields, join(path, field), "%s must be an array", field)
			continue
		}
		known := retrierFields
		if field == "Catch" {
			known = catcherFields
		}
		for i, item := range list {
			p := fmt.Sprintf("%s[%d]", join(path, field), i)
			o, ok := item.(object)
			if !ok {
				c.add(RuleKnownFields, p, "must be an object")
				continue
			}
			for _, k := range slices.Sorted(maps.Keys(o)) {
				if !known[k] {
					c.add(RuleKnownFields, join(p, k), "unknown field %q", k)
				}
			}
			c.errorEquals(o["ErrorEquals"], join(p, "ErrorEquals"), i == len(list)-1)
			if field == "Retry" {
				c.retrier(o, p)
			}
		}
	}
}

func (c *checker) errorEquals(v any, path string, last bool) {
	list, _ := v.([]any)
	if len(list) == 0 {
		c.add(RuleErrorEquals, path, "ErrorEquals must be a non-empty array of error names")
		return
	}
	for i, e := range list {
		if _, ok := e.(string); !ok {
			c.add(RuleErrorEquals, fmt.Sprintf("%s[%d]", path, i), "error names must be strings")
		}
	}
	if slices.Contains(list, any("States.ALL")) && (len(list) > 1 || !last) {
		c.add(RuleStatesAll, path, "States.ALL must appear alone and at end of list")
	}
}

// isInt reports whether v is a JSON number that is an integer in [lo, hi].
func isInt(v any, lo, hi float64) bool {
	f, ok := v.(float64)
	return ok && f == math.Trunc(f) && f >= lo && f <= hi
}

func (c *checker) retrier(o object, path string) {
	checks := []struct {
		field, want string
		ok          func(any) bool
	}{
		{"IntervalSeconds", "an integer from 1 to 99999999", func(v any) bool { return isInt(v, 1, 99999999) }},
		{"MaxAttempts", "an integer from 0 to 99999999", func(v any) bool { return isInt(v, 0, 99999999) }},
		{"BackoffRate", "a number >= 1.0", func(v any) bool { f, ok := v.(float64); return ok && f >= 1 }},
		{"MaxDelaySeconds", "an integer from 1 to 31622400", func(v any) bool { return isInt(v, 1, 31622400) }},
		{"JitterStrategy", `"FULL" or "NONE"`, func(v any) bool { return v == "FULL" || v == "NONE" }},
	}
	for _, ch := range checks {
		if v, ok := o[ch.field]; ok && !ch.ok(v) {
			c.add(RuleRetrierFields, join(path, ch.field), "%s must be %s, got %v", ch.field, ch.want, v)
		}
	}
}

// notBoth reports a value set together with its *Path variant.
func (c *checker) notBoth(rule string, o object, field, path string) {
	_, a := o[field]
	_, b := o[field+"Path"]
	if a && b {
		c.add(rule, path, "%s and %sPath are mutually exclusive", field, field)
	}
}

func (c *checker) task(s object, path string) {
	if r, ok := s["Resource"].(string); !ok || r == "" {
		c.add(RuleTaskResource, join(path, "Resource"), "a Task needs a string Resource")
	}
	for _, f := range []string{"TimeoutSeconds", "HeartbeatSeconds"} {
		if v, ok := s[f]; ok && !isInt(v, 1, 99999999) {
			c.add(RuleTaskTimeouts, join(path, f), "%s must be a positive integer, got %v", f, v)
		}
		c.notBoth(RuleTaskTimeouts, s, f, path)
	}
	hb, okH := s["HeartbeatSeconds"].(float64)
	to, okT := s["TimeoutSeconds"].(float64)
	if okH && okT && hb >= to {
		c.add(RuleTaskTimeouts, join(path, "HeartbeatSeconds"), "HeartbeatSeconds (%v) must be smaller than TimeoutSeconds (%v)", hb, to)
	}
}

func (c *checker) mapState(s object, path string) {
	field := "ItemProcessor"
	if _, ok := s[field]; !ok {
		if _, ok := s["Iterator"]; ok {
			field = "Iterator"
		}
	}
	proc, ok := s[field].(object)
	if !ok {
		c.add(RuleScope, join(path, "ItemProcessor"), "a Map state needs an ItemProcessor (or Iterator) object")
	} else {
		c.scope(proc, join(path, field))
	}
	cfg, _ := proc["ProcessorConfig"].(object)
	cfgPath := join(path, field+".ProcessorConfig")
	mode, _ := cfg["Mode"].(string)
	if m, ok := cfg["Mode"]; ok && m != "INLINE" && m != "DISTRIBUTED" {
		c.add(RuleMapMode, join(cfgPath, "Mode"), "Mode must be INLINE or DISTRIBUTED, got %v", m)
	}
	exec, hasExec := cfg["ExecutionType"]
	distributed := mode == "DISTRIBUTED"
	switch {
	case distributed && exec != "STANDARD" && exec != "EXPRESS":
		c.add(RuleExecutionType, join(cfgPath, "ExecutionType"), "DISTRIBUTED mode needs ExecutionType STANDARD or EXPRESS, got %v", exec)
	case !distributed && hasExec:
		c.add(RuleExecutionType, join(cfgPath, "ExecutionType"), "ExecutionType only applies in DISTRIBUTED mode")
	}
	for _, f := range []string{"ItemReader", "ItemBatcher", "ResultWriter"} {
		if _, ok := s[f]; ok && !distributed {
			c.add(RuleMapMode, join(path, f), "%s is only allowed in DISTRIBUTED mode", f)
		}
	}
	if r, ok := s["ItemReader"]; ok {
		c.itemReader(r, join(path, "ItemReader"))
	}
	if b, ok := s["ItemBatcher"]; ok {
		c.itemBatcher(b, join(path, "ItemBatcher"))
	}
	if w, ok := s["ResultWriter"]; ok {
		c.resultWriter(w, join(path, "ResultWriter"))
	}
	c.notBoth(RuleToleratedFailure, s, "ToleratedFailurePercentage", path)
	if v, ok := s["ToleratedFailurePercentage"]; ok {
		if f, isNum := v.(float64); !isNum || f < 0 || f > 100 {
			c.add(RuleToleratedFailure, join(path, "ToleratedFailurePercentage"), "must be a number from 0 to 100, got %v", v)
		}
	}
	c.notBoth(RuleMaxConcurrency, s, "MaxConcurrency", path)
	if v, ok := s["MaxConcurrency"]; ok {
		limit := float64(math.MaxInt32)
		if distributed {
			limit = 10000
		}
		if !isInt(v, 0, limit) {
			c.add(RuleMaxConcurrency, join(path, "MaxConcurrency"), "must be an integer from 0 to %.0f, got %v", limit, v)
		}
	}
}

// hasField reports whether o has field as a literal or as field+".$".
func hasField(o object, field string) bool {
	_, a := o[field]
	_, b := o[field+".$"]
	return a || b
}

func (c *checker) itemReader(v any, path string) {
	r, _ := v.(object)
	res, ok := r["Resource"].(string)
	if !ok {
		c.add(RuleItemReader, join(path, "Resource"), "ItemReader needs a string Resource")
	}
	if res != "arn:aws:states:::s3:getObject" {
		return
	}
	cfg, _ := r["ReaderConfig"].(object)
	if t, ok := cfg["InputType"]; ok && !slices.Contains([]any{"CSV", "JSON", "JSONL", "MANIFEST", "PARQUET"}, t) {
		c.add(RuleItemReader, join(path, "ReaderConfig.InputType"), "InputType must be CSV, JSON, JSONL, MANIFEST or PARQUET, got %v", t)
	}
	params, _ := r["Parameters"].(object)
	for _, f := range []string{"Bucket", "Key"} {
		if !hasField(params, f) {
			c.add(RuleItemReader, join(path, "Parameters"), "s3:getObject needs Parameters.%s (or %s.$)", f, f)
		}
	}
}

var batcherFields = map[string]bool{"MaxItemsPerBatch": true, "MaxItemsPerBatchPath": true,
	"MaxInputBytesPerBatch": true, "MaxInputBytesPerBatchPath": true, "BatchInput": true}

func (c *checker) itemBatcher(v any, path string) {
	b, ok := v.(object)
	if !ok {
		c.add(RuleItemBatcher, path, "ItemBatcher must be an object")
		return
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if !batcherFields[k] {
			c.add(RuleItemBatcher, join(path, k), "unknown ItemBatcher field %q", k)
		}
	}
	c.notBoth(RuleItemBatcher, b, "MaxItemsPerBatch", path)
	c.notBoth(RuleItemBatcher, b, "MaxInputBytesPerBatch", path)
	if n, ok := b["MaxItemsPerBatch"]; ok && !isInt(n, 1, math.MaxInt32) {
		c.add(RuleItemBatcher, join(path, "MaxItemsPerBatch"), "must be a positive integer, got %v", n)
	}
	if n, ok := b["MaxInputBytesPerBatch"]; ok && !isInt(n, 1, 262144) {
		c.add(RuleItemBatcher, join(path, "MaxInputBytesPerBatch"), "must be an integer from 1 to 262144 (256 KiB), got %v", n)
	}
}

func (c *checker) resultWriter(v any, path string) {
	w, _ := v.(object)
	res, hasRes := w["Resource"]
	if _, ok := res.(string); hasRes && !ok {
		c.add(RuleResultWriter, join(path, "Resource"), "Resource must be a string")
	}
	if res != "arn:aws:states:::s3:putObject" {
		return
	}
	params, _ := w["Parameters"].(object)
	for _, f := range []string{"Bucket", "Prefix"} {
		if !hasField(params, f) {
			c.add(RuleResultWriter, join(path, "Parameters"), "s3:putObject needs Parameters.%s (or %s.$)", f, f)
		}
	}
}

// Payload templates: only their ".$" keys are paths. Pass's Result is literal.
var templates = map[string]bool{"Parameters": true, "ResultSelector": true, "ItemSelector": true,
	"BatchInput": true, "Arguments": true, "Assign": true, "Output": true}
var skip = map[string]bool{"ItemProcessor": true, "Iterator": true, "Branches": true, "Result": true}
var nullable = map[string]bool{"InputPath": true, "OutputPath": true, "ResultPath": true}

// paths walks a state (structural=true) or a payload template, checking
// "*Path" fields and Choice "Variable" (structural only) and ".$" keys.
func (c *checker) paths(v any, path string, structural bool) {
	switch v := v.(type) {
	case []any:
		for i, item := range v {
			c.paths(item, fmt.Sprintf("%s[%d]", path, i), structural)
		}
	case object:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p := join(path, k)
			switch {
			case structural && skip[k]:
			case strings.HasSuffix(k, ".$"):
				if s, ok := v[k].(string); !ok || !(validPath(s) || validIntrinsic(s)) {
					c.add(RulePath, p, "%q must be a JSONPath ($ or $$) or an intrinsic function, got %v", k, v[k])
				}
			case structural && (strings.HasSuffix(k, "Path") || k == "Variable"):
				c.pathField(k, v[k], p)
			default:
				c.paths(v[k], p, structural && !templates[k])
			}
		}
	}
}

func (c *checker) pathField(key string, v any, path string) {
	if v == nil && nullable[key] {
		return
	}
	s, ok := v.(string)
	if ok && (validPath(s) || ((key == "CausePath" || key == "ErrorPath") && validIntrinsic(s))) {
		return
	}
	c.add(RulePath, path, "%s must be a valid JSONPath beginning with $, got %v", key, v)
}

// validPath accepts $ or $$ followed by segments .name, .*, ['name'], [n], [*].
func validPath(s string) bool {
	rest, ok := strings.CutPrefix(s, "$")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "$")
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, ".*"):
			rest = rest[2:]
		case strings.HasPrefix(rest, ".["): // AWS docs write $.abc.['def ghi']
			rest = rest[1:]
		case rest[0] == '.':
			n := strings.IndexFunc(rest[1:], func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-'
			})
			if n < 0 {
				n = len(rest) - 1
			}
			if n == 0 {
				return false
			}
			rest = rest[1+n:]
		case strings.HasPrefix(rest, "['"):
			end := strings.Index(rest[2:], "']")
			if end <= 0 {
				return false
			}
			rest = rest[2+end+2:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return false
			}
			if inner := rest[1:end]; inner != "*" {
				if _, err := strconv.ParseUint(inner, 10, 32); err != nil {
					return false
				}
			}
			rest = rest[end+1:]
		default:
			return false
		}
	}
	return true
}

// validIntrinsic accepts States.Name(args) where each argument is a quoted
// string, number, boolean, null, path or nested intrinsic.
func validIntrinsic(s string) bool {
	body, ok := strings.CutPrefix(s, "States.")
	open := strings.IndexByte(body, '(')
	if !ok || open <= 0 || !strings.HasSuffix(body, ")") {
		return false
	}
	for _, r := range body[:open] {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	args, ok := splitArgs(body[open+1 : len(body)-1])
	if !ok {
		return false
	}
	for _, a := range args {
		if !validArg(a) {
			return false
		}
	}
	return true
}

// splitArgs splits at top-level commas, honouring quotes, \ escapes and parentheses.
func splitArgs(s string) ([]string, bool) {
	if strings.TrimSpace(s) == "" {
		return nil, true
	}
	var args []string
	depth, start, quoted := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case quoted && ch == '\\':
			i++
		case ch == '\'':
			quoted = !quoted
		case quoted:
		case ch == '(':
			depth++
		case ch == ')':
			if depth--; depth < 0 {
				return nil, false
			}
		case ch == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if quoted || depth != 0 {
		return nil, false
	}
	return append(args, strings.TrimSpace(s[start:])), true
}

func validArg(a string) bool {
	switch {
	case a == "":
		return false
	case a[0] == '\'':
		for i := 1; i < len(a); i++ {
			if a[i] == '\\' {
				i++
			} else if a[i] == '\'' {
				return i == len(a)-1
			}
		}
		return false
	case a[0] == '$':
		return validPath(a)
	case strings.HasPrefix(a, "States."):
		return validIntrinsic(a)
	case a == "true" || a == "false" || a == "null":
		return true
	}
	_, err := strconv.ParseFloat(a, 64)
	return err == nil
}
