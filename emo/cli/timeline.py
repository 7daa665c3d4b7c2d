"""`emo timeline`: per-moment emotions of continuous recordings, offline or live; one row per frame,
in a file (with a plot beside it) or as CSV on stdout."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import pandas as pd

from emo import artifacts
from emo.cli.arguments import at_least_one, model_options
from emo.data.frames import VideoStream
from emo.errors import EmoError
from emo.files import atomic_file
from emo.parallel import worker_count
from emo.pipeline import pipeline_params
from emo.predict.predictor import timeline_model_choice
from emo.video.recording import SUMMARY_COLUMNS, TABLE_SUFFIXES, ClipFits, TimelineReader, table_writer
from emo.video.scoring import scores_line
from emo.video.sliding_window import REFERENCES, TimelineSettings


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "timeline", parents=[model_options()],
        help="per-moment emotions of continuous recordings, offline or live",
        description="Track the face through each recording and, at every frame, run the six models on the "
                    "last --window seconds against a neutral reference; one row per frame (frame, time_s, "
                    "face, the six probabilities, emotion: the most probable when it reaches --threshold, "
                    "else none). Defaults come from params.yaml's timeline section. A camera index or a "
                    "stream URL is read live (frames dropped when the models fall behind, and counted).",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="a video file, a folder of frames, a camera index (0) or a stream URL")
    p.add_argument("--out", type=Path, metavar="PATH",
                   help="FILE.csv or FILE.parquet (one recording), or a folder (one table per recording); "
                        "with it, a PNG plot beside each table. Without it: CSV on stdout")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv", help="tables' format in an --out folder")
    p.add_argument("--video", action="store_true", help="also write an annotated MP4 beside each table")
    p.add_argument("--realtime", action="store_true",
                   help="play files at their own frame rate, as a camera would deliver them (live mode)")
    p.add_argument("--seconds", type=float, help="live: stop after this many seconds")
    p.add_argument("--models", choices=["timeline", "paper"],
                   help="timeline: the timeline's own models (train_timeline); paper: each emotion's best K, as emo "
                        "predict (with --k and --variant); default timeline.models")
    p.add_argument("--window", type=float, metavar="S", help="seconds the models read before each frame")
    p.add_argument("--reference", choices=list(REFERENCES), help="where motion is read from (see timeline.reference)")
    p.add_argument("--neutral", type=float, metavar="S",
                   help="reference estimated: S seconds' worth of the most neutral frames; neutral: the first S seconds")
    p.add_argument("--align", choices=["none", "similarity"], help="remove head motion (similarity) or not")
    p.add_argument("--threshold", type=float, help="least probability that names an emotion (else none)")
    p.add_argument("--absolute-weight", type=float, metavar="W",
                   help="share of each answer read from the frame alone (its blendshapes), 0 to 1")
    p.add_argument("--stride", type=at_least_one, help="run the models every N-th frame")
    p.add_argument("--frame-rate", type=float, help="frames per second of frame folders")
    p.add_argument("--workers", type=int, help="processes reading landmarks (0 = every core)")
    p.set_defaults(func=run)


SUMMARY_NAME = "summary.csv"  # beside an --out folder's tables: one row per recording


def run(args: argparse.Namespace) -> None:
    params = pipeline_params(args.params)
    sources = [VideoStream(spec, args.frame_rate or params.timeline.frame_rate) for spec in args.sources]
    single = args.out is not None and args.out.suffix.lower() in TABLE_SUFFIXES
    if single and len(sources) > 1:
        raise EmoError(f"--out {args.out} is one file for {len(sources)} recordings; give a folder instead.")
    if args.video and args.out is None:
        raise EmoError("--video writes the annotated MP4 beside the table; give --out as well.")
    settings = TimelineSettings.of(params.timeline, params.extract, window_s=args.window, reference=args.reference,
                                   neutral_s=args.neutral, align=args.align, threshold=args.threshold,
                                   absolute_weight=args.absolute_weight, stride=args.stride)
    live = args.realtime or any(s.live for s in sources)
    which = args.models or params.timeline.models
    models = timeline_model_choice(params, which, args.variant, args.k)
    workers = worker_count(args.workers if args.workers is not None else params.timeline.workers, 1 << 16)
    reader = TimelineReader(params.extract, models, live=live, workers=workers,
                            fits=ClipFits.of(settings, artifacts.LANDMARKS, artifacts.END_BLENDSHAPES))
    print(f"models: {which} ({args.variant}), K per emotion: " + ", ".join(f"{m.emotion} {m.k}" for m in reader.models)
          + f"; window {settings.window_s} s, reference {settings.reference}, align {settings.align}, "
            f"threshold {settings.threshold}, absolute weight {settings.absolute_weight}", file=sys.stderr)
    rows = []
    with reader:
        for source in sources:
            table_path = (args.out if single else args.out / f"{source.name}.{args.format}") if args.out else None
            try:  # a bad recording is one line and a row of the summary; the others go on
                with _table_output(table_path) as write:
                    video = table_path.with_suffix(".mp4") if args.video and table_path else None
                    _, summary = reader.read(source, settings, write, progress=table_path is not None, video=video,
                                             realtime=args.realtime, seconds=args.seconds)
            except EmoError as e:
                print(f"error: {e}", file=sys.stderr)
                rows.append({"recording": source.spec, "error": str(e)})
                continue
            print(summary.line(), file=sys.stderr)
            if summary.warning:
                print(f"warning: {source.spec}: {summary.warning}", file=sys.stderr)
            if table_path is not None and not live:
                _timeline_pictures(source, table_path, settings.threshold)
            rows.append(summary.row())
    if args.out is not None and not single:
        _write_summary(args.out / SUMMARY_NAME, rows)
    failed = sum(bool(row.get("error")) for row in rows)
    if failed:
        print(f"{failed} of {len(rows)} recordings failed (above); the others were read.", file=sys.stderr)
        sys.exit(1)


def _write_summary(path: Path, rows: list[dict]) -> None:
    with atomic_file(path) as tmp:
        table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
        # counts stay whole numbers where a failed recording's row leaves them empty
        table.astype({c: "Int64" for c in SUMMARY_COLUMNS if c.startswith("frames")}).to_csv(tmp, index=False)
    print(f"summary: {path}", file=sys.stderr)


@contextlib.contextmanager
def _table_output(path: Path | None):
    """The rows' destination: a file (CSV or Parquet) or, without one, CSV on stdout as they come."""
    if path is not None:
        with table_writer(path) as write:
            yield write
        return
    header = [True]

    def write(rows) -> None:
        rows.to_csv(sys.stdout, header=header[0], index=False)
        sys.stdout.flush()
        header[0] = False

    yield write


def _timeline_pictures(source: VideoStream, table_path: Path, threshold: float) -> None:
    """The plot beside the table, and the scores when the recording has a truth file beside it."""
    # emo.pipeline.timeline draws with matplotlib (~1 s): only `emo timeline --out` needs it.
    from emo.pipeline.timeline import plot_and_score

    plot, video = table_path.with_suffix(".png"), table_path.with_suffix(".mp4")
    scores = plot_and_score(table_path, source, plot, threshold, source.name)[1]
    print(f"  table: {table_path}\n  plot: {plot}" + (f"\n  video: {video}" if video.is_file() else ""),
          file=sys.stderr)
    if scores is not None:
        print(f"  against {source.truth_file().name}: {scores_line(scores)}", file=sys.stderr)

