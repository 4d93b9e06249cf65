#!/usr/bin/env bash
# Installs GTN (scripts/setup.sh) and runs its main job on a generated sample set:
# `gtn demo` writes 2,000 small images in class folders plus a JSONL of captions, ingests
# them into datasets, reads random samples back and prints the summary and read speed.
# Then a few lines of Python read the demo dataset back.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DEMO_DIR=${GTN_DEMO_DIR:-${TMPDIR:-/tmp}/gtn-demo}
echo "== gtn demo --dir $DEMO_DIR"
.venv/bin/gtn demo --dir "$DEMO_DIR" --samples "${GTN_DEMO_SAMPLES:-2000}"
echo "== reading the demo dataset from Python"
GTN_DEMO_DIR="$DEMO_DIR" .venv/bin/python - <<'PY'
import os

import gtn

ds = gtn.dataset(os.path.join(os.environ["GTN_DEMO_DIR"], "captions.gtn"), read_only=True)
print(f"{len(ds)} samples, tensors: {list(ds.tensors)}")
sample = ds[0]
print("sample 0:", {name: getattr(v, "shape", v) for name, v in sample.items()})
batch = ds[[3, 1, 4, 1, 5]]
print("batch of 5: image", batch["image"].shape, "labels", batch["label"].tolist())
PY
