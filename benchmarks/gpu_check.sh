#!/usr/bin/env bash
# Issue 15's GPU figures and the CUDA tests, in one call of the device tool, for a session that is lent a GPU:
#
#     run(command="bash benchmarks/gpu_check.sh", timeout_s=600)
#
# The device machine's python3 holds torch, torchvision, matplotlib, pytest and tqdm; nothing can be installed
# there, and ../shared does not travel, so the models have random weights (they cost what real ones do).
# It prints, and writes to $OUT/gpu_check.log: the CUDA tests (tests/test_cuda.py and the CUDA cases of the
# tests parametrized over conftest.DEVICES), the TP's sweeps batched vs
# one by one (aim >= 5x on a GPU), channels_last vs plain on CUDA, and saliency and the attacks against a bare
# forward+backward. Each step has its own time limit, so that one slow step cannot use up the call.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TPVIZ_ALLOW_RANDOM_WEIGHTS=1
PY=${PY:-python3}
log="${OUT:-/tmp}/gpu_check.log"

step() {  # step SECONDS COMMAND...: run it under a time limit, say how it ended
  echo "== $(date +%T) ${*:2}"
  timeout "$@"
  echo "== exit $?"
}

{
  nvidia-smi -L
  "$PY" -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__,
            torch.cuda.get_device_name() if torch.cuda.is_available() else 'NO CUDA DEVICE')"
  step 150 "$PY" -m pytest -q -p no:cacheprovider -o addopts="" -rs -k cuda tests/test_cuda.py \
    tests/test_invariants.py tests/test_classviz.py tests/test_memory_layout.py
  step 200 "$PY" benchmarks/bench_classviz.py --device cuda --parts sweeps
  step 90 "$PY" benchmarks/bench_layout.py --device cuda
  step 60 "$PY" benchmarks/bench_saliency.py --device cuda
  step 60 "$PY" benchmarks/bench_attacks.py --device cuda
} 2>&1 | tee "$log"
