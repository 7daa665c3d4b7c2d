"""`emo check-params`: validate a params file and report the first bad key."""

from __future__ import annotations

import argparse

from emo.config import load_params


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check-params", help="validate a params file and report the first bad key")
    p.add_argument("file", nargs="?", default="params.yaml", help="params file (default: params.yaml)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    load_params(args.file)
    print(f"{args.file}: every key is known and valid")
