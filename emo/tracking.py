"""MLflow: one parent run per stage execution, a child run per trained model or trial.

DVC owns the files; MLflow owns the comparisons. The store is the local
`sqlite:///mlflow.db` (what a plain `mlflow ui` opens in the repository root) unless
MLFLOW_TRACKING_URI names another, e.g. a shared server.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

DEFAULT_URI = "sqlite:///mlflow.db"
EXPERIMENT = "emo"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_URI)


def git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if done.returncode != 0:
        return "unknown"
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _flat(prefix: str, value) -> Iterator[tuple[str, object]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flat(f"{prefix}.{k}" if prefix else str(k), v)
    elif hasattr(value, "__dataclass_fields__"):
        yield from _flat(prefix, {k: getattr(value, k) for k in value.__dataclass_fields__})
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
        history: Mapping[str, list[float]] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        run = self.client.create_run(self.experiment_id, run_name=name, tags={
            MLFLOW_PARENT_RUN_ID: self.run_id, "stage": self.stage, **(tags or {})})
        now = int(time.time() * 1000)
        points = [Metric(k, float(v), now, 0) for k, v in metrics.items() if v == v]  # NaN is not logged
        for key, values in (history or {}).items():
            points += [Metric(f"epoch_{key}", float(v), now, step) for step, v in enumerate(values)]
        self.client.log_batch(run.info.run_id, metrics=points,
                              params=[Param(k, str(v)) for k, v in params.items()],
                              tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()])
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
        with tempfile.TemporaryDirectory() as tmp:
            table.to_csv(Path(tmp) / f"{name}.csv", index=False)
            (Path(tmp) / f"{name}.md").write_text(table.to_markdown(index=False) + "\n")
            self.client.log_artifacts(self.run_id, tmp)

    def log_file(self, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path))


@contextlib.contextmanager
def stage_run(stage: str, params: object) -> Iterator[StageRun]:
    """The parent run of one stage execution, tagged with the stage and the git commit, with the
    stage's params flattened (e.g. train.learning_rate); failed if the stage fails."""
    import logging

    import mlflow
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    client = MlflowClient(tracking_uri())
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
    run = client.create_run(experiment_id, run_name=stage, tags={"stage": stage, "git_commit": git_commit()})
    flat = [mlflow.entities.Param(k, str(v)[:6000]) for k, v in _flat("", params)]
    for i in range(0, len(flat), 90):  # at most 100 params per batch
        client.log_batch(run.info.run_id, params=flat[i : i + 90])
    parent = StageRun(client, run.info.run_id, experiment_id, stage)
    try:
        yield parent
    except BaseException:
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    client.set_terminated(run.info.run_id, "FINISHED")
