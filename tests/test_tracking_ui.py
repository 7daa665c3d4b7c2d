"""`emo ui` ends within 5 s of SIGTERM on a busy CPU, and takes every process it started with it
(issue 29: it took 40-50 s, and mlflow's huey consumers were left running under pid 1). The
bound is the requirement itself (a service manager's stop), not a speed benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from emo.tracking.store import EXPERIMENT
from tests.support import EMO, free_port

pytestmark = pytest.mark.slow
BOUND_S = 5.0
START_S = 180.0  # `emo ui` and `mlflow ui` start, on a loaded machine


def _running(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie has ended: only its exit status is left to collect)."""
    left = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p)
        except psutil.NoSuchProcess:
            pass
    return left


def _serving(ui: subprocess.Popen, port: int, err) -> list[psutil.Process]:
    """`emo ui`'s process tree once its UI answers and the tree has stopped growing (mlflow's job
    runner starts its huey consumers after the server)."""
    deadline, tree, stable_since = time.monotonic() + START_S, [], None
    while time.monotonic() < deadline:
        if ui.poll() is not None:
            err.seek(0)
            pytest.fail(f"emo ui exited with {ui.returncode} before it served:\n{err.read()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
        except OSError:
            time.sleep(0.5)
            continue
        now = [psutil.Process(ui.pid), *psutil.Process(ui.pid).children(recursive=True)]
        if {p.pid for p in now} != {p.pid for p in tree}:
            tree, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 3:
            return tree
        time.sleep(0.5)
    pytest.fail(f"emo ui did not serve on port {port} within {START_S:.0f} s")


def test_emo_ui_ends_with_all_its_processes_within_5_s_of_sigterm_on_a_busy_cpu(tmp_path):
    from mlflow.tracking import MlflowClient

    MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").create_experiment(EXPERIMENT)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}  # the store in tmp_path
    port = free_port()
    busy, tree = [], []
    with open(tmp_path / "stdout", "w+") as out, open(tmp_path / "stderr", "w+") as err:
        ui = subprocess.Popen([EMO, "ui", "--port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=err)
        try:
            tree = _serving(ui, port, err)
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(min(4, max(2, os.cpu_count() or 2)))]
            time.sleep(1)  # the busy loops take the cores
            commands = {p.pid: " ".join(p.cmdline()) for p in tree}
            ui.send_signal(signal.SIGTERM)
            try:
                ui.wait(timeout=BOUND_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"emo ui was still running {BOUND_S:.0f} s after SIGTERM on a busy CPU "
                            "(issue 29: it must end within 5 s)")
            left = _running(tree)
        finally:
            for p in busy:
                p.kill()
                p.wait()
            for p in _running(tree):  # what the test failed on: not left to the next test
                p.kill()
            ui.kill()
            ui.wait()
        out.seek(0)
        err.seek(0)
        printed, complaints = out.read(), err.read()
    assert not left, (f"{len(left)} of the {len(tree)} processes emo ui started still run after it ended: "
                      + "; ".join(commands[p.pid][:120] for p in left))
    assert ui.returncode == 0, f"emo ui exited with {ui.returncode} on SIGTERM:\n{complaints[-3000:]}"
    assert printed.startswith(f"http://127.0.0.1:{port}/#/experiments/")
    # What was ended: uvicorn, mlflow's job runner and its huey consumers (those left running before).
    assert any("huey_consumer" in command for command in commands.values()), commands
