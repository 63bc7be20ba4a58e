#!/usr/bin/env bash
# ctest device_choice: every command that takes --device reads a number as an index (issue 21:
# check-ops and bench-matmul used to take "1" as a name). With N devices, --device N must fail
# in every command with the index error, never the name error; --device 0 must work.
# usage: device_choice_check.sh CLI SHARED_DIR ($TOKENFAB_SHARED_DIR wins when set)
set -u
cli=$1 shared=${TOKENFAB_SHARED_DIR:-$2}
model="$shared/models/stories260K.gguf"
if [ ! -e "$model" ]; then
  echo "shared data not found: $model (set TOKENFAB_SHARED_DIR)"
  [ "${TOKENFAB_REQUIRE_SHARED:-0}" = 1 ] && exit 1
  exit 77
fi
n=$("$cli" devices --json | grep -c '"chosen"')
[ "$n" -ge 1 ] || { echo "FAIL: no device listed"; exit 1; }
fail=0
while IFS= read -r cmd; do
  out=$("$cli" $cmd --device "$n" 2>&1)
  if ! grep -q "device index $n out of range" <<<"$out"; then
    echo "FAIL: '$cmd --device $n' did not take $n as an index:"; echo "$out" | tail -3; fail=1
  else
    echo "ok: $cmd --device $n -> index error"
  fi
done <<EOC
devices
self-test -m $model
bench-ops --iters 1
bench-matmul --rows 64 --cols 64 --batch 1 --iters 1
check-ops -m $model
generate -m $model -p hi -n 1
bench -m $model -p 4 -n 1 -r 1
EOC
"$cli" generate -m "$model" -p hi -n 2 --device 0 >/dev/null 2>&1 || { echo "FAIL: --device 0 did not work"; fail=1; }
exit $fail
