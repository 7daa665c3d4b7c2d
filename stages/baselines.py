"""DVC stage baselines: linear and RBF SVMs on landmark displacement -> models/baselines/."""

from pathlib import Path

from emo.evaluation.baselines import run_baselines
from emo.cli import run_stage
from emo.data.dataset import LANDMARKS_FILE, SPLITS_FILE

OUT = Path("models/baselines")


def main(params) -> None:
    runs = run_baselines(params.baselines, LANDMARKS_FILE, SPLITS_FILE, OUT)
    print(runs.groupby(["variant", "emotion"], sort=False).accuracy.agg(["mean", "std"]).round(3).to_string())


if __name__ == "__main__":
    run_stage(main)
