"""DVC stage tune: grid search of F, Q, R per emotion at L = 468 -> models/tune/."""

from pathlib import Path

from emo.cli import run_stage
from emo.data.dataset import LANDMARKS_FILE, SPLITS_FILE
from emo.models.tuning import run_tune

OUT = Path("models/tune")


def main(params) -> None:
    table = run_tune(params, LANDMARKS_FILE, SPLITS_FILE, OUT)
    print(table[table.chosen].drop(columns="chosen").to_string(index=False))


if __name__ == "__main__":
    run_stage(main)
