"""MLflow tracking faults: a tracking server that is down or silent, and runs left RUNNING by
stage processes that were killed or interrupted."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from emo.errors import EmoError
from emo.tracking.recovery import HOST_TAG, PID_TAG
from emo.tracking.runs import stage_run
from emo.tracking.store import DEFAULT_URI, EXPERIMENT, PROBE_TIMEOUT_S
from tests.support import REPO, free_port


def unreachable(uri: str) -> str:
    return (f"the MLflow tracking server {uri} (MLFLOW_TRACKING_URI) did not answer within {PROBE_TIMEOUT_S} s: "
            f"start it, correct MLFLOW_TRACKING_URI, or unset it to log to the local store {DEFAULT_URI}.")


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """A local store of the test's own, and the test in a folder of its own."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    return uri


def test_a_stage_whose_tracking_server_is_down_stops_at_once_with_one_sentence(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path)
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(REPO)}
    # The timeout only stops a hang (MLflow's own retries took about 3 minutes) from stalling the suite.
    done = subprocess.run([sys.executable, str(REPO / "stages" / "face_model.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (2, f"error: {unreachable(uri)}\n")
    assert os.listdir(tmp_path) == ["params.yaml"]


def test_a_tracking_server_that_accepts_but_never_answers_stops_the_stage_run(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are queued, never accepted nor answered
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        with pytest.raises(EmoError) as stopped, stage_run("check"):
            pass
    assert str(stopped.value) == unreachable(uri)


VICTIM = """
import sys
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from emo.tracking.runs import stage_run

with stage_run("victim") as run:
    child = run.client.create_run(run.experiment_id, run_name="child", tags={MLFLOW_PARENT_RUN_ID: run.run_id})
    print(run.run_id, child.info.run_id, flush=True)
    sys.stdin.read()  # until killed
"""


def test_runs_of_a_killed_stage_are_marked_killed_by_the_next_one_and_other_hosts_runs_are_left(store, capsys):
    from mlflow.tracking import MlflowClient

    victim = subprocess.Popen([sys.executable, "-c", VICTIM], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    with victim:
        opened = victim.stdout.readline().split()
        victim.kill()
    assert len(opened) == 2, "the victim stage did not open its run"
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    host = socket.gethostname()
    # A tuning worker's run on another machine, and a run this very process holds open: both alive.
    elsewhere = client.create_run(experiment, tags={HOST_TAG: "another-host", PID_TAG: "1"}).info.run_id
    alive = client.create_run(experiment, tags={HOST_TAG: host, PID_TAG: str(os.getpid())}).info.run_id
    # A run whose pid now belongs to a process started after the run: its own process is gone.
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as later:
        reused = client.create_run(experiment, start_time=int(time.time() * 1000) - 60_000,
                                   tags={HOST_TAG: host, PID_TAG: str(later.pid)}).info.run_id
        with stage_run("next") as run:
            pass
        later.stdin.close()
    status = {r: client.get_run(r).info.status for r in [*opened, reused, elsewhere, alive, run.run_id]}
    assert list(status.values()) == ["KILLED", "KILLED", "KILLED", "RUNNING", "RUNNING", "FINISHED"]
    assert capsys.readouterr().err == ("3 MLflow run(s) left RUNNING by stage processes that ended on this machine "
                                       "(kill -9, a crash) marked KILLED\n")


@pytest.mark.parametrize(("stop", "status"), [(KeyboardInterrupt, "KILLED"), (ValueError, "FAILED")])
def test_an_interrupted_stage_run_ends_killed_and_a_failed_one_failed(store, stop, status):
    from mlflow.tracking import MlflowClient

    with pytest.raises(stop), stage_run("stopped") as run:
        run.child("child", {}, {"accuracy": 0.5})
        raise stop
    assert MlflowClient(store).get_run(run.run_id).info.status == status
