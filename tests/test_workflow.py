"""The workflow's promises, tested against real DVC on the smoke profile: incremental reruns,
interruption and resumption (the same numbers from the same params: test_same_numbers.py)."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from emo import artifacts
from tests.support import DVC, ran_stages, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(smoke_repo, tmp_path_factory):
    """A copy of the smoke repository after its full `dvc repro`, for tests that change it."""
    copy = tmp_path_factory.mktemp("workflow") / "repo"
    shutil.copytree(smoke_repo, copy, symlinks=True)
    return copy


def _edit_params(repo: Path, section: str, key: str, value) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _stale_stages(repo: Path) -> set[str]:
    out = json.loads(run([DVC, "status", "--json"], repo).stdout or "{}")
    return set(out)


def test_editing_retrain_k_ks_reruns_only_retrain_k_and_what_reads_it(repo):
    _edit_params(repo, "retrain_k", "ks", [16])
    # `dvc status` names the stages whose own params changed (check_params reads them all;
    # check_rankings scores precision@K at the pipeline's K); report follows once its inputs do.
    assert _stale_stages(repo) == {"check_params", "retrain_k", "check_rankings"}
    out = run([DVC, "repro"], repo).stdout
    # evaluate runs retrain_k's models, and the timeline stages may (timeline.models: paper); register packages them
    ran = ran_stages(out)
    # check_params' output is the same for every valid file: nothing else reruns for it
    assert set(ran) == {"check_params", "check_rankings", "retrain_k", "register", "evaluate@demo_heldout",
                        "timeline@demo", "timeline@heldout", "report"}
    assert ran[-1] == "report" and ran.index("retrain_k") < ran.index("evaluate@demo_heldout")
    assert "K16" in json.loads((repo / artifacts.REPORT_METRICS).read_text())["accuracy"]["temo"]["anger"]


def test_editing_a_train_full_key_leaves_extract_split_and_tune_alone(repo):
    _edit_params(repo, "model", "variants", ["temo"])
    stale = _stale_stages(repo)
    assert "train_full" in stale and not stale & {"face_model", "demo_data", "extract", "split", "tune"}
    _edit_params(repo, "model", "variants", ["temo", "remo"])
    assert _stale_stages(repo) == set()


def test_editing_a_module_stales_every_stage_that_imports_it(repo):
    """emo/data/dataset.py (the landmark tensor's reader and writer) is in the import closure of
    every stage that loads landmarks (the timeline's too: its estimated reference is fitted on
    them), so dvc.yaml lists it and `dvc status` sees the edit; register, which only packages
    saved models, does not import it, so it stays up to date."""
    path = repo / "emo/data/dataset.py"
    original = path.read_text()
    path.write_text(original + "\n# an edit\n")
    try:
        stale = _stale_stages(repo)
    finally:
        path.write_text(original)
    assert stale == {"extract", "split", "tune", "train_full", "train_timeline", "attribute", "rivals",
                     "check_rankings", "baselines", "retrain_k", "evaluate_landmarks@demo_heldout",
                     "evaluate@demo_heldout", "timeline@demo", "timeline@heldout", "report"}
    assert _stale_stages(repo) == set()


def test_new_attributions_with_the_same_rankings_leave_retrain_k_alone(repo):
    """retrain_k reads the rankings alone (data/rankings.json): attributions that change
    elsewhere (here Figure 2's curves) stale what reads the attributions (the checks, the
    report), not the retraining."""
    path = repo / artifacts.ATTRIBUTIONS
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["alpha_curves"] = arrays["alpha_curves"] / 2
    np.savez(path, **arrays)
    try:
        assert _stale_stages(repo) == {"attribute", "check_rankings", "report"}  # attribute: its output was modified
    finally:
        run([DVC, "checkout", "--force", path.relative_to(repo)], repo)
    assert _stale_stages(repo) == set()


def _wait_for(condition, timeout=300.0):
    start = time.time()
    while not condition():
        if time.time() - start > timeout:
            raise TimeoutError("the awaited state never came")
        time.sleep(0.5)


def test_train_full_killed_midway_leaves_nothing_half_written_and_dvc_redoes_only_it(repo):
    process = subprocess.Popen([DVC, "repro", "-f", "-s", "train_full"], cwd=repo, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    full = repo / artifacts.FULL.root
    _wait_for(lambda: any(full.glob(".models.*.tmp/*/*/*.keras")))
    os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=120)
    time.sleep(1)
    assert not list(full.glob(".*.tmp*")), list(full.iterdir())
    assert not (full / "metrics.json").exists() or json.loads((full / "metrics.json").read_text())
    assert "train_full" in _stale_stages(repo)
    out = run([DVC, "repro", "train_full"], repo).stdout
    # Only train_full is redone: DVC restores its outputs from its run cache (these params and
    # inputs ran before) or runs it again; nothing upstream runs.
    assert ran_stages(out) in ([], ["train_full"])
    assert "'train_full' is cached" in out or ran_stages(out) == ["train_full"]
    assert len(list((full / "models").glob("*/*/*.keras"))) == 6 * 2 * 2
    assert json.loads((full / "metrics.json").read_text())
    assert _stale_stages(repo) == set()


@pytest.mark.parametrize("section, key, value, sentence", [
    ("retrain_k", "ks", [500], "params.yaml: retrain_k.ks holds 500; each value must lie between 1 and 468."),
    ("demo", "out", "data/mine", "params.yaml: demo.out: data/mine already exists and emo did not write it; "
                                 "move it away or choose another output folder."),
])
def test_an_invalid_params_file_stops_dvc_repro_before_any_output_is_deleted(repo, section, key, value, sentence):
    (repo / "data" / "mine").mkdir(exist_ok=True)
    (repo / "data" / "mine" / "notes.txt").write_text("the user's own")
    original = (repo / "params.yaml").read_text()
    outputs = sorted(p for p in (repo / "models").rglob("*") if p.is_file())
    try:
        _edit_params(repo, section, key, value)
        done = run([DVC, "repro"], repo, check=False)
    finally:
        (repo / "params.yaml").write_text(original)
    assert done.returncode != 0
    assert f"error: {sentence}" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert ran_stages(done.stdout) == ["check_params"]
    assert sorted(p for p in (repo / "models").rglob("*") if p.is_file()) == outputs
    assert (repo / "data" / "mine" / "notes.txt").read_text() == "the user's own"


def _git_status(repo: Path) -> set[str]:
    return set(run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout.splitlines())


def test_a_stage_killed_at_a_random_point_leaves_nothing_and_the_next_repro_completes(repo):
    """SIGKILL (no handler runs) to dvc, the stage and its workers, at a random moment of
    `dvc repro -f -s train_full`: git status shows nothing new, and the next `dvc repro` completes."""
    before = _git_status(repo)
    # From DVC's start to the stage's end (about 30 s on the smoke profile): any moment.
    delay = float(np.random.default_rng().uniform(1.0, 30.0))
    print(f"SIGKILL {delay:.1f} s after `dvc repro -f -s train_full` started")  # shown if the test fails
    process = subprocess.Popen([DVC, "repro", "-f", "-s", "train_full"], cwd=repo, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert _git_status(repo) == before
    run([DVC, "repro"], repo)
    assert _stale_stages(repo) == set()
    # A leftover temporary may remain (gitignored, so not in git status) when DVC restored
    # train_full from its run cache instead of running it: the next run of the stage removes it
    # (tests/test_files.py, the leftovers of a dead writer).
    assert _git_status(repo) == before


def test_tune_killed_mid_grid_resumes_without_losing_or_repeating_trials(repo):
    expected = pd.read_csv(repo / artifacts.TUNE_TRIALS)
    shutil.rmtree(repo / artifacts.TUNE)
    tuner = repo / ".tuner"
    process = subprocess.Popen([sys.executable, "stages/tune.py"], cwd=repo, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)

    def some_trial_done():
        return any('"status": "COMPLETED"' in f.read_text() for f in tuner.glob("*/trial_*/trial.json"))

    _wait_for(some_trial_done)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output[-2000:]
    assert "interrupted" in output
    assert not (repo / artifacts.TUNE).exists()
    assert not list((repo / "models").glob(".tune.*"))  # no half-written output left behind
    completed = sum('"status": "COMPLETED"' in f.read_text() for f in tuner.glob("*/trial_*/trial.json"))
    assert 1 <= completed < len(expected)

    run([sys.executable, "stages/tune.py"], repo)
    resumed = pd.read_csv(repo / artifacts.TUNE_TRIALS)
    key = ["emotion", "filters", "units", "neurons"]
    assert len(resumed) == len(expected) and not resumed.duplicated(key).any()
    merged = resumed.merge(expected, on=key, suffixes=("", "_uninterrupted"))
    assert len(merged) == len(expected)
    assert (merged.val_loss == merged.val_loss_uninterrupted).all()
    assert (merged.chosen == merged.chosen_uninterrupted).all()
    assert not any(tuner.iterdir())  # the search state is gone once the outputs are written
