#!/usr/bin/env bash
# Second, independent correctness check: crible and the plain-SQL reference implementation
# (bench/reference.sql, written from the spec, not from crible) must decide every case alike.
# Usage: crible_vs_sql.sh CRIBLE_BIN DIR AS_OF    (DIR holds cases.csv, flows.csv, languages.csv)
#    or: crible_vs_sql.sh CRIBLE_BIN --generate SEED N AS_OF   (fresh data from the generator)
# CRIBLE_THREADS=N runs crible with --threads N (a file of 4 MB or more per thread is loaded in
# that many parts side by side).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ $1 == --generate ]]; then
  python3 "$here/bench/generate.py" --seed "$2" --cases "$3" --out "$work/data" >/dev/null
  dir=$work/data
  as_of=$4
else
  dir=$1
  as_of=$2
fi
"$bin" eval "$here/rules/mali-2019.rules" --cases "$dir/cases.csv" --table "flows=$dir/flows.csv" \
  --table "languages=$dir/languages.csv" --param "as_of=$as_of" --out "$work/crible.csv" --quiet \
  ${CRIBLE_THREADS:+--threads "$CRIBLE_THREADS"}
"$here/bench/sql_reference.sh" "$dir/cases.csv" "$dir/flows.csv" "$dir/languages.csv" "$as_of" "$work/sql.csv"
if cmp -s "$work/crible.csv" "$work/sql.csv"; then
  echo "crible and the SQL reference agree on $(($(wc -l <"$work/crible.csv") - 1)) cases (as_of $as_of)"
  exit 0
fi
echo "crible and the SQL reference DISAGREE (as_of $as_of):"
diff "$work/sql.csv" "$work/crible.csv" | head -20
exit 1
