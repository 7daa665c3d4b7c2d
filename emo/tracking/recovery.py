"""Runs that end as their process does: FINISHED, FAILED, or KILLED when interrupted; and runs
left RUNNING by a stage process that is gone (kill -9, a crash, a power cut), marked KILLED
by the next stage. Every run records the host and process that opened it (`emo.host`,
`emo.pid`) for that; runs of other machines are never touched.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

HOST_TAG, PID_TAG = "emo.host", "emo.pid"  # the machine and process that opened a run


def _gone(pid: int, since_ms: int) -> bool:
    """Whether the process that opened a run at `since_ms` has ended: `pid` is free, a zombie,
    or another process's, started after the run (pids are reused)."""
    import psutil

    try:
        process = psutil.Process(pid)
        # create_time is derived from the boot time, which the kernel gives in whole seconds
        return process.status() == psutil.STATUS_ZOMBIE or process.create_time() > since_ms / 1000 + 1
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:  # another user's process: alive, and not ours to judge
        return False


def mark_killed(client, experiment: str) -> int:
    """Runs left RUNNING by this machine's stage processes that have ended, and their children,
    marked KILLED; their number. Runs opened on other hosts (distributed tuning workers, other
    users of a shared server) are left as they are."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    host = socket.gethostname()
    running = client.search_runs([experiment], "attributes.status = 'RUNNING'")
    dead = {r.info.run_id for r in running
            if r.data.tags.get(HOST_TAG) == host and PID_TAG in r.data.tags
            and _gone(int(r.data.tags[PID_TAG]), r.info.start_time)}
    dead |= {r.info.run_id for r in running if r.data.tags.get(MLFLOW_PARENT_RUN_ID) in dead}
    for run_id in dead:
        client.set_terminated(run_id, "KILLED")
    return len(dead)


@contextlib.contextmanager
def ended(client, run_id: str) -> Iterator[None]:
    """The run FINISHED when the block ends, KILLED when it is interrupted (Ctrl-C, or SIGTERM,
    which run_stage turns into KeyboardInterrupt), FAILED when it raises."""
    try:
        yield
    except KeyboardInterrupt:
        client.set_terminated(run_id, "KILLED")
        raise
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
