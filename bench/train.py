"""Training speed against the number of landmarks, per Keras backend (prints figures; not a test).

    python bench/train.py [--backends jax tensorflow] [--sizes demo paper] [--epochs 3] [--device cpu|gpu]

For L = 468, 234, 128, 64, 32, 16, at the demo size (P 8, F/Q/R 8/16/16, 360 training
videos) and the paper size (P 16, F/Q/R 35/55/63, 472 videos), T-EMO trained as the
pipeline trains it (emo.models.training.fit_binary: batch 16, a validation pass per epoch) on one
core: seconds per epoch, model-epochs per second, milliseconds per video at batch 256, and
the peak memory of the process. Each backend runs in its own process (Keras picks its
backend at import), pinned to one core; the table gives tensorflow / jax as a ratio.

`--device gpu` measures the same on a GPU instead (`--backends jax` where TensorFlow is not
installed): no pinning, the runtime's own threads, the backend's default device, which must
be a GPU. The same data, batch, epochs and compiled trainer, so its figures sit beside the
one-core table. `--landmarks 468 128` measures only those L.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZES = {  # P, (F, Q, R), training videos
    "demo": (8, (8, 16, 16), 360),
    "paper": (16, (35, 55, 63), 472),
}


def measure(backend: str, sizes: list[str], epochs: int, device: str = "cpu", landmarks: list[int] | None = None,
            models: tuple[int, ...] = (1,), max_gb: float = 4.0) -> list[dict]:
    """In this process, under `backend`: every size, L (`landmarks`, default all six) and
    number of models per call (`models`), on one core (`device` cpu) or on the backend's GPU (gpu)."""
    from emo.models.backend import configure, gpu_visible, use_backend

    if device == "cpu":
        os.sched_setaffinity(0, {0})
    use_backend(backend, single_threaded=device == "cpu")
    configure(single_threaded=device == "cpu")
    if device == "gpu" and not gpu_visible():
        sys.exit(f"--device gpu: the {backend} backend sees no GPU")
    from emo.config import load_params
    from emo.models.batches import model_bytes
    from emo.models.model import Architecture
    from emo.models.training import STEPS_PER_CALL, BinaryTask, fit_binaries
    from emo.paper import LANDMARK_COUNTS

    kind = device
    if device == "gpu":
        kind = _gpu_name(backend)
        print(f"{backend} on {kind}", file=sys.stderr, flush=True)

    params = load_params(REPO / "params.yaml")
    rows = []
    for size in sizes:
        frames, (F, Q, R), samples = SIZES[size]
        arch = Architecture(F, Q, R)
        train = dataclasses.replace(params.train, epochs=1)
        for L in landmarks or LANDMARK_COUNTS:
            rng = np.random.default_rng(0)
            X = rng.random((samples, frames, 2, L, 1), dtype=np.float32)
            positive = rng.random(samples) < 1 / 6
            task = BinaryTask(X, positive, X[:48], positive[:48], 0)
            for M in models:
                gb = M * model_bytes(frames, L, arch, train.batch_size, STEPS_PER_CALL) / 2**30
                if gb > max_gb:
                    print(f"skipped {size} L={L} M={M}: about {gb:.1f} GB > --max-gb {max_gb}", file=sys.stderr)
                    continue
                tasks = [dataclasses.replace(task, seed=seed) for seed in range(M)]
                start = time.perf_counter()
                fit_binaries(tasks, arch, "temo", params.model, train)  # compiles the steps of this shape and M
                compile_s = time.perf_counter() - start
                # The fastest of single epochs: this machine's neighbours add noise of +-15% to a mean.
                runs = [fit_binaries([dataclasses.replace(t, seed=t.seed + M * (i + 1)) for t in tasks], arch, "temo",
                                     params.model, train) for i in range(epochs)]
                fitted = runs[-1][0]
                epoch_s = min(run[0].seconds for run in runs) * M  # Fitted.seconds is the batch's time / M
                row = {"backend": backend, "device": kind, "size": size, "L": L, "M": M,
                       "parameters": int(fitted.model.count_params()), "epoch_s": epoch_s,
                       "model_epochs_per_s": M / epoch_s, "first_epoch_s": compile_s,
                       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
                if M == 1:
                    batch = np.repeat(X, 2, axis=0)[:256]
                    fitted.positive_probability(batch)
                    start = time.perf_counter()
                    fitted.positive_probability(batch)
                    row["ms_per_video"] = (time.perf_counter() - start) * 1000 / len(batch)
                rows.append(row)
                print(json.dumps(rows[-1]), flush=True)
    return rows


def _gpu_name(backend: str) -> str:
    if backend == "jax":
        import jax

        return f"{jax.devices()[0].device_kind} (jax {jax.__version__})"
    import tensorflow as tf

    gpu = tf.config.list_physical_devices("GPU")[0]
    return f"{tf.config.experimental.get_device_details(gpu).get('device_name', gpu.name)} (tensorflow {tf.__version__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                        help="cpu: one pinned core, single-threaded (default); gpu: the backend's GPU")
    parser.add_argument("--landmarks", type=int, nargs="+", help="only these L (default 468 ... 16)")
    parser.add_argument("--models", type=int, nargs="+", default=[1, 8, 32, 128],
                        help="models per compiled call, M (default 1 8 32 128; batches need jax)")
    parser.add_argument("--max-gb", type=float, default=4.0, help="skip an M whose call would need more (estimated)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # the backend of a measuring subprocess
    args = parser.parse_args()
    if args.worker:
        models = args.models if args.worker == "jax" else [1]
        measure(args.worker, args.sizes, args.epochs, args.device, args.landmarks, models, args.max_gb)
        return
    import pandas as pd

    rows = []
    for backend in args.backends:
        print(f"measuring {backend} ...", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--worker", backend, "--epochs", str(args.epochs), "--device",
                   args.device, "--sizes", *args.sizes, "--models", *map(str, args.models), "--max-gb", str(args.max_gb)]
        if args.landmarks:
            command += ["--landmarks", *map(str, args.landmarks)]
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        # Rows are echoed to stderr as they come, so that a run stopped early still shows them.
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": path}) as worker:
            for line in worker.stdout:
                if line.startswith("{"):
                    rows.append(json.loads(line))
                    print(line.rstrip(), file=sys.stderr, flush=True)
        if worker.returncode != 0:
            sys.exit(f"{backend} failed (exit {worker.returncode}; its messages are above)")
    table = pd.DataFrame(rows)
    where = "one core" if args.device == "cpu" else ", ".join(table.device.unique())
    print(f"T-EMO, {where}, batch 16; s/epoch: the fastest of {args.epochs} epochs after a first (compiling) "
          "one, its validation pass included; ms/video: one prediction pass over 256 videos after a first")
    for size, part in table.groupby("size", sort=False):
        frames, (F, Q, R), samples = SIZES[size]
        print(f"\n{size} size: P {frames}, F/Q/R {F}/{Q}/{R}, {samples} training videos")
        alone = part[part.M == 1]
        wide = alone.pivot(index="L", columns="backend", values=["epoch_s", "model_epochs_per_s", "first_epoch_s",
                                                                   "ms_per_video"]).sort_index(ascending=False)
        wide.columns = [f"{metric} {backend}" for metric, backend in wide.columns]
        if {"jax", "tensorflow"} <= set(args.backends):
            wide["tensorflow / jax"] = wide["epoch_s tensorflow"] / wide["epoch_s jax"]
        wide.insert(0, "parameters", alone.groupby("L").parameters.first())
        print(wide.to_string(float_format="{:.3f}".format))
        batched = part[part.backend == "jax"]
        if batched.M.nunique() > 1:
            print("\nmodel-epochs/s with M models per compiled call (jax; x: against M = 1)")
            rates = batched.pivot(index="L", columns="M", values="model_epochs_per_s").sort_index(ascending=False)
            cells = rates.apply(lambda col: [f"{r:.1f} (x{r / one:.2f})" for r, one in zip(col, rates[1])])
            print(cells.to_string())
    for backend, part in table.groupby("backend", sort=False):
        print(f"peak memory (host RSS) of the {backend} training process: {part.peak_mb.max():.0f} MB")


if __name__ == "__main__":
    main()
