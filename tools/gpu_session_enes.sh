#!/usr/bin/env bash
# One lease of the GPU machine for issue 25's general English->Spanish model, in about 8 minutes: the
# GPU recipe trains for ENES_MINUTES (default 6) on the carried Bible + software + everyday pairs, prints
# its validation curve, and packs the weights, log and metrics into RESULTS (the device tool returns at
# most 8 files of at most 16 MB each, so the weights travel in 15 MB parts). No test decoding there.
#
#   make gpu-data-enes-general                     # here: gpu-carry/enes_general (see its size with du)
#   bash tools/gpu_session_enes.sh "$OUT"           # there, from the repository root, gpu-carry/enes_general carried
#   mkdir -p enes_general && cat RESULTS/enes_general.safetensors.part* > enes_general/enes_general.safetensors
#   tar -xzf RESULTS/enes_general.tgz               # the log, metrics and tokenizer into enes_general/
#   python -m training.translation_enes --corpus general --score enes_general    # here: tests, into assets/
#
# ENES_VALID_LIMIT=N validates on the first N sentences of each set (a quick dry run on a CPU).
set -u
results=$(realpath -m "${1:?usage: tools/gpu_session_enes.sh RESULTS_FOLDER}")
minutes=${ENES_MINUTES:-6}
python=${PYTHON:-$(command -v python3)}
work=$(mktemp -d)
mkdir -p "$results" "$work/enes_general"
cp -r gpu-carry/enes_general "$work/run"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
device=$($python -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
# bf16 autocast pays on the GPU; on a CPU without AVX-512 BF16 it is slower.
[ "$device" = cuda ] && bf16=--bf16 || bf16=--no-bf16
threads=$(nproc)

$python -m training.translation_enes --corpus general --work "$work/run" --device "$device" --size gpu \
    --minutes "$minutes" --tokens-per-batch 16000 --lr 1e-3 --warmup 800 --dropout 0.3 --daily-weight 6 \
    --soft-weight 2 --eval-minutes "${ENES_EVAL_MINUTES:-0.75}" --average 4 --threads "$threads" $bf16 \
    ${ENES_VALID_LIMIT:+--valid-limit "$ENES_VALID_LIMIT"} --skip-test --out "$work/enes_general" \
    2>&1 | tee "$work/enes_general/train.log" | grep -E '^\{"step"|^step [0-9]*00 |validation of|pairs,|Error|error'
status=${PIPESTATUS[0]}
echo "training exit $status" | tee -a "$work/enes_general/train.log"

tar -czf "$results/enes_general.tgz" -C "$work" enes_general/train.log \
    $(cd "$work" && ls enes_general/enes_general_metrics.json enes_general/enes_general_tokenizer.json 2>/dev/null)
[ -f "$work/enes_general/enes_general.safetensors" ] &&
    split -b 15M -d "$work/enes_general/enes_general.safetensors" "$results/enes_general.safetensors.part"
ls -l "$results"
rm -rf "$work"
exit "$status"
