"""DVC stage retrain_k: the top-K landmarks per emotion, with random-K and bottom-K controls."""

from pathlib import Path

from emo.cli import run_stage
from emo.data.dataset import LANDMARKS_FILE, SPLITS_FILE
from emo.models.experiments import mean_std_table, run_retrain_k

OUT = Path("models/retrain_k")
ATTRIBUTIONS = Path("data/attributions.npz")
TUNED = Path("models/tune/hparams.json")


def main(params) -> None:
    summary = run_retrain_k(params, LANDMARKS_FILE, SPLITS_FILE, ATTRIBUTIONS, TUNED, OUT)
    for (k, selection), part in summary.groupby(["K", "selection"], sort=False):
        print(f"K = {k}, {selection}:")
        print(mean_std_table(part).to_string(index=False))


if __name__ == "__main__":
    run_stage(main)
