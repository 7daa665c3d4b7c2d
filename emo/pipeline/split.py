"""Stage split: the landmark tensor -> one train/validation/test partition per seed."""

from __future__ import annotations

from emo import artifacts
from emo.config import SplitParams
from emo.data.dataset import Partition, load_landmarks, require_every_emotion
from emo.data.splits import describe, make_partitions, partition_sizes, partitions_document
from emo.files import write_json
from emo.tracking.runs import stage_run

INPUTS = (artifacts.LANDMARKS,)
OUTPUTS = (artifacts.SPLITS,)


def run(split: SplitParams) -> list[Partition]:
    data = load_landmarks(artifacts.LANDMARKS)
    with stage_run("split", split=split) as run:
        require_every_emotion(data.y, str(artifacts.LANDMARKS))
        partitions = make_partitions(data.y, data.subject, split)
        write_json(artifacts.SPLITS, partitions_document(partitions, split, len(data.y)))
        run.log_metrics(partition_sizes(partitions))
    print(describe(partitions, data.y, data.subject))
    return partitions
