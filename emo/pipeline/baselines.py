"""Stage baselines: linear and RBF SVMs on landmark displacement, on the same partitions."""

from __future__ import annotations

import sys

import pandas as pd

from emo import artifacts
from emo.config import BaselineParams
from emo.data.dataset import load_landmarks, load_partitions, named_sequences
from emo.evaluation.baselines import LEFT_OUT_REASON, baselines_document, scalable, svm_runs
from emo.evaluation.metrics import summarize, summary_metrics
from emo.files import write_csv, write_json
from emo.tracking.runs import stage_run

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS)
OUTPUTS = (artifacts.BASELINE_RUNS, artifacts.BASELINE_METRICS)


def run(baselines: BaselineParams) -> pd.DataFrame:
    data = load_landmarks(artifacts.LANDMARKS)
    partitions = load_partitions(artifacts.SPLITS, labels=data.y)
    left_out = data.sequence[~scalable(data.X)]
    if len(left_out):
        print(f"baselines: left out {named_sequences(left_out)}: {LEFT_OUT_REASON}.", file=sys.stderr)
    with stage_run("baselines", baselines=baselines) as run:
        runs = svm_runs(data.X, data.y, partitions, baselines)
        run.log_metrics({**summary_metrics(summarize(runs)), "left_out_videos": len(left_out)})
    write_csv(artifacts.BASELINE_RUNS, runs)
    document = baselines_document(runs)
    if len(left_out):  # only then, so that a complete run's document stays as it was
        document["left_out"] = {"videos": len(left_out), "reason": LEFT_OUT_REASON, "sequences": left_out.tolist()}
    write_json(artifacts.BASELINE_METRICS, document)
    print(runs.groupby(["variant", "emotion"], sort=False).accuracy.agg(["mean", "std"]).round(3).to_string())
    return runs
