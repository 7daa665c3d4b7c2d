"""MLflow: one parent run per stage execution, with the stage's headline numbers as metrics.

DVC owns the files; MLflow owns the comparisons. The store is the local
`sqlite:///mlflow.db` (what a plain `mlflow ui` opens in the repository root) unless
MLFLOW_TRACKING_URI names another, e.g. a shared server.

Children are logged in bulk, one per unit a reader compares: a search (emotion x K: its
trials as steps of `trial.*` metrics, and as a table) and a set of models (emotion x K: each
variant's and selection's test metrics per seed as steps, their mean and std, every model's
epochs as a table). One child per model or per trial would put hundreds of runs in front of
the stages' parents in `mlflow ui` (it pages runs 100 at a time, children included); this
way a whole paper-profile `dvc repro` is about 80 runs. Every parent carries the tags of
its pipeline run (`pipeline`: git commit and params digest), of the machine and of the
library versions (`env.*`), so one filter shows one `dvc repro` and a difference can be traced;
under `dvc exp run`, the DVC experiment's name (`dvc_exp`) as well.

A tracking server is checked to answer before a stage's run opens, and MLflow's later HTTP
calls are bounded (HTTP_BOUNDS): its own retries would leave a stage silent for minutes on a
server that is down. Every run records the host and process that opened it (`emo.host`,
`emo.pid`), so that the next stage marks KILLED the runs left RUNNING by a stage process that
is gone (kill -9, a crash, a power cut); runs of other machines are never touched.

MLflow 3's UI opens an experiment on its GenAI overview unless the browser was switched to
model training before (a browser-side setting), and shows no metric column until one is
picked among hundreds. `runs_page_url` is the address that avoids both: the runs tab, in
model-training mode, with the saved view `headline` (MLflow's shared view state, an
experiment tag) that filters to the report runs and shows the headline numbers as columns.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from emo.config import field_values
from emo.errors import EmoError

DEFAULT_URI = "sqlite:///mlflow.db"
EXPERIMENT = "emo"
# MLflow 3's UI opens an experiment of this kind on its training runs, not its GenAI overview.
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"
# MLflow's shared view state: the UI reads the view named by ?viewStateShareKey= from this tag.
VIEW = "headline"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW}"
DVC_EXP_TAG = "dvc_exp"  # the DVC experiment's name, when a stage runs under `dvc exp run`
SOURCES = ("emo", "stages", "dvc.yaml", "pyproject.toml")  # what "-dirty" in a commit tag refers to
# MLflow's HTTP retries, unless the user set them: a server that stops answering mid-stage fails
# it within about a minute, where MLflow's defaults (7 retries, backoff factor 2, 120 s a request)
# take minutes per call.
HTTP_BOUNDS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "5", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
               "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}
PROBE_TIMEOUT_S = 5
HOST_TAG, PID_TAG = "emo.host", "emo.pid"  # the machine and process that opened a run
VERSIONED = ("keras", "jax", "jaxlib", "tensorflow", "keras-tuner", "numpy", "scipy", "scikit-learn", "pandas",
             "mediapipe", "opencv-contrib-python", "mlflow", "dvc")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_URI)


def checked_tracking_uri() -> str:
    """tracking_uri(); a tracking server must answer within PROBE_TIMEOUT_S, and MLflow's later
    calls to it are bounded by HTTP_BOUNDS (set in the environment where the user has not)."""
    uri = tracking_uri()
    if not uri.startswith(("http://", "https://")):
        return uri
    for name, value in HTTP_BOUNDS.items():
        os.environ.setdefault(name, value)
    from mlflow.exceptions import MlflowException
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    try:  # any answer will do: a refusal is explained by the calls that follow (_refusals_explained)
        http_request(get_default_host_creds(uri), "/health", "GET", max_retries=0, timeout=PROBE_TIMEOUT_S)
    except MlflowException:
        raise EmoError(f"the MLflow tracking server {uri} (MLFLOW_TRACKING_URI) did not answer within "
                       f"{PROBE_TIMEOUT_S} s: start it, correct MLFLOW_TRACKING_URI, or unset it to log to the "
                       f"local store {DEFAULT_URI}.") from None
    return uri


@contextlib.contextmanager
def _refusals_explained(uri: str) -> Iterator[None]:
    """A tracking server's 401 or 403 as one sentence (MLflow's basic-auth app answers so)."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as e:
        what = {401: "refused emo's requests without valid credentials: set MLFLOW_TRACKING_USERNAME and "
                     "MLFLOW_TRACKING_PASSWORD",
                403: f"does not let these credentials log runs to experiment '{EXPERIMENT}': ask its "
                     "administrator for EDIT permission on it"}.get(e.get_http_status_code())
        if what is None:
            raise
        raise EmoError(f"the MLflow tracking server {uri} {what}, or unset MLFLOW_TRACKING_URI to log to the "
                       f"local store {DEFAULT_URI}.") from None


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
def _ended(client, run_id: str) -> Iterator[None]:
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


def git_commit() -> str:
    """HEAD, with '-dirty' when the code (not the pipeline's outputs, which every stage
    changes) differs from it."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *SOURCES],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if done.returncode != 0:
        return "unknown"
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def pipeline_tags(params_file: Path = Path("params.yaml")) -> dict[str, str]:
    """Tags shared by every stage of one `dvc repro`: the commit and a digest of params.yaml."""
    import hashlib

    commit = git_commit()
    digest = hashlib.sha256(params_file.read_bytes()).hexdigest()[:12] if params_file.is_file() else "unknown"
    short = commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")
    return {"git_commit": commit, "params_digest": digest, "pipeline": f"{short}/{digest}"}


def environment() -> dict[str, str]:
    """The machine and library versions that the numbers depend on (another CPU or version
    gives numbers equal within floating-point noise, not bitwise)."""
    import platform
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    env = {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
           "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow")}
    for name in VERSIONED:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return env


def experiment_id(client) -> str:
    """The experiment's id, created (or tagged, if an older version created it) as a
    model-training experiment."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return client.create_experiment(EXPERIMENT, tags={KIND_TAG: KIND})
    if experiment.tags.get(KIND_TAG) != KIND:
        client.set_experiment_tag(experiment.experiment_id, KIND_TAG, KIND)
    return experiment.experiment_id


def save_runs_view(client, experiment: str, metrics: list[str]) -> None:
    """The runs table's view `headline`: the report runs, newest first, with the headline
    metrics, the pipeline tag and the DVC experiment's name as columns."""
    columns = ([f"metrics.`{m}`" for m in metrics] + [f"tags.`{DVC_EXP_TAG}`", "tags.`pipeline`"])
    view = {"searchFilter": "attributes.run_name = 'report'", "orderByKey": "attributes.start_time",
            "orderByAsc": False, "startTime": "ALL", "lifecycleFilter": "Active",
            "selectedColumns": columns, "columnOrder": columns, "columnWidths": {c: 100 for c in columns},
            "runsExpanded": {}}
    client.set_experiment_tag(experiment, VIEW_TAG, json.dumps(view))


def runs_page_url(base: str, experiment: str, view: bool = True) -> str:
    """The experiment's runs in MLflow's UI, in model-training mode, with the headline view
    (which the report stage saves)."""
    return (f"{base}/#/experiments/{experiment}/runs?" + (f"viewStateShareKey={VIEW}&" if view else "")
            + "workflowType=machine_learning")


@contextlib.contextmanager
def mlflow_process(args: list[str], port: int, cwd: Path | None = None, health: str = "/health",
                   timeout_s: float = 120.0) -> Iterator[str]:
    """`mlflow <args>` (ui, server, models serve) listening on 127.0.0.1:`port`, until the block
    ends; yields its base URL once `health` answers. Loopback only: the store or model it
    serves is anyone's who can reach the port (see the README for a team's server)."""
    import sys
    import urllib.request

    mlflow = Path(sys.executable).parent / "mlflow"
    log = tempfile.TemporaryFile("w+")  # a file, not a pipe, which a long session would fill
    # A process group of its own: `mlflow ui` and `server` start uvicorn and job-runner children,
    # which outlive a terminated parent unless the whole group is stopped.
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
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        time.sleep(1)  # the group's children exit after their parent; what is left is killed
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


def metric_name(text: str) -> str:
    """`text` with what MLflow refuses in a metric name (e.g. an apostrophe) left out."""
    return re.sub(r"[^\w.\- /]", "", text)


def _flat(prefix: str, value) -> Iterator[tuple[str, object]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flat(f"{prefix}.{k}" if prefix else str(k), v)
    elif hasattr(value, "__dataclass_fields__"):
        yield from _flat(prefix, field_values(value))
    else:
        yield prefix, value


class StageRun:
    """A stage's parent run; children are logged in one batch call each."""

    def __init__(self, client, run_id: str, experiment_id: str, stage: str):
        self.client = client
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.stage = stage

    def child(
        self,
        name: str,
        params: Mapping[str, object],
        metrics: Mapping[str, float],
        series: Mapping[str, Mapping[int, float]] | None = None,
        tags: Mapping[str, str] | None = None,
        tables: Mapping[str, pd.DataFrame] | None = None,
    ) -> str:
        """A finished child run: metrics, `series` (metric -> step -> value), params and tags in
        batches, `tables` as CSV artifacts."""
        from mlflow.entities import Metric, Param
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        tags = {"stage": self.stage, **(tags or {})}
        run = self.client.create_run(self.experiment_id, run_name=name, tags={MLFLOW_PARENT_RUN_ID: self.run_id, **tags})
        now = int(time.time() * 1000)
        points = [Metric(k, float(v), now, 0) for k, v in metrics.items() if v == v]  # NaN is not logged
        for key, values in (series or {}).items():
            points += [Metric(key, float(v), now, int(step)) for step, v in values.items() if v == v]
        params = [Param(k, str(v)[:6000]) for k, v in params.items()]
        with _ended(self.client, run.info.run_id):
            # The store takes at most 1000 metrics and 100 params per batch.
            for i in range(0, len(points), 900):
                self.client.log_batch(run.info.run_id, metrics=points[i : i + 900])
            for i in range(0, len(params), 100):
                self.client.log_batch(run.info.run_id, params=params[i : i + 100])
            for table_name, table in (tables or {}).items():
                self._log_table(run.info.run_id, table, table_name)
        return run.info.run_id

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        points = [Metric(k, float(v), now, 0) for k, v in metrics.items() if v == v]
        for i in range(0, len(points), 900):  # the store takes at most 1000 metrics per batch
            self.client.log_batch(self.run_id, metrics=points[i : i + 900])

    def log_table(self, table: pd.DataFrame, name: str) -> None:
        """A table as CSV and Markdown artifacts of the parent run."""
        self._log_table(self.run_id, table, name, markdown=True)

    def _log_table(self, run_id: str, table: pd.DataFrame, name: str, markdown: bool = False) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            table.to_csv(Path(tmp) / f"{name}.csv", index=False)
            if markdown:
                (Path(tmp) / f"{name}.md").write_text(table.to_markdown(index=False) + "\n", encoding="utf-8")
            self.client.log_artifacts(run_id, tmp)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def log_file(self, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path))

    def log_folder(self, path: Path) -> None:
        """A folder's files as artifacts under its name."""
        self.client.log_artifacts(self.run_id, str(path), path.name)


@contextlib.contextmanager
def stage_run(stage: str, **params: object) -> Iterator[StageRun]:
    """The parent run of one stage execution, tagged with the stage, its pipeline run (commit
    and params digest), environment (`env.*`) and process (`emo.host`, `emo.pid`), with the
    params sections the stage took flattened (e.g. train.learning_rate); KILLED if the stage is
    interrupted, FAILED if it fails. Runs that stopped stage processes left RUNNING are marked
    KILLED first (mark_killed)."""
    import logging

    import mlflow
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    uri = checked_tracking_uri()
    client = MlflowClient(uri)
    tags = {"stage": stage, **pipeline_tags(), **{f"env.{k}": v for k, v in environment().items()},
            HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    if os.environ.get("DVC_EXP_NAME"):  # set by `dvc exp run` for every stage it runs
        tags[DVC_EXP_TAG] = os.environ["DVC_EXP_NAME"]
    with _refusals_explained(uri):
        experiment = experiment_id(client)
        killed = mark_killed(client, experiment)
        run = client.create_run(experiment, run_name=stage, tags=tags)
    if killed:
        print(f"{killed} MLflow run(s) left RUNNING by stage processes that ended on this machine (kill -9, "
              "a crash) marked KILLED", file=sys.stderr)
    with _ended(client, run.info.run_id):
        flat = [mlflow.entities.Param(k, str(v)[:6000]) for k, v in _flat("", params)]
        for i in range(0, len(flat), 90):  # at most 100 params per batch
            client.log_batch(run.info.run_id, params=flat[i : i + 90])
        yield StageRun(client, run.info.run_id, experiment, stage)
