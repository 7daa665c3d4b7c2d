"""One process of a distributed search, or of distributed final training, on loopback, for
test_distributed.py.

    python -m tests.distributed_helper DATA_DIR TUNER_DIR OUT_FILE STRATEGY

STRATEGY: grid or hyperband (a search), runs (train_full's runs). The role comes from
KERASTUNER_TUNER_ID ('chief' or 'tunerN'); without it, everything runs alone. Each process
records what it trained; the chief (or the lone process) also writes every job's winner and
trial scores, or the runs table. A user error (EmoError) ends
it as it ends a stage: one line on stderr, exit status 2.
"""

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import emo.models.tuning as tuning
from emo import artifacts
from emo.config import load_params
from emo.console import user_errors_reported
from emo.data.dataset import load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.models.backend import use_backend
from emo.models.experiments import full_specs, runs_table
from emo.models.model import Architecture
from emo.models.runs import TrainingContext
from emo.models.search_jobs import search_job

REPO = Path(__file__).resolve().parents[1]


def main(data_dir: str, tuner_dir: str, out_file: str, strategy: str) -> None:
    if strategy == "runs":
        return main_runs(data_dir, tuner_dir, out_file)
    params = load_params(REPO / "params.yaml")
    use_backend(params.train.backend)
    landmarks, splits = Path(data_dir) / artifacts.LANDMARKS, Path(data_dir) / artifacts.SPLITS
    # Hyperband: brackets of 9, 3 and 1 epochs over the 4 points.
    epochs = 9 if strategy == "hyperband" else 2
    train = dataclasses.replace(params.train, epochs=epochs, patience=epochs, learning_rate=0.01)
    context = TrainingContext(landmarks, splits, params.model, train)
    data = load_landmarks(landmarks)
    partitions = load_partitions(splits, len(data.y))
    grid = dataclasses.replace(params.tune, filters=[2, 3], lstm_units=[3, 4], dense_units=[3], strategy=strategy,
                               directory=Path(tuner_dir))
    jobs = [search_job(e, grid, data, partitions[0], context, landmarks=tuple(range(8, 24))) for e in (1, 4)]

    # Here, not at the top: emo.models.trials imports Keras, which must follow use_backend.
    from emo.models import trials

    trained = []
    real_fit = trials.fit_binaries

    def recording_fit(tasks, arch, *args, **kwargs):
        for task in tasks:
            job = hashlib.sha256(task.positive_train.tobytes()).hexdigest()[:8]  # which emotion's labels
            trained.append([job, arch.filters, arch.units, kwargs.get("epochs")])
        return real_fit(tasks, arch, *args, **kwargs)

    trials.fit_binaries = recording_fit
    # One training process, this one, so that the recording sees its trials.
    results = tuning.search_all(jobs, data, partitions, context, workers=1, stage="test", progress=False)
    Path(out_file).write_text(json.dumps({
        "trained": trained,
        "results": None if results is None else [
            {"emotion": r.job.emotion, "best": r.best.as_dict(),
             "trials": sorted([t.arch.filters, t.arch.units, round(t.val_loss, 6),
                               t.hyperband.continues if t.hyperband else ""] for t in r.trials)}
            for r in results],
    }))


def main_runs(data_dir: str, tuner_dir: str, out_file: str) -> None:
    """train_full's runs (6 emotions x 2 variants x every partition, 2 epochs) at K = 16."""
    params = load_params(REPO / "params.yaml")
    use_backend(params.train.backend)
    landmarks, splits = Path(data_dir) / artifacts.LANDMARKS, Path(data_dir) / artifacts.SPLITS
    train = dataclasses.replace(params.train, epochs=2, patience=2, learning_rate=0.01, workers=1)
    context = TrainingContext(landmarks, splits, params.model, train)
    partitions = load_partitions(splits, len(load_landmarks(landmarks).y))
    models = Path(out_file).with_suffix("")
    specs = [dataclasses.replace(spec, landmarks=tuple(range(8, 24)))
             for spec in full_specs({emotion: Architecture(2, 3, 3) for emotion in EMOTIONS}, len(partitions),
                                    artifacts.FULL, models, params.model.variants)]

    # Here, not at the top: these import Keras, which must follow use_backend.
    from emo.models import runs, served_runs

    trained = []
    real_batch = runs.run_batch

    def recording_batch(batch, *args):
        trained.extend(spec.name for spec in batch)
        return real_batch(batch, *args)

    role = tuning.distributed_role()
    if role:
        served_runs.run_batch = recording_batch
        results = served_runs.serve_runs(specs if role == "chief" else None, role, "test", tuner_dir, context,
                                         progress=False)
    else:
        results = sorted(runs.run_batches(specs, context, load_landmarks(landmarks).frames, 1),
                         key=lambda r: specs.index(r.spec))
    Path(out_file).write_text(json.dumps({
        "trained": trained,
        "runs": None if results is None else runs_table(results).to_dict(orient="records"),
        "models": sorted(str(p.relative_to(models)) for p in models.rglob("*.keras")),
    }))


if __name__ == "__main__":
    with user_errors_reported():
        main(*sys.argv[1:])
