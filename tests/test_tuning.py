import dataclasses
from pathlib import Path

import numpy as np
import pytest

import emo.models.trials as trials
import emo.models.tuning as tuning
from emo.config import TuneParams, load_params
from emo.data.dataset import load_landmarks, load_partitions
from emo.models.runs import TrainingContext
from emo.models.search_jobs import search_job
from emo.models.search_results import trials_table
from emo.models.search_state import STATE
from tests.support import REPO
from tests.synthetic import write_dataset

PARAMS = load_params(REPO / "params.yaml")


@pytest.fixture
def setting(tmp_path):
    landmarks, splits = write_dataset(tmp_path / "data")
    train = dataclasses.replace(PARAMS.train, epochs=2, patience=1, learning_rate=0.01)
    context = TrainingContext(landmarks, splits, PARAMS.model, train)
    data = load_landmarks(landmarks)
    partitions = load_partitions(splits, len(data.y))
    job = search_job(2, _grid([2, 3, 4], tmp_path / "tuner"), data, partitions[0], context,
                     landmarks=tuple(range(8, 24)))
    return job, data, partitions, context


def _grid(filters, directory, **changes):
    grid = TuneParams(filters=filters, lstm_units=[3], dense_units=[3], objective="val_loss", strategy="grid", factor=3,
                      directory=directory)
    return dataclasses.replace(grid, **changes)


def test_grid_search_runs_every_point_and_keeps_the_table(setting, monkeypatch):
    import keras_tuner

    # Our trials skip Keras Tuner's TensorBoard hook (it imports tensorboard) and its per-trial checkpoints.
    monkeypatch.setattr(keras_tuner.Tuner, "_configure_tensorboard_dir",
                        lambda *args, **kwargs: pytest.fail("Keras Tuner's TensorBoard hook ran"))
    job, data, partitions, context = setting
    result = tuning.search(job, data, partitions, context)
    assert sorted(t.arch.filters for t in result.trials) == [2, 3, 4]
    best = min(result.trials, key=lambda t: t.val_loss)
    assert result.best == best.arch
    assert all(t.epochs >= 1 and len(t.history["loss"]) == t.epochs for t in result.trials)
    table = trials_table([result])
    assert table.chosen.sum() == 1 and set(table.K) == {16}
    assert not list((job_dir := Path(job.directory) / job.project).rglob("*.h5")), job_dir


def _interrupted_at_fit(n, jobs, data, partitions, context, monkeypatch) -> list:
    """Run the search until its n-th call that trains starts, stopped there as by Ctrl-C; the
    architectures (F) of each call it made, one entry per model."""
    real_fit = trials.fit_binaries
    calls = []

    def interrupted(tasks, arch, *args, **kwargs):
        calls.append([arch.filters] * len(tasks))
        if len(calls) == n:
            raise KeyboardInterrupt
        return real_fit(tasks, arch, *args, **kwargs)

    monkeypatch.setattr(trials, "fit_binaries", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tuning.search_all(jobs, data, partitions, context, workers=1, stage="test", progress=False)
    monkeypatch.setattr(trials, "fit_binaries", real_fit)
    return calls


def _recording(calls, monkeypatch) -> None:
    real_fit = trials.fit_binaries
    monkeypatch.setattr(trials, "fit_binaries",
                        lambda tasks, arch, *a, **k: (calls.append([arch.filters] * len(tasks)),
                                                      real_fit(tasks, arch, *a, **k))[1])


def test_interrupted_search_resumes_without_losing_or_repeating_trials(setting, monkeypatch):
    job, data, partitions, context = setting
    calls = _interrupted_at_fit(2, [job], data, partitions, context, monkeypatch)
    _recording(calls, monkeypatch)
    resumed = tuning.search(job, data, partitions, context)
    # First run: trial 1 done, trial 2 interrupted; the rerun retries trial 2 and runs trial 3, nothing else.
    assert calls == [[2], [3], [3], [4]]
    assert sorted(t.arch.filters for t in resumed.trials) == [2, 3, 4]
    fresh = dataclasses.replace(job, project=job.project + "-fresh")
    monkeypatch.undo()
    uninterrupted = tuning.search(fresh, data, partitions, context)
    assert resumed.best == uninterrupted.best
    assert [t.val_loss for t in resumed.trials] == [t.val_loss for t in uninterrupted.trials]


def test_one_point_of_every_job_trains_in_one_call_and_a_kill_inside_it_resumes(setting, monkeypatch):
    """Three emotions' searches: each grid point's three trials (one per emotion) share a call;
    killed in the middle of the second call, the rerun trains that call's trials again and
    gives every trial the numbers of a search never interrupted."""
    job, data, partitions, context = setting
    tune = _grid([2, 3, 4], job.directory)
    jobs = [search_job(e, tune, data, partitions[0], context, landmarks=job.landmarks) for e in (0, 2, 5)]
    calls = _interrupted_at_fit(2, jobs, data, partitions, context, monkeypatch)
    _recording(calls, monkeypatch)
    resumed = tuning.search_all(jobs, data, partitions, context, workers=1, stage="test", progress=False)
    assert calls == [[2, 2, 2], [3, 3, 3], [3, 3, 3], [4, 4, 4]]
    monkeypatch.undo()
    fresh = [dataclasses.replace(j, project=j.project + "-fresh") for j in jobs]
    uninterrupted = tuning.search_all(fresh, data, partitions, context, workers=1, stage="test", progress=False)
    assert [r.job.emotion for r in resumed] == [0, 2, 5]
    for a, b in zip(resumed, uninterrupted):
        assert [(t.arch, t.val_loss, t.history) for t in a.trials] == \
            [(t.arch, t.val_loss, t.history) for t in b.trials]
        assert a.best == b.best
    # Trained alone, a trial gives the same numbers within the batched trainer's tolerance.
    alone = tuning.search(dataclasses.replace(jobs[1], project="alone"), data, partitions, context)
    np.testing.assert_allclose([t.val_loss for t in alone.trials], [t.val_loss for t in resumed[1].trials],
                               rtol=1e-4)


def test_changed_settings_start_a_new_project(setting):
    job, data, partitions, context = setting
    other = search_job(2, _grid([2], job.directory), data, partitions[0], context, landmarks=job.landmarks)
    assert other.project != job.project
    hyperband = search_job(2, _grid([2, 3, 4], job.directory, strategy="hyperband"), data, partitions[0],
                           context, landmarks=job.landmarks)
    assert hyperband.project != job.project
    again = search_job(2, _grid([2, 3, 4], job.directory), data, partitions[0], context, landmarks=job.landmarks)
    assert again.project == job.project


@pytest.fixture
def hyperband_setting(tmp_path):
    """Hyperband over a 6-point grid with train.epochs = 9 and factor 3: brackets of 9, 3 and
    1 epochs; every point gets a first round, the best go on from their weights."""
    landmarks, splits = write_dataset(tmp_path / "data")
    train = dataclasses.replace(PARAMS.train, epochs=9, patience=9, learning_rate=0.01)
    context = TrainingContext(landmarks, splits, PARAMS.model, train)
    data = load_landmarks(landmarks)
    partitions = load_partitions(splits, len(data.y))
    grid = _grid([2, 3, 4], tmp_path / "tuner", lstm_units=[3, 5], strategy="hyperband")
    job = search_job(2, grid, data, partitions[0], context, landmarks=tuple(range(8, 24)))
    return job, data, partitions, context


def _signature(trial):
    return (trial.arch.filters, trial.arch.units, trial.hyperband.round, trial.hyperband.epoch_budget)


def test_hyperband_searches_the_grid_values_and_continues_the_best(hyperband_setting):
    job, data, partitions, context = hyperband_setting
    result = tuning.search(job, data, partitions, context)
    grid = {(f, u) for f in job.filters for u in job.units}
    assert {(t.arch.filters, t.arch.units) for t in result.trials} == grid  # every point tried, nothing else
    assert (result.best.filters, result.best.units) in grid and result.best.neurons == 3
    continued = [t for t in result.trials if t.hyperband.continues]
    assert continued, "no trial went on to a later round"
    by_id = {t.trial: t for t in result.trials}
    for t in continued:  # a later round trains the same point on, for the epochs its budget adds
        parent = by_id[t.hyperband.continues]
        assert parent.arch == t.arch
        assert t.epochs <= t.hyperband.epoch_budget - parent.hyperband.epoch_budget
    assert sum(t.epochs for t in result.trials) < len(grid) * context.train.epochs
    assert not list(Path(job.directory, job.project).rglob(STATE))  # removed once the search ended


def test_interrupted_hyperband_resumes_without_losing_or_repeating_trials(hyperband_setting, monkeypatch):
    job, data, partitions, context = hyperband_setting
    _interrupted_at_fit(4, [job], data, partitions, context, monkeypatch)
    resumed = tuning.search(job, data, partitions, context)
    fresh = tuning.search(dataclasses.replace(job, project=job.project + "-fresh"), data, partitions, context)
    # The interrupted trial is run again; every other trial once: the same trials as uninterrupted.
    assert sorted(map(_signature, resumed.trials)) == sorted(map(_signature, fresh.trials))
    assert resumed.best == fresh.best


@pytest.mark.parametrize("state_file", ["oracle.json", "trial_*/trial.json"])
def test_a_search_state_cut_short_starts_that_search_afresh_said_once(setting, state_file, capsys):
    import keras_tuner.src.utils

    from emo.files import TEMPORARY
    from emo.models import oracles

    job, data, partitions, context = setting
    first = tuning.search(job, data, partitions, context)
    project = Path(job.directory) / job.project
    assert keras_tuner.src.utils.save_json is oracles.save_json  # Keras Tuner's state is written atomically
    assert not [p for p in project.rglob("*") if p.match(TEMPORARY)]
    capsys.readouterr()
    cut = sorted(project.glob(state_file))[0]
    cut.write_text(cut.read_text()[:20])  # as a crash in the middle of a plain write leaves it
    again = tuning.search(job, data, partitions, context)
    err = capsys.readouterr().err
    assert err.count("is unreadable") == 1 and f"{cut} is unreadable (cut short?)" in err
    assert sorted(t.arch.filters for t in again.trials) == [2, 3, 4] and again.best == first.best
