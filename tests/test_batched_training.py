"""Many models of one shape in one compiled call: each matches the same model trained alone."""

import dataclasses

import numpy as np

from emo.config import load_params
from emo.models.model import Architecture
from emo.models.training import BinaryTask, fit_binaries, fit_binary, model_input
from tests.support import REPO
from tests.synthetic import planted_landmarks

PARAMS = load_params(REPO / "params.yaml")
# Measured: batched and alone differ by at most ~1e-6 relative in any loss after 6 epochs
# (XLA fuses the batched call otherwise); 1e-4 leaves room for another CPU.
TOLERANCE = 1e-4


def _tasks():
    """Tasks of different sizes (so different step counts per epoch), seeds and data."""
    X, y, _ = planted_landmarks(subjects=8, frames=4)
    X = model_input(X, np.arange(8, 24))
    tasks = []
    for i, (n_train, emotion) in enumerate(((24, 2), (16, 3), (30, 2), (20, 1))):
        rows = np.random.default_rng(i).permutation(len(X))
        train, val = rows[:n_train], rows[n_train: n_train + 10]
        tasks.append(BinaryTask(X[train], y[train] == emotion, X[val], y[val] == emotion, seed=20 + i))
    return tasks


def test_models_trained_together_match_each_trained_alone():
    train = dataclasses.replace(PARAMS.train, epochs=8, patience=1, learning_rate=0.05, batch_size=8)
    arch = Architecture(3, 4, 4)
    tasks = _tasks()
    together = fit_binaries(tasks, arch, "temo", PARAMS.model, train)
    stopped_early = 0
    for task, batched in zip(tasks, together):
        alone = fit_binary(task.X_train, task.positive_train, task.X_val, task.positive_val, arch, "temo", task.seed,
                           PARAMS.model, train)
        assert batched.epochs == alone.epochs
        stopped_early += alone.epochs < train.epochs
        for key in alone.history:
            np.testing.assert_allclose(batched.history[key], alone.history[key], rtol=TOLERANCE, atol=1e-6)
        for a, b in zip(batched.model.get_weights(), alone.model.get_weights()):
            np.testing.assert_allclose(a, b, rtol=TOLERANCE, atol=1e-5)
        np.testing.assert_allclose(batched.positive_probability(task.X_val), alone.positive_probability(task.X_val),
                                   atol=1e-5)
    assert stopped_early  # the mask of a stopped model is exercised


def test_batches_follow_shape_and_budget_alone():
    """Models group by shape, in the run list's order, into the fewest batches the budget
    allows, as equal as possible; nothing about cores or workers enters."""
    from emo.models.batches import model_batches, model_bytes, models_per_call

    jobs = [("a", i) for i in range(40)] + [("b", i) for i in range(3)] + [("a", 40)]
    batches = model_batches(jobs, shape=lambda job: job[0], size=lambda job: 32)
    assert [len(b) for b in batches] == [20, 21, 3]
    assert [job for b in batches for job in b] == sorted(jobs[:40] + [("a", 40)]) + jobs[40:43]
    assert model_batches(jobs, shape=lambda job: job[0], size=lambda job: 1) == [[job] for job in
                                                                                  sorted(jobs[:40] + [("a", 40)]) + jobs[40:43]]
    small, large = (model_bytes(8, L, Architecture(4, 16, 16), 16, 8) for L in (16, 468))
    assert models_per_call(small, 8) > 8 and models_per_call(large, 8) == 1
    assert models_per_call(small, 16_384) == 128  # the cap


def test_run_batches_give_the_same_runs_with_any_number_of_workers(tmp_path):
    """The runs of a run list, trained in batches, are the same in one process and in two."""
    from emo.models.runs import RunSpec, TrainingContext, run_batches
    from tests.synthetic import write_dataset

    landmarks_file, splits_file = write_dataset(tmp_path, seeds=(0, 1))
    train = dataclasses.replace(PARAMS.train, epochs=2, budget_mb=1)
    context = TrainingContext(landmarks_file, splits_file, PARAMS.model, train)
    specs = [RunSpec(emotion, variant, partition, Architecture(3, 4, 4), landmarks=tuple(range(8, 24)))
             for emotion in (1, 2) for variant in ("temo", "remo") for partition in (0, 1)]
    results = {}
    for workers in (1, 2):
        runs = {r.spec: r for r in run_batches(specs, context, frames=4, workers=workers)}
        results[workers] = [(runs[s].history, runs[s].test_probability.tolist()) for s in specs]
    assert results[1] == results[2]
