"""`emo predict`: classify videos with the trained models; a table on stdout, as CSV or JSON, or
in a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emo import artifacts
from emo.cli.arguments import model_options
from emo.cli.messages import print_problems, print_timing
from emo.errors import EmoError
from emo.pipeline import pipeline_params
from emo.predict.predictor import Predictor, checked, checked_model_choice
from emo.predict.tables import results_table, table_text, write_table

TABLE_KINDS = {".csv": "csv", ".json": "json"}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", parents=[model_options()],
        help="classify videos with the trained models",
        description="Extract landmarks as the extract stage does, run the six binary models (each seed's, "
                    "averaged) and name the emotion with the highest probability. Run where `dvc repro` ran. "
                    "Columns, always in this order: path, emotion, anger, disgust, fear, happiness, sadness, "
                    "surprise, warning (the clip seems to start at its peak, where the models expect a neutral "
                    "face), error (the path gave no answer: exit status 1).",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="a video file, a folder of frames, or a CK+ sequence folder")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--csv", action="store_true", help="print CSV instead of a table (or write --out as CSV)")
    kind.add_argument("--json", action="store_true", help="print JSON instead of a table (or write --out as JSON)")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="also write the table to FILE.csv or FILE.json (columns: path, emotion, the six "
                        "probabilities, warning, error)")
    p.set_defaults(func=run)


def table_kind(args: argparse.Namespace) -> str | None:
    """What `emo predict` writes: "csv" or "json" (on stdout, or into --out), None for the table
    a reader reads (stdout only)."""
    flag = "csv" if args.csv else "json" if args.json else None
    if args.out is None:
        return flag
    by_suffix = TABLE_KINDS.get(args.out.suffix.lower())
    if flag is None and by_suffix is None:
        raise EmoError(f"--out {args.out}: name a .csv or .json file, or choose the format with --csv or --json.")
    if flag is not None and by_suffix is not None and flag != by_suffix:
        raise EmoError(f"--{flag} and --out {args.out} disagree; name a .{flag} file or drop --{flag}.")
    return flag or by_suffix


def run(args: argparse.Namespace) -> None:
    kind = table_kind(args)
    params = pipeline_params(args.params)
    results = [checked(p) for p in args.paths]
    if all(r.error for r in results):  # no path is a video: answered without loading a model
        models = checked_model_choice(params, artifacts.FULL, artifacts.RETRAIN, args.variant, args.k)
    else:
        with Predictor.from_pipeline(params, args.variant, args.k, quiet=False) as predictor:
            if predictor.neutral is None:
                print(f"note: {artifacts.LANDMARKS} is missing, so no clip is checked for starting at its peak; "
                      "run `dvc repro extract`.", file=sys.stderr)
            results = predictor.video_results(args.paths, progress=len(args.paths) > 1)
        models = predictor.models
    table = results_table(results)
    for_reader = args.out is not None or kind is None  # else stdout carries CSV or JSON alone
    if args.out is not None:
        write_table(table, models, args.out, kind)
    if for_reader:
        print(f"models: {args.variant}, K per emotion: " + ", ".join(f"{m.emotion} {m.k}" for m in models)
              + f" (mean of {len(models[0].files)} seeds)")
        print(table.to_string(index=False, float_format="{:.3f}".format, na_rep=""))
        if args.out is not None:
            print(f"table: {args.out}")
    else:
        sys.stdout.write(table_text(table, models, kind))
    if args.timing:
        print_timing(results, sys.stdout if for_reader else sys.stderr)
    print_problems(results)
    if any(r.error for r in results):
        sys.exit(1)
