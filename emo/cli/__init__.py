"""The `emo` command: what a user runs on the pipeline's outputs, beside the DVC stages
(emo/pipeline). One module per command, each with its `add_parser(subparsers)` and `run(args)`;
arguments that several commands take are in emo.cli.arguments."""

from __future__ import annotations

import argparse
import contextlib
import sys

from emo.cli import check_params, explain, fetch_model, predict, timeline, tune_worker, ui
from emo.console import native_logs_hidden, user_errors_reported

# In the order `emo --help` lists them.
COMMANDS = (check_params, fetch_model, ui, tune_worker, predict, explain, timeline)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emo",
        description="Explainable facial-emotion recognition: landmark videos, per-emotion ConvLSTM models, "
        "Integrated Gradients. The pipeline itself runs with `dvc repro`; these commands use what it builds.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    quiet = native_logs_hidden() if hasattr(args, "verbose") and not args.verbose else contextlib.nullcontext()
    try:
        with user_errors_reported(), quiet:
            args.func(args)
    except KeyboardInterrupt:  # a live timeline ends on Ctrl-C inside; anywhere else, stop without a traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
