"""MLflow's UI on the pipeline's runs: the address that opens them, and the UI `emo ui` serves.

MLflow 3's UI opens an experiment on its GenAI overview unless the browser was switched to
model training before (a browser-side setting), and shows no metric column until one is
picked among hundreds. `runs_page_url` is the address that avoids both: the runs tab, in
model-training mode, with the saved view `headline` (MLflow's shared view state, an
experiment tag) that filters to the report runs and shows the headline numbers as columns.
"""

from __future__ import annotations

import contextlib
import gc
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from emo.errors import EmoError
from emo.tracking.processes import mlflow_process
from emo.tracking.provenance import DVC_EXP_TAG
from emo.tracking.store import EXPERIMENT, checked_tracking_uri

# MLflow's shared view state: the UI reads the view named by ?viewStateShareKey= from this tag.
VIEW = "headline"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW}"


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


class RunsPage(NamedTuple):
    url: str  # runs_page_url on the UI that serves the store
    view: bool  # whether the headline view is saved (the report stage has run)
    served: bool  # by an `mlflow ui` that emo started, which lives as long as the block


@contextlib.contextmanager
def runs_page(port: int) -> Iterator[RunsPage]:
    """The runs page of the tracking store: a tracking server's own, or that of an `mlflow ui`
    on 127.0.0.1:`port` until the block ends. Inside the block SIGTERM is Ctrl-C
    (KeyboardInterrupt), so that a service manager's `kill` ends the UI's processes too, also
    while it starts."""
    from mlflow.tracking import MlflowClient

    uri = checked_tracking_uri()
    local = uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file()
    experiment = None if local else MlflowClient(uri).get_experiment_by_name(EXPERIMENT)  # no empty store made
    if experiment is None:
        raise EmoError(f"the MLflow store {uri} has no experiment '{EXPERIMENT}' yet; run `dvc repro` first.")
    view = VIEW_TAG in experiment.tags  # the report stage saves it
    if uri.startswith(("http://", "https://")):  # a tracking server serves the UI itself
        yield RunsPage(runs_page_url(uri.rstrip("/"), experiment.experiment_id, view), view, served=False)
        return
    # What exists now lives until the process ends; Python's exit then skips collecting it, which
    # takes seconds on a loaded machine (about 10 s with mlflow imported, under 1 s frozen).
    gc.freeze()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with mlflow_process(["ui", "--backend-store-uri", uri, "--workers", "1"], port) as base:
            yield RunsPage(runs_page_url(base, experiment.experiment_id, view), view, served=True)
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_until_stopped() -> None:
    """Wait for Ctrl-C or SIGTERM (inside runs_page, both are KeyboardInterrupt)."""
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            signal.pause()
