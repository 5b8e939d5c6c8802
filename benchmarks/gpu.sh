#!/usr/bin/env bash
# All of the training runner's GPU work in one go, on one GPU, in under 8 minutes:
#
#   bash benchmarks/gpu.sh OUT        (from the repository root, on a machine with CUDA torch)
#
# 1. the training tests through the CUDA paths (RESDSL_TEST_DEVICE=cuda): bf16 autocast,
#    channels_last, cudnn.benchmark, pinned memory, nvJPEG decoding when torchvision is there;
#    then, separately, the bit-exact resume tests (cuDNN may legitimately break those);
# 2. ResNet-50, batch 256, bf16, channels_last, torch.compile in three modes (default,
#    max-autotune-no-cudagraphs, reduce-overhead = CUDA graphs): images/s and MFU;
# 3. ResNet-20, batch 128 (CIFAR-shaped synthetic data): images/s, MFU, and the paper's CIFAR
#    schedule (64k iterations x 128) extrapolated from 1000 timed iterations;
# 4. ResNet-50 fed from a JPEG folder: the data pipeline alone and end to end;
# 5. benchmarks/memory.py --gpu (ResNet-50 bf16: predicted against max_memory_allocated);
#    in smoke mode its CPU check on ResNet-20 instead.
#
# Each step runs under `timeout`, a failure is recorded and the next step runs anyway; the
# timeouts add up to 475 s. What each step got is in OUT (JSON, logs), and OUT/summary.json lists
# every step's status. GPU_SH_SMOKE=1 runs every step on the CPU with a tiny network and tiny
# counts, to check the script itself (tests/train/test_benchmark.py does).
set -u

OUT=${1:?usage: bash benchmarks/gpu.sh OUTDIR}
PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$ROOT" || exit 1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

if [ "${GPU_SH_SMOKE:-0}" = 1 ]; then
    DEVICE=cpu AMP="" COMPILE=off R50=tests/fixtures/tiny_resnet.py R20=tests/fixtures/tiny_resnet.py
    B50=8 B20=8 STEPS50=2 STEPS20=3 WARM=1 SCHEDULE=64000 IMAGES=16 WORKERS=1
    TESTS="durations" EXACT="durations"
    MEMORY="--networks resnet20 --no-extras --out"  # the CPU check: no CUDA to measure against
else
    DEVICE=cuda AMP=--amp COMPILE=on R50=generated/resnet50.py R20=generated/resnet20.py
    B50=256 B20=128 STEPS50=30 STEPS20=1000 WARM=5 SCHEDULE=64000 IMAGES=1024 WORKERS=12
    TESTS="not distributed and not sigkill and not exact and not repeatable and not resnet152 and not compiled_run"
    EXACT="exact"
    MEMORY="--gpu --json"
fi

: >"$OUT/steps.tsv"
# step NAME SECONDS COMMAND...: run it under timeout, log it, record its exit status and time
step() {
    local name=$1 limit=$2 started rc
    shift 2
    # Smoke mode checks the script, not the budget: no limit (timeout 0), on a CPU however busy.
    [ "${GPU_SH_SMOKE:-0}" = 1 ] && limit=0
    echo "== $name (timeout ${limit}s): $*"
    started=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - started))" >>"$OUT/steps.tsv"
    tail -n 5 "$OUT/$name.log"
    [ "$rc" = 0 ] || echo "   $name: exit $rc (124: timed out); going on"
}

bench() {  # bench NAME SECONDS MODULE ARGS...: the throughput benchmark, JSON into OUT
    local name=$1 limit=$2 module=$3
    shift 3
    step "$name" "$limit" "$PY" benchmarks/train_throughput.py "$module" --device "$DEVICE" \
        --warmup "$WARM" --json "$OUT/$name.json" "$@"
}

step env 10 bash -c "nvidia-smi || true; $PY -c 'import torch, sys; print(sys.version); \
print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, torch.cuda.is_available()); \
print(torch.cuda.get_device_name() if torch.cuda.is_available() else \"no GPU\")'; \
$PY -c 'import torchvision; print(\"torchvision\", torchvision.__version__)' || echo 'no torchvision: PIL decoding'"

# four test processes share the GPU when pytest-xdist is installed (small networks: they fit)
PARALLEL=""
"$PY" -c "import xdist" 2>/dev/null && [ "$DEVICE" = cuda ] && PARALLEL="-n 4"
# shellcheck disable=SC2086  # $PARALLEL is two words or none
step tests_cuda 90 env RESDSL_TEST_DEVICE="$DEVICE" "$PY" -m pytest -q -p no:cacheprovider \
    $PARALLEL tests/train -k "$TESTS" --junitxml="$OUT/tests_cuda.xml"
step tests_cuda_exact 25 env RESDSL_TEST_DEVICE="$DEVICE" "$PY" -m pytest -q -p no:cacheprovider \
    tests/train/test_interrupt.py tests/train/test_progress.py -k "$EXACT" --junitxml="$OUT/tests_cuda_exact.xml"

for mode in default max-autotune-no-cudagraphs reduce-overhead; do
    case $mode in default) limit=70 ;; max-autotune-no-cudagraphs) limit=90 ;; *) limit=50 ;; esac
    # shellcheck disable=SC2086  # $AMP is one flag or none
    bench "train_resnet50_$mode" "$limit" "$R50" --batch-size "$B50" --steps "$STEPS50" $AMP \
        --compile "$COMPILE" --compile-mode "$mode" --channels-last on
done
# shellcheck disable=SC2086
bench train_resnet20 50 "$R20" --batch-size "$B20" --steps "$STEPS20" $AMP \
    --compile "$COMPILE" --channels-last on --schedule "$SCHEDULE"
# shellcheck disable=SC2086
bench train_imagefolder 45 "$R50" --batch-size "$B50" --steps "$STEPS50" $AMP \
    --compile off --channels-last on --data imagefolder --images "$IMAGES" --workers "$WORKERS"

if [ -f benchmarks/memory.py ]; then
    # shellcheck disable=SC2086  # $MEMORY is two or four words
    step memory 45 "$PY" benchmarks/memory.py $MEMORY "$OUT/memory.json"
else
    printf 'memory\tskipped\t0\n' >>"$OUT/steps.tsv"
fi

# What every step got, in one file, even when some failed.
"$PY" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
steps = {}
for line in (out / "steps.tsv").read_text().splitlines():
    name, rc, seconds = line.split("\t")
    status = "ok" if rc == "0" else "skipped" if rc == "skipped" else "timeout" if rc in ("124", "137") else f"exit {rc}"
    entry = {"status": status, "seconds": int(seconds)}
    result = out / f"{name}.json"
    if result.is_file():
        report = json.loads(result.read_text())
        entry["device"] = report.get("device")
        entry["results"] = report.get("results")
        for key in ("schedule", "data_only"):
            if key in report:
                entry[key] = report[key]
    steps[name] = entry
(out / "summary.json").write_text(json.dumps(steps, indent=2) + "\n")
for name, entry in steps.items():
    best = max((r.get("images_per_s", 0) for r in entry.get("results") or []), default=None)
    print(f"{name:32} {entry['status']:8} {entry['seconds']:4d} s" + (f"  {best:,.0f} images/s" if best else ""))
EOF
echo "wrote $OUT/summary.json"
