#!/usr/bin/env bash
# One lease of the GPU machine, in about 9 minutes: the English->Spanish GPU recipe trains while the GPU
# check's tests run beside it (the correctness tests do not mind sharing the GPU); the benchmarks run after
# the training, on an idle GPU. What comes back is packed into a few files in RESULTS (the device tool
# returns at most 8, of at most 16 MB each).
#
#   make gpu-data-enes gpu-check-prepare      # here: gpu-carry/enes and gpu-carry/check
#   bash tools/gpu_session.sh "$OUT"           # there, with gpu-carry carried
#   cat RESULTS/enes.safetensors.part* > enes/enes.safetensors; tar -xzf RESULTS/gpu-session.tgz
#   python -m training.translation_enes --score enes    # here: test BLEU on the CPU, into assets/
set -u
results=$(realpath "${1:?usage: tools/gpu_session.sh RESULTS_FOLDER}")
minutes=${ENES_MINUTES:-5}
python=$(command -v python3)
work=$(mktemp -d)
mkdir -p "$results" "$work/enes"
cp -r gpu-carry/enes "$work/run"
export PYTHONUNBUFFERED=1
device=$($python -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')

$python -m training.translation_enes --work "$work/run" --device "$device" --size gpu --minutes "$minutes" \
    --tokens-per-batch 16000 --lr 1e-3 --warmup 800 --dropout 0.3 --eval-minutes 0.75 --average 4 --threads 4 \
    --skip-test --out "$work/enes" >"$work/enes/train.log" 2>&1 &
training=$!
timeout 300 $python tools/gpu_check.py run "$work/check-tests" --stages tests
wait "$training"
echo "training exit $?" >>"$work/enes/train.log"
timeout 210 $python tools/gpu_check.py run "$work/check-bench" --stages bench

tar -czf "$results/gpu-session.tgz" -C "$work" check-tests check-bench enes/train.log \
    enes/enes_metrics.json enes/enes_tokenizer.json
[ -f "$work/enes/enes.safetensors" ] && split -b 15M -d "$work/enes/enes.safetensors" "$results/enes.safetensors.part"
grep -E '^\{"step"|exit|Error|error' "$work/enes/train.log" | tail -25
ls -l "$results"
