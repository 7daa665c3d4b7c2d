#!/usr/bin/env bash
# The GPU figures under JAX (prints figures; not a test), on a machine whose python3 has JAX's
# CUDA build but not Keras: bench/train.py --device gpu and the timeline's model step
# (bench/timeline.py --only model-step --device gpu).
#
#   bash bench/gpu.sh        # logs under $OUT (or /tmp/emo-gpu)
#
# Keras, namex and optree may travel as wheels in .whl/ (installed into /tmp/site); the model
# step reads its bundle (.gpu/timeline, made where the pipeline ran by
# `python bench/timeline.py --only model-step`). Each part has its own time limit
# (MODEL_STEP_S, TRAIN_S seconds); train.py echoes each row as it is measured, so a part
# stopped at its limit still leaves its rows in the log.
set -u
out=${OUT:-/tmp/emo-gpu}
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    python3 -c "import sys, jax, keras, numpy; print(sys.version.split()[0], 'jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'numpy', numpy.__version__)"
} 2>&1 | tee "$out/env.txt"
start=$SECONDS
timeout "${MODEL_STEP_S:-180}" python3 bench/timeline.py --only model-step --device gpu --batches ${BATCHES:-1 32 64 1024} \
    2>&1 | grep -v -E '^(I0000|W0000|WARNING: All log)' | tee "$out/model_step.txt"
echo "model step: $((SECONDS - start)) s" | tee -a "$out/model_step.txt"
start=$SECONDS
timeout "${TRAIN_S:-270}" python3 bench/train.py --backends jax --device gpu ${TRAIN_ARGS:-} \
    2>&1 | grep -v -E '^(I0000|W0000|WARNING: All log)' | tee "$out/train.txt"
echo "train: $((SECONDS - start)) s" | tee -a "$out/train.txt"
