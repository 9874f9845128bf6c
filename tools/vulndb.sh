#!/usr/bin/env bash
# tools/vulndb.sh VERSION OUT
#
# Builds the Go vulnerability database that `govulncheck -db file://OUT`
# reads, from the module golang.org/x/vulndb@VERSION fetched through the Go
# module proxy (no other network). The module holds every report as an OSV
# JSON file (data/osv/GO-*.json); the module's own command indexdb turns that
# folder into the served database layout (index/db.json, index/modules.json,
# index/vulns.json, ID/<id>.json, each also gzipped).
#
# The Makefile calls this only when OUT/index/db.json is missing, and OUT
# names VERSION, so the database is rebuilt exactly when the pinned version
# changes. Databases of other versions beside OUT are removed.
set -euo pipefail

version=${1:?usage: tools/vulndb.sh VERSION OUT}
out=${2:?usage: tools/vulndb.sh VERSION OUT}
go=${GO:-go}

start=$(date +%s)
# The module's folder in the module cache (downloaded on first use).
dir=$("$go" mod download -json "golang.org/x/vulndb@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir/data/osv" ]; then
	echo "vulndb: golang.org/x/vulndb@$version has no data/osv folder" >&2
	exit 1
fi

tmp="$out.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$(dirname "$out")"
# indexdb is built from the same module version (module cache + build cache).
"$go" run "golang.org/x/vulndb/cmd/indexdb@$version" -vulns "$dir/data/osv" -out "$tmp"
test -s "$tmp/index/modules.json"

# Older databases go; the new one appears whole or not at all.
for old in "$(dirname "$out")"/*; do
	[ "$old" = "$out" ] || [ "$old" = "$tmp" ] || rm -rf "$old"
done
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "vulndb: golang.org/x/vulndb@$version: $(find "$out/ID" -name '*.json' | wc -l) entries in $out ($(($(date +%s) - start)) s)"
