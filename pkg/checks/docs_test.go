package checks_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/orgscan/orgscan/pkg/checks"
	"github.com/orgscan/orgscan/pkg/checks/catalog"
	"github.com/orgscan/orgscan/pkg/cwbatch"
)

var update = flag.Bool("update", false, "rewrite docs/checks.md, docs/iam-policy.json and catalog/catalog_gen.go")

// The generated catalogue and member-role policy in docs/ must match the
// registry: change a check, then run `make docs` (go test -update).
func TestGeneratedDocsAreCurrent(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []byte
	}{
		{filepath.Join("..", "..", "docs", "checks.md"), []byte(checks.Markdown(checks.All()))},
		{filepath.Join("..", "..", "docs", "iam-policy.json"), checks.Policy(checks.All())},
		{filepath.Join("catalog", "catalog_gen.go"), checks.CatalogSource(checks.All())},
	} {
		if *update {
			if err := os.WriteFile(tc.file, tc.want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatalf("%v: run `make docs`", err)
		}
		if string(got) != string(tc.want) {
			t.Errorf("%s is stale: run `make docs`", tc.file)
		}
	}
}

func TestPolicyIsTheUnionOfActions(t *testing.T) {
	t.Parallel()
	p := string(checks.Policy(checks.All()))
	for _, c := range checks.All() {
		for _, a := range c.Actions {
			if !strings.Contains(p, `"`+a+`"`) {
				t.Errorf("policy lacks %s of %s", a, c.ID)
			}
			if !strings.Contains(a, ":Describe") && !strings.Contains(a, ":List") && !strings.Contains(a, ":Get") {
				t.Errorf("%s: %s is not a read-only action", c.ID, a)
			}
		}
	}
	var doc struct {
		Statement []struct {
			Effect   string
			Action   []string
			Resource string
		}
	}
	if err := json.Unmarshal([]byte(p), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 1 || doc.Statement[0].Effect != "Allow" || doc.Statement[0].Resource != "*" ||
		strings.Join(doc.Statement[0].Action, ",") != strings.Join(checks.Actions(checks.All()), ",") {
		t.Errorf("policy is not exactly the checks' actions:\n%s", p)
	}
}

// The catalog the dispatcher and aggregator use holds exactly the
// registry's IDs, services, resource types and parameters, in order.
func TestCatalogMatchesTheRegistry(t *testing.T) {
	t.Parallel()
	all := checks.All()
	got := catalog.All()
	if len(got) != len(all) {
		t.Fatalf("catalog has %d entries, the registry %d: run `make docs`", len(got), len(all))
	}
	for i, c := range all {
		if !reflect.DeepEqual(got[i], c.Entry()) {
			t.Errorf("catalog entry %d = %+v, registry has %+v: run `make docs`", i, got[i], c.Entry())
		}
	}
	if catalog.MaxLookbackDays != cwbatch.MaxLookbackDays {
		t.Errorf("catalog.MaxLookbackDays = %d, cwbatch.MaxLookbackDays = %d", catalog.MaxLookbackDays, cwbatch.MaxLookbackDays)
	}
	if !reflect.DeepEqual(catalog.IDs(), checks.IDs()) {
		t.Errorf("catalog.IDs() = %v, checks.IDs() = %v", catalog.IDs(), checks.IDs())
	}
}
