"""DVC stage split: data/landmarks/landmarks.npz -> data/splits.json."""

from emo.cli import run_stage
from emo.data.dataset import LANDMARKS_FILE, SPLITS_FILE, load_landmarks
from emo.data.splits import describe, partition_sizes, run_split
from emo.tracking import stage_run


def main(params) -> None:
    with stage_run("split", {"split": params.split}) as run:
        partitions = run_split(params.split, LANDMARKS_FILE, SPLITS_FILE)
        run.log_metrics(partition_sizes(partitions))
    data = load_landmarks(LANDMARKS_FILE)
    print(describe(partitions, data.y, data.subject))


if __name__ == "__main__":
    run_stage(main)
