"""What the paper's full protocol costs on this machine, projected from a measured slice
(prints figures; not a test).

    python bench/projection.py [--profile profiles/paper.yaml] [--subjects 55] [--backends jax tensorflow] [--budget-mb N]

1. Data of CK+'s size: the demo generator at `--subjects` subjects (55 x 6 = 330 labelled
   sequences; CK+ has 327), extracted and split with the profile's settings (P, seeds).
2. A real slice, per backend, with the profile's training settings, in as many parallel
   worker processes as the pipeline uses (one per core): for each L = 468 ... 16, T-EMO at
   three grid points (smallest, middle, largest F and Q) for a few epochs; seconds per epoch
   against F x Q, a straight line, read at the architectures the protocol trains (the
   grid's mean for searches and train_full, the paper's Tables 1-5 for retrain_k). Also
   the epochs a model trains before early stopping (a few full trainings at L = 16) and the
   cost of one Integrated Gradients sample (every path point) at L = 468. And batched: at
   each L, the middle grid point trained M at a time in one call (emo.models.training.
   fit_binaries), M as the pipeline groups them (emo.models.batches, the profile's
   train.budget_mb): a search's trials of one point, one per emotion (M <= 6); a final
   model's seeds (M <= seeds); the speed-up over one at a time scales the hours.
3. Counts from the profile: searches (every emotion at L = 468 and at each K), their
   trials and epochs for `grid` (every point, early-stopped) and `hyperband` (Keras
   Tuner's brackets, simulated with the pipeline's own oracle; its epoch budget is an
   upper bound), the final models of train_full and retrain_k (variants, controls, seeds),
   and the attributions.
4. Projected wall hours on this machine, one model per call (as before batching) and
   batched (as the pipeline trains now); in the distributed mode the searches spread over
   M machines like this one (the final models and attributions stay on one).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emo import N_LANDMARKS

REPO = Path(__file__).resolve().parents[1]
SLICE_EPOCHS = 2  # timed epochs per point, after a compiling one


def prepare(profile: str, subjects: int, workdir: Path) -> tuple[Path, Path]:
    """Landmarks and splits of demo data at CK+'s size, reused when already there."""
    from emo.config import load_params
    from emo.data.dataset import load_landmarks, save_landmarks
    from emo.data.demo import generate_demo
    from emo.data.extraction import extract_dataset
    from emo.data.face_model import managed_face_model
    from emo.data.splits import make_partitions, partitions_document
    from emo.files import atomic_dir, write_json

    params = load_params(profile)
    landmarks, splits = workdir / "landmarks" / "landmarks.npz", workdir / "splits.json"
    if not landmarks.is_file():
        face_model = managed_face_model(REPO / params.extract.face_model)
        demo = dataclasses.replace(params.demo, out=workdir / "raw", subjects=subjects)
        with atomic_dir(demo.out) as tmp:
            print(generate_demo(demo, face_model, tmp), file=sys.stderr)
        data, _ = extract_dataset(dataclasses.replace(params.data, root=demo.out, layout="ckplus"), params.extract,
                                  face_model)
        save_landmarks(landmarks, data)
    if not splits.is_file():
        data = load_landmarks(landmarks)
        partitions = make_partitions(data.y, data.subject, params.split)
        write_json(splits, partitions_document(partitions, params.split, len(data.y)))
    return landmarks, splits


@dataclasses.dataclass(frozen=True)
class SliceJob:
    L: int
    filters: int
    units: int
    neurons: int
    epochs: int  # 0: train until early stopping, with the profile's settings
    models: int = 1  # trained together in one call


def time_slice(job: SliceJob, data, partitions, context) -> dict:
    """`models` models on partition 0 (anger against the rest), in one call: s/epoch per model,
    or epochs to early stopping."""
    from emo.models.model import Architecture
    from emo.models.runs import training_inputs
    from emo.models.training import BinaryTask, fit_binaries

    landmarks = None if job.L == N_LANDMARKS else tuple(range(job.L))
    inputs = training_inputs(data, partitions[0], 0, landmarks, context.train.flip)
    arch = Architecture(job.filters, job.units, job.neurons)

    def fit(first_seed: int, epochs: int | None):
        tasks = [BinaryTask(*inputs, seed=first_seed + i) for i in range(job.models)]
        return fit_binaries(tasks, arch, "temo", context.model, context.train, epochs=epochs)

    if job.epochs:
        fit(0, 1)  # compiles
    fitted = fit(job.models, job.epochs or None)
    # Fitted.seconds is the call's time shared out over its models.
    return {**dataclasses.asdict(job), "epoch_s": float(np.mean([f.seconds / f.epochs for f in fitted])),
            "trained": float(np.mean([f.epochs for f in fitted]))}


def ig_seconds_per_sample(frames: int, arch, steps: int, method: str, budget_mb: int, model_params) -> float:
    from emo.explanation.global_attribution import integrated_gradients_of
    from emo.models.model import build_model, model_weights

    model = build_model(frames, N_LANDMARKS, arch, "temo", model_params, seed=0)
    ig = integrated_gradients_of(model, steps, method, budget_mb * 2**20)
    x = np.random.default_rng(0).random((24, frames, 2, 468, 1), dtype=np.float32)
    ig.attributions(x[:4], x[0], model_weights(model))
    start = time.perf_counter()
    ig.attributions(x, x[0], model_weights(model))
    return (time.perf_counter() - start) / len(x)


def load_profile(profile: str, budget_mb: int | None):
    """The profile's params, train.budget_mb replaced where --budget-mb gives one."""
    from emo.config import load_params

    params = load_params(profile)
    if budget_mb is None:
        return params
    return dataclasses.replace(params, train=dataclasses.replace(params.train, budget_mb=budget_mb))


def measure(backend: str, profile: str, landmarks: Path, splits: Path, budget_mb: int | None) -> dict:
    """The slice under one backend (this process is the parent of the training workers)."""
    from emo.models.backend import configure, use_backend

    use_backend(backend, single_threaded=True)
    configure(single_threaded=True)
    from emo.data.dataset import load_landmarks, load_partitions
    from emo.models.model import Architecture
    from emo.models.runs import TrainingContext, run_many

    params = load_profile(profile, budget_mb)
    context = TrainingContext(landmarks, splits, params.model, params.train)
    t = params.tune
    corners = [(min(t.filters), min(t.lstm_units)),
               (sorted(t.filters)[len(t.filters) // 2], sorted(t.lstm_units)[len(t.lstm_units) // 2]),
               (max(t.filters), max(t.lstm_units))]
    neurons = sorted(t.dense_units)[len(t.dense_units) // 2]
    ls = sorted({N_LANDMARKS, *params.retrain_k.ks}, reverse=True)  # every L the profile trains at
    jobs = [SliceJob(L, f, q, neurons, SLICE_EPOCHS) for L in ls for f, q in corners]
    jobs += [SliceJob(16, f, q, neurons, 0) for f, q in corners]  # to early stopping
    data = load_landmarks(landmarks)
    sizes = {str(L): batch_sizes(params, L, data.frames, corners[1], neurons) for L in ls}
    if backend == "jax":  # under TensorFlow the pipeline trains one model per call
        jobs += [SliceJob(int(L), *corners[1], neurons, SLICE_EPOCHS, M) for L, by_kind in sizes.items()
                 for M in sorted(set(by_kind.values())) if M > 1]
    workers = params.train.workers or os.cpu_count()
    start = time.perf_counter()
    rows = list(run_many(jobs, context, params.train.workers, task=time_slice))
    wall = time.perf_counter() - start
    os.sched_setaffinity(0, {0})  # IG on one core, as one worker of the attribute stage runs it
    ig = ig_seconds_per_sample(data.frames, Architecture(*corners[1], neurons), params.attribute.steps,
                               params.attribute.method, params.attribute.budget_mb, params.model)
    return {"backend": backend, "rows": rows, "workers": workers, "slice_wall_s": wall, "ig_s_per_sample": ig,
            "batch_sizes": sizes,
            "train_samples": int(np.mean([len(p.train) for p in load_partitions(splits, len(data.y))]))}


def batch_sizes(params, L: int, frames: int, corner: tuple[int, int], neurons: int) -> dict[str, int]:
    """Models per call as the pipeline groups them at L (emo.models.batches): a search's
    trials of one point (one per emotion), a final model's seeds."""
    from emo.data.emotions import EMOTIONS
    from emo.models.batches import call_size
    from emo.models.model import Architecture

    most = call_size(frames, L, Architecture(*corner, neurons), params.train)
    return {"search": min(most, len(EMOTIONS)), "final": min(most, len(params.split.seeds))}


def hyperband_plan(points: int, max_epochs: int, factor: int) -> tuple[int, int]:
    """(trials, epoch budget) of one Hyperband search on a grid of `points`, from the
    pipeline's own oracle driven with random scores (the budget does not depend on them)."""
    import keras_tuner

    from emo.models.oracles import GridHyperbandOracle

    space = keras_tuner.HyperParameters()
    space.Choice("point", list(range(points)))
    oracle = GridHyperbandOracle(keras_tuner.Objective("val_loss", "min"), max_epochs, factor, 0, space)
    oracle.verbose = 0
    rng = np.random.default_rng(0)
    trials = epochs = 0
    with tempfile.TemporaryDirectory() as tmp:
        oracle._set_project_dir(tmp, "plan")
        while (trial := oracle.create_trial("bench")).status == "RUNNING":
            values = trial.hyperparameters.values
            trials += 1
            epochs += values["tuner/epochs"] - values["tuner/initial_epoch"]
            oracle.update_trial(trial.trial_id, {"val_loss": float(rng.random())})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
    return trials, epochs


def project(measured: dict, profile: str, batching: bool) -> list[dict]:
    """Projected hours per strategy for one backend's measurements, one model per call or
    batched as the pipeline trains."""
    import pandas as pd

    from emo.config import load_params
    from emo.data.emotions import EMOTIONS
    from emo.paper import HYPERPARAMETERS

    params = load_params(profile)  # the counts; the batch sizes came with the measurements
    t, r = params.tune, params.retrain_k
    rows = pd.DataFrame(measured["rows"])
    alone = rows[rows.models == 1]
    timed = alone[alone.epochs > 0].assign(fq=lambda d: d.filters * d.units)
    per_epoch = {L: np.polyfit(part.fq, part.epoch_s, 1) for L, part in timed.groupby("L")}
    epochs_to_stop = float(alone[alone.epochs == 0].trained.mean())
    grid_fq = float(np.mean(t.filters) * np.mean(t.lstm_units))
    middle = timed.groupby("L").apply(lambda part: part.sort_values("fq").epoch_s.iloc[len(part) // 2])
    batched = rows[rows.models > 1].set_index(["L", "models"]).epoch_s

    def speedup(L: int, kind: str) -> float:
        """One at a time against batched, at the middle grid point (1 where M = 1)."""
        M = measured["batch_sizes"][str(L)][kind]
        return float(middle[L] / batched[L, M]) if batching and (L, M) in batched.index else 1.0

    def epoch_s(L: int, fq: float, kind: str = "search") -> float:
        return float(np.polyval(per_epoch[L], fq)) / speedup(L, kind)

    seeds, E, workers = len(params.split.seeds), len(EMOTIONS), measured["workers"]
    searches = [468, *r.ks] if r.search else [468]
    points = len(t.filters) * len(t.lstm_units) * len(t.dense_units)
    hb_trials, hb_epochs = hyperband_plan(points, params.train.epochs, t.factor)
    per_k_models = len(params.model.variants) + sum(r.random_draws if c == "random" else 1 for c in r.controls)
    final = E * seeds * len(params.model.variants) * epochs_to_stop * epoch_s(468, grid_fq, "final")
    for k in r.ks:
        fq = float(np.mean([f * q for f, q, _ in HYPERPARAMETERS[k].values()])) if k in HYPERPARAMETERS else grid_fq
        final += E * seeds * per_k_models * epochs_to_stop * epoch_s(k, fq, "final")
    models = seeds if params.attribute.models == "all" else min(params.attribute.models, seeds)
    attribution = E * models * measured["train_samples"] * (E - 1) * measured["ig_s_per_sample"]
    out = []
    for strategy, trials, search_epochs in (("grid", points, points * epochs_to_stop), ("hyperband", hb_trials, hb_epochs)):
        search = sum(E * search_epochs * epoch_s(L, grid_fq) for L in searches)
        out.append({"backend": measured["backend"], "batched": batching, "strategy": strategy,
                    "searches": E * len(searches),
                    "trials": E * len(searches) * trials, "search_epochs": E * len(searches) * search_epochs,
                    "final_models": E * seeds * (len(params.model.variants) + len(r.ks) * per_k_models),
                    "epochs_per_model": epochs_to_stop,
                    "search_h": search / workers / 3600, "final_h": final / workers / 3600,
                    "attribute_h": attribution / workers / 3600})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=str(REPO / "profiles" / "paper.yaml"))
    parser.add_argument("--subjects", type=int, default=55)
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "emo-projection")
    parser.add_argument("--budget-mb", type=int, help="train.budget_mb in place of the profile's (batch sizes)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # the backend of a measuring subprocess
    args = parser.parse_args()
    landmarks, splits = args.workdir / "landmarks" / "landmarks.npz", args.workdir / "splits.json"
    if args.worker:
        print(json.dumps(measure(args.worker, args.profile, landmarks, splits, args.budget_mb)))
        return
    import pandas as pd

    prepare(args.profile, args.subjects, args.workdir)
    table = []
    for backend in args.backends:
        print(f"measuring {backend} ...", file=sys.stderr, flush=True)
        budget = ["--budget-mb", str(args.budget_mb)] if args.budget_mb else []
        done = subprocess.run([sys.executable, __file__, "--worker", backend, "--profile", args.profile,
                               "--workdir", str(args.workdir), *budget], capture_output=True, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        if done.returncode != 0:
            sys.exit(f"{backend} failed:\n{done.stderr[-3000:]}")
        measured = json.loads(done.stdout.splitlines()[-1])
        slice_table = pd.DataFrame(measured["rows"])
        print(f"\n{backend}: slice of {len(slice_table)} models in {measured['slice_wall_s']:.0f} s "
              f"({measured['workers']} workers); s/epoch (F, Q):")
        timed = slice_table[(slice_table.epochs > 0) & (slice_table.models == 1)]
        print(timed.pivot(index="L", columns=["filters", "units"], values="epoch_s").sort_index(ascending=False)
              .to_string(float_format="{:.3f}".format))
        together = slice_table[slice_table.models > 1]
        if len(together):
            print("batched, the middle point: s/epoch per model with M models per call")
            print(together.pivot(index="L", columns="models", values="epoch_s").sort_index(ascending=False)
                  .to_string(float_format="{:.3f}".format))
        stops = slice_table[slice_table.epochs == 0].trained.tolist()
        print(f"epochs to early stopping at L = 16: {stops}; IG at L = 468: "
              f"{measured['ig_s_per_sample'] * 1000:.0f} ms per sample and baseline")
        table += project(measured, args.profile, batching=False) + project(measured, args.profile, batching=True)
    table = pd.DataFrame(table)
    table["total_h"] = table.search_h + table.final_h + table.attribute_h
    print("\nprojected wall hours on this machine (searches, final models, attribution):")
    print(table.to_string(index=False, float_format="{:.1f}".format))
    print("\nin the distributed mode, total hours with the searches spread over M machines like this one:")
    for M in (1, 2, 4, 8):
        print(f"M = {M}: " + ", ".join(f"{row.backend} {row.strategy}{' batched' if row.batched else ''} "
                                      f"{row.search_h / M + row.final_h + row.attribute_h:.1f}"
                                      for row in table.itertuples()))


if __name__ == "__main__":
    main()
