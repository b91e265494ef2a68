#!/usr/bin/env bash
# Device check for a GPU machine without a container engine or internet: runs the Keras trainer (the same Python
# module its image runs, trainer/keras_trainer, here outside a container) and a plain Keras `fit` on the bench's
# MLP and CNN (bench/trainer/keras_bench.py) on the GPU and on the CPU, prints samples/s and GPU/CPU ratios,
# checks the output contract of each trainer run, and runs the TF.js trainer's backend probe where node exists.
#
#   scripts/gpu-check.sh            # full: about 60-120 s (GPU + CPU, both models, trainer + plain)
#   scripts/gpu-check.sh --smoke    # CPU only, small, the trainer only: at most ~60 s (run by the tests)
#
# Needs only the repository and Python wheels carried with it, nothing downloaded:
# - a python3 that imports jax (the GPU machine: JAX with CUDA, no Keras) → a venv with its system packages
#   plus keras, pyyaml and pillow installed --no-index from .tools/wheels (scripts/setup.sh fills it); or
# - .tools/venv-keras (this build machine: keras + jax CPU), used as it is. PYTHON=… names another interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_BACKEND=jax # the backend a GPU machine here has (no TensorFlow); recorded in every metrics.json
SMOKE=0
SECS=${GPU_CHECK_SECONDS:-8}
for a in "$@"; do
  case $a in
    --smoke) SMOKE=1 ;;
    *) echo "usage: scripts/gpu-check.sh [--smoke]" >&2; exit 2 ;;
  esac
done
say() { printf '[gpu-check] %s\n' "$*" >&2; }
started=$(date +%s)

# ---- the interpreter: one that has keras, else a venv over a system jax with the carried wheels ----
py=${PYTHON:-}
if [ -z "$py" ]; then
  if python3 -c 'import keras, jax, yaml, PIL' 2>/dev/null; then py=python3
  elif python3 -c 'import jax' 2>/dev/null; then
    [ -d .tools/wheels ] || { say "no .tools/wheels: carry the wheels scripts/setup.sh downloads"; exit 1; }
    venv=${GPU_CHECK_VENV:-${TMPDIR:-/tmp}/aibomgen-gpu-check-venv}
    if ! "$venv/bin/python" -c 'import keras, yaml, PIL' 2>/dev/null; then
      say "venv $venv over the system jax; keras, pyyaml, pillow from .tools/wheels (offline)"
      python3 -m venv --system-site-packages "$venv"
      "$venv/bin/pip" install -q --no-index --find-links .tools/wheels keras pyyaml pillow
    fi
    py=$venv/bin/python
  elif [ -x .tools/venv-keras/bin/python ]; then py=.tools/venv-keras/bin/python
  else say "no python with jax, and no .tools/venv-keras (scripts/setup.sh)"; exit 1
  fi
fi
say "python: $py ($("$py" -c 'import sys, jax, keras
print(sys.version.split()[0], "jax", jax.__version__, "keras", keras.__version__)'))"

gpu=0
on_gpu='import jax; assert jax.devices()[0].platform == "gpu"'
if [ $SMOKE = 0 ] && JAX_PLATFORMS=cuda "$py" -c "$on_gpu" 2>/dev/null; then
  gpu=1
  command -v nvidia-smi >/dev/null &&
    say "GPU: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1)"
else
  [ $SMOKE = 1 ] || say "no GPU visible to JAX: CPU figures only"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bench() { # platform file [args]
  local platform=$1 file=$2; shift 2
  KERAS_BACKEND=jax JAX_PLATFORMS=$platform "$py" bench/trainer/keras_bench.py --check-contract "$@" > "$file"
}
if [ $SMOKE = 1 ]; then
  bench cpu "$out/cpu.json" --smoke --no-plain
else
  [ $gpu = 1 ] && bench cuda "$out/gpu.json" --seconds "$SECS"
  bench cpu "$out/cpu.json" --seconds "$SECS"
fi

# ---- figures: samples/s per model and device, GPU vs CPU, trainer vs plain ----
"$py" - "$out" <<'PY'
import json, os, sys
d = sys.argv[1]
files = {k: os.path.join(d, f"{k}.json") for k in ("gpu", "cpu")}
runs = {k: json.load(open(f)) for k, f in files.items() if os.path.exists(f)}
print(f"{'model':<5} {'device':<6} {'trainer samples/s':>18} {'plain samples/s':>16} {'trainer/plain':>14}")
for m in ("mlp", "cnn"):
    for dev, r in runs.items():
        t, p = r["trainer"][m], r["plain"].get(m)
        print(f"{m:<5} {dev:<6} {t:>18,.0f} {(f'{p:,.0f}' if p else '-'):>16} {(f'{t / p:.2f}x' if p else '-'):>14}")
    if len(runs) == 2:
        g, c = runs["gpu"], runs["cpu"]
        ratio = lambda k: f"{g[k][m] / c[k][m]:.2f}x" if m in g[k] and m in c[k] else "-"
        print(f"{m:<5} GPU vs CPU: trainer {ratio('trainer')}, plain {ratio('plain')}")
for dev, r in runs.items():
    print(f"device {dev}: {r['versions']['device']} (keras {r['versions']['keras']}, jax {r['versions']['jax']}, "
          f"trainer backend {r['versions']['trainer_backend']})")
    for line in r.get("contract", []):
        print(f"output contract OK on {dev}: {line}")
PY

# ---- the TF.js trainer's backend probe, where node is installed ----
if command -v node >/dev/null; then
  if [ -f trainer/dist/probe.mjs ]; then probe=(node trainer/dist/probe.mjs)
  elif [ -d node_modules/tsx ]; then probe=(node --import tsx trainer/backend/probe.ts)
  else probe=(); fi
  if [ ${#probe[@]} -gt 0 ]; then
    echo "tfjs probe: $("${probe[@]}" | tail -1)"
  else
    echo "tfjs probe: skipped (no trainer/dist/probe.mjs and no node_modules)"
  fi
else
  echo "tfjs probe: skipped (no node on this machine)"
fi
echo "gpu-check $([ $SMOKE = 1 ] && echo '(smoke) ')done in $(( $(date +%s) - started )) s"
