#!/usr/bin/env bash
# tools/python-tools.sh: provisions the Python test tools at their pinned
# versions and records which interpreter the tests must use.
#
#   MOTO_VERSION, CFNLINT_VERSION  the pins (required)
#   PYTHON   the interpreter to try first and to make the venv with (python3)
#   VENV     the project's virtual environment (.cache/venv)
#   OUT      file that receives the chosen interpreter's path, read by the
#            Makefile into ORGSCAN_PYTHON (.cache/python-tools/python)
#   DRY_RUN  when non-empty: decide and print every command, run none of
#            them, write nothing
#
# In order:
#  1. PYTHON already imports moto.server and cfnlint at exactly the pinned
#     versions (the development and CI machines): use it, install nothing,
#     reach no package index.
#  2. VENV already has them: use it.
#  3. Otherwise never pip-install into PYTHON (Debian 12's python refuses:
#     PEP 668 "externally-managed-environment"): make VENV with
#     `PYTHON -m venv` — first installing Debian's python3-venv with apt when
#     PYTHON lacks venv/ensurepip, as Debian's does without it — and
#     pip-install the pins into it. This step needs PyPI.
set -euo pipefail

: "${MOTO_VERSION:?set MOTO_VERSION}" "${CFNLINT_VERSION:?set CFNLINT_VERSION}"
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.cache/venv}
OUT=${OUT:-.cache/python-tools/python}
DRY_RUN=${DRY_RUN:-}

say() { echo "python-tools: $*"; }

# run prints a command as a shell would read it, then runs it (not in a
# dry run).
run() {
	local q=() a
	for a in "$@"; do
		case $a in
		*[!A-Za-z0-9_./:@%+-]*) q+=("\"$a\"") ;;
		*) q+=("$a") ;;
		esac
	done
	echo "+ ${q[*]}"
	[ -n "$DRY_RUN" ] || "$@"
}

# satisfies PY prints PY's executable when it imports moto.server and
# cfnlint at exactly the pinned versions; otherwise it says why not (on
# stderr) and fails.
satisfies() {
	"$1" - "$MOTO_VERSION" "$CFNLINT_VERSION" <<'EOF'
import sys
from importlib import metadata
want = {"moto": sys.argv[1], "cfn-lint": sys.argv[2]}
try:
    import moto.server  # noqa: F401  (the [server] extra: flask, werkzeug, ...)
    import cfnlint  # noqa: F401
    got = {name: metadata.version(name) for name in want}
except Exception as e:  # ImportError, PackageNotFoundError
    sys.exit(f"{sys.executable}: {type(e).__name__}: {e}")
wrong = [f"{n} {got[n]} (pinned {v})" for n, v in want.items() if got[n] != v]
if wrong:
    sys.exit(f"{sys.executable}: " + ", ".join(wrong))
print(sys.executable)
EOF
}

record() {
	if [ -n "$DRY_RUN" ]; then
		say "dry run: would record ORGSCAN_PYTHON=$1 in $OUT"
		return
	fi
	mkdir -p "$(dirname "$OUT")"
	echo "$1" >"$OUT"
}

pins=("moto[server]==$MOTO_VERSION" "cfn-lint==$CFNLINT_VERSION")

command -v "$PYTHON" >/dev/null || {
	say "$PYTHON not found: install Python 3 (Debian: apt-get install python3 python3-venv)" >&2
	exit 1
}

if out=$(satisfies "$PYTHON" 2>&1); then
	py=$(tail -n 1 <<<"$out")
	say "$PYTHON ($py) has moto $MOTO_VERSION and cfn-lint $CFNLINT_VERSION: nothing to install"
	record "$py"
	exit 0
fi
say "not using $PYTHON: $(tail -n 1 <<<"$out")"

if [ -x "$VENV/bin/python" ] && out=$(satisfies "$VENV/bin/python" 2>&1); then
	py=$(tail -n 1 <<<"$out")
	say "$VENV ($py) has moto $MOTO_VERSION and cfn-lint $CFNLINT_VERSION: nothing to install"
	record "$py"
	exit 0
fi

# A venv with pip needs the venv and ensurepip modules; Debian splits them
# into python3-venv.
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
	say "$PYTHON cannot make a virtual environment (no venv/ensurepip): installing Debian's python3-venv"
	sudo=()
	if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
	run "${sudo[@]}" apt-get update
	run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv
fi
say "making the virtual environment $VENV (needs PyPI)"
run "$PYTHON" -m venv --clear "$VENV"
run "$VENV/bin/python" -m pip install "${pins[@]}"
if [ -n "$DRY_RUN" ]; then
	record "$VENV/bin/python"
	exit 0
fi
py=$(satisfies "$VENV/bin/python")
say "$py has moto $MOTO_VERSION and cfn-lint $CFNLINT_VERSION"
record "$py"
