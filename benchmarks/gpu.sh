#!/usr/bin/env bash
# GPU check: frames/s per quality × provider (CUDA, TensorRT if present) × precision
# (fp32, fp16) × batch (1, 4, 8), plus 720p/1080p frames end to end; one JSON.
#
# On a GPU machine with the gpu extra installed:   benchmarks/gpu.sh run [OUT]
# On the lent device machine (no internet, 64 MiB per call; docs/design.md §6; its python3
# is 3.12 with numpy, onnx, OpenCV and the CUDA 13 / cuDNN pip packages): the
# onnxruntime-gpu wheel travels split (split -b 58M WHEEL build/gpu/part_; its file name
# in build/gpu/wheel.name), one part per call while the machine stays warm, then:
#   benchmarks/gpu.sh stash build/gpu/part_00      (once per part)
#   benchmarks/gpu.sh run "$OUT"                    (with the last part carried)
# Models: build/gpu/models/graph_{fp32,fp16}.onnx from
#   python benchmarks/gpu_check.py prepare <models dir with very_low fp32> build/gpu/models
set -euo pipefail
cd "$(dirname "$0")/.."
STASH=/tmp/saliency_gpu
PY=${PYTHON:-python3}
stage=${1:-run}

if [[ $stage == stash ]]; then
  shift
  mkdir -p "$STASH"
  for part in "$@"; do cp "$part" "$STASH/"; done
  ls -la "$STASH"; "$PY" -V; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
  exit 0
fi

OUT=${2:-${OUT:-benchmarks/results}}
mkdir -p "$OUT"
site=$("$PY" -c 'import site; print(site.getsitepackages()[0])')
if ! "$PY" -c 'import onnxruntime as o, sys; sys.exit("CUDAExecutionProvider" not in o.get_available_providers())' 2>/dev/null; then
  # no onnxruntime-gpu: install the carried wheel (and onnx) into a private folder
  for part in build/gpu/part_*; do [[ -f $part ]] && cp "$part" "$STASH/"; done
  wheel="$STASH/$(cat build/gpu/wheel.name)"
  cat "$STASH"/part_* > "$wheel"
  echo "wheel sha256 $(sha256sum "$wheel" | cut -c1-64) expected $(cat build/gpu/wheel.sha256)"
  "$PY" -m pip install -q --no-deps --no-index --no-compile --target "$STASH/site" "$wheel"
  export PYTHONPATH="$STASH/site${PYTHONPATH:+:$PYTHONPATH}"
fi
# CUDA/cuDNN from the nvidia-* pip packages next to PyTorch, plus a system CUDA if any
libs=$(find "$site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH="${libs}/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# the project without installing it: saliency_cam is realtime/api (setuptools package-dir)
if ! "$PY" -c 'import saliency_cam.realtime.runtime' 2>/dev/null; then
  shim="$STASH/shim/saliency_cam"
  rm -rf "$STASH/shim"; mkdir -p "$shim"
  cp realtime/api/*.py "$shim/"
  ln -s "$PWD/models" "$shim/models"; ln -s "$PWD/realtime" "$shim/realtime"
  ln -s "$PWD/export" "$shim/export"
  export PYTHONPATH="$STASH/shim${PYTHONPATH:+:$PYTHONPATH}"
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$PY" benchmarks/gpu_check.py run build/gpu/models "$OUT" 2>&1 | grep -v '^\s*$' | tail -80
