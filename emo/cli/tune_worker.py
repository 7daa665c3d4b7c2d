"""`emo tune-worker`: a worker of a distributed search or final training (Keras Tuner's KERASTUNER_* variables)."""

from __future__ import annotations

import argparse

from emo.errors import EmoError
from emo.models.tuning import distributed_role
from emo.pipeline import params_sections, pipeline_params, retrain_k, train_full, train_timeline, tune


STAGES = {"tune": tune, "train_full": train_full, "train_timeline": train_timeline, "retrain_k": retrain_k}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "tune-worker",
        help="train a distributed chief's search trials or final models (Keras Tuner's KERASTUNER_* variables)",
        description="Join a distributed stage: the chief runs the stage (`dvc repro tune`) with "
                    "KERASTUNER_TUNER_ID=chief; each worker runs this with KERASTUNER_TUNER_ID=tunerN and the "
                    "chief's KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT, in a checkout with the same "
                    "params and data. tune: the search's trials; train_full and train_timeline: the final models "
                    "(tune.directory shared with the chief); retrain_k: both. Workers write no stage output; the chief writes "
                    "the stage's outputs.",
    )
    p.add_argument("stage", choices=list(STAGES), help="whose trials or models to train")
    p.add_argument("--params", default="params.yaml", help="params file (the chief's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    params = pipeline_params(args.params)  # before distributed_role, which imports Keras
    if distributed_role() != "worker":
        raise EmoError(
            "emo tune-worker needs KERASTUNER_TUNER_ID (e.g. tuner0), KERASTUNER_ORACLE_IP and "
            "KERASTUNER_ORACLE_PORT set to the chief's address; see docs/scaling.md."
        )
    stage = STAGES[args.stage]
    stage.run(**params_sections(stage.run, params))
    print(f"{args.stage}: the chief has nothing left for its workers")
