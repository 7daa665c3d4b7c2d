"""The pipeline's models on new videos: the Predictor (the face model and every chosen binary
model, loaded once), the checked choice of models, and the clips that seem to start at their
peak."""

from __future__ import annotations

import contextlib
import functools
import time
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from emo import artifacts
from emo.artifacts import RunSet
from emo.config import Params
from emo.console import native_logs_hidden
from emo.data.emotions import EMOTIONS
from emo.data.extraction import extract_sequence, settings_of
from emo.data.face_model import resolve_face_model
from emo.data.face_boxes import FaceBoxes
from emo.data.mesh import N_LANDMARKS
from emo.data.frames import check_video_path
from emo.errors import EmoError
from emo.files import require_complete
from emo.models.backend import configure
from emo.models.ensemble import (EmotionModels, choose_models, ensemble_probabilities, load_models,
                                 timeline_set_models, trained_runs)
from emo.pipeline import pipeline_params
from emo.predict.tables import VideoResult, results_table
from emo.video.clips import Moment, clip_frames, timed
from emo.video.onset import NeutralFace


class ClipWarning(UserWarning):
    """A clip's answer is doubtful: it is not what the models read (an onset from a neutral face)."""


class StartsAtPeakWarning(ClipWarning):
    """A clip seems to start at its expression's peak, where the models expect a neutral face."""


class LongRecordingWarning(ClipWarning):
    """A video is a recording, longer than the onset clips the models read."""


# Longer than any onset clip (CK+'s longest sequence has 71 frames): a recording, which `emo timeline` reads
LONG_CLIP_FRAMES = 90


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
    return (f"starts at its peak? its last frame looks more neutral than its first ({evidence:.0f} nats): the models "
            "read a clip from a neutral face to the peak, so start it at a neutral face")


def long_recording(frames: int, probabilities: np.ndarray, threshold: float) -> str:
    """The warning of a video of `frames` frames, longer than an onset clip; and, when no emotion reaches the
    timeline's threshold, which came closest."""
    text = (f"a recording of {frames} frames, read as one onset clip squeezed into the models' frames: for the "
            "emotion at each moment, run `emo timeline` on it")
    best = int(np.argmax(probabilities))
    if probabilities[best] < threshold:
        text += (f"; no emotion reaches timeline.threshold = {threshold:g} (the most probable, {EMOTIONS[best]}, "
                 f"at {probabilities[best]:.2f}), which the timeline would call none")
    return text


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
    def keras_models(self) -> dict[str, list]:
        """Each emotion's Keras models (one per seed), loaded on first use."""
        with self._native_logs_hidden():
            configure(single_threaded=False)
            return load_models(self.models)

    @functools.cached_property
    def faces(self) -> FaceBoxes:
        with self._native_logs_hidden():
            return FaceBoxes.of(resolve_face_model(self.face_model), self.params.extract)

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
        models = checked_model_choice(params, RunSet(Path(full), per_k=False), RunSet(Path(retrain), per_k=True),
                                      variant, k)
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
        if "faces" in self.__dict__:
            with self._native_logs_hidden():
                self.faces.close()

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
        results = self.video_results([Path(p) for p in paths])
        for r in results:
            for category, text in r.notes:
                warnings.warn(f"{r.path}: {text}", category, stacklevel=2)
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
            for category, text in r.notes:
                warnings.warn(f"video {i}: {text}", category, stacklevel=2)
        return results_table(results)

    # -------------------------------------------------------------------------- the steps

    def video_results(self, paths: list[Path], moment: Moment | None = None, progress: bool = False,
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
        return [r if r.error else self.landmarks_of(r, keep_points)
                for r in tqdm(results, desc="landmarks", unit="video", disable=not progress)]

    def landmarks_of(self, result: VideoResult, keep_points: bool = True) -> VideoResult:
        """A checked video's landmarks, or the reason it has none."""
        try:
            start = time.perf_counter()
            clip = clip_frames(Path(result.path), result.moment, self.params.timeline.frame_rate)
            outcome = extract_sequence(self.faces, timed(clip.frames, result.timing, "decode"),
                                       settings_of(self.params.extract), keep_points, clip.warm_up, clip.restart_every)
            result.timing["landmarks"] = time.perf_counter() - start
        except EmoError as err:
            result.error = str(err)
            return result
        result.frames_total = outcome.frames_total
        if result.moment is not None and outcome.frames_total == 0:
            result.error = f"{result.path} has no frame {result.moment.span}; check the range against its length."
        elif outcome.points is None:
            result.error = f"{result.path}: {outcome.reason}"
        result.landmarks = outcome.points
        result.frame_points, result.frame_boxes = outcome.frame_points, outcome.frame_boxes
        return result

    def classify(self, results: list[VideoResult]) -> None:
        """Fill in the six probabilities of every video that has landmarks, in one eager batch
        per model, and warn of those that seem to start at their peak."""
        ok = [r for r in results if r.landmarks is not None]
        if not ok:
            return
        X = np.stack([r.landmarks for r in ok])
        start = time.perf_counter()
        probabilities = ensemble_probabilities(self.models, self.keras_models, X)
        elapsed = (time.perf_counter() - start) / len(ok)
        evidence = np.full(len(ok), -np.inf) if self.neutral is None else self.neutral.backwards_evidence(X)
        threshold = np.inf if self.neutral is None else self.neutral.threshold
        for r, p, nats in zip(ok, probabilities, evidence):
            r.probabilities = p
            r.timing["model"] = elapsed
            r.notes = ([(StartsAtPeakWarning, starts_at_peak(nats))] if nats > threshold else []) + (
                [(LongRecordingWarning, long_recording(r.frames_total, p, self.params.timeline.threshold))]
                if r.frames_total > LONG_CLIP_FRAMES else [])


def checked_model_choice(params: Params, full: RunSet, retrain: RunSet, variant: str = "temo",
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


def timeline_model_choice(params: Params, which: str, variant: str = "temo", k: int | None = None
                          ) -> list[EmotionModels]:
    """The models a timeline runs: the timeline's own set ('timeline', T-EMO at 468: train_timeline)
    or the paper's ('paper': checked_model_choice's, at `variant` and `k`)."""
    if which == "paper":
        return checked_model_choice(params, artifacts.FULL, artifacts.RETRAIN, variant, k)
    if variant != "temo" or k not in (None, N_LANDMARKS):
        raise EmoError(f"the timeline's own models are T-EMO at K = {N_LANDMARKS}; for --variant {variant} or --k {k} "
                       "add --models paper.")
    return timeline_set_models(artifacts.TIMELINE_SET)


def predict_videos(paths: str | Path | Iterable[str | Path], params: str | Path | Params = "params.yaml",
                   variant: str = "temo", k: int | None = None) -> pd.DataFrame:
    """`emo predict` from Python, in the repository where `dvc repro` ran: one row per path, in
    their order, with the columns of COLUMNS (Predictor.predict)."""
    with Predictor.from_pipeline(params, variant, k) as predictor:
        return predictor.predict(paths)
