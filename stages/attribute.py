"""DVC stage attribute: the dataset-wide IG ranking of the 468 landmarks per emotion."""

from pathlib import Path

from emo.cli import run_stage
from emo.data.dataset import LANDMARKS_FILE, SPLITS_FILE
from emo.explanation.global_attribution import run_attribute

MODELS = Path("models/full/models")
OUT = Path("data/attributions.npz")
SUMMARY = Path("data/attribution_summary.json")


def main(params) -> None:
    summary = run_attribute(params, LANDMARKS_FILE, SPLITS_FILE, MODELS, OUT, SUMMARY)
    for emotion, d in summary.items():
        print(f"{emotion:10s} |completeness error| mean {d['completeness_abs_mean']:.4f}, "
              f"seed Spearman {d['seed_spearman']}, top-64 overlap {d['seed_top64_overlap']}, top16 {d['top16']}")


if __name__ == "__main__":
    run_stage(main)
