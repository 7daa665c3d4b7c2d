import dataclasses
from pathlib import Path

import pytest

import emo.tuning as tuning
from emo.config import TuneParams, load_params
from emo.dataset import load_landmarks, load_partitions
from emo.training import TrainingContext
from tests.conftest import REPO
from tests.synthetic import write_dataset

PARAMS = load_params(REPO / "params.yaml")


@pytest.fixture
def setting(tmp_path):
    landmarks, splits = write_dataset(tmp_path / "data")
    train = dataclasses.replace(PARAMS.train, epochs=2, patience=1, learning_rate=0.01)
    context = TrainingContext(landmarks, splits, PARAMS.model, train)
    data = load_landmarks(landmarks)
    partitions = load_partitions(splits, len(data.y))
    grid = TuneParams(filters=[2, 3, 4], units=[3], neurons=[3], objective="val_loss", directory=tmp_path / "tuner")
    job = tuning.search_job(2, grid, data, partitions[0], context, landmarks=tuple(range(8, 24)))
    return job, data, partitions, context


def test_grid_search_runs_every_point_and_keeps_the_table(setting, monkeypatch):
    import keras_tuner

    # Our trials skip Keras Tuner's TensorBoard hook (it imports tensorboard) and its per-trial checkpoints.
    monkeypatch.setattr(keras_tuner.Tuner, "_configure_tensorboard_dir",
                        lambda *args, **kwargs: pytest.fail("Keras Tuner's TensorBoard hook ran"))
    job, data, partitions, context = setting
    result = tuning.grid_search(job, data, partitions, context)
    assert sorted(t["filters"] for t in result.trials) == [2, 3, 4]
    best = min(result.trials, key=lambda t: t["val_loss"])
    assert result.best.filters == best["filters"]
    assert all(t["epochs"] >= 1 and len(t["history"]["loss"]) == t["epochs"] for t in result.trials)
    table = tuning.trials_table([result])
    assert table.chosen.sum() == 1 and set(table.K) == {16}
    assert not list((job_dir := Path(job.directory) / job.project).rglob("*.h5")), job_dir


def test_interrupted_search_resumes_without_losing_or_repeating_trials(setting, monkeypatch):
    job, data, partitions, context = setting
    real_fit = tuning.fit_binary
    calls = []

    def interrupted_on_second(*args, **kwargs):
        calls.append(args[4].filters)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(tuning, "fit_binary", interrupted_on_second)
    with pytest.raises(KeyboardInterrupt):
        tuning.grid_search(job, data, partitions, context)
    monkeypatch.setattr(tuning, "fit_binary", lambda *a, **k: (calls.append(a[4].filters), real_fit(*a, **k))[1])
    resumed = tuning.grid_search(job, data, partitions, context)
    # First run: trial 1 done, trial 2 interrupted; the rerun retries trial 2 and runs trial 3, nothing else.
    assert calls == [2, 3, 3, 4]
    assert sorted(t["filters"] for t in resumed.trials) == [2, 3, 4]
    fresh = dataclasses.replace(job, project=job.project + "-fresh")
    monkeypatch.setattr(tuning, "fit_binary", real_fit)
    uninterrupted = tuning.grid_search(fresh, data, partitions, context)
    assert resumed.best == uninterrupted.best
    assert [t["val_loss"] for t in resumed.trials] == [t["val_loss"] for t in uninterrupted.trials]


def test_changed_settings_start_a_new_project(setting):
    job, data, partitions, context = setting
    grid = TuneParams(filters=[2], units=[3], neurons=[3], objective="val_loss", directory=job.directory)
    other = tuning.search_job(2, grid, data, partitions[0], context, landmarks=job.landmarks)
    assert other.project != job.project
    again = tuning.search_job(2, TuneParams(filters=[2, 3, 4], units=[3], neurons=[3], objective="val_loss",
                                            directory=job.directory), data, partitions[0], context,
                              landmarks=job.landmarks)
    assert again.project == job.project
