package toolsetup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The pins the Makefile passes (MOTO_VERSION, CFNLINT_VERSION).
const (
	motoPin    = "5.2.1"
	cfnLintPin = "1.51.0"
	pipInstall = ` -m pip install "moto[server]==5.2.1" "cfn-lint==1.51.0"`
)

// fakePython makes a Python interpreter in dir: a venv without pip (so no
// package index is ever involved) holding stub moto and cfn-lint packages at
// the given versions ("" for none), behind a wrapper that behaves like
// Debian 12's python3: `-m pip install` fails with PEP 668's
// externally-managed-environment (and is logged), and with noEnsurepip
// `import venv, ensurepip` fails as it does without python3-venv. It returns
// the wrapper, the venv's interpreter and the pip log.
func fakePython(t *testing.T, dir, moto, cfnLint string, noEnsurepip bool) (wrapper, real, pipLog string) {
	t.Helper()
	venv := filepath.Join(dir, "base")
	makeVenv(t, venv, moto, cfnLint)
	real = filepath.Join(venv, "bin", "python")
	pipLog = filepath.Join(dir, "pip.log")
	wrapper = filepath.Join(dir, "python3")
	script := fmt.Sprintf(`#!/bin/sh
case "$*" in
*"-m pip"*) echo "$*" >> %q
	echo "error: externally-managed-environment" >&2; exit 1 ;;
esac
if [ -n %q ] && [ "$1" = -c ] && case "$2" in *ensurepip*) true ;; *) false ;; esac; then
	echo "ModuleNotFoundError: No module named 'ensurepip'" >&2; exit 1
fi
exec %q "$@"
`, pipLog, map[bool]string{true: "1", false: ""}[noEnsurepip], real)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, real, pipLog
}

// makeVenv creates a venv without pip at dir with stub packages moto
// (moto.server importable) and cfn-lint (cfnlint) at the given versions.
func makeVenv(t *testing.T, dir, moto, cfnLint string) {
	t.Helper()
	if out, err := exec.Command("python3", "-m", "venv", "--without-pip", dir).CombinedOutput(); err != nil {
		t.Skipf("python3 -m venv: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "bin", "python"), "-c",
		`import sysconfig; print(sysconfig.get_paths()["purelib"])`).Output()
	if err != nil {
		t.Fatal(err)
	}
	site := strings.TrimSpace(string(out))
	stub := func(dist, pkg, version string, files ...string) {
		if version == "" {
			return
		}
		write(t, filepath.Join(site, dist+"-"+version+".dist-info", "METADATA"),
			fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", dist, version))
		write(t, filepath.Join(site, dist+"-"+version+".dist-info", "INSTALLER"), "test\n")
		write(t, filepath.Join(site, pkg, "__init__.py"), "")
		for _, f := range files {
			write(t, filepath.Join(site, pkg, f), "")
		}
	}
	stub("moto", "moto", moto, "server.py")
	stub("cfn_lint", "cfnlint", cfnLint)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// result is one run of tools/python-tools.sh.
type result struct {
	out      string // stdout and stderr
	err      error
	recorded string // OUT's content ("" when not written)
	commands []string
	apt      string // what the fake apt-get and sudo were asked
}

// run runs tools/python-tools.sh with python as PYTHON, venv as VENV, and
// fake apt-get and sudo first on PATH (they log and fail: no test installs
// anything).
func run(t *testing.T, dir, python, venv string, dryRun bool, extraEnv ...string) result {
	t.Helper()
	fakeBin := filepath.Join(dir, "fakebin")
	aptLog := filepath.Join(dir, "apt.log")
	for _, name := range []string{"apt-get", "sudo"} {
		write(t, filepath.Join(fakeBin, name), fmt.Sprintf("#!/bin/sh\necho %s \"$@\" >> %q\nexit 1\n", name, aptLog))
		if err := os.Chmod(filepath.Join(fakeBin, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	outFile := filepath.Join(dir, "out", "python")
	os.Remove(outFile)
	cmd := exec.Command("bash", "../../tools/python-tools.sh")
	cmd.Env = append(os.Environ(),
		"PATH="+fakeBin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"MOTO_VERSION="+motoPin, "CFNLINT_VERSION="+cfnLintPin,
		"PYTHON="+python, "VENV="+venv, "OUT="+outFile, "DRY_RUN=")
	if dryRun {
		cmd.Env = append(cmd.Env, "DRY_RUN=1")
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	out, err := cmd.CombinedOutput()
	r := result{out: string(out), err: err}
	if b, err := os.ReadFile(outFile); err == nil {
		r.recorded = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(aptLog); err == nil {
		r.apt = string(b)
	}
	for _, line := range strings.Split(r.out, "\n") {
		if c, ok := strings.CutPrefix(line, "+ "); ok {
			r.commands = append(r.commands, c)
		}
	}
	t.Logf("tools/python-tools.sh (dry run %v):\n%s", dryRun, out)
	return r
}

func noFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s exists", path)
	}
}

// An interpreter that has exactly the pins is used as it is: nothing is run
// (not in a dry run either), no venv is made, and its path is recorded.
func TestPythonToolsUsesSatisfyingInterpreter(t *testing.T) {
	dir := t.TempDir()
	python, real, pipLog := fakePython(t, dir, motoPin, cfnLintPin, false)
	venv := filepath.Join(dir, "venv")
	r := run(t, dir, python, venv, false)
	if r.err != nil {
		t.Fatalf("python-tools.sh: %v", r.err)
	}
	if len(r.commands) != 0 || r.apt != "" {
		t.Errorf("commands run: %q, apt: %q; want none", r.commands, r.apt)
	}
	if r.recorded != real {
		t.Errorf("recorded %q, want %q", r.recorded, real)
	}
	noFile(t, venv)
	noFile(t, pipLog)
}

// A Debian-like interpreter without moto (externally managed: pip refuses)
// is never pip-installed into: a venv is made with it and the exact pinned
// pip install runs in the venv.
func TestPythonToolsExternallyManagedGetsVenv(t *testing.T) {
	dir := t.TempDir()
	python, _, pipLog := fakePython(t, dir, "", "", false)
	venv := filepath.Join(dir, "venv")
	r := run(t, dir, python, venv, true)
	if r.err != nil {
		t.Fatalf("python-tools.sh: %v", r.err)
	}
	want := []string{python + " -m venv --clear " + venv, venv + "/bin/python" + pipInstall}
	if strings.Join(r.commands, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(r.commands, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(r.out, "ModuleNotFoundError: No module named 'moto'") {
		t.Errorf("output does not say why %s is not used", python)
	}
	if r.recorded != "" || r.apt != "" {
		t.Errorf("dry run recorded %q, asked apt %q", r.recorded, r.apt)
	}
	noFile(t, venv)
	noFile(t, pipLog)
}

// Other versions than the pins are not accepted.
func TestPythonToolsWrongVersionGetsVenv(t *testing.T) {
	dir := t.TempDir()
	python, _, _ := fakePython(t, dir, "5.1.0", cfnLintPin, false)
	venv := filepath.Join(dir, "venv")
	r := run(t, dir, python, venv, true)
	if r.err != nil {
		t.Fatalf("python-tools.sh: %v", r.err)
	}
	if !strings.Contains(r.out, "moto 5.1.0 (pinned 5.2.1)") {
		t.Errorf("output does not name the wrong version")
	}
	if len(r.commands) != 2 || r.commands[1] != venv+"/bin/python"+pipInstall {
		t.Errorf("commands %q, want the venv and the pinned pip install", r.commands)
	}
}

// Without venv/ensurepip (Debian without python3-venv), Debian's
// python3-venv is installed with apt first.
func TestPythonToolsInstallsPython3Venv(t *testing.T) {
	dir := t.TempDir()
	python, _, _ := fakePython(t, dir, "", "", true)
	venv := filepath.Join(dir, "venv")
	r := run(t, dir, python, venv, true)
	if r.err != nil {
		t.Fatalf("python-tools.sh: %v", r.err)
	}
	sudo := ""
	if os.Geteuid() != 0 {
		sudo = "sudo "
	}
	want := []string{
		sudo + "apt-get update",
		sudo + `env "DEBIAN_FRONTEND=noninteractive" apt-get install -y --no-install-recommends python3-venv`,
		python + " -m venv --clear " + venv,
		venv + "/bin/python" + pipInstall,
	}
	if strings.Join(r.commands, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(r.commands, "\n"), strings.Join(want, "\n"))
	}
	if r.apt != "" {
		t.Errorf("dry run asked apt: %q", r.apt)
	}
}

// A venv that already has the pins is used: nothing is installed.
func TestPythonToolsReusesVenv(t *testing.T) {
	dir := t.TempDir()
	python, _, pipLog := fakePython(t, dir, "", "", false)
	venv := filepath.Join(dir, "venv")
	makeVenv(t, venv, motoPin, cfnLintPin)
	r := run(t, dir, python, venv, false)
	if r.err != nil {
		t.Fatalf("python-tools.sh: %v", r.err)
	}
	if len(r.commands) != 0 || r.apt != "" {
		t.Errorf("commands run: %q, apt: %q; want none", r.commands, r.apt)
	}
	if want := filepath.Join(venv, "bin", "python"); r.recorded != want {
		t.Errorf("recorded %q, want %q", r.recorded, want)
	}
	noFile(t, pipLog)
}

// Not a dry run, with no package index (PIP_NO_INDEX): the venv is really
// made (with pip, by ensurepip) and the pinned pip install really runs in it,
// failing only for want of an index; nothing is recorded.
func TestPythonToolsMakesVenvAndRunsPinnedPip(t *testing.T) {
	if testing.Short() {
		t.Skip("makes a venv with pip (a few seconds)")
	}
	if err := exec.Command("python3", "-c", "import venv, ensurepip").Run(); err != nil {
		t.Skip("python3 has no ensurepip (Debian: python3-venv)")
	}
	dir := t.TempDir()
	python, _, pipLog := fakePython(t, dir, "", "", false)
	venv := filepath.Join(dir, "venv")
	r := run(t, dir, python, venv, false, "PIP_NO_INDEX=1", "PIP_FIND_LINKS=")
	if r.err == nil {
		t.Fatal("python-tools.sh succeeded without a package index")
	}
	if len(r.commands) != 2 || r.commands[1] != venv+"/bin/python"+pipInstall {
		t.Errorf("commands %q, want the venv and the pinned pip install", r.commands)
	}
	if _, err := os.Stat(filepath.Join(venv, "bin", "pip")); err != nil {
		t.Errorf("no venv with pip: %v", err)
	}
	if !strings.Contains(r.out, "moto[server]==5.2.1") {
		t.Errorf("pip's error does not name the pinned requirement")
	}
	if r.recorded != "" {
		t.Errorf("recorded %q after a failed install", r.recorded)
	}
	noFile(t, pipLog)
}
