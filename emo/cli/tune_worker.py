"""`emo tune-worker`: a worker of a distributed grid search (Keras Tuner's KERASTUNER_* variables)."""

from __future__ import annotations

import argparse

from emo.errors import EmoError
from emo.models.tuning import distributed_role
from emo.pipeline import params_sections, pipeline_params, retrain_k, tune


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "tune-worker",
        help="train grid-search trials for a distributed chief (Keras Tuner's KERASTUNER_* variables)",
        description="Join a distributed grid search: the chief runs the stage (`dvc repro tune`) with "
                    "KERASTUNER_TUNER_ID=chief; each worker runs this with KERASTUNER_TUNER_ID=tunerN and the "
                    "chief's KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT, in a checkout with the same "
                    "params and data. Workers write nothing; the chief writes the stage's outputs.",
    )
    p.add_argument("stage", choices=["tune", "retrain_k"], help="whose grid to work on")
    p.add_argument("--params", default="params.yaml", help="params file (the chief's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    params = pipeline_params(args.params)  # before distributed_role, which imports Keras
    if distributed_role() != "worker":
        raise EmoError(
            "emo tune-worker needs KERASTUNER_TUNER_ID (e.g. tuner0), KERASTUNER_ORACLE_IP and "
            "KERASTUNER_ORACLE_PORT set to the chief's address; see docs/scaling.md."
        )
    stage = tune if args.stage == "tune" else retrain_k
    stage.run(**params_sections(stage.run, params))
    print(f"{args.stage}: the chief's grid is done")
