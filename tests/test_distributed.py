"""Keras Tuner's distributed search on loopback: one chief and two worker processes; a
client that takes a trial and never ends it."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from emo.errors import EmoError
from emo.evaluation.metrics import METRICS, TIMINGS
from tests.support import REPO, free_port
from tests.synthetic import write_dataset

pytestmark = pytest.mark.slow


def _start(role, data, tuner, out, port=None, strategy="grid", timeout=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_") and k != "EMO_TRIAL_TIMEOUT_S"}
    env["PYTHONPATH"] = str(REPO)
    if timeout is not None:
        env["EMO_TRIAL_TIMEOUT_S"] = str(timeout)
    if role:
        env.update(KERASTUNER_TUNER_ID=role, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port))
    return subprocess.Popen([sys.executable, "-m", "tests.distributed_helper", str(data), str(tuner), str(out), strategy],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _chief_and_two_workers(tmp_path, strategy: str, alone: bool) -> tuple[dict, list[list], dict | None]:
    """A chief and two workers on loopback (and, if `alone`, the same work in one process
    beside them), run to the end: the chief's output, each worker's trained list, the lone
    process's output."""
    data = tmp_path / "data"
    write_dataset(data, subjects=8)
    port = free_port()
    processes = [_start("chief", data, tmp_path / "shared", tmp_path / "chief.json", port, strategy)]
    processes += [_start(f"tuner{i}", data, tmp_path / "shared", tmp_path / f"worker{i}.json", port, strategy)
                  for i in (0, 1)]
    if alone:
        processes.append(_start(None, data, tmp_path / "alone", tmp_path / "alone.json", strategy=strategy))
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
    worker_runs = [json.loads((tmp_path / f"worker{i}.json").read_text())["trained"] for i in (0, 1)]
    return (json.loads((tmp_path / "chief.json").read_text()), worker_runs,
            json.loads((tmp_path / "alone.json").read_text()) if alone else None)


def test_chief_and_two_workers_run_every_trial_once_and_agree_with_one_process(tmp_path):
    chief_out, worker_runs, alone_out = _chief_and_two_workers(tmp_path, "grid", alone=True)
    # The chief serves the grid and trains nothing; the workers share it, each grid point once.
    assert chief_out["trained"] == []
    trained = sorted(map(tuple, worker_runs[0] + worker_runs[1]))
    assert len(trained) == 2 * 2 * 2 == len(set(trained))
    assert trained == sorted(map(tuple, alone_out["trained"]))
    assert all(runs for runs in worker_runs)  # both workers took part
    # Same trials, same winners as one process alone, and the same scores within the batched
    # trainer's tolerance: which trials share a call depends on which worker asked first.
    for chief_job, alone_job in zip(chief_out["results"], alone_out["results"], strict=True):
        assert (chief_job["emotion"], chief_job["best"]) == (alone_job["emotion"], alone_job["best"])
        assert [t[:2] for t in chief_job["trials"]] == [t[:2] for t in alone_job["trials"]]
        np.testing.assert_allclose([t[2] for t in chief_job["trials"]], [t[2] for t in alone_job["trials"]], rtol=1e-4)


def test_hyperband_chief_and_two_workers_run_every_trial_once(tmp_path):
    chief_out, worker_runs, _ = _chief_and_two_workers(tmp_path, "hyperband", alone=False)
    assert chief_out["trained"] == [] and all(worker_runs)
    trials = [t for result in chief_out["results"] for t in result["trials"]]
    # Every trial the chief records was trained once by one worker; some continue an earlier one.
    assert len(trials) == len(worker_runs[0]) + len(worker_runs[1])
    assert any(t[3] for t in trials)
    for result in chief_out["results"]:
        assert (result["best"]["filters"], result["best"]["units"]) in {(f, u) for f in (2, 3) for u in (3, 4)}


def test_train_full_chief_and_two_workers_give_the_runs_of_one_process(tmp_path):
    """train_full's runs served by a chief to two workers: every run trained once, by one
    worker; the chief's runs table equals one process's (the numbers within the batched
    trainer's tolerance: which runs share a call depends on which worker asked first), and
    every model is saved where the chief's run list puts it."""
    chief_out, worker_runs, alone_out = _chief_and_two_workers(tmp_path, "runs", alone=True)
    assert chief_out["trained"] == [] and all(worker_runs)
    assert len(set(worker_runs[0] + worker_runs[1])) == len(worker_runs[0] + worker_runs[1]) == len(chief_out["runs"])
    chief_runs, alone_runs = pd.DataFrame(chief_out["runs"]), pd.DataFrame(alone_out["runs"])
    numbers = ["val_loss", *METRICS]
    pd.testing.assert_frame_equal(chief_runs.drop(columns=numbers + list(TIMINGS)),
                                  alone_runs.drop(columns=numbers + list(TIMINGS)))
    pd.testing.assert_frame_equal(chief_runs[numbers], alone_runs[numbers], rtol=1e-4)
    assert chief_out["models"] == alone_out["models"] and len(chief_out["models"]) == len(chief_out["runs"])
    assert not (tmp_path / "shared" / "test-runs").exists()  # removed once the chief has its results


def test_a_trial_nobody_ends_stops_the_chief_in_time_and_a_rerun_resumes_the_search(tmp_path):
    import grpc
    from keras_tuner.engine.trial import Trial
    from keras_tuner.src import protos  # Keras Tuner's gRPC messages, as its workers send them

    data = tmp_path / "data"
    write_dataset(data, subjects=8)
    port = free_port()
    chief = _start("chief", data, tmp_path / "shared", tmp_path / "chief.json", port, timeout=4)
    service, stub = protos.get_service(), protos.get_service_grpc().OracleStub(
        grpc.insecure_channel(f"127.0.0.1:{port}"))
    # An intruder takes a trial and never ends it.
    taken = stub.CreateTrial(service.CreateTrialRequest(tuner_id="intruder"), wait_for_ready=True, timeout=300).trial
    start = time.monotonic()
    # Results for a trial the chief never handed out, or with other values than handed out, are refused.
    with pytest.raises(grpc.RpcError) as refused:
        stub.UpdateTrial(service.UpdateTrialRequest(trial_id="0007", metrics={"val_loss": 0.0}), timeout=30)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == "trial '0007' is not running on this chief: it was never handed out or has ended"
    forged = Trial.from_proto(taken)
    forged.hyperparameters.values["filters"] = 3
    forged.status = "COMPLETED"
    with pytest.raises(grpc.RpcError) as refused:
        stub.EndTrial(service.EndTrialRequest(trial=forged.to_proto()), timeout=30)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    output, _ = chief.communicate(timeout=120)
    waited = time.monotonic() - start
    assert chief.returncode == 2, output[-3000:]
    assert output.strip().splitlines()[-1] == (
        "error: The chief waited 4 s (EMO_TRIAL_TIMEOUT_S) for worker 'intruder' to finish trial 0000 of the "
        "disgust K16 search (F=2, Q=3, R=3) and stopped without writing any output: check that worker (and "
        "that only your own workers can reach the oracle's port), then rerun the chief, which resumes the "
        "search and offers that trial again, or raise EMO_TRIAL_TIMEOUT_S if trials take that long.")
    assert 4 <= waited < 4 + 10  # the chief checks every second
    assert not (tmp_path / "chief.json").exists()

    # A rerun (the default timeout) resumes the search: the intruder's trial goes to a real worker.
    port = free_port()
    chief = _start("chief", data, tmp_path / "shared", tmp_path / "chief.json", port)
    worker = _start("tuner0", data, tmp_path / "shared", tmp_path / "worker.json", port)
    for process in (chief, worker):
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
    results = json.loads((tmp_path / "chief.json").read_text())["results"]
    assert [len(r["trials"]) for r in results] == [4, 4]
    assert len(json.loads((tmp_path / "worker.json").read_text())["trained"]) == 8


@pytest.mark.parametrize("text", ["soon", "0", "-5", "nan", "inf"])
def test_a_bad_trial_timeout_is_one_sentence(monkeypatch, text):
    from emo.models.oracles import trial_timeout

    monkeypatch.setenv("EMO_TRIAL_TIMEOUT_S", text)
    with pytest.raises(EmoError) as error:
        trial_timeout()
    assert str(error.value) == (
        f"EMO_TRIAL_TIMEOUT_S is {text!r}; give the seconds a worker may take over one trial before the chief "
        "gives up, a number above 0 (unset: 21600, 6 h).")


def test_the_trial_timeout_defaults_to_six_hours(monkeypatch):
    from emo.models.oracles import trial_timeout

    monkeypatch.delenv("EMO_TRIAL_TIMEOUT_S", raising=False)
    assert trial_timeout() == 6 * 3600
    monkeypatch.setenv("EMO_TRIAL_TIMEOUT_S", "90.5")
    assert trial_timeout() == 90.5


def test_the_chief_ends_when_a_worker_that_ended_its_last_trial_never_asks_again(tmp_path, monkeypatch):
    import threading

    import grpc
    import keras_tuner
    from keras_tuner.engine.trial import Trial
    from keras_tuner.src import protos

    from emo.models.oracles import GridOracle, JobsOracle, serve

    port = free_port()
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(port))
    space = keras_tuner.HyperParameters()
    space.Fixed("job", 0)
    for name in ("filters", "units", "neurons"):
        space.Choice(name, [2])
    objective = keras_tuner.Objective("val_loss", "min")
    oracle = JobsOracle(objective, [GridOracle(objective, 1, space)], ["anger K16"])
    oracle._set_project_dir(tmp_path, "search")  # as Keras Tuner's BaseTuner does, for the oracle's saves
    oracle.verbose = 0
    served = threading.Thread(target=serve, args=(oracle, 60), kwargs={"poll": 0.05, "gone_after": 1})
    served.start()
    service, stub = protos.get_service(), protos.get_service_grpc().OracleStub(
        grpc.insecure_channel(f"127.0.0.1:{port}"))
    ask = dict(wait_for_ready=True, timeout=30)
    trial = Trial.from_proto(stub.CreateTrial(service.CreateTrialRequest(tuner_id="tuner0"), **ask).trial)
    stub.UpdateTrial(service.UpdateTrialRequest(trial_id=trial.trial_id, metrics={"val_loss": 0.5}), **ask)
    trial.status = "COMPLETED"
    stub.EndTrial(service.EndTrialRequest(trial=trial.to_proto()), **ask)
    # tuner0 is gone before it hears that the grid is done; tuner1 hears it.
    stopped = Trial.from_proto(stub.CreateTrial(service.CreateTrialRequest(tuner_id="tuner1"), **ask).trial)
    assert stopped.status == "STOPPED"
    start = time.monotonic()
    served.join(timeout=30)
    assert not served.is_alive() and time.monotonic() - start < 10
    assert oracle.tuner_ids == {"tuner0"} and oracle.trials[trial.trial_id].score == 0.5
