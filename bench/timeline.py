"""The timeline's speed, memory and accuracy (prints figures; not a test).

    python bench/timeline.py [--recordings data/raw/demo_recordings] [--heldout data/raw/demo_recordings_heldout]
                             [--hour] [--only speed|accuracy]
    python bench/timeline.py --only model-step [--device cpu|gpu] [--bundle .gpu/timeline] [--batches 1 32 64 1024]

Run where `dvc repro` ran (it uses the trained models and the demo's synthetic recordings).

- speed: offline frames/s end to end (decode, face, landmarks, models) with 1 and 2 worker
  processes, each run pinned to that many cores; live (`--realtime`, one core) at 30 and 60
  frames/s: frames answered per second, frames dropped, latency from a frame's arrival to its
  probabilities. Beside py-feat's, LibreFace's and OpenFace's published CPU figures.
- memory (--hour): a one-hour recording (the first recording looped), offline with 2 workers,
  its table streamed to CSV; the peak RSS of the process and its workers, sampled every 5 s.
- accuracy: on the recordings with truth, per-frame macro-F1 (also of the recordings that open
  on an expression), episode recall/precision, onset latency, false positives at rest and while
  talking, and the share of onset, apex and offset frames named right, for each reference
  choice (the estimated one also live), models and window length; the threshold chosen on
  the recordings of people the models trained on (--recordings: the best macro-F1 among the
  thresholds that name an emotion on at most 5% of the frames at rest) and scored on those of
  held-apart people (--heldout). Landmarks are read once per recording; the settings only
  rerun the models.
- model step (--only model-step): the timeline's model step alone (CompiledEnsemble, as
  `emo timeline` runs it: the six emotions' chosen models, every seed averaged, in one compiled
  call of a fixed batch), in windows (= frames, at stride 1) per second at each batch size,
  on the real windows of the first held-apart recording, tiled to fill the larger batches.
  The models and the recording's landmarks are
  kept in a bundle (`--bundle`, made on first use where the pipeline ran: the chosen .keras
  files, their K and landmark subsets, the landmark runs), so that it runs where neither
  MediaPipe nor the pipeline's outputs are, e.g. on a GPU machine (`--device gpu` insists on
  one; cpu runs on every core this process may use, `taskset` to pin it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
MAX_NEUTRAL_FP = 0.05  # the threshold's constraint: at most this share of frames at rest named an emotion
ABSOLUTE_WEIGHTS = (0.2, 0.4, 0.6, 0.8)  # shares of each answer from the frame's blendshapes, beside 0
PUBLISHED = [("py-feat v2, batch 1, one thread", "8.9"), ("py-feat v2, batch 16, one thread", "17.6"),
             ("LibreFace", "2.7"), ("OpenFace 2 (no emotions)", "about real time")]


def _setup(which: str | None = None):
    """params, the TimelineReader class and the models the timeline runs (`which`: timeline.models's default)."""
    from emo.pipeline import pipeline_params

    params = pipeline_params(REPO / "params.yaml")
    from emo.predict.predictor import timeline_model_choice
    from emo.video.recording import TimelineReader

    return params, TimelineReader, timeline_model_choice(params, which or params.timeline.models)


def child(mode: str, path: str, workers: int, cores: int, out: str) -> None:
    """One measurement, in a process pinned to `cores` cores."""
    os.sched_setaffinity(0, set(range(cores)))
    from emo import artifacts
    from emo.data.frames import VideoStream
    from emo.video.recording import ClipFits, table_writer
    from emo.video.sliding_window import TimelineSettings

    params, TimelineReader, models = _setup()
    settings = TimelineSettings.of(params.timeline, params.extract)
    fits = ClipFits.of(settings, artifacts.LANDMARKS, artifacts.END_BLENDSHAPES)  # as `emo timeline` fits them
    result: dict = {}
    with TimelineReader(params.extract, models, live=mode == "live", workers=workers, fits=fits) as reader:
        if mode == "live":
            _, s = reader.read_live(VideoStream(path), settings, realtime=True)
            result = {"answered_per_s": s.frames / s.seconds, "offered": s.frames + s.dropped, "dropped": s.dropped,
                      "latency_median_ms": float(np.median(s.latency_ms)),
                      "latency_p95_ms": float(np.percentile(s.latency_ms, 95))}
        else:
            if mode == "hour":
                peak = _rss_sampler()
                with table_writer(Path(out).with_suffix(".csv")) as write:
                    _, s = reader.read_offline(VideoStream(path), settings, write)
                result = {"rss": peak()}
            else:
                _, s = reader.read_offline(VideoStream(path), settings)
            result.update({"frames": s.frames, "seconds": s.seconds, "frames_per_s": s.frames / s.seconds})
    Path(out).write_text(json.dumps(result))


def _rss_sampler():
    """Samples the RSS of this process and its children every 5 s; returns a function giving
    the samples (MB, with their times)."""
    import psutil

    me, samples, stop = psutil.Process(), [], threading.Event()

    def sample():
        start = time.time()
        while not stop.is_set():
            total = me.memory_info().rss
            for c in me.children(recursive=True):
                try:
                    total += c.memory_info().rss
                except psutil.Error:
                    pass
            samples.append((round(time.time() - start), total / 2**20))
            stop.wait(5)

    threading.Thread(target=sample, daemon=True).start()

    def done():
        stop.set()
        return samples

    return done


def measure(mode: str, path: Path, workers: int = 1, cores: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run([sys.executable, __file__, "--child", mode, str(path), str(workers), str(cores), str(out)],
                       check=True, cwd=REPO)
        return json.loads(out.read_text())


def retimed(path: Path, fps: float, out: Path, loops: int = 1) -> Path:
    """The recording's frames written again at another frame rate, or looped."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for _ in range(loops):
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            writer.write(frame)
    writer.release()
    cap.release()
    return out


def speed(recording: Path) -> None:
    print(f"offline, end to end (decode, face, landmarks, models), on {recording.name}:")
    rows = []
    for workers in (1, 2):
        r = measure("offline", recording, workers, cores=workers)
        rows.append((f"emo timeline, {workers} worker(s) on {workers} core(s)", f"{r['frames_per_s']:.1f}"))
    with tempfile.TemporaryDirectory() as tmp:
        for fps in (30, 60):
            r = measure("live", retimed(recording, fps, Path(tmp) / f"live{fps}.mp4"), cores=1)
            rows.append((f"emo timeline live, offered {fps} frames/s, one core",
                         f"{r['answered_per_s']:.1f} answered ({r['dropped']} of {r['offered']} dropped), latency "
                         f"median {r['latency_median_ms']:.0f} ms, 95th percentile {r['latency_p95_ms']:.0f} ms"))
    print(pd.DataFrame(rows + PUBLISHED, columns=["tool (CPU)", "frames/s"]).to_markdown(index=False))


def hour(recording: Path) -> None:
    import cv2

    cap = cv2.VideoCapture(str(recording))
    n, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    loops = int(np.ceil(3600 * fps / n))
    with tempfile.TemporaryDirectory() as tmp:
        long = retimed(recording, fps, Path(tmp) / "hour.mp4", loops)
        r = measure("hour", long, workers=2, cores=2)
    rss = r["rss"]
    peak = max(m for _, m in rss)
    print(f"one hour ({r['frames']} frames, {loops} loops of {recording.name}), 2 workers: "
          f"{r['frames_per_s']:.1f} frames/s, {r['seconds'] / 60:.1f} min; RSS (process and workers) "
          f"peak {peak:.0f} MB")
    marks = [rss[int(f * (len(rss) - 1))] for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
    print("  RSS over the run: " + ", ".join(f"{t} s {m:.0f} MB" for t, m in marks))


def accuracy(folders: dict[str, Path]) -> None:
    from emo import artifacts
    from emo.video.blendshape_baseline import BlendshapeFrames
    from emo.video.landmark_runs import landmark_runs
    from emo.video.recording import ClipFits
    from emo.video.reference import OPENING_NATS, NeutralEstimate
    from emo.video.scoring import opens_on_expression, read_truth, timeline_scores
    from emo.video.streams import recordings_in
    from emo.video.sliding_window import Timeline, TimelineSettings

    params, TimelineReader, models = _setup()
    base = TimelineSettings.of(params.timeline, params.extract)
    fits = ClipFits.of(TimelineSettings(**{**base.__dict__, "reference": "estimated", "absolute_weight": 1.0}),
                       artifacts.LANDMARKS, artifacts.END_BLENDSHAPES)
    face, absolute = fits.neutral_face, fits.baseline.emotion_probabilities
    reader = TimelineReader(params.extract, models)
    classify = {which: TimelineReader(params.extract, _setup(which)[2]).classify for which in ("timeline", "paper")}
    runs, groups = {}, {group: [] for group in folders}
    for group, folder in folders.items():
        for source in recordings_in(folder, params.timeline.frame_rate):
            if source.truth_file():
                runs[source.name] = (list(landmark_runs(source, None, 1, reader.faces, source.fps())),
                                     read_truth(source.truth_file()), source.fps())
                groups[group].append(source.name)
    reader.close()

    def engine(settings, which, mode, stretches, fps):
        """The timeline of one recording as `emo timeline` makes it: the estimated reference from the
        whole recording offline, or fed frame by frame live."""
        if settings.reference != "estimated":
            return Timeline(settings, classify[which], 256, absolute=absolute)
        estimate = NeutralEstimate(face, round(settings.neutral_s * fps), settings.neutral_s)
        if mode == "live":
            return Timeline(settings, classify[which], 256, estimate=estimate, absolute=absolute)
        for run in stretches:
            estimate.add(run.time_s, run.points)
        return Timeline(settings, classify[which], 256, reference=estimate.reference(), absolute=absolute)

    def tables(settings, which, mode, names):
        out = []
        for name in names:
            stretches, truth, fps = runs[name]
            timeline = engine(settings, which, mode, stretches, fps)
            out.append((pd.concat([*map(timeline.feed, stretches), timeline.finish()], ignore_index=True), truth))
        return out

    from emo.pipeline.timeline import pooled

    # The opening's warning: how much less neutral the first neutral_s seconds look than the estimate's frames
    gaps = []
    for name, (stretches, truth, fps) in runs.items():
        estimate = NeutralEstimate(face, round(base.neutral_s * fps), base.neutral_s)
        for run in stretches:
            estimate.add(run.time_s, run.points)
        gaps.append({"recording": name, "opens on an expression": opens_on_expression(truth),
                     "opening gap (nats)": round(estimate.opening_gap(), 1), "warned": estimate.opens_expressive()})
    print(pd.DataFrame(gaps).to_markdown(index=False),
          f"\n(warned above {max(OPENING_NATS, face.threshold):g} nats)\n")

    def held_apart_scores(row, scored, threshold):
        table, truth = pooled(scored)
        scores = timeline_scores(table, truth, threshold)
        opening = [pair for pair in scored if opens_on_expression(pair[1])]
        row["held-apart, opening on an expression: macro-F1"] = (
            round(timeline_scores(*pooled(opening), threshold)["macro_f1"], 3) if opening else None)
        row.update({f"held-apart: {k}": None if scores[k] is None else round(scores[k], 3) for k in
                    ("accuracy", "episode_recall", "episode_precision", "onset_latency_ms",
                     "neutral_false_positive_rate", "talking_false_positive_rate", "onset_accuracy",
                     "apex_accuracy", "offset_accuracy")})

    rows = []
    # Head motion kept (align none) measured 0.17-0.31 macro-F1 whatever the reference (docs/usage.md): left out
    # (models, reference, mode, window_s, absolute weight): the models alone, then with a share of the blendshapes
    combinations = [(m, r, "offline", 1.0, 0.0) for m in ("timeline", "paper")
                    for r in ("estimated", "neutral", "rolling", "first")]
    combinations += [("timeline", "estimated", "offline", w, 0.0) for w in (0.5, 2.0)]
    combinations += [(m, "estimated", "live", 1.0, 0.0) for m in ("timeline", "paper")]
    combinations += [("timeline", "estimated", "offline", 1.0, a) for a in ABSOLUTE_WEIGHTS]
    combinations += [("timeline", "estimated", "live", 1.0, base.absolute_weight)]
    trained_on, held_apart = list(folders)
    for which, reference, mode, window, weight in combinations:
        settings = TimelineSettings(**{**base.__dict__, "reference": reference, "align": "similarity",
                                       "window_s": window, "absolute_weight": weight})
        row = {"models": which, "reference": reference + (" (live)" if mode == "live" else ""), "window_s": window,
               "absolute weight": weight}
        for group in (trained_on, held_apart):
            scored = tables(settings, which, mode, groups[group])
            table, truth = pooled(scored)
            if group == trained_on:
                sweep = {t: timeline_scores(table, truth, t) for t in np.round(np.arange(0.1, 0.91, 0.05), 2)}
                # the best macro-F1 among the thresholds that keep a face at rest unnamed (false positives <= 5%)
                quiet = {t: v for t, v in sweep.items() if (v["neutral_false_positive_rate"] or 0) <= MAX_NEUTRAL_FP}
                chosen = max(quiet or sweep, key=lambda t: (quiet or sweep)[t]["macro_f1"])
                row["threshold (chosen on trained-on people)"] = chosen
            row[f"{group}: macro-F1"] = round(timeline_scores(table, truth, chosen)["macro_f1"], 3)
            if group == held_apart:
                held_apart_scores(row, scored, chosen)
        rows.append(row)

    # The reference-free baseline (the timeline stage's): each frame's blendshapes alone, the most probable of 7
    row = {"models": "blendshape baseline", "reference": "none (one frame)", "window_s": None, "absolute weight": 1.0,
           "threshold (chosen on trained-on people)": "most probable of 7"}
    for group in (trained_on, held_apart):
        scored = []
        for name in groups[group]:
            stretches, truth, _ = runs[name]
            frames = BlendshapeFrames()
            for run in stretches:
                frames.add(run)
            scored.append((fits.baseline.table(frames), truth))
        row[f"{group}: macro-F1"] = round(timeline_scores(*pooled(scored))["macro_f1"], 3)
        if group == held_apart:
            held_apart_scores(row, scored, None)
    rows.append(row)
    print(pd.DataFrame(rows).to_markdown(index=False))


BUNDLE = REPO / ".gpu" / "timeline"


def save_bundle(bundle: Path, recording: Path) -> None:
    """The chosen models (as choose_models picks them) and the recording's landmark runs (as the
    timeline reads them), in `bundle`: what the model step needs, without MediaPipe."""
    import shutil

    from emo.data.face_boxes import FaceBoxes
    from emo.data.face_model import resolve_face_model
    from emo.data.frames import VideoStream
    from emo.video.landmark_runs import landmark_runs

    params, _, models = _setup()
    manifest = []
    for m in models:
        folder = bundle / "models" / m.emotion
        folder.mkdir(parents=True, exist_ok=True)
        for f in m.files:
            shutil.copyfile(f, folder / f.name)
        manifest.append({"emotion": m.emotion, "k": int(m.k),
                         "landmarks": None if m.landmarks is None else [int(i) for i in m.landmarks],
                         "files": [f"models/{m.emotion}/{f.name}" for f in m.files]})
    source = VideoStream(str(recording))
    with FaceBoxes.of(resolve_face_model(params.extract.face_model), params.extract) as faces:
        runs = list(landmark_runs(source, None, 1, faces, source.fps()))
    np.savez(bundle / "landmarks.npz", lengths=np.array([len(r) for r in runs]),
             index=np.concatenate([r.index for r in runs]), time_s=np.concatenate([r.time_s for r in runs]),
             points=np.concatenate([r.points for r in runs]), unreadable=np.array([r.unreadable for r in runs]))
    (bundle / "models.json").write_text(json.dumps({"recording": recording.name, "models": manifest}, indent=1))


def model_step(bundle: Path, device: str, batches: list[int], recording: Path | None) -> None:
    """Windows per second of the timeline's model step (CompiledEnsemble) per batch size."""
    if not (bundle / "models.json").is_file():
        if recording is None:
            sys.exit(f"no bundle in {bundle}; make it where the pipeline ran (data/raw/demo_recordings, models/)")
        print(f"making the bundle {bundle} from {recording.name} ...", file=sys.stderr, flush=True)
        save_bundle(bundle, recording)
    from emo.pipeline import pipeline_params

    params = pipeline_params(REPO / "params.yaml")  # chooses Keras' backend (train.backend)
    from emo.models.backend import configure, gpu_visible

    configure(single_threaded=False)  # as the TimelineReader does
    import keras

    from emo.models.ensemble import CompiledEnsemble, EmotionModels, load_models
    from emo.video.sliding_window import LandmarkRun, Timeline, TimelineSettings

    backend = keras.backend.backend()
    if device == "gpu" and not gpu_visible():
        sys.exit(f"--device gpu: the {backend} backend sees no GPU")
    if backend == "jax":
        import jax

        where = f"{jax.devices()[0].device_kind} (jax {jax.__version__})"
    else:
        import tensorflow as tf

        where = f"{'GPU' if gpu_visible() else 'CPU'} (tensorflow {tf.__version__})"
    if device == "cpu":
        where += f", {len(os.sched_getaffinity(0))} core(s)"
    spec = json.loads((bundle / "models.json").read_text())
    models = [EmotionModels(m["emotion"], m["k"], None if m["landmarks"] is None else np.array(m["landmarks"]),
                            [bundle / f for f in m["files"]]) for m in spec["models"]]
    keras_models = load_models(models)

    # The recording's windows, as the timeline makes them (its settings from params.yaml).
    z = np.load(bundle / "landmarks.npz")
    bounds = np.cumsum([0, *z["lengths"]])
    windows: list[np.ndarray] = []

    def capture(x: np.ndarray) -> np.ndarray:
        windows.append(x)
        return np.zeros((len(x), 6), np.float32)

    engine = Timeline(TimelineSettings.of(params.timeline, params.extract), capture, 32)
    for lo, hi, unreadable in zip(bounds[:-1], bounds[1:], z["unreadable"]):
        engine.feed(LandmarkRun(z["index"][lo:hi], z["time_s"][lo:hi], z["points"][lo:hi], int(unreadable)))
    engine.finish()
    real = np.concatenate(windows)
    print(f"model step on {where}, {backend}: {sum(len(m.files) for m in models)} models "
          f"({', '.join(f'{m.emotion} K {m.k} x{len(m.files)}' for m in models)}); {len(real)} windows "
          f"{list(real.shape[1:])} of {spec['recording']}, tiled", flush=True)
    rows = []
    for batch in batches:
        ensemble = CompiledEnsemble(models, keras_models, batch)
        n = max(256, 2 * batch)  # >= 256 windows, >= 2 calls
        X = np.resize(real, (n, *real.shape[1:]))
        start = time.perf_counter()
        ensemble(X[:batch])
        compile_s = time.perf_counter() - start
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            ensemble(X)
            seconds.append(time.perf_counter() - start)
        rows.append({"batch": batch, "windows": n, "first call s (compiles)": round(compile_s, 2),
                     "windows/s": round(n / min(seconds), 1),
                     "ms per call": round(1000 * min(seconds) / (n // batch), 3)})
        row = rows[-1]
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(pd.DataFrame(rows).to_markdown(index=False))
    print("windows/s: the fastest of 3 passes over the windows after a first call that compiles; at stride 1 "
          "a window is a frame.")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, path, workers, cores, out = sys.argv[2:7]
        return child(mode, path, int(workers), int(cores), out)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=REPO / "data/raw/demo_recordings",
                        help="recordings of people the models trained on (defaults are chosen on these)")
    parser.add_argument("--heldout", type=Path, default=REPO / "data/raw/demo_recordings_heldout",
                        help="recordings of people no model saw (the scores to quote)")
    parser.add_argument("--hour", action="store_true", help="also the one-hour memory run (about 10 minutes)")
    parser.add_argument("--only", choices=["speed", "accuracy", "model-step"])
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu", help="model-step: where the models run")
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="model-step: models and landmarks (made if missing)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 64, 1024],
                        help="model-step: batch sizes (live runs 1, offline 32)")
    args = parser.parse_args()
    if args.only == "model-step":
        held_apart = sorted(args.heldout.glob("*.mp4"))
        return model_step(args.bundle, args.device, args.batches, held_apart[0] if held_apart else None)
    first = sorted(args.heldout.glob("*.mp4"))[0]
    if args.only != "accuracy":
        speed(first)
    if args.hour:
        hour(first)
    if args.only != "speed":
        accuracy({"trained-on people": args.recordings, "held-apart": args.heldout})


if __name__ == "__main__":
    main()
