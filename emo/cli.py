"""The `emo` command: what a user runs on the pipeline's outputs, beside the DVC stages (emo/pipeline)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from emo import artifacts
from emo.config import load_params
from emo.console import native_logs_hidden, user_errors_reported
from emo.data.emotions import EMOTIONS
from emo.data.face_model import managed_face_model
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.models.model import VARIANTS
from emo.models.tuning import distributed_role
from emo.parallel import worker_count
from emo.pipeline import params_sections, pipeline_params, retrain_k, tune
from emo.predict import (Moment, Predictor, checked, chosen_models, explain_video, explanation_files, explanation_names,
                         refuse_to_overwrite, results_table, table_text, write_explanation, write_table)
from emo.video.recording import TABLE_SUFFIXES, Recorder, table_writer
from emo.video.scoring import scores_line
from emo.video.streams import Source
from emo.video.timeline import TimelineSettings


def _check_params(args: argparse.Namespace) -> None:
    load_params(args.file)
    print(f"{args.file}: every key is known and valid")


def _fetch_model(args: argparse.Namespace) -> None:
    print(managed_face_model())


TABLE_KINDS = {".csv": "csv", ".json": "json"}


def _table_kind(args: argparse.Namespace) -> str | None:
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


def _predict(args: argparse.Namespace) -> None:
    kind = _table_kind(args)
    params = pipeline_params(args.params)
    results = [checked(p) for p in args.paths]
    if all(r.error for r in results):  # no path is a video: answered without loading a model
        models = chosen_models(params, artifacts.FULL, artifacts.RETRAIN, args.variant, args.k)
    else:
        with Predictor.from_pipeline(params, args.variant, args.k, quiet=False) as predictor:
            if predictor.neutral is None:
                print(f"note: {artifacts.LANDMARKS} is missing, so no clip is checked for starting at its peak; "
                      "run `dvc repro extract`.", file=sys.stderr)
            results = predictor.results(args.paths, progress=len(args.paths) > 1)
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
        _print_timing(results, sys.stdout if for_reader else sys.stderr)
    _print_problems(results)
    if any(r.error for r in results):
        sys.exit(1)


def _print_problems(results) -> None:
    """One line on stderr per clip that seems to start at its peak, and per path that failed."""
    for r in results:
        if r.warning:
            print(f"warning: {r.path} {r.warning}: the models read a clip from a neutral face to the peak, so "
                  "start it at a neutral face.", file=sys.stderr)
    for r in results:
        if r.error:
            print(f"error: {r.error}", file=sys.stderr)


def _print_timing(results, file) -> None:
    import pandas as pd

    table = pd.DataFrame([{"video": r.path, **{k: 1000 * v for k, v in r.timing.items()}} for r in results if r.timing])
    print("\nmilliseconds per video (model: the batch's time over its videos)", file=file)
    print(table.to_string(index=False, float_format="{:.0f}".format), file=file)


def _explain(args: argparse.Namespace) -> None:
    params = pipeline_params(args.params)
    if args.emotion and args.emotion not in EMOTIONS:
        raise EmoError(f"--emotion {args.emotion} is not one of {', '.join(EMOTIONS)}.")
    names = explanation_names(args.paths, args.moment)  # clashing names are refused before any work
    with Predictor.from_pipeline(params, args.variant, args.k, quiet=False) as predictor:
        results = predictor.results(args.paths, args.moment, progress=len(args.paths) > 1, keep_points=True)
        failed = [r.error for r in results if r.error]
        if failed:
            raise EmoError(failed[0] + (f" (and {len(failed) - 1} more failed)" if len(failed) > 1 else ""))
        emotions = [args.emotion or r.emotion for r in results]
        files = [explanation_files(args.out, name, emotion) for name, emotion in zip(names, emotions)]
        if not args.overwrite:
            refuse_to_overwrite(f for paths in files for f in paths.values())
        _print_problems(results)
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
        _print_timing(results, sys.stdout)


def _timeline(args: argparse.Namespace) -> None:
    params = pipeline_params(args.params)
    sources = [Source(spec, args.frame_rate or params.timeline.frame_rate) for spec in args.sources]
    for source in sources:
        source.check()
    single = args.out is not None and args.out.suffix.lower() in TABLE_SUFFIXES
    if single and len(sources) > 1:
        raise EmoError(f"--out {args.out} is one file for {len(sources)} recordings; give a folder instead.")
    if args.video and args.out is None:
        raise EmoError("--video writes the annotated MP4 beside the table; give --out as well.")
    settings = TimelineSettings.of(params.timeline, params.extract, window_s=args.window, reference=args.reference,
                                   neutral_s=args.neutral, align=args.align, threshold=args.threshold,
                                   stride=args.stride)
    live = args.realtime or any(s.live for s in sources)
    models = chosen_models(params, artifacts.FULL, artifacts.RETRAIN, args.variant, args.k)
    recorder = Recorder(params.extract, models, live=live)
    workers = worker_count(args.workers if args.workers is not None else params.timeline.workers, 1 << 16)
    print(f"models: {args.variant}, K per emotion: " + ", ".join(f"{m.emotion} {m.k}" for m in recorder.models)
          + f"; window {settings.window_s} s, reference {settings.reference}, align {settings.align}, "
            f"threshold {settings.threshold}", file=sys.stderr)
    try:
        with recorder.pool(1 if live else workers) as pool:
            for source in sources:
                table_path = (args.out if single else args.out / f"{source.name}.{args.format}") if args.out else None
                with _table_output(table_path) as write:
                    if live:
                        _, summary = recorder.live(source, settings, args.realtime, write, seconds=args.seconds)
                    else:
                        video = table_path.with_suffix(".mp4") if args.video and table_path else None
                        _, summary = recorder.record(source, settings, write, pool, workers,
                                                     progress=table_path is not None, video=video)
                print(summary.line(), file=sys.stderr)
                if table_path is not None and not live:
                    _timeline_pictures(source, table_path, settings.threshold)
    finally:
        recorder.close()


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


def _timeline_pictures(source: Source, table_path: Path, threshold: float) -> None:
    """The plot beside the table, and the scores when the recording has a truth file beside it."""
    # emo.pipeline.timeline draws with matplotlib (~1 s): only `emo timeline --out` needs it.
    from emo.pipeline.timeline import plot_and_score

    plot, video = table_path.with_suffix(".png"), table_path.with_suffix(".mp4")
    scores = plot_and_score(table_path, source, plot, threshold, source.name)[1]
    print(f"  table: {table_path}\n  plot: {plot}" + (f"\n  video: {video}" if video.is_file() else ""),
          file=sys.stderr)
    if scores is not None:
        print(f"  against {source.truth_file().name}: {scores_line(scores)}", file=sys.stderr)


def _ui(args: argparse.Namespace) -> None:
    """MLflow's UI on the pipeline's runs: the address that opens on the training runs with the
    headline columns (emo.tracking.runs_page_url), printed, and opened with --open."""
    import time
    import webbrowser

    from mlflow.tracking import MlflowClient

    from emo.tracking import EXPERIMENT, VIEW_TAG, checked_tracking_uri, mlflow_process, runs_page_url

    uri = checked_tracking_uri()
    local = uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file()
    experiment = None if local else MlflowClient(uri).get_experiment_by_name(EXPERIMENT)  # no empty store made
    if experiment is None:
        raise EmoError(f"the MLflow store {uri} has no experiment '{EXPERIMENT}' yet; run `dvc repro` first.")
    view = VIEW_TAG in experiment.tags  # the report stage saves it
    server = uri.startswith(("http://", "https://"))  # a tracking server serves the UI itself
    with contextlib.nullcontext(uri.rstrip("/")) if server else mlflow_process(
            ["ui", "--backend-store-uri", uri, "--workers", "1"], args.port) as base:
        url = runs_page_url(base, experiment.experiment_id, view)
        print(url, flush=True)
        if not view:
            print("the headline columns appear once the report stage has run", file=sys.stderr)
        if args.open:
            webbrowser.open(url)
        if server:
            return
        print("MLflow's UI on 127.0.0.1 only; Ctrl-C stops it", file=sys.stderr, flush=True)
        import signal

        # Stopped with SIGTERM (a service manager, `kill`) as with Ctrl-C: the UI's processes go too.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)


def _tune_worker(args: argparse.Namespace) -> None:
    params = pipeline_params(args.params)  # before distributed_role, which imports Keras
    if distributed_role() != "worker":
        raise EmoError(
            "emo tune-worker needs KERASTUNER_TUNER_ID (e.g. tuner0), KERASTUNER_ORACLE_IP and "
            "KERASTUNER_ORACLE_PORT set to the chief's address; see the README's distributed recipe."
        )
    stage = tune if args.stage == "tune" else retrain_k
    stage.run(**params_sections(stage.run, params))
    print(f"{args.stage}: the chief's grid is done")


def _moment_option(unit: str):
    def parse(text: str) -> Moment:
        try:
            start, end = (float(v) for v in text.split(":"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"give START:END, e.g. 12.5:14 (not {text!r})") from None
        if not 0 <= start < end:
            raise argparse.ArgumentTypeError(f"START must be at least 0 and below END ({text!r})")
        return Moment(start, end, unit)

    return parse


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a whole number of at least 1 (not {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (not {value})")
    return value


def _landmark_count(name: str):
    def parse(text: str) -> int:
        value = int(text)
        if not 1 <= value <= N_LANDMARKS:
            raise argparse.ArgumentTypeError(f"{name} must lie between 1 and {N_LANDMARKS}")
        return value

    return parse


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

    p = sub.add_parser(
        "ui",
        help="MLflow's UI on the pipeline's runs, at the address that opens on them with the headline columns",
        description="Start `mlflow ui` on 127.0.0.1 on the tracking store (sqlite:///mlflow.db, or "
                    "MLFLOW_TRACKING_URI) and print the address of the experiment's runs in model-training mode "
                    "with the report's headline numbers as columns; with a tracking server, print its address.",
    )
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default: 5000)")
    p.add_argument("--open", action="store_true", help="also open the address in a browser")
    p.set_defaults(func=_ui)

    p = sub.add_parser(
        "tune-worker",
        help="train grid-search trials for a distributed chief (Keras Tuner's KERASTUNER_* variables)",
        description="Join a distributed grid search: the chief runs the stage (`dvc repro tune`) with "
                    "KERASTUNER_TUNER_ID=chief; each worker runs this with KERASTUNER_TUNER_ID=tunerN and the "
                    "chief's KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT, in a checkout with the same "
                    "params and data. Workers write nothing; the chief writes the stage's outputs.",
    )
    p.add_argument("stage", choices=["tune", "retrain_k"], help="whose grid to work on")
    p.add_argument("--params", default="params.yaml", help="params file (the chief's)")
    p.set_defaults(func=_tune_worker)

    models = argparse.ArgumentParser(add_help=False)
    models.add_argument("--k", type=_landmark_count("K"), default=None, metavar="K",
                        help="landmarks per model: one of the pipeline's K (468 = train_full); default: each "
                             "emotion's K with the lowest validation loss")
    models.add_argument("--variant", choices=VARIANTS, default="temo", help="T-EMO (default) or R-EMO models")
    models.add_argument("--params", default="params.yaml", help="params file the pipeline ran with")
    models.add_argument("--timing", action="store_true",
                        help="print milliseconds per video: decode, landmarks, model, IG")
    models.add_argument("--verbose", action="store_true", help="also show TensorFlow's and MediaPipe's own log lines")

    p = sub.add_parser(
        "predict", parents=[models],
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
    p.set_defaults(func=_predict)

    p = sub.add_parser(
        "explain", parents=[models],
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
    moment.add_argument("--moment", type=_moment_option("s"), metavar="START:END",
                        help="explain this stretch of a recording, in seconds (e.g. 12.5:14): it is read as a clip, "
                             "so start it at the neutral face before the expression (the timeline's plot shows where)")
    moment.add_argument("--frames", dest="moment", type=_moment_option("frame"), metavar="FIRST:LAST",
                        help="the same, in frame numbers (the timeline table's frame column)")
    p.add_argument("--steps", type=_at_least_one, default=64, help="IG steps m (default 64)")
    p.add_argument("--top", type=_landmark_count("N"), default=16, metavar="N",
                   help="number the top N landmarks (default 16)")
    p.set_defaults(func=_explain)

    p = sub.add_parser(
        "timeline", parents=[models],
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
    p.add_argument("--window", type=float, metavar="S", help="seconds the models read before each frame")
    p.add_argument("--reference", choices=["first", "rolling", "neutral"], help="where motion is read from")
    p.add_argument("--neutral", type=float, metavar="S", help="reference neutral: the first S seconds are neutral")
    p.add_argument("--align", choices=["none", "similarity"], help="remove head motion (similarity) or not")
    p.add_argument("--threshold", type=float, help="least probability that names an emotion (else none)")
    p.add_argument("--stride", type=_at_least_one, help="run the models every N-th frame")
    p.add_argument("--frame-rate", type=float, help="frames per second of frame folders")
    p.add_argument("--workers", type=int, help="processes reading landmarks (0 = every core)")
    p.set_defaults(func=_timeline)
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


if __name__ == "__main__":
    main()
