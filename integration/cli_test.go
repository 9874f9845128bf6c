package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orgscan/orgscan/internal/mototest"
	"github.com/orgscan/orgscan/pkg/finding"
)

// `orgscan run --org --role-name R --regions … --json`, the binary a user
// runs, pointed at moto by AWS_ENDPOINT_URL alone: it finds what was seeded
// in the member accounts of those regions, and nothing from other accounts
// or regions. --as-of lets it judge moto's minutes-old resources as the
// 40-day-old resources the seed describes.
func TestCLIScansTheOrganization(t *testing.T) {
	w := seeded(t)
	bin := filepath.Join(t.TempDir(), "orgscan")
	build := exec.Command("go", "build", "-o", bin, "./cmd/orgscan")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	cmd := exec.Command(bin, "run", "--org", "--role-name", mototest.RoleName, "--external-id", "orgscan-it",
		"--regions", strings.Join(w.Regions, ","), "--json", "--quiet", "--data", data, "--as-of", w.AsOf.Format(time.RFC3339))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("orgscan run: %v\n%s", err, stderr.String())
	}
	var got []mototest.Expected
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		got = append(got, mototest.Expected{CheckID: f.CheckID, AccountID: f.AccountID, Region: f.Region, ResourceID: f.ResourceID})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].String() < got[j].String() })
	if d := cmp.Diff(w.Expected, got); d != "" {
		t.Fatalf("findings (-want +got):\n%s\nstderr:\n%s", d, stderr.String())
	}
	if !strings.Contains(stderr.String(), "8 pairs (4 accounts × 2 regions)") || !strings.Contains(stderr.String(), "pairs: 8 ok, 0 partial, 0 failed") {
		t.Fatalf("summary does not describe the scan:\n%s", stderr.String())
	}
}
