"""`emo predict` and `emo explain`, and their Python API: the pipeline's models on new videos,
and why they decide.

Landmarks come from the extract stage's own code path (same face box, crop, landmarker, gap
filling and resampling to P); each emotion's models (one per seed, averaged) gather their own
landmarks; the highest probability names the emotion. A clip that seems to start at its peak
rather than at a neutral face gets a warning (emo.video.onset).

From Python (py-feat's convention: a DataFrame, one row per video, the columns of COLUMNS):

    import emo
    table = emo.predict_videos(["clip.mp4", "frames/"])   # in the repository, as `emo predict`
    with emo.Predictor.from_folders("models/full", "models/retrain_k", "params.yaml",
                                    landmarks="data/landmarks/landmarks.npz") as predictor:
        table = predictor.predict(["clip.mp4"])
        table = predictor.predict_landmarks(X)            # [N, P, 2, 468], as the extract stage writes
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from emo import artifacts
from emo.artifacts import RunSet
from emo.config import Params
from emo.console import native_logs_hidden
from emo.data.dataset import load_landmarks
from emo.data.emotions import EMOTIONS
from emo.data.extraction import extract_sequence, settings_of
from emo.data.face_model import resolve_face_model
from emo.data.landmarks import LandmarkDetector
from emo.data.mesh import N_LANDMARKS, face_mesh
from emo.data.sources import SequenceSource, check_video_path
from emo.errors import EmoError
from emo.files import atomic_file, require_complete, write_json
from emo.models.backend import configure
from emo.models.ensemble import EmotionModels, choose_models, ensemble_probabilities, load_models, trained_runs
from emo.models.model import model_weights
from emo.models.training import model_input
from emo.pipeline import pipeline_params
from emo.video.mp4 import H264Writer
from emo.video.onset import NeutralFace
from emo.video.streams import Frame, Source

# Every table's columns, in this order whatever happens to a path (CSV, JSON records, the
# DataFrame): a path that fails has an empty emotion and probabilities and its reason in `error`.
COLUMNS = ("path", "emotion", *EMOTIONS, "warning", "error")

# Regions a reader names; the face oval stands for the jaw line and cheeks' outline.
REGIONS = {"lips": "lips", "left eyebrow": "left_eyebrow", "right eyebrow": "right_eyebrow",
           "left eye": "left_eye", "right eye": "right_eye", "nose": "nose", "jaw and face outline": "face_oval"}


class StartsAtPeakWarning(UserWarning):
    """A clip seems to start at its expression's peak, where the models expect a neutral face."""


@dataclass
class VideoResult:
    path: str
    probabilities: np.ndarray | None = None  # [6], mean over seeds
    error: str = ""
    warning: str = ""  # set when the clip seems to start at its peak
    landmarks: np.ndarray | None = None  # [P, 2, 468], what the models see
    frames_total: int = 0  # frames read, decoded or not
    frame_points: np.ndarray | None = None  # [n, 468, 2] every frame's landmarks, for `explain`
    timing: dict[str, float] = field(default_factory=dict)  # seconds: decode, landmarks, model, ig
    moment: Moment | None = None  # the stretch of a recording it is, when not the whole file

    @property
    def emotion(self) -> str | None:
        return None if self.probabilities is None else EMOTIONS[int(np.argmax(self.probabilities))]


def video_source(path: Path):
    """A video file, a folder of frames, or a CK+ sequence folder, as the extract stage reads it."""
    check_video_path(path)
    return SequenceSource(sequence=path.name, subject="", path=path, label="")


@dataclass(frozen=True)
class Moment:
    """A stretch of a recording: from `start` to `end`, in seconds or in frame numbers."""

    start: float
    end: float
    unit: str  # "s" or "frame"

    def holds(self, frame: Frame) -> bool:
        at = frame.time_s if self.unit == "s" else frame.index
        return self.start <= at <= self.end

    def past(self, frame: Frame) -> bool:
        return (frame.time_s if self.unit == "s" else frame.index) > self.end

    @property
    def span(self) -> str:
        """The stretch in words, e.g. 'from 12.5 to 14 s'."""
        return f"from {self.start:g} to {self.end:g} " + ("s" if self.unit == "s" else "(frame numbers)")

    @property
    def label(self) -> str:
        return f"{self.start:g}-{self.end:g}{'s' if self.unit == 's' else ''}"


def video_frames(path: Path, moment: Moment | None = None) -> Iterator[np.ndarray | None]:
    """A video's grayscale frames (None: one that does not decode), read as they are used, never
    held; with `moment`, only that stretch of it (the recording is read up to the stretch's end).
    The path is checked at once; a file that cannot be opened raises when first read."""
    if moment is None:
        return video_source(path).frames()
    check_video_path(path)
    frames = itertools.takewhile(lambda f: not moment.past(f), Source(str(path)).frames())
    return (f.gray for f in frames if moment.holds(f))


def timed(frames: Iterable, timing: dict[str, float], key: str) -> Iterator:
    """`frames` as they come, the seconds spent reading them added up in timing[key]."""
    timing[key] = 0.0
    frames = iter(frames)
    while True:
        start = time.perf_counter()
        try:
            frame = next(frames)
        except StopIteration:
            return
        finally:
            timing[key] += time.perf_counter() - start
        yield frame


def checked(path: Path, moment: Moment | None = None) -> VideoResult:
    """A path's result to fill in, or its error when it is no video (missing, unreadable, an
    empty folder, another kind of file): checked at once, before any model is loaded."""
    result = VideoResult(str(path), moment=moment)
    try:
        check_video_path(path)
    except EmoError as err:
        result.error = str(err)
    return result


def starts_at_peak(evidence: float) -> str:
    """The warning of a clip whose last frame looks more neutral than its first by `evidence` nats."""
    return f"starts at its peak? its last frame looks more neutral than its first ({evidence:.0f} nats)"


class Predictor:
    """The face model and every chosen binary model, loaded once for many videos (on first use,
    so that paths that are no videos are answered at once), and the neutral face of the clips
    they were trained on (`neutral`; None: clips are not checked for starting at their peak).
    With `quiet`, TensorFlow's, JAX's and MediaPipe's log lines are hidden while it works (the
    `emo` command hides them itself, or shows them with --verbose).

    `params` is a Params from emo.pipeline.pipeline_params, which chooses the Keras backend;
    the class methods take a params file as well."""

    def __init__(self, params: Params, models: list[EmotionModels], neutral: NeutralFace | None = None,
                 face_model: str | Path | None = None, quiet: bool = True):
        self.params, self.models, self.neutral, self.quiet = params, models, neutral, quiet
        self.face_model = face_model or params.extract.face_model

    @functools.cached_property
    def keras(self) -> dict[str, list]:
        with self._native_logs_hidden():
            configure(single_threaded=False)
            return load_models(self.models)

    @functools.cached_property
    def detector(self) -> LandmarkDetector:
        e = self.params.extract
        with self._native_logs_hidden():
            return LandmarkDetector(resolve_face_model(self.face_model), e.crop_size, e.box, e.box_margin)

    @classmethod
    def from_folders(cls, full: str | Path, retrain: str | Path, params: str | Path | Params, *,
                     landmarks: str | Path | None = None, face_model: str | Path | None = None,
                     variant: str = "temo", k: int | None = None, quiet: bool = True) -> Predictor:
        """The pipeline's outputs wherever they are (an MLflow model's artifacts, a copy):
        `full` and `retrain` the train_full and retrain_k stages' folders (models/full,
        models/retrain_k; without a retrain folder, give k = 468), `params` the params file the
        pipeline ran with, `landmarks` the extract stage's landmarks.npz (the neutral faces;
        None: no check that clips start neutral), `face_model` MediaPipe's face_landmarker.task
        (default: the params' extract.face_model). `variant` and `k` choose the models as
        `emo predict --variant --k` does (k None: each emotion's K of lowest validation loss)."""
        params = params if isinstance(params, Params) else pipeline_params(params)
        models = chosen_models(params, RunSet(Path(full), per_k=False), RunSet(Path(retrain), per_k=True), variant, k)
        neutral = None if landmarks is None else NeutralFace.of_landmarks(landmarks)
        return cls(params, models, neutral, face_model, quiet)

    @classmethod
    def from_pipeline(cls, params: str | Path | Params = "params.yaml", variant: str = "temo", k: int | None = None,
                      quiet: bool = True) -> Predictor:
        """As `emo predict` loads it: in the repository where `dvc repro` ran (the working directory)."""
        landmarks = artifacts.LANDMARKS if artifacts.LANDMARKS.is_file() else None
        # A stage killed between its writes (outside DVC) leaves a set that does not belong together.
        require_complete("train_full", [artifacts.FULL.models, artifacts.FULL.runs, artifacts.FULL.metrics])
        require_complete("retrain_k", [artifacts.RETRAIN.models, artifacts.RETRAIN.runs, artifacts.RETRAIN.hparams])
        return cls.from_folders(artifacts.FULL.root, artifacts.RETRAIN.root, params, landmarks=landmarks,
                                variant=variant, k=k, quiet=quiet)

    def close(self) -> None:
        if "detector" in self.__dict__:
            with self._native_logs_hidden():
                self.detector.close()

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _native_logs_hidden(self):
        return native_logs_hidden(python_stderr_shown=False) if self.quiet else contextlib.nullcontext()

    # -------------------------------------------------------------------------- the API

    def predict(self, paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
        """Videos (files, folders of frames, CK+ sequence folders) -> one row per path, in their
        order, with the columns of COLUMNS. A path that fails has its reason in `error`; a clip
        that seems to start at its peak has a `warning`, also issued as a StartsAtPeakWarning."""
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        results = self.results([Path(p) for p in paths])
        for r in results:
            if r.warning:
                warnings.warn(f"{r.path}: {r.warning}", StartsAtPeakWarning, stacklevel=2)
        return results_table(results)

    def predict_landmarks(self, X: np.ndarray) -> pd.DataFrame:
        """Landmark videos [N, P, 2, 468] (x and y in the face crop, as the extract stage's
        landmarks.npz holds them) -> one row per video, the columns of COLUMNS, `path` empty."""
        X = np.asarray(X, dtype=np.float32)
        P = self.params.extract.frames
        if X.ndim != 4 or X.shape[1:] != (P, 2, N_LANDMARKS):
            raise EmoError(f"landmarks of shape {list(X.shape)}: give [N, {P}, 2, {N_LANDMARKS}] (N videos of "
                           f"extract.frames = {P} frames, x and y, as the extract stage writes them).")
        if not np.isfinite(X).all():
            raise EmoError("the landmarks hold NaN or infinite values; fill the frames without a face first, as "
                           "the extract stage does.")
        results = [VideoResult("", landmarks=x) for x in X]
        with self._native_logs_hidden():
            self.classify(results)
        for i, r in enumerate(results):
            if r.warning:
                warnings.warn(f"video {i}: {r.warning}", StartsAtPeakWarning, stacklevel=2)
        return results_table(results)

    # -------------------------------------------------------------------------- the steps

    def results(self, paths: list[Path], moment: Moment | None = None, progress: bool = False,
                keep_points: bool = False) -> list[VideoResult]:
        """Every path's landmarks and six probabilities, in order (with `keep_points`, every
        frame's landmarks too, which `explain` draws). Paths that are no videos (missing,
        unreadable, an empty folder) are answered before any model is loaded."""
        with self._native_logs_hidden():
            results = self.landmarks_of_all(paths, progress, moment, keep_points)
            self.classify(results)
        return results

    def landmarks_of_all(self, paths: list[Path], progress: bool = True, moment: Moment | None = None,
                         keep_points: bool = True) -> list[VideoResult]:
        """Every path's landmarks, in order; each video's frames are streamed through the
        landmarker (decoded one step ahead in a background thread), never held whole."""
        results = [checked(p, moment) for p in paths]
        return [r if r.error else self.detect(r, keep_points)
                for r in tqdm(results, desc="landmarks", unit="video", disable=not progress)]

    def detect(self, result: VideoResult, keep_points: bool = True) -> VideoResult:
        """A checked video's landmarks, or the reason it has none."""
        try:
            start = time.perf_counter()
            frames = timed(video_frames(Path(result.path), result.moment), result.timing, "decode")
            outcome = extract_sequence(self.detector, frames, settings_of(self.params.extract), keep_frames=keep_points)
            result.timing["landmarks"] = time.perf_counter() - start
        except EmoError as err:
            result.error = str(err)
            return result
        result.frames_total = outcome.frames_total
        if result.moment is not None and outcome.frames_total == 0:
            result.error = f"{result.path} has no frame {result.moment.span}; check the range against its length."
        elif outcome.points is None:
            result.error = f"{result.path}: {outcome.reason}"
        result.landmarks, result.frame_points = outcome.points, outcome.frame_points
        return result

    def classify(self, results: list[VideoResult]) -> None:
        """Fill in the six probabilities of every video that has landmarks, in one eager batch
        per model, and warn of those that seem to start at their peak."""
        ok = [r for r in results if r.landmarks is not None]
        if not ok:
            return
        X = np.stack([r.landmarks for r in ok])
        start = time.perf_counter()
        probabilities = ensemble_probabilities(self.models, self.keras, X)
        elapsed = (time.perf_counter() - start) / len(ok)
        evidence = np.full(len(ok), -np.inf) if self.neutral is None else self.neutral.backwards_evidence(X)
        threshold = np.inf if self.neutral is None else self.neutral.threshold
        for r, p, nats in zip(ok, probabilities, evidence):
            r.probabilities = p
            r.timing["model"] = elapsed
            r.warning = starts_at_peak(nats) if nats > threshold else ""


def chosen_models(params: Params, full: RunSet, retrain: RunSet, variant: str = "temo",
                  k: int | None = None) -> list[EmotionModels]:
    """choose_models, refusing to choose each emotion's best K (k None) among fewer K than the
    pipeline trains (468 and params' retrain_k.ks): a retrain_k stage that failed or never ran
    would otherwise leave every emotion at 468 without a word."""
    if k is None:
        runs = trained_runs(full, retrain)
        top = runs[(runs.variant == "temo") & (runs.selection == "top")]
        trained = f"468 and retrain_k.ks = {params.retrain_k.ks}"
        if not retrain.runs.is_file():
            raise EmoError(f"{retrain.runs} is missing, so each emotion's best K (of {trained}) cannot be chosen; run "
                           f"`dvc repro retrain_k`, or pass --k {N_LANDMARKS} to use the train_full models.")
        for emotion in EMOTIONS:
            missing = sorted({N_LANDMARKS, *params.retrain_k.ks} - set(top.K[top.emotion == emotion]))
            if missing:
                table = full.runs if missing[0] == N_LANDMARKS else retrain.runs
                raise EmoError(f"{table} has no T-EMO runs of {emotion} at K = {missing[0]}, so its best K (of "
                               f"{trained}) cannot be chosen; run `dvc repro` to train them, or pass --k to use one K "
                               "for every emotion.")
    return choose_models(full, retrain, variant, k)


def predict_videos(paths: str | Path | Iterable[str | Path], params: str | Path | Params = "params.yaml",
                   variant: str = "temo", k: int | None = None) -> pd.DataFrame:
    """`emo predict` from Python, in the repository where `dvc repro` ran: one row per path, in
    their order, with the columns of COLUMNS (Predictor.predict)."""
    with Predictor.from_pipeline(params, variant, k) as predictor:
        return predictor.predict(paths)


def results_table(results: list[VideoResult]) -> pd.DataFrame:
    """One row per result, the columns of COLUMNS: probabilities NaN and emotion empty where a
    path failed."""
    missing = np.full(len(EMOTIONS), np.nan)
    probabilities = np.array([missing if r.probabilities is None else r.probabilities for r in results],
                             dtype=float).reshape(len(results), len(EMOTIONS))
    table = pd.DataFrame(probabilities, columns=list(EMOTIONS))
    table.insert(0, "path", [r.path for r in results])
    table.insert(1, "emotion", [r.emotion or "" for r in results])
    table["warning"] = [r.warning for r in results]
    table["error"] = [r.error for r in results]
    return table[list(COLUMNS)]


def results_json(table: pd.DataFrame, models: list[EmotionModels]) -> dict:
    """The table as JSON: the models used, and one record per video with the table's columns
    (null where a probability is missing)."""
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return {"models": {m.emotion: {"K": m.k, "files": [str(f) for f in m.files]} for m in models}, "videos": records}


def table_text(table: pd.DataFrame, models: list[EmotionModels], kind: str) -> str:
    """The table as CSV or as JSON (results_json), probabilities to 6 decimals (the models
    compute in float32)."""
    rounded = table.round(6)
    if kind == "csv":
        return rounded.to_csv(index=False)
    return json.dumps(results_json(rounded, models), indent=2) + "\n"


def write_table(table: pd.DataFrame, models: list[EmotionModels], path: Path, kind: str) -> None:
    """The table in `path`, atomically: kind "csv" or "json"."""
    with atomic_file(path) as tmp:
        tmp.write_text(table_text(table, models, kind))


# ------------------------------------------------------------------------------ explain
# The explanation modules load SciPy (~0.5 s): imported where `emo explain` needs them, so that
# `emo predict` answers a path that is no video at once.


def region_shares(attribution: np.ndarray) -> dict[str, float]:
    """The share of a landmark attribution [468] that falls in each named face region."""
    regions = face_mesh().regions
    total = float(attribution.sum()) or 1.0
    named = np.unique(np.concatenate([regions[key] for key in REGIONS.values()]))
    shares = {name: float(attribution[regions[key]].sum()) / total for name, key in REGIONS.items()}
    shares["elsewhere (cheeks, forehead, ...)"] = float(np.delete(attribution, named).sum()) / total
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


@dataclass
class Explanation:
    emotion: str
    attribution: np.ndarray  # [468] mean over baselines and seeds (0 outside a model's subset)
    per_frame: np.ndarray  # [P, 468]
    probability: float

    dataset: np.ndarray  # [468] the emotion's dataset-wide attribution (the attribute stage's)

    @functools.cached_property
    def regions(self) -> dict[str, float]:
        return region_shares(self.attribution)

    @functools.cached_property
    def action_units(self) -> dict[str, float]:
        """This video's attribution per FACS action unit, largest first (shares sum to 1)."""
        from emo.explanation.action_units import action_unit_shares, shares_dict

        return shares_dict(action_unit_shares(self.attribution))

    @functools.cached_property
    def dataset_action_units(self) -> dict[str, float]:
        """The emotion's dataset-wide attribution per action unit, for comparison."""
        from emo.explanation.action_units import action_unit_shares, shares_dict

        return shares_dict(action_unit_shares(self.dataset))


def explain_video(predictor: Predictor, result: VideoResult, emotion: str, steps: int, method: str) -> Explanation:
    """IG of one video for one emotion's models, against the typical videos of the five other
    emotions that the attribute stage chose; per-landmark values made as the attribute stage
    makes them (its `mask`), averaged over baselines and seeds."""
    from emo.explanation.attribution import landmark_mask
    from emo.explanation.global_attribution import integrated_gradients_of

    if not artifacts.ATTRIBUTIONS.is_file():
        raise EmoError(f"{artifacts.ATTRIBUTIONS} is missing; run `dvc repro attribute` to choose the typical baselines.")
    with np.load(artifacts.ATTRIBUTIONS) as z:
        typical, mask, dataset = z["typical"][0], str(z["mask"]), z["attribution"][EMOTIONS.index(emotion)]
    data = load_landmarks(artifacts.LANDMARKS)
    m = next(m for m in predictor.models if m.emotion == emotion)
    e = EMOTIONS.index(emotion)
    subset = np.arange(N_LANDMARKS) if m.landmarks is None else m.landmarks
    others = [typical[b] for b in range(len(EMOTIONS)) if b != e]
    baselines = model_input(data.X[others], m.landmarks)
    x = np.repeat(model_input(result.landmarks[None], m.landmarks), len(others), axis=0)
    whole, frames = np.zeros(len(subset)), np.zeros((data.frames, len(subset)))
    start = time.perf_counter()
    for model in predictor.keras[emotion]:
        ig = integrated_gradients_of(model, steps, method, 256 * 2**20)
        values = ig.attributions(x, baselines, model_weights(model))  # [5, P, 2, L, 1]: every baseline in one call
        whole += landmark_mask(values, mask).sum(axis=0)
        # each frame on its own: [5 * P, 1, 2, L, 1] -> [5, P, L]
        by_frame = landmark_mask(values.reshape(-1, 1, *values.shape[2:]), mask)
        frames += by_frame.reshape(len(others), data.frames, -1).sum(axis=0)
    result.timing["ig"] = time.perf_counter() - start
    runs = len(predictor.keras[emotion]) * len(others)
    attribution, per_frame = np.zeros(N_LANDMARKS), np.zeros((data.frames, N_LANDMARKS))
    attribution[subset], per_frame[:, subset] = whole / runs, frames / runs
    return Explanation(emotion, attribution, per_frame, float(result.probabilities[e]), dataset)


def explanation_names(paths: list[Path], moment: Moment | None = None) -> list[Path]:
    """Each video's name for its output files, as a path inside the --out folder: the video's
    path relative to the folder that holds every video (one video: its name), a file's suffix
    dropped, and the moment's span added. Paths are unique, so these are, unless two videos
    differ only in their suffix or are given twice: refused, as one set of files would replace
    the other."""
    absolute = [Path(os.path.abspath(p)) for p in paths]
    common = Path(os.path.commonpath([p.parent for p in absolute]))
    names = []
    for path in absolute:
        relative = path.relative_to(common)
        name = (relative.name if path.is_dir() else relative.stem) or "video"
        names.append(relative.parent / (name + (f"_{moment.label}" if moment is not None else "")))
    twice = [name for name, n in Counter(names).items() if n > 1]
    if twice:
        first, second = [p for p, name in zip(paths, names) if name == twice[0]][:2]
        raise EmoError(f"{first} and {second} would write the same files ({twice[0]}_*); explain them into "
                       "separate --out folders.")
    return names


def explanation_files(out_dir: Path, name: Path, emotion: str) -> dict[str, Path]:
    """The picture, the video and the numbers of one explanation."""
    stem = out_dir / name.parent / f"{name.name}_{emotion}"
    return {kind: stem.with_name(f"{stem.name}.{kind}") for kind in ("png", "mp4", "json")}


def refuse_to_overwrite(files: Iterable[Path]) -> None:
    existing = [f for f in files if f.exists()]
    if existing:
        more = f" (as do {len(existing) - 1} more of the files to write)" if len(existing) > 1 else ""
        raise EmoError(f"{existing[0]}{more} already exists; choose another --out folder, or pass --overwrite to "
                       "replace it.")


def write_explanation(predictor: Predictor, result: VideoResult, explanation: Explanation, name: Path,
                      files: dict[str, Path], top: int, fps: float = 10.0) -> None:
    """The picture (peak frame), the video (every frame) and the numbers of one explanation of
    the video `name` (explanation_names), in `files` (explanation_files)."""
    # Plotting loads matplotlib (~1 s): only `emo explain` needs it, never `emo predict`.
    import matplotlib.pyplot as plt

    from emo.explanation.global_attribution import ranking_of
    from emo.report.callouts import ranked_figure
    from emo.report.plotting import colour_points

    size = predictor.params.extract.crop_size
    ranking = ranking_of(explanation.attribution)
    where = "" if result.moment is None else f", {result.moment.span}"

    n, P = len(result.frame_points), len(explanation.per_frame)
    # A model of motion from the first frame puts that frame's attribution at minus the sum of
    # the others; scale the colours by the other frames so that the motion stays visible.
    moving = explanation.per_frame[1:] if predictor.params.model.input == "displacement" else explanation.per_frame
    peak = moving.max() or 1.0
    scale = 2
    face = blank = np.zeros((size, size), np.uint8)
    # The video is read a second time, boxed as the first reading boxed it, rather than held:
    # a long one's frames would not fit in memory.
    frames = itertools.islice(video_frames(Path(result.path), result.moment), n)
    with atomic_file(files["mp4"]) as tmp, H264Writer(tmp, fps, (size * scale, size * scale)) as video:
        for i, (frame, box) in enumerate(predictor.detector.boxes(frames)):
            face = blank if box is None else box.crop(frame, size)
            # The model saw P frames resampled from n: each frame shows the nearest one's attribution.
            t = int(round(i * (P - 1) / max(n - 1, 1)))
            video.write(colour_points(face, result.frame_points[i] * size, explanation.per_frame[t] / peak, scale))

    # The picture: the last frame's crop, as the models' last frame (the peak) sees it.
    fig = ranked_figure(face, result.landmarks[-1].T * size, explanation.attribution, ranking[:top],
                        f"{name.as_posix()}{where}: {explanation.emotion} (p = {explanation.probability:.2f})")
    with atomic_file(files["png"]) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    write_json(files["json"], {
        "video": result.path,
        "moment": None if result.moment is None else {"start": result.moment.start, "end": result.moment.end,
                                                       "unit": result.moment.unit},
        "emotion": explanation.emotion,
        "probability": explanation.probability,
        "probabilities": {e: float(p) for e, p in zip(EMOTIONS, result.probabilities)},
        "warning": result.warning,
        "models": next({"K": m.k, "files": [str(f) for f in m.files]} for m in predictor.models
                       if m.emotion == explanation.emotion),
        "top_landmarks": [int(i) for i in ranking[:top]],
        "regions": {k: round(v, 4) for k, v in explanation.regions.items()},
        "action_units": explanation.action_units,
        "emotion_action_units": explanation.dataset_action_units,
        "attribution": [round(float(v), 6) for v in explanation.attribution],
        "timing_s": {k: round(v, 4) for k, v in result.timing.items()},
    })
