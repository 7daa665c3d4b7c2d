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
import subprocess
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
VERSIONED = ("keras", "jax", "jaxlib", "tensorflow", "keras-tuner", "numpy", "scipy", "scikit-learn", "pandas",
             "mediapipe", "opencv-contrib-python", "mlflow", "dvc")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_URI)


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
        # The store takes at most 1000 metrics and 100 params per batch.
        for i in range(0, len(points), 900):
            self.client.log_batch(run.info.run_id, metrics=points[i : i + 900])
        for i in range(0, len(params), 100):
            self.client.log_batch(run.info.run_id, params=params[i : i + 100])
        for table_name, table in (tables or {}).items():
            self._log_table(run.info.run_id, table, table_name)
        self.client.set_terminated(run.info.run_id)
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
    and params digest) and environment (`env.*`), with the params sections the stage took
    flattened (e.g. train.learning_rate); failed if the stage fails."""
    import logging

    import mlflow
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    client = MlflowClient(tracking_uri())
    experiment = experiment_id(client)
    tags = {"stage": stage, **pipeline_tags(), **{f"env.{k}": v for k, v in environment().items()}}
    if os.environ.get("DVC_EXP_NAME"):  # set by `dvc exp run` for every stage it runs
        tags[DVC_EXP_TAG] = os.environ["DVC_EXP_NAME"]
    run = client.create_run(experiment, run_name=stage, tags=tags)
    flat = [mlflow.entities.Param(k, str(v)[:6000]) for k, v in _flat("", params)]
    for i in range(0, len(flat), 90):  # at most 100 params per batch
        client.log_batch(run.info.run_id, params=flat[i : i + 90])
    parent = StageRun(client, run.info.run_id, experiment, stage)
    try:
        yield parent
    except BaseException:
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    client.set_terminated(run.info.run_id, "FINISHED")
