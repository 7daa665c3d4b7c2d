"""DVC stage train_full: every emotion x variant x seed on all 468 landmarks -> models/full/."""

from pathlib import Path

from emo.cli import run_stage
from emo.data.dataset import LANDMARKS_FILE, SPLITS_FILE
from emo.models.experiments import mean_std_table, run_train_full

OUT = Path("models/full")
HPARAMS = Path("models/tune/hparams.json")


def main(params) -> None:
    summary = run_train_full(params, LANDMARKS_FILE, SPLITS_FILE, HPARAMS, OUT)
    print(mean_std_table(summary).to_string(index=False))


if __name__ == "__main__":
    run_stage(main)
