package aslrules

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

const definitionFile = "../../statemachine/orgscan.asl.json"

// loadDefinition parses a fresh copy of the real definition, so each case
// mutates its own deep copy.
func loadDefinition(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	return def
}

// at walks object keys from m, failing the test if one is missing.
func at(t *testing.T, m map[string]any, keys ...string) map[string]any {
	t.Helper()
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("definition has no object at %v (missing %q)", keys, k)
		}
		m = next
	}
	return m
}

// item returns element i of the array m[key] as an object.
func item(t *testing.T, m map[string]any, key string, i int) map[string]any {
	t.Helper()
	list, _ := m[key].([]any)
	if i >= len(list) {
		t.Fatalf("no %s[%d]", key, i)
	}
	return list[i].(map[string]any)
}

func TestOrgscanDefinitionPasses(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Check(b) {
		t.Errorf("%s", v)
	}
}

func TestEachRuleCatchesABrokenCopy(t *testing.T) {
	t.Parallel()
	states := func(t *testing.T, d map[string]any) map[string]any { return at(t, d, "States") }
	state := func(t *testing.T, d map[string]any, name string) map[string]any { return at(t, d, "States", name) }
	collect := func(t *testing.T, d map[string]any) map[string]any { return at(t, d, "States", "Collect") }
	proc := func(t *testing.T, d map[string]any) map[string]any {
		return at(t, d, "States", "Collect", "ItemProcessor")
	}
	scan := func(t *testing.T, d map[string]any) map[string]any {
		return at(t, d, "States", "Collect", "ItemProcessor", "States", "Scan")
	}
	record := func(t *testing.T, d map[string]any) map[string]any {
		return at(t, d, "States", "Collect", "ItemProcessor", "States", "RecordFailedBatch")
	}

	cases := []struct {
		name   string
		rule   string
		mutate func(t *testing.T, d map[string]any)
	}{
		{"scope-fields: top level without States", RuleScope, func(t *testing.T, d map[string]any) {
			delete(d, "States")
		}},
		{"scope-fields: ItemProcessor without StartAt", RuleScope, func(t *testing.T, d map[string]any) {
			delete(proc(t, d), "StartAt")
		}},
		{"scope-fields: Map without ItemProcessor", RuleScope, func(t *testing.T, d map[string]any) {
			delete(collect(t, d), "ItemProcessor")
		}},
		{"start-at-exists: StartAt names a missing state", RuleStartAt, func(t *testing.T, d map[string]any) {
			d["StartAt"] = "Begin"
		}},
		{"transition-target: Next names a missing state", RuleTransition, func(t *testing.T, d map[string]any) {
			state(t, d, "Dispatch")["Next"] = "Collectt"
		}},
		{"transition-target: Default names a missing state", RuleTransition, func(t *testing.T, d map[string]any) {
			state(t, d, "Verdict")["Default"] = "Finished"
		}},
		{"transition-target: Catch Next names a state of the parent scope", RuleTransition, func(t *testing.T, d map[string]any) {
			item(t, scan(t, d), "Catch", 0)["Next"] = "Aggregate"
		}},
		{"transition-target: Next in a Parallel branch names a missing state", RuleTransition, func(t *testing.T, d map[string]any) {
			state(t, d, "Dispatch")["Next"] = "Fan"
			states(t, d)["Fan"] = map[string]any{"Type": "Parallel", "Next": "Collect", "Branches": []any{
				map[string]any{"StartAt": "One", "States": map[string]any{"One": map[string]any{"Type": "Pass", "Next": "Collect"}}},
			}}
		}},
		{"transition-target: Catcher without Next", RuleTransition, func(t *testing.T, d map[string]any) {
			delete(item(t, state(t, d, "Dispatch"), "Catch", 0), "Next")
		}},
		{"state-reachable: unreachable state", RuleReachable, func(t *testing.T, d map[string]any) {
			states(t, d)["Orphan"] = map[string]any{"Type": "Succeed"}
		}},
		{"state-type: unknown Type", RuleStateType, func(t *testing.T, d map[string]any) {
			state(t, d, "Done")["Type"] = "Success"
		}},
		{"next-or-end: Task with both Next and End", RuleNextOrEnd, func(t *testing.T, d map[string]any) {
			state(t, d, "Aggregate")["End"] = true
		}},
		{"next-or-end: Task with neither Next nor End", RuleNextOrEnd, func(t *testing.T, d map[string]any) {
			delete(scan(t, d), "End")
		}},
		{"no-next-or-end: Choice with End", RuleNoTransition, func(t *testing.T, d map[string]any) {
			state(t, d, "Verdict")["End"] = true
		}},
		{"no-next-or-end: Fail with Next", RuleNoTransition, func(t *testing.T, d map[string]any) {
			state(t, d, "RunFailed")["Next"] = "Done"
		}},
		{"choice-rules: empty Choices", RuleChoices, func(t *testing.T, d map[string]any) {
			state(t, d, "Verdict")["Choices"] = []any{}
		}},
		{"terminal-state: ItemProcessor scope with no terminal state", RuleTerminal, func(t *testing.T, d map[string]any) {
			s, r := scan(t, d), record(t, d)
			delete(s, "End")
			s["Next"] = "RecordFailedBatch"
			delete(r, "End")
			r["Next"] = "Scan"
		}},
		{"retry-catch-placement: Retry on a Pass state", RuleErrorHandlingPlacement, func(t *testing.T, d map[string]any) {
			record(t, d)["Retry"] = []any{map[string]any{"ErrorEquals": []any{"States.ALL"}}}
		}},
		{"retry-catch-placement: Catch on a Choice state", RuleErrorHandlingPlacement, func(t *testing.T, d map[string]any) {
			state(t, d, "Verdict")["Catch"] = []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "Next": "Done"}}
		}},
		{"error-equals: empty ErrorEquals", RuleErrorEquals, func(t *testing.T, d map[string]any) {
			item(t, state(t, d, "Dispatch"), "Catch", 0)["ErrorEquals"] = []any{}
		}},
		{"error-equals: non-string error name", RuleErrorEquals, func(t *testing.T, d map[string]any) {
			item(t, state(t, d, "Dispatch"), "Retry", 0)["ErrorEquals"] = []any{"Lambda.ServiceException", 500}
		}},
		{"states-all-alone-and-last: States.ALL beside other errors in a Catch", RuleStatesAll, func(t *testing.T, d map[string]any) {
			item(t, scan(t, d), "Catch", 0)["ErrorEquals"] = []any{"States.ALL", "Lambda.Unknown"}
		}},
		{"states-all-alone-and-last: States.ALL in a non-last Catcher", RuleStatesAll, func(t *testing.T, d map[string]any) {
			c := collect(t, d)
			c["Catch"] = append(c["Catch"].([]any), map[string]any{
				"ErrorEquals": []any{"States.ExceedToleratedFailureThreshold"}, "ResultPath": "$.collect", "Next": "Aggregate"})
		}},
		{"states-all-alone-and-last: States.ALL in a non-last Retrier", RuleStatesAll, func(t *testing.T, d map[string]any) {
			item(t, state(t, d, "Aggregate"), "Retry", 0)["ErrorEquals"] = []any{"States.ALL"}
		}},
		{"retrier-fields: BackoffRate 0.5", RuleRetrierFields, func(t *testing.T, d map[string]any) {
			item(t, scan(t, d), "Retry", 0)["BackoffRate"] = 0.5
		}},
		{"retrier-fields: JitterStrategy SOME", RuleRetrierFields, func(t *testing.T, d map[string]any) {
			item(t, state(t, d, "Aggregate"), "Retry", 1)["JitterStrategy"] = "SOME"
		}},
		{"retrier-fields: IntervalSeconds 0", RuleRetrierFields, func(t *testing.T, d map[string]any) {
			item(t, state(t, d, "Dispatch"), "Retry", 0)["IntervalSeconds"] = 0
		}},
		{"retrier-fields: MaxAttempts 1.5", RuleRetrierFields, func(t *testing.T, d map[string]any) {
			item(t, state(t, d, "Dispatch"), "Retry", 0)["MaxAttempts"] = 1.5
		}},
		{"retrier-fields: MaxDelaySeconds 0", RuleRetrierFields, func(t *testing.T, d map[string]any) {
			item(t, scan(t, d), "Retry", 0)["MaxDelaySeconds"] = 0
		}},
		{"retrier-catcher-known-fields: unknown Retrier field", RuleKnownFields, func(t *testing.T, d map[string]any) {
			item(t, scan(t, d), "Retry", 0)["MaxRetries"] = 2
		}},
		{"retrier-catcher-known-fields: Retrier field on a Catcher", RuleKnownFields, func(t *testing.T, d map[string]any) {
			item(t, collect(t, d), "Catch", 0)["MaxAttempts"] = 1
		}},
		{"task-resource: Task without Resource", RuleTaskResource, func(t *testing.T, d map[string]any) {
			delete(state(t, d, "Aggregate"), "Resource")
		}},
		{"task-timeouts: HeartbeatSeconds not below TimeoutSeconds", RuleTaskTimeouts, func(t *testing.T, d map[string]any) {
			scan(t, d)["HeartbeatSeconds"] = 250
		}},
		{"task-timeouts: TimeoutSeconds and TimeoutSecondsPath", RuleTaskTimeouts, func(t *testing.T, d map[string]any) {
			state(t, d, "Aggregate")["TimeoutSecondsPath"] = "$.timeout"
		}},
		{"task-timeouts: TimeoutSeconds 0", RuleTaskTimeouts, func(t *testing.T, d map[string]any) {
			scan(t, d)["TimeoutSeconds"] = 0
		}},
		{"path-syntax: ResultPath without $", RulePath, func(t *testing.T, d map[string]any) {
			state(t, d, "Dispatch")["ResultPath"] = "Payload.x"
		}},
		{"path-syntax: .$ value $..a", RulePath, func(t *testing.T, d map[string]any) {
			at(t, d, "States", "Dispatch", "ResultSelector")["runId.$"] = "$..a"
		}},
		{"path-syntax: nested .$ value in ItemReader Parameters", RulePath, func(t *testing.T, d map[string]any) {
			at(t, collect(t, d), "ItemReader", "Parameters")["Key.$"] = "dispatch.manifestKey"
		}},
		{"path-syntax: unbalanced intrinsic", RulePath, func(t *testing.T, d map[string]any) {
			at(t, collect(t, d), "ResultWriter", "Parameters")["Prefix.$"] = "States.Format('runs/{}/map', $.dispatch.runId"
		}},
		{"path-syntax: Choice Variable with a space", RulePath, func(t *testing.T, d map[string]any) {
			item(t, state(t, d, "Verdict"), "Choices", 0)["Variable"] = "$.summary.run failed"
		}},
		{"path-syntax: Catcher ResultPath", RulePath, func(t *testing.T, d map[string]any) {
			item(t, state(t, d, "Dispatch"), "Catch", 0)["ResultPath"] = "$.error."
		}},
		{"path-syntax: ItemBatcher MaxItemsPerBatchPath", RulePath, func(t *testing.T, d map[string]any) {
			at(t, collect(t, d), "ItemBatcher")["MaxItemsPerBatchPath"] = "$.dispatch..regionCount"
		}},
		{"path-syntax: Fail CausePath", RulePath, func(t *testing.T, d map[string]any) {
			state(t, d, "InvalidRequest")["CausePath"] = "error.Cause"
		}},
		{"map-distributed-only: ItemReader in INLINE mode", RuleMapMode, func(t *testing.T, d map[string]any) {
			cfg := at(t, proc(t, d), "ProcessorConfig")
			cfg["Mode"] = "INLINE"
			delete(cfg, "ExecutionType")
		}},
		{"map-distributed-only: unknown Mode", RuleMapMode, func(t *testing.T, d map[string]any) {
			at(t, proc(t, d), "ProcessorConfig")["Mode"] = "DISTRIBUTE"
		}},
		{"map-execution-type: DISTRIBUTED without ExecutionType", RuleExecutionType, func(t *testing.T, d map[string]any) {
			delete(at(t, proc(t, d), "ProcessorConfig"), "ExecutionType")
		}},
		{"map-execution-type: ExecutionType FAST", RuleExecutionType, func(t *testing.T, d map[string]any) {
			at(t, proc(t, d), "ProcessorConfig")["ExecutionType"] = "FAST"
		}},
		{"map-item-reader: InputType XML", RuleItemReader, func(t *testing.T, d map[string]any) {
			at(t, collect(t, d), "ItemReader", "ReaderConfig")["InputType"] = "XML"
		}},
		{"map-item-reader: s3:getObject without Key", RuleItemReader, func(t *testing.T, d map[string]any) {
			delete(at(t, collect(t, d), "ItemReader", "Parameters"), "Key.$")
		}},
		{"map-item-reader: no Resource", RuleItemReader, func(t *testing.T, d map[string]any) {
			delete(at(t, collect(t, d), "ItemReader"), "Resource")
		}},
		{"map-item-batcher: MaxItemsPerBatch and MaxItemsPerBatchPath", RuleItemBatcher, func(t *testing.T, d map[string]any) {
			at(t, collect(t, d), "ItemBatcher")["MaxItemsPerBatch"] = 17
		}},
		{"map-item-batcher: MaxInputBytesPerBatch 300000", RuleItemBatcher, func(t *testing.T, d map[string]any) {
			at(t, collect(t, d), "ItemBatcher")["MaxInputBytesPerBatch"] = 300000
		}},
		{"map-item-batcher: unknown field", RuleItemBatcher, func(t *testing.T, d map[string]any) {
			at(t, collect(t, d), "ItemBatcher")["MaxBatches"] = 4
		}},
		{"map-result-writer: s3:putObject without Prefix", RuleResultWriter, func(t *testing.T, d map[string]any) {
			delete(at(t, collect(t, d), "ResultWriter", "Parameters"), "Prefix.$")
		}},
		{"map-tolerated-failure: ToleratedFailurePercentage 101", RuleToleratedFailure, func(t *testing.T, d map[string]any) {
			collect(t, d)["ToleratedFailurePercentage"] = 101
		}},
		{"map-tolerated-failure: percentage and its Path", RuleToleratedFailure, func(t *testing.T, d map[string]any) {
			collect(t, d)["ToleratedFailurePercentagePath"] = "$.dispatch.toleratedFailurePercentage"
		}},
		{"map-max-concurrency: MaxConcurrency and MaxConcurrencyPath", RuleMaxConcurrency, func(t *testing.T, d map[string]any) {
			collect(t, d)["MaxConcurrency"] = 100
		}},
		{"map-max-concurrency: distributed MaxConcurrency 10001", RuleMaxConcurrency, func(t *testing.T, d map[string]any) {
			c := collect(t, d)
			delete(c, "MaxConcurrencyPath")
			c["MaxConcurrency"] = 10001
		}},
	}

	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.rule] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			def := loadDefinition(t)
			tc.mutate(t, def)
			b, err := json.Marshal(def)
			if err != nil {
				t.Fatal(err)
			}
			got := Check(b)
			if !slices.ContainsFunc(got, func(v Violation) bool { return v.Rule == tc.rule }) {
				t.Errorf("want a %s violation, got %v", tc.rule, got)
			}
			for _, v := range got {
				t.Logf("%s", v)
			}
		})
	}
	for _, rule := range []string{RuleScope, RuleStartAt, RuleTransition, RuleReachable, RuleStateType,
		RuleNextOrEnd, RuleNoTransition, RuleChoices, RuleTerminal, RuleErrorHandlingPlacement,
		RuleErrorEquals, RuleStatesAll, RuleRetrierFields, RuleKnownFields, RuleTaskResource,
		RuleTaskTimeouts, RulePath, RuleMapMode, RuleExecutionType, RuleItemReader, RuleItemBatcher,
		RuleResultWriter, RuleToleratedFailure, RuleMaxConcurrency} {
		if !covered[rule] {
			t.Errorf("no broken-copy case for rule %s", rule)
		}
	}
}

// TestValidVariantsPass guards against false positives: documented but
// unused forms must not be reported.
func TestValidVariantsPass(t *testing.T) {
	t.Parallel()
	def := loadDefinition(t)
	st := at(t, def, "States")
	at(t, st, "Aggregate")["End"] = false // End:false beside Next is allowed
	at(t, st, "Dispatch")["InputPath"] = nil
	at(t, st, "InvalidRequest")["CausePath"] = "States.Format('bad request: {}', $.error.Cause)"
	at(t, st, "InvalidRequest")["ErrorPath"] = "$.error.Error"
	at(t, st, "Dispatch")["Next"] = "Fan"
	st["Fan"] = map[string]any{"Type": "Parallel", "Next": "Pause", "ResultPath": nil, "Branches": []any{
		map[string]any{"StartAt": "One", "States": map[string]any{"One": map[string]any{
			"Type": "Pass", "Parameters": map[string]any{"id.$": "States.UUID()", "Path": "literal, not a path"},
			"Result": map[string]any{"notAPath.$": "literal"}, "End": true}}},
	}}
	st["Pause"] = map[string]any{"Type": "Wait", "SecondsPath": "$.dispatch.pairs", "Next": "Collect"}
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Check(b) {
		t.Errorf("%s", v)
	}
}

func TestNotJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "{", "[]", `"StartAt"`} {
		got := Check([]byte(in))
		if len(got) != 1 || got[0].Rule != RuleJSON {
			t.Errorf("Check(%q) = %v, want one %s violation", in, got, RuleJSON)
		}
	}
}

func TestValidPath(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"$", "$$", "$.a", "$.Payload.runId", "$$.Execution.StartTime", "$$.Map.Item.Value",
		"$.a_b-c.d1", "$['a b']", "$.abc.['def ghi']", "$.list[0]", "$.list[*]", "$[*][*]", "$.a.*", "$.ümlaut"} {
		if !validPath(s) {
			t.Errorf("validPath(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "Payload.x", "a", "$..", "$..a", "$.a b", "$.", "$.a.", "$$$", "$a",
		"$['']", "$['a'", "$[", "$[-1]", "$[a]", "$.a[?(@.b)]", "$.a[0:2]", "$.length()", " $"} {
		if validPath(s) {
			t.Errorf("validPath(%q) = true, want false", s)
		}
	}
}

func TestValidIntrinsic(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"States.Format('runs/{}/map', $.dispatch.runId)",
		"States.UUID()",
		"States.Array(1, 2.5, true, null, $.x)",
		"States.Format('{} ({})', $.a, States.JsonToString($$.Execution.Input))",
		`States.Format('it\'s {}, with a comma, and (parens)', $.x)`,
		"States.StringToJson($.s)",
	} {
		if !validIntrinsic(s) {
			t.Errorf("validIntrinsic(%q) = false, want true", s)
		}
	}
	for _, s := range []string{
		"States.Format('runs/{}/map', $.dispatch.runId",
		"States.Format('unterminated, $.x)",
		"States.Format('a', $..x)",
		"States.Format('a',, $.x)",
		"States.(1)",
		"States.Format 'a'",
		"Format('a')",
		"States.Format('a')x",
		"States.Format('a'))",
		"States.Format(('a')",
		"States.Format(bare)",
		"States.Format('a' 'b')",
	} {
		if validIntrinsic(s) {
			t.Errorf("validIntrinsic(%q) = true, want false", s)
		}
	}
}

func TestViolationString(t *testing.T) {
	t.Parallel()
	v := Violation{Rule: RuleStatesAll, Path: "States.A.Catch[0].ErrorEquals", Message: "States.ALL must appear alone and at end of list"}
	want := "states-all-alone-and-last: States.A.Catch[0].ErrorEquals: States.ALL must appear alone and at end of list"
	if v.String() != want || v.Error() != want {
		t.Errorf("String() = %q, Error() = %q, want %q", v.String(), v.Error(), want)
	}
}
