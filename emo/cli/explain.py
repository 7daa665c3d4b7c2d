"""`emo explain`: which landmarks made each video's decision, drawn on the face (PNG, MP4) and
written as numbers (JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emo.cli.arguments import at_least_one, landmark_count, model_options, moment_option
from emo.cli.messages import print_problems, print_timing
from emo.data.emotions import EMOTIONS
from emo.errors import EmoError
from emo.pipeline import pipeline_params
from emo.predict.explain import (explain_video, explanation_files, explanation_names, refuse_to_overwrite,
                                 write_explanation)
from emo.predict.predictor import Predictor


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "explain", parents=[model_options()],
        help="show which landmarks made the decision, on the face",
        description="Integrated Gradients of each video against the typical videos of the other emotions (as "
                    "the attribute stage chose them); writes a PNG of the peak frame, an H.264 MP4 of every "
                    "frame and a JSON of the per-landmark attribution and the face regions that carry it.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="a video file, a folder of frames, or a CK+ sequence folder")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for the PNG, MP4 and JSON: NAME_EMOTION.png etc., NAME the video's path relative to "
                        "the folder holding every PATH (one PATH: its name)")
    p.add_argument("--overwrite", action="store_true", help="replace files of an earlier explanation (else refused)")
    p.add_argument("--emotion", help="explain this emotion instead of the predicted one")
    moment = p.add_mutually_exclusive_group()
    moment.add_argument("--moment", type=moment_option("s"), metavar="START:END",
                        help="explain this stretch of a recording, in seconds (e.g. 12.5:14): it is read as a clip, "
                             "so start it at the neutral face before the expression (the timeline's plot shows where)")
    moment.add_argument("--frames", dest="moment", type=moment_option("frame"), metavar="FIRST:LAST",
                        help="the same, in frame numbers (the timeline table's frame column)")
    p.add_argument("--steps", type=at_least_one, default=64, help="IG steps m (default 64)")
    p.add_argument("--top", type=landmark_count("N"), default=16, metavar="N",
                   help="number the top N landmarks (default 16)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    params = pipeline_params(args.params)
    if args.emotion and args.emotion not in EMOTIONS:
        raise EmoError(f"--emotion {args.emotion} is not one of {', '.join(EMOTIONS)}.")
    names = explanation_names(args.paths, args.moment)  # clashing names are refused before any work
    with Predictor.from_pipeline(params, args.variant, args.k, quiet=False) as predictor:
        results = predictor.video_results(args.paths, args.moment, progress=len(args.paths) > 1, keep_points=True)
        failed = [r.error for r in results if r.error]
        if failed:
            raise EmoError(failed[0] + (f" (and {len(failed) - 1} more failed)" if len(failed) > 1 else ""))
        emotions = [args.emotion or r.emotion for r in results]
        files = [explanation_files(args.out, name, emotion) for name, emotion in zip(names, emotions)]
        if not args.overwrite:
            refuse_to_overwrite(f for paths in files for f in paths.values())
        print_problems(results)
        where = "" if args.moment is None else f" {args.moment.span}"
        for result, name, emotion, paths in zip(results, names, emotions, files):
            explanation = explain_video(predictor, result, emotion, args.steps, params.attribute.method)
            write_explanation(predictor, result, explanation, name, paths, args.top)
            print(f"{result.path}{where}: {emotion} (p = {explanation.probability:.3f}); attribution by face region: "
                  + ", ".join(f"{k} {100 * v:.0f}%" for k, v in list(explanation.regions.items())[:3])
                  + "; by action unit: "
                  + ", ".join(f"{k} {100 * v:.0f}%" for k, v in list(explanation.action_units.items())[:3]))
            for kind, path in paths.items():
                print(f"  {kind}: {path}")
    if args.timing:
        print_timing(results, sys.stdout)
