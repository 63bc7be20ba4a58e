#!/bin/bash
# The GPU-side check for issues 14/15 (decode and prefill on a real GPU), for the device kit of
# ../shared/device: after `./tokenfab.sh build release` and `bash ../shared/device/pack.sh`,
# `cp tools/device/run.sh .dev/run.sh`, then on the GPU machine `bash .dev/run.sh "$OUT"`
# (carry .dev and .gl; about 7 minutes on an H200). Everything lands in OUT: log.txt as it goes
# and results.tgz. The order puts what decides the rest first: correctness of the new kernels on
# this GPU, then the matvec tuning sweep, then the side-by-side table.
set -u
OUT=${1:?usage: run.sh RESULTS_DIR}; mkdir -p "$OUT"
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
exec > >(tee -a "$OUT/log.txt") 2>&1
step() { echo; echo "=== [$(el)s] $*"; }
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
J=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; [ -f $J ] && export VK_DRIVER_FILES=$J
P=/tmp/p; mkdir -p $P; tar -xJf .dev/payload.tar.xz -C $P
export LD_LIBRARY_PATH=$P/lib TOKENFAB_SHARED_DIR=$PWD/.dev/shared
CLI=$P/tokenfab-cli; LB=$P/llama-bench; LB25=$P/llama-bench-2025; R=$OUT/r; mkdir -p $R; M=/tmp/m; mkdir -p $M
MODELS=${MODELS:-"qwen2.5-0.5b:q4_k_m qwen2.5-0.5b:q8_0 llama-3.2-1b:q4_k_m llama-2-7b:q4_0 llama-3-8b:q4_k_m qwen3-0.6b:q4_k_m phi-3.5-mini:q4_k_m"}
save() { tar -czf $OUT/results.tgz -C $OUT r; }

step device; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; timeout 60 $CLI devices
step "gpu_test: products, attention (decode, flash), rope/store"
timeout 150 $P/gpu_test --gtest_brief=1 --gtest_filter='*MatMul*:*Attention*:*RopeStore*:*Vk*' > $R/gpu_test.txt 2>&1
echo rc=$?; tail -6 $R/gpu_test.txt

step "bench-ops: streaming bandwidth, decode attention at 2048 and 8192"
timeout 60 $CLI bench-ops --scale 16 --iters 20 | tee $R/bench_ops.txt
step "bench-matmul 14336x4096 batch 1: geometry sweep (TOKENFAB_MATVEC)"
for g in "" "rows=1" "rows=4" "wg=256" "wg=64" "b2f=0" "chunk=2048" "rows=4,wg=256"; do
  echo "--- TOKENFAB_MATVEC='$g'"
  TOKENFAB_MATVEC="$g" timeout 40 $CLI bench-matmul --type q4_k,q4_0,q8_0,q6_k --rows 14336 --cols 4096 --batch 1 --iters 50
done 2>&1 | tee $R/matvec_sweep.txt
step "bench-matmul every GPU type at 14336x4096, batch 1 and 512 (the i-quants' grids are constant arrays)"
timeout 120 $CLI bench-matmul --rows 14336 --cols 4096 --batch 1,512 --iters 10 | tee $R/matmul_types.txt
step "bench-matmul prompt products (batch 512): scalar tiles vs tensor cores"
timeout 90 $CLI bench-matmul --type q4_k,q8_0,q4_0,q6_k,f16 --rows 14336 --cols 4096 --batch 512 --iters 5 --path scalar,coopmat | tee $R/matmul_512.txt
save

step synth
for m in $MODELS; do timeout 150 $CLI synth --shape ${m%:*} --type ${m#*:} -o $M/${m%:*}-${m#*:}.gguf -t 16 -q; done
step "bench side by side (tokenfab bench vs llama-bench, same files)"
for f in $M/*.gguf; do
  b=$(basename $f .gguf); echo "--- $b [$(el)s]"
  timeout 150 $CLI bench -m $f -p 512 -n 128 -r 3 --json -q > $R/tf_$b.json
  timeout 150 $LB -m $f -p 512 -n 128 -r 3 -ngl 99 -o json > $R/lb_$b.json 2>$R/lb_$b.err
  timeout 150 $LB25 -m $f -p 512 -n 0 -r 3 -ngl 99 -o json > $R/lb25_$b.json 2>$R/lb25_$b.err
  python3 - $R/tf_$b.json $R/lb_$b.json $R/lb25_$b.json <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); l = json.load(open(sys.argv[2]))
try: l25 = json.load(open(sys.argv[3]))
except Exception: l25 = []
lpp = max(x["avg_ts"] for x in l + l25 if x["n_gen"] == 0); ltg = next(x["avg_ts"] for x in l if x["n_prompt"] == 0)
print(f"pp512 {t['pp_tokens_per_s']:.0f} vs {lpp:.0f} ({t['pp_tokens_per_s']/lpp:.2f}x)  tg {t['tg_tokens_per_s']:.1f} vs {ltg:.1f} ({t['tg_tokens_per_s']/ltg:.2f}x)  "
      f"achieved {t['achieved_gbps']:.0f} GB/s = {100*t['bandwidth_fraction']:.0f}% of stream {t['stream_gbps']:.0f}")
PY
done
save
step "replay on/off (fixed cost per token) and the norm folded or not, qwen2.5-0.5b and llama-3-8b q4_k_m"
for m in qwen2.5-0.5b-q4_k_m llama-3-8b-q4_k_m; do
  for v in "TOKENFAB_REPLAY=1" "TOKENFAB_REPLAY=0" "TOKENFAB_NORM_FOLD=0"; do
    echo "$m $v: $(env $v timeout 60 $CLI bench -m $M/$m.gguf -p 16 -n 128 -r 2 -q | grep -E '^tg')"
  done
done
step "time to first token, scalar vs tensor-core products (TOKENFAB_COOPMAT)"
for c in 0 1; do
  TOKENFAB_COOPMAT=$c timeout 120 $CLI bench -m $M/llama-3-8b-q4_k_m.gguf -p 512 -n 8 -r 1 -q --ttft 512,4096 | grep -E "^pp|^ +[0-9]+ "
  TOKENFAB_COOPMAT=$c timeout 90 $CLI bench -m $M/qwen2.5-0.5b-q4_k_m.gguf -p 512 -n 8 -r 1 -q --ttft 16384 | grep -E "^pp|^ +[0-9]+ "
done
step "engine_test with the tensor-core path forced (precision of f16 inputs)"
TOKENFAB_COOPMAT=1 timeout 120 $P/engine_test --gtest_brief=1 2>&1 | grep -E "max \||FAILED|PASSED" | head -30
step "depth 8000 (a context of 8192): llama-3-8b q4_k_m"
timeout 120 $CLI bench -m $M/llama-3-8b-q4_k_m.gguf -p 8000 -n 64 -r 1 --json -q > $R/tf_d8192.json; grep -E '"(pp|tg)_tokens_per_s"' $R/tf_d8192.json
timeout 120 $LB -m $M/llama-3-8b-q4_k_m.gguf -p 0 -n 64 -d 8000 -r 1 -ngl 99 -o json > $R/lb_d8192.json 2>/dev/null; grep -E '"avg_ts"' $R/lb_d8192.json
timeout 120 $LB -m $M/llama-3-8b-q4_k_m.gguf -p 0 -n 64 -d 8000 -r 1 -ngl 99 -fa 1 -o json > $R/lb_d8192_fa.json 2>/dev/null; grep -E '"avg_ts"' $R/lb_d8192_fa.json
save
step profile; timeout 90 $CLI bench -m $M/llama-3-8b-q4_k_m.gguf -p 16 -n 32 -r 1 --profile -q | tee $R/profile_8b.txt
timeout 60 $CLI bench -m $M/qwen2.5-0.5b-q4_k_m.gguf -p 16 -n 32 -r 1 --profile -q | tee $R/profile_05b.txt
step engine_test; timeout 120 $P/engine_test --gtest_brief=1 > $R/engine_test.txt 2>&1; echo rc=$?; tail -15 $R/engine_test.txt
step "gpu_test, all"; timeout 150 $P/gpu_test --gtest_brief=1 > $R/gpu_test_all.txt 2>&1; echo rc=$?; tail -6 $R/gpu_test_all.txt
save
step done
