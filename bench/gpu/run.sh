#!/usr/bin/env bash
# One shot on a lent GPU machine (issue 20, item 5): the WebGPU path on the hardware adapter, side by side
# with the PyTorch recipe on CUDA, in one go and under 8 minutes. Results: JSON under $OUT, a table on stdout.
#
# Needs (checked below, with what to install when missing):
#   - this repository with node_modules copied over (nothing is downloaded: the machine may be offline);
#   - Node >= 20 (node on PATH);
#   - for Dawn on an NVIDIA GPU: the Vulkan loader (libvulkan.so.1, Debian/Ubuntu package libvulkan1) and the
#     NVIDIA Vulkan ICD (nvidia_icd.json, installed with the NVIDIA driver; nvidia-smi shows the driver);
#   - for the peer, optional: python3 with torch built with CUDA (without it the torch columns are '-').
# Steps: batchtopk info; the WebGPU contract specs on the adapter; bench:select (batch and per-row top-k
# against torch.topk); the training step at 768/3072/32/4096 and 768/24576/32/4096 (ours on WebGPU with
# per-step device counters, the recipe on CUDA); a summary table. Each step has its own time limit, and a
# failing step is recorded in status.json and does not stop the others.
#
# Usage: bench/gpu/run.sh [--quick]
#   --quick: the same steps on the adapter at hand (e.g. llvmpipe, no GPU needed), small shapes: how CI and
#            developers check the script. Without it, a hardware Vulkan adapter is required.
# Environment: OUT (results directory; default out/gpu-<UTC time>), PYTHON (the peer's interpreter; default
# the first of /usr/bin/python3 and python3 that imports torch, else python3).
set -u
cd "$(dirname "$0")/../.."
QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$a' (use --quick or nothing)" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-out/gpu-$(date -u +%Y%m%dT%H%M%SZ)}"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in /usr/bin/python3 python3; do
    if command -v "$c" > /dev/null && "$c" -c 'import torch' 2> /dev/null; then PY=$(command -v "$c"); break; fi
  done
  PY="${PY:-python3}"
fi
export BATCHTOPK_PYTHON="$PY"
mkdir -p "$OUT" || { echo "run.sh: cannot create OUT=$OUT" >&2; exit 2; }
OUT="$(cd "$OUT" && pwd)"
STATUS="$OUT/status.json"
START=$(date +%s)
declare -A ST
ORDER=(mode adapter)
say() { echo "[run.sh $(( $(date +%s) - START ))s] $*" >&2; }
record() { ST["$1"]="$2"; ORDER+=("$1"); say "$1: $2"; }
write_status() {
  local first=1
  { echo '{'
    for k in "${ORDER[@]}"; do
      [ $first = 1 ] || echo ','
      first=0
      printf '  "%s": "%s"' "$k" "$(printf '%s' "${ST[$k]}" | tr '"\n' "' ")"
    done
    echo; echo '}'; } > "$STATUS"
}
# step NAME LIMIT_S LOGFILE CMD...: runs CMD with a time limit, logs to LOGFILE, records ok / failed / timed out.
step() {
  local name=$1 limit=$2 log=$3; shift 3
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
  local rc=$? dt=$(( $(date +%s) - t0 ))
  case $rc in
    0) record "$name" "ok (${dt}s)" ;;
    124|137) record "$name" "timed out after ${limit}s (log: $(basename "$log"))" ;;
    *) record "$name" "failed, exit $rc (${dt}s; log: $(basename "$log"))" ;;
  esac
  return $rc
}

# ---- what the machine has ----
MISSING=()
if ! command -v node > /dev/null; then
  echo "run.sh: Node is not on PATH (need Node >= 20; e.g. the nodejs package, or a node binary on PATH)" >&2; exit 2
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || { echo "run.sh: Node $(node -v) is too old (need >= 20)" >&2; exit 2; }
[ -e node_modules/webgpu/package.json ] && [ -e node_modules/tsx/package.json ] || {
  echo "run.sh: node_modules is missing or incomplete here ($(pwd)): copy the repository with node_modules (npm ci on a machine with network)" >&2; exit 2; }
HAVE_VULKAN=0
if ldconfig -p 2> /dev/null | grep -q 'libvulkan\.so\.1'; then HAVE_VULKAN=1; else MISSING+=("Vulkan loader libvulkan.so.1 (apt-get install libvulkan1)"); fi
ICD=$(ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json 2> /dev/null | head -1)
[ -n "$ICD" ] || MISSING+=("NVIDIA Vulkan ICD (nvidia_icd.json under /usr/share/vulkan/icd.d or /etc/vulkan/icd.d; comes with the NVIDIA driver)")
GPU_NAME=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2> /dev/null | head -1)
[ -n "$GPU_NAME" ] || MISSING+=("nvidia-smi (the NVIDIA driver)")
TORCH_CUDA=0
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2> /dev/null; then TORCH_CUDA=1
else MISSING+=("python3 torch with CUDA (optional: the peer columns stay empty)"); fi
for m in "${MISSING[@]}"; do say "missing: $m"; done

if [ $QUICK = 1 ]; then
  MODE=quick
  SELECT_ARGS=(--short)
  CONFIGS=(64/512/8/256 64/1024/8/256)
  STEPS=2; WARMUP=1
  SPECS=(contract_select webgpu_device)
else
  MODE=full
  if [ $HAVE_VULKAN = 0 ] || [ -z "$ICD" ]; then
    echo "run.sh: no hardware Vulkan adapter for Dawn: ${MISSING[*]}. Install them, or run with --quick on the adapter at hand." >&2
    exit 2
  fi
  export BATCHTOPK_WEBGPU_BACKEND=vulkan
  SELECT_ARGS=()
  CONFIGS=(768/3072/32/4096 768/24576/32/4096)
  STEPS=10; WARMUP=3
  SPECS=(contract webgpu_)
fi
TORCH_DEV=cpu; [ $TORCH_CUDA = 1 ] && TORCH_DEV=cuda
ST[mode]=$MODE
ST[adapter]="(see info.txt)"
say "mode $MODE, OUT $OUT, GPU ${GPU_NAME:-none}, torch on $TORCH_DEV"

# ---- 1. batchtopk info ----
step info 60 "$OUT/info.txt" node bin/batchtopk.js info --backend webgpu --json
ADAPTER=$(tail -1 "$OUT/info.txt" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);const a=j.adapter??j;console.log([a.vendor,a.architecture,a.device,a.description,a.backend].filter(Boolean).join(" / ")||"?")}catch{console.log("?")}})')
ST[adapter]="$ADAPTER"
tail -1 "$OUT/info.txt" > "$OUT/info.json" 2> /dev/null

# ---- 2. the WebGPU contract specs on this adapter ----
step specs 180 "$OUT/specs.txt" node --import tsx spec/run.ts "${SPECS[@]}"
tail -1 "$OUT/specs.txt" | sed 's/^/  specs: /' >&2

# ---- 3. selection against torch.topk ----
# Without torch ours still run (the torch columns stay '-').
"$PY" -c 'import torch' 2> /dev/null || SELECT_ARGS+=(--without-torch)
step select 240 "$OUT/select.txt" node --import tsx bench/peer/select_speed.ts "${SELECT_ARGS[@]}" --torch-device $TORCH_DEV --json "$OUT/select.json"

# ---- 4. training steps: ours on WebGPU (with per-step counters), the recipe on CUDA ----
for c in "${CONFIGS[@]}"; do
  IFS=/ read -r d m k b <<< "$c"
  tag="${d}_${m}_${k}_${b}"
  if step "step $c" 150 "$OUT/step-$tag.log" node --import tsx bench/gpu/step.ts "$d" "$m" "$k" "$b" "$STEPS" "$WARMUP"; then
    grep '^{' "$OUT/step-$tag.log" | tail -1 > "$OUT/step-$tag.json"
  fi
  if [ $TORCH_CUDA = 1 ]; then
    step "torch $c" 120 "$OUT/torch-$tag.log" "$PY" bench/gpu/recipe_cuda.py --d "$d" --m "$m" --k "$k" --batch "$b" --steps "$STEPS" --warmup "$WARMUP" \
      && grep '^{' "$OUT/torch-$tag.log" | tail -1 > "$OUT/torch-$tag.json"
  else
    record "torch $c" "skipped: no torch with CUDA"
  fi
done

# ---- 5. summary ----
write_status
node --import tsx bench/gpu/summary.ts "$OUT" | tee "$OUT/summary.txt"
say "done in $(( $(date +%s) - START ))s; results in $OUT"
FAILED=0
for k in "${!ST[@]}"; do case "${ST[$k]}" in failed*|timed*) FAILED=1 ;; esac; done
exit $FAILED
