#!/usr/bin/env bash
# One prepared pass on a CUDA machine (no Qt there), sized for a 15-minute device budget (~8 min of commands):
# the tests that touch devices, engines, maps and sweeps, then the GPU figures issues #10 and #15 ask for:
#   drag (16 starts × 500 steps: CUDA eager and "auto"), basin maps at 256² and 512² on the GPU,
#   the learning-rate sweep (vmap and stacked) against 16 sequential runs on the GPU, the landscape slice.
#   bash benchmarks/gpu_check.sh OUTDIR
set -u
out=${1:-/tmp/gpu_check}; mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
py=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
$py -c "import torch, numpy, os; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__, 'cpus', os.cpu_count())" | tee -a "$out/gpu.txt"
printf '[pytest]\nfilterwarnings =\n    error\n' > /tmp/pytest.ini
echo "== the tests that touch devices, engines, maps and sweeps (CUDA present: device=auto/cuda paths run) =="
timeout 200 $py -m pytest -q -p no:cacheprovider -c /tmp/pytest.ini --rootdir . tests/core/test_simulate.py \
  tests/core/test_engine.py tests/core/test_paths_cli.py tests/core/test_basins.py tests/core/test_session.py \
  tests/training/test_lr_sweep.py tests/training/test_lr_sweep_stacked.py tests/training/test_landscape.py \
  tests/test_architecture.py 2>&1 | tail -15 | tee "$out/tests.txt"
echo "== drag: 6 optimizers × 1 and 16 starts × 500 steps (CPU fast engine; CUDA eager; auto) =="
timeout 120 $py benchmarks/drag.py --repeat 15 2>&1 | tee "$out/drag.txt"
echo "== basin maps on the GPU (goal: all six at 256² ≤ 0.2 s, at 512² ≤ 1 s) =="
for r in 256 512; do timeout 120 $py benchmarks/basins.py --resolution $r 2>&1 | tee "$out/basins_$r.txt"; done
echo "== learning-rate sweep on the GPU (goal ≥ 10× 16 sequential runs) =="
timeout 150 $py benchmarks/lr_sweep.py --device cuda --engines vmap,stacked 2>&1 | tee "$out/lr_sweep.txt"
echo "== landscape slice on the GPU =="
timeout 90 $py benchmarks/landscape.py --device cuda 2>&1 | tee "$out/landscape.txt"
