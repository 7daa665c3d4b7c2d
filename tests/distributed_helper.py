"""One process of a distributed search on loopback, for test_distributed.py.

    python -m tests.distributed_helper DATA_DIR TUNER_DIR OUT_FILE STRATEGY

The role comes from KERASTUNER_TUNER_ID ('chief' or 'tunerN'); without it, the search runs
alone in this process. Each process records the grid points it trained; the chief (or the
lone process) also writes every job's winner and trial scores. A user error (EmoError) ends
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
from emo.models.backend import use_backend
from emo.models.runs import TrainingContext
from emo.models.search_jobs import search_job

REPO = Path(__file__).resolve().parents[1]


def main(data_dir: str, tuner_dir: str, out_file: str, strategy: str) -> None:
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


if __name__ == "__main__":
    with user_errors_reported():
        main(*sys.argv[1:])
