"""Stage baselines: linear and RBF SVMs on landmark displacement, on the same partitions."""

from __future__ import annotations

import pandas as pd

from emo import artifacts
from emo.config import BaselineParams
from emo.data.dataset import load_landmarks, load_partitions
from emo.evaluation.baselines import baselines_document, svm_runs
from emo.evaluation.metrics import summarize, summary_metrics
from emo.files import write_csv, write_json
from emo.tracking import stage_run

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS)
OUTPUTS = (artifacts.BASELINE_RUNS, artifacts.BASELINE_METRICS)


def run(baselines: BaselineParams) -> pd.DataFrame:
    data = load_landmarks(artifacts.LANDMARKS)
    with stage_run("baselines", baselines=baselines) as run:
        runs = svm_runs(data.X, data.y, load_partitions(artifacts.SPLITS, len(data.y)), baselines)
        run.log_metrics(summary_metrics(summarize(runs)))
    write_csv(artifacts.BASELINE_RUNS, runs)
    write_json(artifacts.BASELINE_METRICS, baselines_document(runs))
    print(runs.groupby(["variant", "emotion"], sort=False).accuracy.agg(["mean", "std"]).round(3).to_string())
    return runs
