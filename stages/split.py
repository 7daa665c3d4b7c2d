"""DVC stage split: data/landmarks/landmarks.npz -> data/splits.json."""

from emo.cli import run_stage
from emo.dataset import LANDMARKS_FILE, SPLITS_FILE, load_landmarks
from emo.splits import describe, run_split


def main(params) -> None:
    partitions = run_split(params.split, LANDMARKS_FILE, SPLITS_FILE)
    data = load_landmarks(LANDMARKS_FILE)
    print(describe(partitions, data.y, data.subject))


if __name__ == "__main__":
    run_stage(main)
