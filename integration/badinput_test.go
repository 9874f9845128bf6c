package integration

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/internal/mototest"
	"github.com/orgscan/orgscan/pkg/awsx"
	"github.com/orgscan/orgscan/pkg/history"
	"github.com/orgscan/orgscan/pkg/pipeline"
	"github.com/orgscan/orgscan/pkg/pipeline/collect"
	"github.com/orgscan/orgscan/pkg/store"
)

// Malformed input of every kind orgscan accepts — command-line flags,
// configuration files, `orgscan query` SQL, the dispatcher's execution
// input, the collector's work items and the aggregator's request — is
// refused with an error that names the offending value, and nothing is
// written anywhere: the CLI exits 2 with one line on stderr and leaves its
// data directories as they were (compared entry by entry, content hashes
// and modification times included); the Lambda handlers return
// *pipeline.InvalidRequestError (or, for a work item naming an unknown
// check, a bad threshold or missing run options, the documented failed pair
// whose error code is InvalidRequestError) and send no write request, so the test's own bucket
// and state table are empty at the end.
func TestBadInput(t *testing.T) {
	w := seeded(t)
	bi := newBadInputRig(t, w)
	counts := map[string]int{}
	seen := map[string]bool{}
	count := func(t *testing.T, category, input string) {
		t.Helper()
		if key := category + "\x00" + input; seen[key] {
			t.Errorf("%s: the input %q appears twice", category, input)
		} else {
			seen[key] = true
		}
		counts[category]++
	}
	member := w.Members[0].ID

	// Every command line below is a valid one with a single bad value: the
	// control run shows the AWS baseline scans and writes when nothing is
	// wrong, so a refusal that let the run through would change a directory.
	awsScan := func(data string, extra ...string) []string {
		return append([]string{"run", "--data", data, "--org", "--role-name", mototest.RoleName, "--external-id", "orgscan-it",
			"--accounts", member, "--regions", w.Regions[0], "--as-of", w.AsOf.Format(time.RFC3339), "--quiet"}, extra...)
	}
	awsRun := func(extra ...string) []string { return awsScan(bi.runDir, extra...) }
	simRun := func(extra ...string) []string {
		return append([]string{"run", "--data", bi.runDir, "--simulate", "--sim-accounts", "2", "--sim-regions", "1", "--sim-resources", "5", "--quiet"}, extra...)
	}
	query := func(extra ...string) []string {
		return append([]string{"query", "--data", bi.historyDir}, extra...)
	}
	if code, stdout, stderr := bi.orgscan(t, awsScan(bi.historyDir, "--run-id", "badinput-control")...); code != 0 {
		t.Fatalf("control run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if written, _ := filepath.Glob(filepath.Join(bi.historyDir, "findings", "dt=*", "badinput-control.parquet")); len(written) != 1 {
		t.Fatalf("the control run wrote no history in %s", bi.historyDir)
	}
	bi.snapshot(t)

	t.Run("command line", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			says string
		}{
			{"unknown check", awsRun("--checks", "ec2-idle-instance,ec2-nope"), `--checks: "ec2-nope" is not a registered check`},
			{"short account ID", awsRun("--accounts", "12345"), `--accounts: "12345" is not a 12-digit AWS account ID`},
			{"account ID with a letter", awsRun("--exclude-accounts", "12345678901a"), `--exclude-accounts: "12345678901a" is not a 12-digit`},
			{"account outside the organization", awsRun("--accounts", "999999999999"), `--accounts: "999999999999" is not an active account of the organization`},
			{"malformed region", awsRun("--regions", "mars-east-9"), `--regions: "mars-east-9" is not an AWS region name`},
			{"region not enabled", awsRun("--regions", "us-east-1,ap-northeast-9"), `--regions: "ap-northeast-9" is not enabled`},
			{"empty region list", awsRun("--regions", ","), `--regions ",": give 'enabled' or a comma list`},
			{"lookback beyond CloudWatch retention", awsRun("--lookback-days", "9999"), `--lookback-days: "9999" must be 1..454`},
			{"negative lookback", awsRun("--lookback-days", "-3"), `--lookback-days -3: must be 1..454`},
			{"zero lookback", awsRun("--lookback-days", "0"), `--lookback-days 0: must be 1..454`},
			{"organizational unit the organization does not have", awsRun("--organizational-units", "ou-zzzz-zzzzzzzz"),
				`--organizational-units: "ou-zzzz-zzzzzzzz" is not an organizational unit or root of the organization`},
			{"zero concurrency", awsRun("--concurrency", "0"), `--concurrency 0: must be 1..1024`},
			{"concurrency over the bound", awsRun("--concurrency", "1025"), `--concurrency 1025: must be 1..1024`},
			{"concurrency not a number", awsRun("--concurrency", "abc"), `invalid value "abc" for flag -concurrency`},
			{"as-of not a time", awsRun("--as-of", "yesterday"), `--as-of "yesterday": not an RFC 3339 time`},
			{"as-of without a time of day", awsRun("--as-of", "2026-11-26"), `--as-of "2026-11-26": not an RFC 3339 time`},
			{"run ID escaping the data directory", awsRun("--run-id", "../../etc"), `--run-id: "../../etc" must be 1-80 letters`},
			{"role name with a space", awsRun("--role-name", "Org Scan"), `--role-name: "Org Scan" is not an IAM role name`},
			{"malformed organizational unit", awsRun("--organizational-units", "ou-1"), `--organizational-units: "ou-1" is not an organization root`},
			{"misspelt flag", awsRun("--chekcs", "ec2-idle-instance"), `flag provided but not defined: -chekcs`},
			{"stray argument", awsRun("ec2-idle-instance"), `unexpected argument "ec2-idle-instance"`},
			{"simulation flag in an AWS scan", awsRun("--sim-accounts", "3"), `--sim-accounts needs --simulate`},
			{"AWS flag in a simulation", simRun("--org"), `--org does not apply to --simulate`},
			{"no simulated accounts", simRun("--sim-accounts", "0"), `--sim-accounts 0: must be at least 1`},
			{"throttling share over one", simRun("--sim-throttle", "2"), `--sim-throttle: throttle rate must be in [0, 1), got 2`},
			{"negative simulated day", simRun("--sim-day", "-1"), `--sim-day: day must be 0..365, got -1`},
			{"too many simulated regions", simRun("--sim-regions", "99"), `--sim-regions 99: must be 1..17`},
			{"denied operation of a malformed account", simRun("--sim-deny-ops", "12345/ec2:DescribeInstances"), `--sim-deny-ops: "12345/ec2:DescribeInstances": "12345" is not a 12-digit`},
			{"unknown command", []string{"scan", "--data", bi.runDir}, `unknown command "scan"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				count(t, "command line", strings.Join(tc.args, " "))
				bi.refused(t, tc.args, tc.says)
			})
		}
	})

	t.Run("config files", func(t *testing.T) {
		for _, tc := range []struct {
			name, file, body, says string
		}{
			{"threshold not a number", "word.yaml", "checks:\n  ec2-idle-instance:\n    params:\n      cpuPercent: five\n",
				`word.yaml:4: checks.ec2-idle-instance.params.cpuPercent: must be a number, got "five"`},
			{"threshold out of range", "range.yaml", "checks:\n  ec2-idle-instance:\n    params:\n      cpuPercent: 150\n",
				`range.yaml:4: checks.ec2-idle-instance.params.cpuPercent: must be within [0, 100]`},
			{"lookback beyond CloudWatch retention", "lookback.yaml", "checks:\n  rds-idle-instance:\n    params: {lookbackDays: 9999}\n",
				`lookback.yaml:3: checks.rds-idle-instance.params.lookbackDays: must be within [1, 454]`},
			{"unknown parameter", "param.yaml", "checks:\n  ec2-idle-instance:\n    params: {cpu: 3}\n",
				`param.yaml:3: checks.ec2-idle-instance.params.cpu: unknown parameter`},
			{"unknown check", "check.yaml", "checks:\n  ec2-idle-instnce:\n    params: {cpuPercent: 3}\n",
				`check.yaml:2: checks.ec2-idle-instnce: unknown check`},
			{"unknown top-level field", "top.yaml", "chekcs:\n  ec2-idle-instance: {}\n",
				`top.yaml:1: chekcs: unknown field (known: checks, ignoreTag)`},
			{"unknown field of a check", "field.yaml", "checks:\n  ec2-idle-instance:\n    paramz: {cpuPercent: 3}\n",
				`field.yaml:3: checks.ec2-idle-instance.paramz: unknown field (known: params, exclude)`},
			{"parameters for every check", "star.yaml", "checks:\n  \"*\":\n    params: {lookbackDays: 7}\n",
				`star.yaml:3: checks.*.params: parameters belong to one check`},
			{"bad account ID in an exclusion", "account.yaml", "checks:\n  \"*\":\n    exclude:\n      - accounts: [\"12345\"]\n",
				`account.yaml:4: checks.*.exclude[0].accounts: "12345" is not a 12-digit AWS account ID`},
			{"bad region in an exclusion", "region.yaml", "checks:\n  ec2-idle-instance:\n    exclude:\n      - regions: [mars]\n",
				`region.yaml:4: checks.ec2-idle-instance.exclude[0].regions: "mars" is not an AWS region name`},
			{"invalid resource glob", "glob.yaml", "checks:\n  \"*\":\n    exclude:\n      - resources: [\"i-[abc\"]\n",
				`glob.yaml:4: checks.*.exclude[0]: resources: "i-[abc" is not a valid glob`},
			{"invalid tag glob", "tagglob.yaml", "checks:\n  \"*\":\n    exclude:\n      - tags: {env: \"[dev\"}\n",
				`tagglob.yaml:4: checks.*.exclude[0]: tags.env: "[dev" is not a valid glob`},
			{"check given twice", "twice.yaml", "checks:\n  ec2-idle-instance:\n    params: {cpuPercent: 3}\n  ec2-idle-instance:\n    params: {cpuPercent: 9}\n",
				`twice.yaml:4: checks.ec2-idle-instance: given twice (first on line 2)`},
			{"unknown exclusion field", "exclusion.yaml", "checks:\n  \"*\":\n    exclude:\n      - acounts: [\"123456789012\"]\n",
				`exclusion.yaml:4: checks.*.exclude[0].acounts: unknown field`},
			{"exclusion matching nothing", "empty.yaml", "checks:\n  \"*\":\n    exclude:\n      - {}\n",
				`empty.yaml:4: checks.*.exclude[0]: exclusion matches nothing`},
			{"JSON threshold as a string", "string.json", `{"checks": {"ec2-idle-instance": {"params": {"cpuPercent": "3"}}}}`,
				`string.json:1: checks.ec2-idle-instance.params.cpuPercent: must be a number, got "3"`},
			{"JSON unknown top-level field", "extra.json", "{\"checks\": {},\n \"extra\": 1}\n",
				`extra.json:2: extra: unknown field (known: checks, ignoreTag)`},
			{"truncated JSON", "truncated.json", `{"checks": {"ec2-idle-instance": {"params": {"cpuPercent": 3}}`,
				`truncated.json: not valid YAML or JSON`},
			{"missing file", "missing.yaml", "", `missing.yaml: no such file or directory`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				count(t, "config files", tc.file+"\n"+tc.body)
				path := filepath.Join(bi.configDir, tc.file)
				if tc.body != "" {
					if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				bi.refused(t, awsRun("--config", path), "--config: "+path, tc.says)
			})
		}
	})

	t.Run("query SQL", func(t *testing.T) {
		leak := filepath.Join(bi.historyDir, "leak")
		for _, tc := range []struct {
			name string
			args []string
			says string
		}{
			{"COPY TO a file", query(fmt.Sprintf("COPY (SELECT * FROM findings) TO '%s.csv'", leak)), "COPY statements are refused"},
			{"ATTACH a database file", query(fmt.Sprintf("ATTACH '%s.db' AS leak", leak)), "ATTACH statements are refused"},
			{"INSTALL an extension", query("INSTALL httpfs"), "INSTALL statements are refused"},
			{"CREATE a table", query("CREATE TABLE t AS SELECT * FROM findings"), "CREATE statements are refused"},
			{"SET a setting", query("SET threads = 1"), "SET statements are refused"},
			{"DROP a view", query("DROP VIEW findings"), "DROP statements are refused"},
			{"SELECT then DROP", query("SELECT 1; DROP TABLE x"), "one statement at a time"},
			{"COPY TO then SELECT", query(fmt.Sprintf("COPY (SELECT 1) TO '%s-multi.csv'; SELECT 1", leak)), "COPY statements are refused"},
			{"EXPLAIN ANALYZE runs what it explains", query(fmt.Sprintf("EXPLAIN ANALYZE COPY findings TO '%s.parquet' (FORMAT parquet)", leak)), "EXPLAIN ANALYZE statements are refused"},
			{"EXPORT DATABASE", query(fmt.Sprintf("EXPORT DATABASE '%s-export'", leak)), "EXPORT statements are refused"},
			{"COPY behind a comment", query(fmt.Sprintf("/* harmless */ COPY findings TO '%s-comment.csv'", leak)), "COPY statements are refused"},
			{"remote file (no extension download)", query("SELECT * FROM read_parquet('https://127.0.0.1:1/x.parquet')"), "orgscan query reads only the history files of the data directory"},
			{"misspelt SELECT", query("SELEC check_id FROM findings"), `SELEC statements are refused`},
			{"syntax error", query("SELECT check_id FROM findings WHERE"), `syntax error at end of input`},
			{"unknown column", query("SELECT no_such_column FROM findings"), `"no_such_column" not found`},
			{"unknown named query", query("--named", "top_saving"), `--named: no named query "top_saving"`},
			{"unknown format", query("--format", "xml", "SELECT 1"), `--format "xml": want one of table, csv, json`},
			{"SQL in two arguments", query("SELECT", "1"), "give the SQL as one argument (quote it); got 2 arguments"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				count(t, "query SQL", strings.Join(tc.args, " "))
				bi.refused(t, tc.args, tc.says)
			})
		}
	})

	t.Run("execution input", func(t *testing.T) {
		fn := pipeline.DispatchFunction{Dispatcher: bi.harness.local.Dispatcher}
		for _, tc := range []badRequest{
			{"threshold out of range", `{"params":{"ec2-idle-instance":{"cpuPercent":-1}}}`, "params", "", "parameter cpuPercent=-1: must be within [0, 100]"},
			{"unknown parameter", `{"params":{"ec2-idle-instance":{"cpu":3}}}`, "params", "", "parameter cpu=3: unknown parameter"},
			{"threshold of a check not run", `{"checks":["ebs-unattached-volume"],"params":{"ec2-idle-instance":{"cpuPercent":101}}}`, "params", "", "parameter cpuPercent=101: must be within [0, 100]"},
			{"lookback one day too long", `{"lookbackDays":455}`, "lookbackDays", "455", ""},
			{"negative Map concurrency", `{"maxConcurrency":-1}`, "maxConcurrency", "-1", ""},
			{"region with a trailing space", `{"regions":["us-east-1 "]}`, "regions", "us-east-1 ", ""},
			{"run ID with a NUL byte", `{"runId":"a\u0000b"}`, "runId", "a\x00b", ""},
			{"run ID of 81 characters", `{"runId":"` + strings.Repeat("r", 81) + `"}`, "runId", strings.Repeat("r", 81), ""},
			{"role name of 65 characters", `{"roleName":"` + strings.Repeat("R", 65) + `"}`, "roleName", strings.Repeat("R", 65), ""},
			{"invalid exclusion glob", `{"exclusions":[{"resources":["i-[abc"]}]}`, "exclusions[0].resources", "i-[abc", "is not a valid glob"},
			{"exclusion of a short account ID", `{"exclusions":[{"accounts":["12345"]}]}`, "exclusions[0].accounts", "12345", "is not a 12-digit AWS account ID"},
			{"exclusion of a malformed region", `{"exclusions":[{"regions":["mars"]}]}`, "exclusions[0].regions", "mars", "is not an AWS region name"},
			{"exclusion matching nothing", `{"exclusions":[{}]}`, "exclusions[0]", "", "exclusion matches nothing"},
			{"scheduled event with a bad account", `{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":{"accounts":["12345"]}}`, "accounts", "12345", ""},
			{"scheduled event with an unknown field", `{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":{"acounts":["123456789012"]}}`, "acounts", "", "is not a run request field"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				count(t, "execution input", tc.input)
				_, err := fn.Handle(t.Context(), json.RawMessage(tc.input))
				bi.wroteNothing(t)
				tc.check(t, err)
			})
		}
	})

	t.Run("work items", func(t *testing.T) {
		fn := pipeline.CollectFunction{Collector: bi.harness.local.Collector, Blobs: bi.harness.local.Dispatcher.Blobs}
		// item is a valid work item with fields added: the collector would
		// assume the member's role and, for the age-free Elastic IP check,
		// find moto's unassociated addresses and write them.
		item := func(check, fields string) string {
			return fmt.Sprintf(`{"runId":"badinput","accountId":%q,"region":"us-east-1","roleArn":"arn:aws:iam::%s:role/%s","checks":[%q]%s}`,
				member, member, mototest.RoleName, check, fields)
		}
		eip := func(fields string) string { return item("ec2-unassociated-eip", fields) }
		for _, tc := range []badRequest{
			{"empty batch", `{"Items":[]}`, "Items", "", "is empty"},
			{"batch that is not a list", `{"Items":{}}`, "Items", "", "is not a batch of work items"},
			{"short account ID in a batch", `{"Items":[{"runId":"badinput","accountId":"12345","region":"us-east-1","checks":[]}]}`, "accountId", "12345", ""},
			{"good item batched with a bad one", `{"Items":[` + eip("") + `,{"runId":"badinput","accountId":"1","region":"us-east-1","checks":[]}]}`, "accountId", "1", ""},
			{"unknown field in a batch", `{"Items":[` + eip(`,"bogus":1`) + `]}`, "Items", "bogus", "is not a field"},
			{"field name in another case", strings.Replace(eip(""), `"accountId"`, `"AccountID"`, 1), "input", "AccountID", "is not a field"},
			{"batch field in another case", `{"items":[` + eip("") + `]}`, "input", "items", "is not a field"},
			{"malformed region", strings.Replace(eip(""), "us-east-1", "mars", 1), "region", "mars", ""},
			{"upper-case region", strings.Replace(eip(""), "us-east-1", "US-EAST-1", 1), "region", "US-EAST-1", ""},
			{"run ID escaping the bucket prefix", strings.Replace(eip(""), `"badinput"`, `"../x"`, 1), "runId", "../x", ""},
			{"misspelt field", strings.Replace(eip(""), "accountId", "acountId", 1), "input", "acountId", "is not a field"},
			{"not JSON", `runId=badinput`, "input", "", "is not a JSON object"},
			{"role of another account", strings.Replace(eip(""), "arn:aws:iam::"+member, "arn:aws:iam::999999999999", 1), "roleArn", "arn:aws:iam::999999999999:role/" + mototest.RoleName, "is not a role of account " + member},
			{"role ARN that is not one", strings.Replace(eip(""), "arn:aws:iam::"+member+":role/"+mototest.RoleName, "garbage", 1), "roleArn", "garbage", "is not an IAM role ARN"},
			{"exclusions in the item (they belong in the run options)", eip(`,"exclusions":[{"accounts":["12345"]}]`), "input", "exclusions", "is not a field"},
			{"options of another run", eip(`,"optionsKey":"runs/other/options.json"`), "optionsKey", "runs/other/options.json", "is not the run's options key"},
			{"JSON array", `[` + eip("") + `]`, "input", "", "is not a JSON object"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				count(t, "work items", tc.input)
				_, err := fn.Handle(t.Context(), json.RawMessage(tc.input))
				bi.wroteNothing(t)
				tc.check(t, err)
			})
		}
		// A well-formed item the collector cannot configure is the
		// documented failed pair: code InvalidRequestError, a message naming
		// the value, and no credentials asked for.
		for _, tc := range []struct{ name, input, says string }{
			{"unknown check", item("s3-nope", ""), `unknown check "s3-nope"`},
			{"run options that do not exist", item("ec2-idle-instance", `,"optionsKey":"runs/badinput/options.json"`), `"runs/badinput/options.json" names no run options object`},
			{"lookback beyond CloudWatch retention", item("ec2-idle-instance", `,"lookbackDays":9999`), "parameter lookbackDays=9999: must be within [1, 454]"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				count(t, "work items", tc.input)
				assumed := bi.faults.Count("AssumeRole")
				out, err := fn.Handle(t.Context(), json.RawMessage(tc.input))
				bi.wroteNothing(t)
				if err != nil {
					t.Fatalf("err = %v, want a failed pair", err)
				}
				if len(out.Results) != 1 {
					t.Fatalf("results %+v, want one", out.Results)
				}
				r := out.Results[0]
				if r.Status != pipeline.PairFailed || len(r.Errors) != 1 || r.Errors[0].Code != "InvalidRequestError" || !strings.Contains(r.Errors[0].Message, tc.says) {
					t.Errorf("pair %+v, want failed with InvalidRequestError naming %q", r, tc.says)
				}
				if r.ChunkKey != "" || r.InventoryKey != "" || r.Findings != 0 || len(r.APICalls) != 0 {
					t.Errorf("a refused pair was scanned: %+v", r)
				}
				if n := bi.faults.Count("AssumeRole") - assumed; n != 0 {
					t.Errorf("a refused pair assumed a role %d times", n)
				}
			})
		}
	})

	t.Run("aggregate requests", func(t *testing.T) {
		fn := pipeline.AggregateFunction{Aggregator: bi.aggregator}
		for _, tc := range []badRequest{
			{"run ID escaping the bucket prefix", `{"runId":"../x","startedAt":"2026-11-26T00:00:00Z"}`, "runId", "../x", ""},
			{"start time not a time", `{"runId":"badinput","startedAt":"yesterday"}`, "input", "", `parsing time "yesterday"`},
			{"misspelt field", `{"runId":"badinput","startedAt":"2026-11-26T00:00:00Z","pair":[]}`, "input", "pair", "is not a field"},
			{"mis-cased field", `{"RunID":"badinput","startedAt":"2026-11-26T00:00:00Z"}`, "input", "RunID", "is not a field"},
			{"trailing data", `{"runId":"badinput","startedAt":"2026-11-26T00:00:00Z"} {}`, "input", "", "is not a JSON object"},
			{"Map outcome without results or error", `{"runId":"badinput","startedAt":"2026-11-26T00:00:00Z","collect":{}}`, "collect", "", "has neither resultWriter nor Error"},
			{"pair of another run", fmt.Sprintf(`{"runId":"badinput","startedAt":"2026-11-26T00:00:00Z","pairs":[{"runId":"other","accountId":%q,"region":"us-east-1","status":"ok","checks":[]}]}`, member),
				"pairs", "other", "belongs to another run than badinput"},
			{"pair of a malformed account", `{"runId":"badinput","startedAt":"2026-11-26T00:00:00Z","pairs":[{"runId":"badinput","accountId":"12345","region":"us-east-1","status":"ok","checks":[]}]}`,
				"pairs.accountId", "12345", ""},
			{"pair of a malformed region", fmt.Sprintf(`{"runId":"badinput","startedAt":"2026-11-26T00:00:00Z","pairs":[{"runId":"badinput","accountId":%q,"region":"mars","status":"ok","checks":[]}]}`, member),
				"pairs.region", "mars", ""},
			{"pair status that is none", fmt.Sprintf(`{"runId":"badinput","startedAt":"2026-11-26T00:00:00Z","pairs":[{"runId":"badinput","accountId":%q,"region":"us-east-1","status":"bogus","checks":[]}]}`, member),
				"pairs.status", "bogus", ""},
			{"pair reading another pair's findings", fmt.Sprintf(`{"runId":"badinput","startedAt":"2026-11-26T00:00:00Z","pairs":[{"runId":"badinput","accountId":%q,"region":"us-east-1","status":"ok","chunkKey":"runs/other/chunks/x.jsonl.gz","checks":[]}]}`, member),
				"pairs.chunkKey", "runs/other/chunks/x.jsonl.gz", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				count(t, "aggregate requests", tc.input)
				_, err := fn.Handle(t.Context(), json.RawMessage(tc.input))
				bi.wroteNothing(t)
				tc.check(t, err)
			})
		}
	})

	bi.finalCheck(t)
	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("%d malformed inputs refused: %d command lines, %d config files, %d query SQL, %d execution inputs, %d work items, %d aggregate requests",
		total, counts["command line"], counts["config files"], counts["query SQL"], counts["execution input"], counts["work items"], counts["aggregate requests"])
	if total < 25 {
		t.Errorf("%d malformed inputs; the suite needs at least 25", total)
	}
}

// badRequest is a handler input refused with an *InvalidRequestError whose
// Field and Value are field and value; says is more of its message, for
// errors whose value is in the reason.
type badRequest struct {
	name, input, field, value, says string
}

func (tc badRequest) check(t *testing.T, err error) {
	t.Helper()
	var ir *pipeline.InvalidRequestError
	if !errors.As(err, &ir) {
		t.Fatalf("err = %T %v, want *pipeline.InvalidRequestError", err, err)
	}
	if ir.Field != tc.field || ir.Value != tc.value {
		t.Errorf("InvalidRequestError{Field: %q, Value: %q}, want {%q, %q} (%v)", ir.Field, ir.Value, tc.field, tc.value, err)
	}
	if tc.value != "" && !strings.Contains(err.Error(), strconv.Quote(tc.value)) {
		t.Errorf("message %q does not name %q", err, tc.value)
	}
	if !strings.Contains(err.Error(), tc.says) {
		t.Errorf("message %q does not say %q", err, tc.says)
	}
}

// badInputRig is what TestBadInput drives and inspects: the orgscan binary
// with its data directories, and the pipeline's handlers over a bucket and
// a state table of the test's own, reached through an HTTP client that
// records every write request.
type badInputRig struct {
	bin string
	// runDir is the --data of refused runs (empty), historyDir holds the
	// control run's history for queries, configDir the configuration files,
	// workDir is the binary's working directory (where the default
	// ./orgscan-data would go).
	runDir, historyDir, configDir, workDir string
	listings                               map[string][]string

	harness    *harness
	faults     *mototest.Faults
	writes     *writeLog
	aggregator *pipeline.Aggregator
	bucket     string
	s3         *s3.Client
	db         *dynamodb.Client
	table      string
}

func newBadInputRig(t *testing.T, w *mototest.World) *badInputRig {
	t.Helper()
	ctx := t.Context()
	bi := &badInputRig{bin: filepath.Join(t.TempDir(), "orgscan"), runDir: t.TempDir(), historyDir: t.TempDir(),
		configDir: t.TempDir(), workDir: t.TempDir()}
	build := exec.Command("go", "build", "-o", bi.bin, "./cmd/orgscan")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// The bucket and the table are created without the recorder: from
	// then on, any write request is the handlers'.
	plain, err := awsx.LoadConfig(ctx, awsx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bi.s3 = awsx.NewS3(plain)
	bi.bucket = fmt.Sprintf("orgscan-badinput-%d", time.Now().UnixNano())
	if _, err := bi.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bi.bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	t.Cleanup(func() {
		_, _ = bi.s3.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(bi.bucket)})
	})
	db, state := stateTable(t)
	bi.db, bi.table = db, state.Table

	bi.writes = &writeLog{base: awshttp.NewBuildableClient()}
	bi.faults = mototest.NewFaults()
	bi.faults.Base = bi.writes
	bi.harness = newHarness(t, w, bi.faults)
	blobs := store.S3{Client: bi.harness.s3, Bucket: bi.bucket}
	bi.harness.local.Dispatcher.Blobs = blobs
	bi.harness.local.Collector.(*collect.Collector).Blobs = blobs
	recorded, err := awsx.LoadConfig(ctx, awsx.Options{HTTPClient: bi.faults})
	if err != nil {
		t.Fatal(err)
	}
	bi.aggregator = &pipeline.Aggregator{Blobs: blobs, History: history.Parquet{},
		State: &store.DynamoState{Client: dynamodb.NewFromConfig(recorded), Table: bi.table}, Clock: time.Now}
	return bi
}

// orgscan runs the binary and returns its exit code and outputs.
func (bi *badInputRig) orgscan(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bi.bin, args...)
	cmd.Dir = bi.workDir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("orgscan %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errOut.String()
}

// refused runs orgscan with args and checks that it exits 2 with one line
// on stderr, prefixed by the command and saying every one of says, prints
// nothing on stdout, and leaves every directory as it was.
func (bi *badInputRig) refused(t *testing.T, args []string, says ...string) {
	t.Helper()
	code, stdout, stderr := bi.orgscan(t, args...)
	if code != 2 {
		t.Errorf("exit %d, want 2\nstderr: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout: %q, want nothing", stdout)
	}
	prefix := "orgscan: "
	if args[0] == "run" || args[0] == "query" {
		prefix = "orgscan " + args[0] + ": "
	}
	if !strings.HasPrefix(stderr, prefix) || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q: want one line starting %q", stderr, prefix)
	}
	for _, s := range says {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr %q does not say %q", stderr, s)
		}
	}
	bi.unchanged(t)
}

// snapshot records the listing of every directory the binary could write.
func (bi *badInputRig) snapshot(t *testing.T) {
	t.Helper()
	bi.listings = map[string][]string{}
	for _, dir := range []string{bi.runDir, bi.historyDir, bi.workDir} {
		bi.listings[dir] = treeListing(t, dir)
	}
}

// unchanged compares every directory with its snapshot.
func (bi *badInputRig) unchanged(t *testing.T) {
	t.Helper()
	for dir, before := range bi.listings {
		if after := treeListing(t, dir); !slices.Equal(after, before) {
			t.Errorf("%s changed (-before +after):\n%s", dir, cmp.Diff(before, after))
			bi.listings[dir] = after // report each change once
		}
	}
}

// wroteNothing checks that no write request left the handlers, and clears
// the record.
func (bi *badInputRig) wroteNothing(t *testing.T) {
	t.Helper()
	if ws := bi.writes.take(); len(ws) > 0 {
		t.Errorf("a refused input sent %d write requests: %v", len(ws), ws)
	}
}

// finalCheck lists every object of the bucket and scans the state table:
// both must be empty; the refused runs' data directory and the working
// directory must be empty, and the history as the control run left it.
func (bi *badInputRig) finalCheck(t *testing.T) {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(bi.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bi.bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list bucket %s: %v", bi.bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if len(keys) != 0 {
		t.Errorf("bucket %s holds %d objects: %v", bi.bucket, len(keys), keys)
	}
	if items := dumpTable(t, bi.db, bi.table); len(items) != 0 {
		t.Errorf("table %s holds items:\n%s", bi.table, items)
	}
	for _, dir := range []string{bi.runDir, bi.workDir} {
		if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
			t.Errorf("%s holds %d entries (%v), want none", dir, len(entries), err)
		}
	}
	bi.unchanged(t)
}

// treeListing lists every entry under dir, the directory itself included:
// path, mode, size, modification time and, for files, a SHA-256 of the
// content. Equal listings mean nothing was created, removed, rewritten or
// touched.
func treeListing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		line := fmt.Sprintf("%s %v %d %d", rel, info.Mode(), info.Size(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			content, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(content))
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return out
}

// dynamoWrites are the DynamoDB operations that write items.
var dynamoWrites = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true, "TransactWriteItems": true}

// writeLog is an HTTP client for the SDK that passes every request on and
// records those that write: DynamoDB item writes, and S3 requests other
// than GET and HEAD. S3 is addressed path-style, so its paths name a
// bucket; every other service here posts to "/". Safe for concurrent use.
type writeLog struct {
	base   aws.HTTPClient
	mu     sync.Mutex
	writes []string
}

func (l *writeLog) Do(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	var write string
	switch {
	case strings.HasPrefix(target, "DynamoDB_") && dynamoWrites[op]:
		write = "dynamodb:" + op
	case target == "" && req.URL.Path != "/" && req.Method != http.MethodGet && req.Method != http.MethodHead:
		write = req.Method + " " + req.URL.Path
	}
	if write != "" {
		l.mu.Lock()
		l.writes = append(l.writes, write)
		l.mu.Unlock()
	}
	return l.base.Do(req)
}

// take returns the writes recorded so far and forgets them.
func (l *writeLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ws := l.writes
	l.writes = nil
	return ws
}
