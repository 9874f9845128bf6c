package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Where the browser test finds its tools, from this package's directory.
const (
	chromiumPath   = "/usr/bin/chromium"
	browserScript  = "../../tools/report-test.mjs"
	playwrightDir  = "../../tools/node_modules/playwright-core"
	artifactsDir   = "../../testdata/artifacts"
	browserTimeout = 3 * time.Minute
)

// The report works in a real browser: headless Chromium opens the file,
// requests nothing, logs no error, shows the totals, and the findings table
// sorts and filters (tools/report-test.mjs). Missing tools fail the test:
// `make tools` installs them; ORGSCAN_SKIP_BROWSER=1 skips it instead.
// ORGSCAN_ARTIFACTS=1 keeps the screenshot and the report in
// testdata/artifacts.
func TestReportInBrowser(t *testing.T) {
	if os.Getenv("ORGSCAN_SKIP_BROWSER") == "1" {
		t.Skip("ORGSCAN_SKIP_BROWSER=1")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("no node on PATH: install Node.js, then run `make tools` (or set ORGSCAN_SKIP_BROWSER=1)")
	}
	for _, p := range []string{chromiumPath, playwrightDir} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is missing: run `make tools` (or set ORGSCAN_SKIP_BROWSER=1 to skip the browser test)", p)
		}
	}

	in := fixture(50)
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, "report.html")
	f, err := os.Create(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := (HTML{}).Render(f, in); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	const filterText = "EU-West-1" // a region, in another case than the page's
	const filterCheck = "rds-idle-instance"
	filterRows, checkRows := 0, 0
	for _, f := range in.Findings {
		if strings.EqualFold(f.Region, filterText) {
			filterRows++
		}
		if f.CheckID == filterCheck {
			checkRows++
		}
	}
	s := in.Summary
	expected := map[string]any{
		"totals": map[string]float64{
			"total-findings":     float64(s.Findings),
			"total-monthly":      s.MonthlyCostUSD,
			"total-new":          float64(s.New),
			"total-resolved":     float64(s.Resolved),
			"total-failed-pairs": float64(s.PairsFailed),
		},
		"rows":   len(in.Findings),
		"filter": map[string]any{"text": filterText, "rows": filterRows},
		"check":  map[string]any{"id": filterCheck, "rows": checkRows},
	}
	b, err := json.MarshalIndent(expected, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	expectedPath := filepath.Join(dir, "expected.json")
	if err := os.WriteFile(expectedPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")

	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, browserScript, htmlPath, expectedPath, shot)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	t.Logf("%s (%v)", strings.TrimSpace(out.String()), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("browser test failed: %v", err)
	}
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("no PNG screenshot at %s: %v", shot, err)
	}
	if os.Getenv("ORGSCAN_ARTIFACTS") == "1" {
		if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		page, err := os.ReadFile(htmlPath)
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"report.png": png, "report.html": page} {
			if err := os.WriteFile(filepath.Join(artifactsDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("screenshot and report kept in %s", artifactsDir)
	}
}
