"""DVC stage evaluate@NAME: the trained models on the dataset evaluate.datasets.NAME."""

import sys
from pathlib import Path

from emo.cli import run_stage
from emo.data.dataset import LANDMARKS_FILE
from emo.evaluation.cross_dataset import evaluate_dataset
from emo.data.face_model import resolve_face_model

OUT = Path("models/evaluate")


def main(params) -> None:
    name = sys.argv[1]
    metrics = evaluate_dataset(params, name, OUT / name, LANDMARKS_FILE, resolve_face_model(params.extract.face_model))
    print(f"{name}: {metrics['videos']} videos")
    for config, m in metrics.items():
        if config != "videos":
            print(f"  {config}: six-class accuracy {m['six_class_accuracy']:.3f}, "
                  f"balanced accuracy {m['balanced_accuracy']:.3f}")


if __name__ == "__main__":
    run_stage(main)
