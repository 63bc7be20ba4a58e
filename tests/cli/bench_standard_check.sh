#!/usr/bin/env bash
# ctest bench_standard_quick: runs tools/bench/standard.sh --quick (small) and checks its table
# against the set worked out here from the files on disk: one row per model (stories260K, every
# shared fixtures/fx-*.gguf, the demo model), in that order, no error row, and positive pp / tg
# speeds, bytes per token and dispatches in every row; every fixture runs (since issue 17 no
# shared fixture is refused), so a "not supported" row is a failure.
# usage: bench_standard_check.sh SCRIPT CLI SHARED_DIR ($TOKENFAB_SHARED_DIR wins when set)
set -u
script=$1 cli=$2 shared=${TOKENFAB_SHARED_DIR:-$3}
if [ ! -e "$shared/models/stories260K.gguf" ]; then
  echo "shared data not found: $shared (set TOKENFAB_SHARED_DIR)"
  [ "${TOKENFAB_REQUIRE_SHARED:-0}" = 1 ] && exit 1
  exit 77  # ctest: skipped
fi
expected=(stories260K)
for f in "$shared"/models/fixtures/fx-*.gguf; do [ -e "$f" ] && expected+=("$(basename "$f" .gguf)"); done
expected+=(tokenfab-demo-q8_0)

out=$(bash "$script" --quick -p 8 -n 4 -r 1 --keep-going --cli "$cli" --shared "$shared")
rc=$?
echo "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ $rc -eq 0 ] || fail "standard.sh exited with $rc"
# Data rows: table lines after the header and the |---| separator.
mapfile -t rows < <(echo "$out" | awk '/^\| model \|/ { t = 1; next } t && /^\|---/ { next } t && /^\|/ { print } t && !/^\|/ { t = 0 }')
[ ${#rows[@]} -eq ${#expected[@]} ] || fail "${#rows[@]} table rows, expected ${#expected[@]} (${expected[*]})"
for i in "${!rows[@]}"; do
  row=${rows[$i]}
  case "$row" in *ERROR*) fail "error row: $row" ;; esac
  case "$row" in *"not supported"*) fail "a fixture tokenfab runs was refused: $row" ;; esac
  # Columns: | model | weights | size MB | -p/-n | pp | GFLOP/s | tg ± sd | ttft | MB/token | GB/s | copy | % | dispatches | error |
  echo "$row" | awk -F'|' -v want="${expected[$i]}" '
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    { model = trim($2); types = trim($3); size = trim($4) + 0; pn = trim($5); pp = trim($6) + 0; gflops = trim($7) + 0
      split(trim($8), tg, " "); bytes = trim($10) + 0; disp = trim($14) + 0
      if (model != want) { print "row model " model ", expected " want; exit 1 }
      if (types == "" || size <= 0 || pn != "8/4") { print "bad weights/size/-p-n in: " $0; exit 1 }
      if (!(pp > 0 && gflops > 0 && tg[1] + 0 > 0 && bytes > 0 && disp > 0)) { print "non-positive figure in: " $0; exit 1 } }' ||
    fail "row $((i + 1))"
done
echo "OK: ${#rows[@]} rows (${expected[*]})"
