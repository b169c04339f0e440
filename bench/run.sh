#!/usr/bin/env bash
# The benchmark: generates seeded data at each size (cached in bench/cache/), runs crible eval
# and crible review on rules/mali-2019.rules, the plain-SQL baseline (bench/reference.sql in
# the sqlite3 shell, CSV import to decisions) and the audit-store floor (bench/audit_floor),
# checks that crible and SQL agree case by case, and prints one table.
#
#   bench/run.sh [SIZE...]            default sizes: 10000 100000 1000000
#
# Environment: BUILD (default build-bench, a Release build made here), THREADS (default all
# cores), SEED (default 7), AS_OF (default 2019-01-18).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
((${#sizes[@]})) || sizes=(10000 100000 1000000)
build=${BUILD:-build-bench}
seed=${SEED:-7}
as_of=${AS_OF:-2019-01-18}
threads=${THREADS:-0}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j2 --target crible audit_floor >/dev/null
bin=$build/crible
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# GNU time: wall seconds and peak RSS (KB) of one command, appended to $work/time.
timed() { /usr/bin/time -f "%e %M" -o "$work/time" "$@"; read -r wall rss <"$work/time"; }

printf '%-9s %-14s %9s %12s %10s %8s\n' n what wall_s cases_per_s peak_MB ratio
for n in "${sizes[@]}"; do
  data=bench/cache/seed$seed-$n
  if [[ ! -f $data/cases.csv ]]; then
    mkdir -p "$data"
    python3 bench/generate.py --seed "$seed" --cases "$n" --out "$data" >/dev/null
  fi
  mb=$(($(stat -c %s "$data/cases.csv") / 1000000))
  common=(rules/mali-2019.rules --cases "$data/cases.csv" --table "flows=$data/flows.csv"
          --table "languages=$data/languages.csv" --param "as_of=$as_of" --threads "$threads" --quiet)

  timed "$bin" eval "${common[@]}" --out "$work/crible.csv" --summary-json "$work/summary.json"
  eval_wall=$wall eval_rss=$rss
  rm -f "$work/audit.sqlite"*
  timed "$bin" review "${common[@]}" --audit "$work/audit.sqlite"
  review_wall=$wall review_rss=$rss
  timed bench/sql_reference.sh "$data/cases.csv" "$data/flows.csv" "$data/languages.csv" "$as_of" "$work/sql.csv"
  sql_wall=$wall sql_rss=$rss
  timed "$build/audit_floor" "$n" "$work/floor.sqlite"
  floor_wall=$wall floor_rss=$rss

  if ! cmp -s "$work/crible.csv" "$work/sql.csv"; then
    echo "MISMATCH at n=$n: crible and the SQL reference disagree:" >&2
    diff "$work/sql.csv" "$work/crible.csv" | head -20 >&2
    exit 1
  fi
  row() {  # what wall rss ratio
    awk -v n="$n" -v what="$1" -v w="$2" -v r="$3" -v ratio="$4" \
      'BEGIN { printf "%-9d %-14s %9.2f %12.0f %10.0f %8s\n", n, what, w, (w > 0 ? n / w : 0), r / 1024, ratio }'
  }
  row "crible eval" "$eval_wall" "$eval_rss" "$(awk -v a="$sql_wall" -v b="$eval_wall" 'BEGIN{printf "%.1fx", a/b}')"
  row "crible review" "$review_wall" "$review_rss" "$(awk -v a="$review_wall" -v b="$floor_wall" 'BEGIN{printf "%.2fF", a/b}')"
  row "sql baseline" "$sql_wall" "$sql_rss" "1.0x"
  row "audit floor" "$floor_wall" "$floor_rss" "1.00F"
  echo "          (cases.csv $mb MB; crible and SQL agree on all $n decisions)"
done
echo "ratio: Nx = SQL baseline wall / this wall (higher is faster); NF = this wall / audit floor wall"
