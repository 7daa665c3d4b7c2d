"""The `mlflow` processes emo starts (ui, server, models serve), and their bounded shutdown.

`mlflow ui` and `mlflow server` start uvicorn and a job runner, which starts huey consumers
(and restarts them when they end). On SIGTERM the job runner ends at once, while its consumers
take seconds on a loaded machine, orphaned to pid 1 meanwhile; uvicorn's graceful shutdown
waits for open browser connections with no limit; the `mlflow` command waits for uvicorn, then
spends seconds in Python's exit. Waiting for each in turn took 40-50 s (issue 29). So every
process of the tree, recorded before any signal, and of its process group gets SIGTERM at
once, and what is left after GRACE_S gets SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from emo.errors import EmoError

# What an mlflow process tree gets to end on SIGTERM before SIGKILL: uvicorn closes its store,
# and whatever has not ended by then holds nothing that SIGKILL would lose.
GRACE_S = 1.0
KILL_WAIT_S = 2.0  # a bound on the wait after SIGKILL, which the kernel delivers at once


@contextlib.contextmanager
def mlflow_process(args: list[str], port: int, cwd: Path | None = None, health: str = "/health",
                   timeout_s: float = 120.0) -> Iterator[str]:
    """`mlflow <args>` (ui, server, models serve) listening on 127.0.0.1:`port`, until the block
    ends; yields its base URL once `health` answers. Loopback only: the store or model it
    serves is anyone's who can reach the port (see docs/scaling.md for a team's server)."""
    import urllib.request

    mlflow = Path(sys.executable).parent / "mlflow"
    log = tempfile.TemporaryFile("w+")  # a file, not a pipe, which a long session would fill
    # A process group of its own, which stop_tree ends with the tree: a Ctrl-C at the terminal
    # reaches emo alone, which then ends them all within a bound.
    process = subprocess.Popen([str(mlflow), *args, "--host", "127.0.0.1", "--port", str(port)], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=log, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:
            try:
                urllib.request.urlopen(url + health, timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    log.seek(0)
                    last = log.read().strip().splitlines()[-1:] or ["no output"]
                    raise EmoError(f"`mlflow {' '.join(args)}` stopped before it listened on port {port}: "
                                   f"{last[0]}") from None
                if time.time() > deadline:
                    raise EmoError(f"`mlflow {' '.join(args)}` did not answer on port {port} within "
                                   f"{timeout_s:.0f} s.") from None
                time.sleep(0.5)
        yield url
    finally:
        stop_tree(process)
        log.close()


def stop_tree(process: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """`process` (a process group's leader), its group and all its descendants ended: SIGTERM
    to every one at once, SIGKILL to what is left after `grace_s`."""
    with _interrupts_held():
        tree = _tree(process.pid)  # before any signal: a parent that ends first orphans its children
        _signal(tree, process.pid, signal.SIGTERM)
        alive = _running(tree, grace_s)
        if alive:
            # A job runner still alive may have started consumers since: its descendants go too.
            left = alive + [child for p in alive for child in _tree(p.pid)[1:]]
            _signal(left, process.pid, signal.SIGKILL)
            _running(left, KILL_WAIT_S)
        process.wait()


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored in the block (in the main thread, the only one that can):
    a second Ctrl-C while the tree is being ended would otherwise leave part of it running."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in held.items():
            if handler is not None:  # None: set outside Python, which cannot be restored from here
                signal.signal(signum, handler)


def _tree(pid: int) -> list:
    """The process `pid` and its descendants, as psutil processes (none if it has ended)."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _running(processes: list, timeout_s: float) -> list:
    """Those of `processes` still running after at most `timeout_s`. A zombie has ended: only its
    exit status is left, for a parent (or pid 1, which may take seconds) to collect."""
    import psutil

    deadline = time.monotonic() + timeout_s
    while True:
        left = []
        for p in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    left.append(p)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def _signal(processes: list, group: int, signum: int) -> None:
    """`signum` to the process group `group` (what was orphaned from the tree is still in it) and
    to each of `processes` (a job leads a session of its own)."""
    import psutil

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signum)
