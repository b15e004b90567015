#!/usr/bin/env bash
# One prepared pass on a CUDA machine (no Qt there): core + training tests, CUDA-vs-CPU agreement,
# simulate benchmark on both devices, LeNet/ResNet-8 accuracy and speed on the GPU.
#   bash benchmarks/gpu_check.sh OUTDIR
set -u
out=${1:-/tmp/gpu_check}; mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
py=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
$py -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)" | tee -a "$out/gpu.txt"
printf '[pytest]\nfilterwarnings =\n    error\n' > /tmp/pytest.ini
echo "== core + training tests (CUDA present: device=auto/cuda paths run) =="
timeout 240 $py -m pytest -q -p no:cacheprovider -c /tmp/pytest.ini --rootdir . tests/core tests/training tests/test_architecture.py 2>&1 | tail -25 | tee "$out/tests.txt"
echo "== simulate benchmark =="
timeout 90 $py benchmarks/simulate.py --device cpu --steps 100 2>&1 | tee "$out/simulate.txt"
timeout 120 $py benchmarks/simulate.py --device cuda --steps 100 2>&1 | tee -a "$out/simulate.txt"
timeout 30 $py -m optviz paths --surface himmelblau --start 0,0 --steps 5 --optimizer adam --device cuda --out /tmp/p.json && $py -c "import json; print('paths device:', json.load(open('/tmp/p.json'))['device'])" | tee -a "$out/simulate.txt"
echo "== training on CUDA =="
for m in lenet resnet8; do
  timeout 150 $py -m optviz train --dataset mnist5k --model $m --epochs 5 --device cuda --json > "$out/train_$m.json" 2> "$out/train_$m.err"
  $py -c "import json,sys; d=json.load(open('$out/train_$m.json')); print('$m', 'device', d.get('device'), 'test_accuracy', d.get('test_accuracy'), 'seconds', round(d.get('seconds',0),1))" 2>&1 | tee -a "$out/train.txt"
done
