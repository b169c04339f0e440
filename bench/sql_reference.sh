#!/usr/bin/env bash
# Independent plain-SQL implementation of the reference workload
# (shared/reference-workload.md), run by the sqlite3 shell found on PATH.
#
#   bench/sql_reference.sh CASES.csv FLOWS.csv LANGUAGES.csv AS_OF OUT.csv
#
# Writes OUT.csv: `case_id,disposition,risk,priority,fired`, one row per case in input
# order, in the format of the conformance fixture's expected/decisions.csv.
set -euo pipefail

if [[ $# -ne 5 ]]; then
  echo "usage: $0 CASES.csv FLOWS.csv LANGUAGES.csv AS_OF OUT.csv" >&2
  exit 2
fi
cases=$1 flows=$2 languages=$3 as_of=$4 out=$5

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sql=$here/reference.sql

SQLITE3=$(command -v sqlite3 || true)
if [[ -z $SQLITE3 ]]; then
  echo "$0: sqlite3 not found on PATH" >&2
  exit 2
fi
for f in "$cases" "$flows" "$languages" "$sql"; do
  [[ -r $f ]] || { echo "$0: cannot read $f" >&2; exit 2; }
done
if ! [[ $as_of =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
  echo "$0: AS_OF must be YYYY-MM-DD, got '$as_of'" >&2
  exit 2
fi

# Quote a path as a double-quoted argument of a sqlite3 dot-command.
dotarg() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

tmp=$(mktemp "${out}.XXXXXX")
trap 'rm -f "$tmp"' EXIT

{
  echo ".bail on"
  echo ".import --csv $(dotarg "$cases") cases_raw"
  echo ".import --csv $(dotarg "$flows") flows_raw"
  echo ".import --csv $(dotarg "$languages") languages_raw"
  echo "CREATE TABLE params (as_of TEXT NOT NULL);"
  echo "INSERT INTO params VALUES ('$as_of');"
  echo ".read $(dotarg "$sql")"
} | "$SQLITE3" -batch :memory: >"$tmp"

mv -f "$tmp" "$out"
trap - EXIT
