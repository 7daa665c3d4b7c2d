"""The `emo` command, and the wrapper every DVC stage script runs in."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from emo.errors import EmoError


def run_stage(main: Callable, params_file: str | Path = "params.yaml") -> None:
    """Load and validate params, run a stage's main(params); a user error becomes one line on
    stderr and exit status 2, without a traceback."""
    from emo.config import load_params

    try:
        main(load_params(params_file))
    except EmoError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; no output was left half-written", file=sys.stderr)
        sys.exit(130)


def _check_params(args: argparse.Namespace) -> None:
    from emo.config import load_params

    load_params(args.file)
    print(f"{args.file}: every key is known and valid")


def _fetch_model(args: argparse.Namespace) -> None:
    from emo.face_model import managed_face_model

    print(managed_face_model())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emo",
        description="Explainable facial-emotion recognition: landmark videos, per-emotion ConvLSTM models, "
        "Integrated Gradients. The pipeline itself runs with `dvc repro`; these commands use what it builds.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check-params", help="validate a params file and report the first bad key")
    p.add_argument("file", nargs="?", default="params.yaml", help="params file (default: params.yaml)")
    p.set_defaults(func=_check_params)

    p = sub.add_parser("fetch-model", help="fetch face_landmarker.task into models/ (checks its sha256)")
    p.set_defaults(func=_fetch_model)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except EmoError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
