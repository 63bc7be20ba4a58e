#!/usr/bin/env bash
# The standard benchmark set (issue 10): the shared fixtures, the built-in demo model and the
# synth shapes x weight types, each through `tokenfab-cli bench --json`, printed as ONE markdown
# table. Needs only bash, coreutils, sed and awk next to tokenfab-cli (it runs on device boxes
# where nothing else is installed): the CLI's --json output is one key per line, read with sed.
set -u -o pipefail

usage() {
  cat <<'EOF'
usage: tools/bench/standard.sh [options]
  --cli PATH        tokenfab-cli to run (default: build/release/app/cli/tokenfab-cli)
  --shared DIR      the shared data folder holding models/ (default: $TOKENFAB_SHARED_DIR or ../shared)
  --cache DIR       where synthesized models are written once and reused (default: build/bench-models)
  --shapes "a b"    synth shapes (default: every shape of `tokenfab-cli synth --list` but tiny)
  --types "a b"     synth weight types (default: "q8_0 q4_k_m")
  --quick           fixtures and the demo model with small -p/-n; synth shapes only when
                    --shapes is given
  -p N, -n N, -r N  passed to bench for every model (defaults: fixtures -p 512 -n 128 -r 3,
                    synth shapes -p 64 -n 8 -r 1, --quick -p 64 -n 32 -r 2)
  --device D        passed to bench (Vulkan device index or name substring)
  --keep-going      a failing model prints its error in its row and the script goes on
                    (without it the table stops at the first failure, exit status 1)
  --check           exit status 1 when any row is an error (after printing the whole table)
Progress goes to stderr, the table to stdout.
EOF
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)
cli="$repo/build/release/app/cli/tokenfab-cli"
shared="${TOKENFAB_SHARED_DIR:-$repo/../shared}"
cache="$repo/build/bench-models"
shapes=""
types="q8_0 q4_k_m"
quick=0
user_p="" user_n="" user_r=""
device=""
keep_going=0
check=0

need_value() { [ $# -ge 2 ] || { echo "standard.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cli) need_value "$@"; cli="$2"; shift 2 ;;
    --shared) need_value "$@"; shared="$2"; shift 2 ;;
    --cache) need_value "$@"; cache="$2"; shift 2 ;;
    --shapes) need_value "$@"; shapes="$2"; shift 2 ;;
    --types) need_value "$@"; types="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    -p) need_value "$@"; user_p="$2"; shift 2 ;;
    -n) need_value "$@"; user_n="$2"; shift 2 ;;
    -r) need_value "$@"; user_r="$2"; shift 2 ;;
    --device) need_value "$@"; device="$2"; shift 2 ;;
    --keep-going) keep_going=1; shift ;;
    --check) check=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "standard.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$user_p" "$user_n" "$user_r"; do
  case "$v" in ''|*[!0-9]*) [ -z "$v" ] || { echo "standard.sh: -p/-n/-r take a number, got '$v'" >&2; exit 2; } ;; esac
done
[ -x "$cli" ] || { echo "standard.sh: no tokenfab-cli at $cli (build it, or pass --cli PATH)" >&2; exit 2; }

# The set: "label|kind|path|p|n|r" lines. kind: file (exists or is an error row) or synth:SHAPE:TYPE.
if [ "$quick" = 1 ]; then fp=64 fn=32 fr=2; else fp=512 fn=128 fr=3; fi
sp=64 sn=8 sr=1
[ -n "$user_p" ] && fp=$user_p sp=$user_p
[ -n "$user_n" ] && fn=$user_n sn=$user_n
[ -n "$user_r" ] && fr=$user_r sr=$user_r

set_lines=()
fixtures=("$shared/models/stories260K.gguf")
for f in "$shared"/models/fixtures/fx-*.gguf; do [ -e "$f" ] && fixtures+=("$f"); done
[ ${#fixtures[@]} -gt 1 ] || echo "standard.sh: no fixtures under $shared/models/fixtures (pass --shared DIR)" >&2
for f in "${fixtures[@]}" "$repo/resources/models/tokenfab-demo-q8_0.gguf"; do
  set_lines+=("$(basename "$f" .gguf)|file|$f|$fp|$fn|$fr")
done
if [ "$quick" = 0 ] || [ -n "$shapes" ]; then
  if [ -z "$shapes" ]; then
    # Every shape the CLI knows but the test-only "tiny": the rows of `synth --list` after its header.
    shapes=$("$cli" synth --list 2>/dev/null | awk 'NR > 1 && $3 ~ /^[0-9]+$/ && $1 != "tiny" { printf "%s ", $1 }')
  fi
  for s in $shapes; do
    for t in $types; do
      set_lines+=("$s-$t|synth:$s:$t|$cache/$s-$t.gguf|$sp|$sn|$sr")
    done
  done
fi

# Value of "key" in the CLI's --json output (nlohmann dump(2): one `"key": value,` per line).
json_value() {
  sed -n "s/^ *\"$1\": *\"\{0,1\}\([^\"]*\)\"\{0,1\},\{0,1\} *\$/\1/p" "$2" | head -n 1
}
# One line of an error, safe inside a table cell.
cell() { tr '\n|' ' /' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-160; }

start_date=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tf-bench.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
rows=()
errors=0
device_name="" backend=""
total=${#set_lines[@]}
index=0
start_all=$(date +%s)
for line in "${set_lines[@]}"; do
  index=$((index + 1))
  IFS='|' read -r label kind path p n r <<<"$line"
  error=""
  if [ "${kind%%:*}" = synth ] && [ ! -s "$path" ]; then
    IFS=':' read -r _ shape type <<<"$kind"
    echo "[$index/$total] synth $shape $type -> $path" >&2
    mkdir -p "$cache" || error="cannot create $cache"
    if [ -z "$error" ] && ! "$cli" synth --shape "$shape" --type "$type" -q -o "$path.part" 2>"$tmp/err"; then
      error="synth failed: $(tail -n 3 "$tmp/err" | cell)"
      rm -f "$path.part"
    fi
    [ -z "$error" ] && { mv "$path.part" "$path" || error="cannot move $path.part"; }
  fi
  if [ -z "$error" ] && [ ! -e "$path" ]; then error="missing file $path"; fi
  if [ -z "$error" ]; then
    echo "[$index/$total] bench $label (-p $p -n $n -r $r) ..." >&2
    t0=$(date +%s)
    args=(bench -m "$path" -p "$p" -n "$n" -r "$r" --json)
    [ -n "$device" ] && args+=(--device "$device")
    if "$cli" "${args[@]}" >"$tmp/out.json" 2>"$tmp/err"; then
      echo "[$index/$total] $label done in $(( $(date +%s) - t0 )) s" >&2
    elif grep -qE "kModelUnsupportedArch|kUnsupported:" "$tmp/err"; then
      # A file of an architecture or tensor type tokenfab does not run yet: refused by name,
      # which is the expected outcome, not a failure of the run.
      echo "[$index/$total] $label: not supported" >&2
      rows+=("| $label | | | | | | | | | | | | | not supported: $(tail -n 1 "$tmp/err" | cell) |")
      continue
    else
      error="bench failed: $(tail -n 3 "$tmp/err" | cell)"
    fi
  fi
  row=""
  j="$tmp/out.json"
  if [ -z "$error" ]; then
    [ -n "$device_name" ] || { device_name=$(json_value device "$j"); backend=$(json_value backend "$j"); }
    row=$(awk -v label="$label" -v p="$p" -v n="$n" -v r="$r" \
      -v types="$(json_value weight_types "$j")" -v file_bytes="$(json_value file_bytes "$j")" \
      -v pp="$(json_value pp_tokens_per_s "$j")" -v gflops="$(json_value pp_gflops "$j")" \
      -v tg="$(json_value tg_tokens_per_s "$j")" -v tg_sd="$(json_value tg_sd "$j")" \
      -v ttft="$(json_value time_to_first_token_ms "$j")" -v bytes="$(json_value weight_bytes_per_token "$j")" \
      -v gbps="$(json_value achieved_gbps "$j")" -v copy="$(json_value stream_gbps "$j")" \
      -v frac="$(json_value bandwidth_fraction "$j")" -v disp="$(json_value dispatches_per_token "$j")" \
      'BEGIN { tg_cell = (r > 1) ? sprintf("%.1f ± %.1f", tg, tg_sd) : sprintf("%.1f", tg)
        printf "| %s | %s | %.1f | %s/%s | %.1f | %.2f | %s | %.1f | %.2f | %.2f | %.2f | %.1f | %d | |", label, types, file_bytes / 1e6, p, n, pp, gflops, tg_cell, ttft, bytes / 1e6, gbps, copy, 100 * frac, disp }')
    [ -n "$(json_value tg_tokens_per_s "$j")" ] && [ -n "$row" ] || error="unreadable bench --json output: $(head -c 200 "$j" | cell)"
  fi
  if [ -n "$error" ]; then
    errors=$((errors + 1))
    echo "[$index/$total] $label: ERROR $error" >&2
    rows+=("| $label | | | | | | | | | | | | | ERROR: $error |")
    if [ "$keep_going" = 0 ]; then break; fi
    continue
  fi
  rows+=("$row")
done

echo "## tokenfab standard benchmark"
echo
echo "device: ${device_name:-unknown} (${backend:-?})${device:+, --device $device}  "
echo "date: $start_date (start)  "
echo "host: $(uname -n), load average before/after: ${load_before:-?} / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)  "
echo "cli: $cli"
echo
echo "| model | weights | size MB | -p/-n | pp tok/s | pp GFLOP/s | tg tok/s ± sd | ttft ms | MB/token | achieved GB/s | stream GB/s | % of stream | dispatches/token | error |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for row in "${rows[@]}"; do echo "$row"; done
echo
echo "Numbers from \`tokenfab-cli bench --json\` per model: one warm-up run, then the mean (± sample sd for tg) over -r repetitions of a" \
  "-p token prefill (pp; ttft = prefill + first decoded token) followed by -n single-token decode steps (tg), greedy." \
  "MB/token = weight bytes one decode step reads; achieved GB/s = MB/token x tg tok/s; stream GB/s = the device's streaming" \
  "read bandwidth (a compute kernel over 512 MiB, GPU timestamps); pp GFLOP/s = 2 x multiply-adds of the prefill / its time." \
  "Synth models are random weights at the real shapes (\`tokenfab-cli synth\`). Total $(( $(date +%s) - start_all )) s."
if [ "$errors" -gt 0 ] && { [ "$keep_going" = 0 ] || [ "$check" = 1 ]; }; then exit 1; fi
exit 0
