#!/usr/bin/env bash
# Cross-check a decisions file against the independent SQL reference implementation.
#
#   tests/sql/crosscheck.sh DIR AS_OF EXPECTED.csv
#
# Runs bench/sql_reference.sh on DIR/cases.csv, DIR/flows.csv and DIR/languages.csv with
# the review date AS_OF and compares its output byte for byte with EXPECTED.csv.
# Exit status: 0 when identical, 1 when they differ (a diff excerpt is printed),
# 2 on a usage or run error.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 DIR AS_OF EXPECTED.csv" >&2
  exit 2
fi
dir=$1 as_of=$2 expected=$3

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
reference=$here/../../bench/sql_reference.sh

for f in "$dir/cases.csv" "$dir/flows.csv" "$dir/languages.csv" "$expected"; do
  [[ -r $f ]] || { echo "$0: cannot read $f" >&2; exit 2; }
done

tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT
actual=$tmpdir/sql_decisions.csv

if ! "$reference" "$dir/cases.csv" "$dir/flows.csv" "$dir/languages.csv" "$as_of" "$actual"; then
  echo "$0: sql_reference.sh failed" >&2
  exit 2
fi

if cmp -s "$actual" "$expected"; then
  echo "crosscheck: OK ($(($(wc -l <"$actual") - 1)) cases, as_of $as_of)"
  exit 0
fi

echo "crosscheck: MISMATCH between the SQL reference (---) and $expected (+++)" >&2
diff -u --label sql_reference --label "$expected" "$actual" "$expected" | head -n 40 >&2 || true
echo "crosscheck: $(diff "$actual" "$expected" | grep -c '^[<>]' || true) differing lines" >&2
exit 1
