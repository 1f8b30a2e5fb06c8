#!/usr/bin/env bash
# Run polybot's Go benchmarks with -benchmem and print a markdown table of the medians.
#   scripts/bench.sh                 # every benchmark, 5 runs each
#   BENCH_COUNT=10 scripts/bench.sh
#   BENCH_PKGS=./internal/dedup/ scripts/bench.sh
#   BENCH_FROM=bench.txt scripts/bench.sh   # only render the table of earlier raw output
# The dedup cache's benchmarks run with -cpu 1 (its goal is per core); the others with every
# core. cpu-ns/op (dedup) is process CPU time per operation, which other load on the machine
# does not inflate the way it inflates ns/op. Raw output is kept in $BENCH_OUT (default
# bench.txt in a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${BENCH_COUNT:-5}"
out="${BENCH_OUT:-$(mktemp -d -t polybot-bench.XXXXXX)/bench.txt}"
pkgs="${BENCH_PKGS:-./...}"

status=0
if [[ -n "${BENCH_FROM:-}" ]]; then
  out="$BENCH_FROM"
else
  mapfile -t all < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' $pkgs)
  dedup=() rest=()
  for p in "${all[@]}"; do
    case "$p" in
      */internal/dedup) dedup+=("$p") ;;
      *) rest+=("$p") ;;
    esac
  done
  : > "$out"
  echo "bench.sh: $(go version), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); raw output in $out" >&2
  # A failing benchmark does not stop the others or the table; the script still exits 1.
  if ((${#dedup[@]})); then
    go test -run '^$' -bench . -benchmem -cpu 1 -count "$count" "${dedup[@]}" | tee -a "$out" >&2 || status=1
  fi
  if ((${#rest[@]})); then
    go test -run '^$' -bench . -benchmem -count "$count" "${rest[@]}" | tee -a "$out" >&2 || status=1
  fi
fi

# Median of each metric of each benchmark, one table row per benchmark.
echo
echo "Go benchmarks: $(go version | cut -d' ' -f3-), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $(cut -d' ' -f1-3 /proc/loadavg), median of $count runs"
echo
awk '
  /^pkg: / { pkg = $2; sub(/.*\/internal\//, "", pkg); sub(/.*\/cmd\//, "", pkg) }
  /^Benchmark/ {
    name = pkg "." $1
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    for (i = 3; i < NF; i += 2) {
      key = name SUBSEP $(i + 1)
      if (!(key in cnt)) { units[name] = units[name] SUBSEP $(i + 1) }
      vals[key, ++cnt[key]] = $i
    }
  }
  function median(key,   k, m, i, j, t, a) {
    m = cnt[key]
    for (i = 1; i <= m; i++) a[i] = vals[key, i] + 0
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  function fmtnum(v) { return (v >= 100 || v == int(v)) ? sprintf("%.0f", v) : sprintf("%.3g", v) }
  END {
    print "| Benchmark | ns/op | cpu-ns/op | B/op | allocs/op | other (median) |"
    print "|---|---:|---:|---:|---:|---|"
    for (r = 1; r <= n; r++) {
      name = order[r]; other = ""
      split(substr(units[name], 2), us, SUBSEP)
      delete col
      for (u in us) {
        unit = us[u]; v = fmtnum(median(name SUBSEP unit))
        if (unit == "ns/op" || unit == "cpu-ns/op" || unit == "B/op" || unit == "allocs/op") col[unit] = v
        else other = other (other == "" ? "" : ", ") v " " unit
      }
      printf "| %s | %s | %s | %s | %s | %s |\n", name, col["ns/op"], col["cpu-ns/op"], col["B/op"], col["allocs/op"], other
    }
  }' "$out"
((status == 0)) || echo "bench.sh: some benchmarks failed; see $out" >&2
exit "$status"
