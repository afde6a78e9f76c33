#!/usr/bin/env bash
# Reproduce this project's CPU results: the full benchmark matrix (5 qualities x fp32/int8,
# inference only and the full video pipeline, the TensorFlow baseline, the GEMM peak) and
# the CPU tuning study, on seeded random (UNTRAINED) weights. Needs the export extra.
#
#   benchmarks/run_cpu.sh [NAME] [LABEL]     # writes benchmarks/results/NAME.{json,md,png}
#
# NAME defaults to "cpu"; LABEL (shown in reports) to the CPU model. Close other heavy
# programs first: the load average is recorded with the result, but a busy machine
# still gives lower figures.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
name=${1:-cpu}
label=${2:-}
out=benchmarks/results
mkdir -p "$out"
args=(bench --json "$out/$name.json" --markdown "$out/$name.md" --plot "$out/$name.png")
if [[ -n "$label" ]]; then args+=(--label "$label"); fi
"$PYTHON" -m saliency_cam.realtime.cli.main "${args[@]}"
"$PYTHON" benchmarks/cpu_tuning.py --quality very_low --quality medium \
    --json "$out/${name}_tuning.json"
