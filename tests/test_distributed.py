"""Keras Tuner's distributed search on loopback: one chief and two worker processes."""

import json
import os
import subprocess
import sys

import pytest

from tests.support import REPO, free_port
from tests.synthetic import write_dataset

pytestmark = pytest.mark.slow


def _start(role, data, tuner, out, port=None, strategy="grid"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env["PYTHONPATH"] = str(REPO)
    if role:
        env.update(KERASTUNER_TUNER_ID=role, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port))
    return subprocess.Popen([sys.executable, "-m", "tests.distributed_helper", str(data), str(tuner), str(out), strategy],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_chief_and_two_workers_run_every_trial_once_and_agree_with_one_process(tmp_path):
    data = tmp_path / "data"
    write_dataset(data, subjects=8)
    port = free_port()
    chief = _start("chief", data, tmp_path / "shared", tmp_path / "chief.json", port)
    workers = [_start(f"tuner{i}", data, tmp_path / "shared", tmp_path / f"worker{i}.json", port) for i in (0, 1)]
    alone = _start(None, data, tmp_path / "alone", tmp_path / "alone.json")
    for process in [chief, *workers, alone]:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]

    chief_out = json.loads((tmp_path / "chief.json").read_text())
    worker_runs = [json.loads((tmp_path / f"worker{i}.json").read_text())["trained"] for i in (0, 1)]
    alone_out = json.loads((tmp_path / "alone.json").read_text())
    # The chief serves the grid and trains nothing; the workers share it, each grid point once.
    assert chief_out["trained"] == []
    trained = sorted(map(tuple, worker_runs[0] + worker_runs[1]))
    assert len(trained) == 2 * 2 * 2 == len(set(trained))
    assert trained == sorted(map(tuple, alone_out["trained"]))
    assert all(runs for runs in worker_runs)  # both workers took part
    # Same trials, same scores, same winners as one process alone.
    assert chief_out["results"] == alone_out["results"]


def test_hyperband_chief_and_two_workers_run_every_trial_once(tmp_path):
    data = tmp_path / "data"
    write_dataset(data, subjects=8)
    port = free_port()
    chief = _start("chief", data, tmp_path / "shared", tmp_path / "chief.json", port, "hyperband")
    workers = [_start(f"tuner{i}", data, tmp_path / "shared", tmp_path / f"worker{i}.json", port, "hyperband")
               for i in (0, 1)]
    for process in [chief, *workers]:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
    chief_out = json.loads((tmp_path / "chief.json").read_text())
    worker_runs = [json.loads((tmp_path / f"worker{i}.json").read_text())["trained"] for i in (0, 1)]
    assert chief_out["trained"] == [] and all(worker_runs)
    trials = [t for result in chief_out["results"] for t in result["trials"]]
    # Every trial the chief records was trained once by one worker; some continue an earlier one.
    assert len(trials) == len(worker_runs[0]) + len(worker_runs[1])
    assert any(t[3] for t in trials)
    for result in chief_out["results"]:
        assert (result["best"]["filters"], result["best"]["units"]) in {(f, u) for f in (2, 3) for u in (3, 4)}
