#!/usr/bin/env bash
# Re-trains the demo model exactly as the committed one was trained and compares the result.
#   tools/train_demo_model/reproduce.sh [OUT_DIR]      (default build/demo-model-repro)
# Needs ./setup.sh's packages and a release build of tokenfab-cli (./tokenfab.sh build).
# About 16 minutes on an idle 2-core machine (1,900 tokens/s); the step count, not the clock,
# bounds the schedule, so a slower machine takes longer and trains the same model.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/build/demo-model-repro}"
cli="${TOKENFAB_CLI:-$root/build/release/app/cli/tokenfab-cli}"
[ -x "$cli" ] || { echo "no tokenfab-cli at $cli (run ./tokenfab.sh build, or set TOKENFAB_CLI)" >&2; exit 2; }
py=/usr/bin/python3
cd "$here"
mkdir -p "$out"
$py prepare_data.py "$out"
# The committed run's exact command (results/result.json "args"): 900 steps, no time budget.
OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 $py train.py "$out" "$out/run" \
  --layers 4 --heads 4 --steps 900 --batch 8 --lr 2e-3 --warmup 30 \
  --log-every 5 --eval-every 50 --ckpt-every 50
$py check_export.py "$out" "$out/run"
"$cli" import-demo "$out/run" -o "$out/tokenfab-demo-q8_0.gguf" --type q8_0
$py verify_gguf.py "$out/run" "$out/tokenfab-demo-q8_0.gguf"
"$cli" score -m "$out/tokenfab-demo-q8_0.gguf" -f "$out/corpus_val.txt" -q | tail -3
if cmp -s "$out/tokenfab-demo-q8_0.gguf" "$root/resources/models/tokenfab-demo-q8_0.gguf"; then
  echo "the GGUF is byte-identical to resources/models/tokenfab-demo-q8_0.gguf"
else
  echo "the GGUF differs from resources/models/tokenfab-demo-q8_0.gguf (see the comparison below)"
fi
$py score_sample.py "$out" "$out/run" results/heldout_sample.txt "$out/heldout_sample_score.json"
echo "committed: $($py -c 'import json; d=json.load(open("results/heldout_sample_score.json")); print("mean log-prob %.5f" % d["mean_logprob"])')"
$py compare_run.py "$out/run"
