"""A stage's parent run (`stage_run`) and its children, logged in bulk.

Children are one per unit a reader compares: a search (emotion x K: its trials as steps of
`trial.*` metrics, and as a table) and a set of models (emotion x K: each variant's and
selection's test metrics per seed as steps, their mean and std, every model's epochs as a
table). One child per model or per trial would put hundreds of runs in front of the stages'
parents in `mlflow ui` (it pages runs 100 at a time, children included); this way a whole
paper-profile `dvc repro` is about 80 runs. Every parent carries the tags of its pipeline run,
machine and library versions (emo.tracking.provenance).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from emo.config import field_values
from emo.environment import DVC_EXP_NAME
from emo.tracking.provenance import DVC_EXP_TAG, environment, pipeline_tags
from emo.tracking.recovery import HOST_TAG, PID_TAG, ended, mark_killed
from emo.tracking.store import checked_tracking_uri, experiment_id, refusals_explained


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
        with ended(self.client, run.info.run_id):
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
    if os.environ.get(DVC_EXP_NAME):  # set by `dvc exp run` for every stage it runs
        tags[DVC_EXP_TAG] = os.environ[DVC_EXP_NAME]
    with refusals_explained(uri):
        experiment = experiment_id(client)
        killed = mark_killed(client, experiment)
        run = client.create_run(experiment, run_name=stage, tags=tags)
    if killed:
        print(f"{killed} MLflow run(s) left RUNNING by stage processes that ended on this machine (kill -9, "
              "a crash) marked KILLED", file=sys.stderr)
    with ended(client, run.info.run_id):
        flat = [mlflow.entities.Param(k, str(v)[:6000]) for k, v in _flat("", params)]
        for i in range(0, len(flat), 90):  # at most 100 params per batch
            client.log_batch(run.info.run_id, params=flat[i : i + 90])
        yield StageRun(client, run.info.run_id, experiment, stage)
