"""`emo predict` and `emo explain`: the pipeline's models on new videos, and why they decide.

Landmarks come from the extract stage's own code path (same face box, crop, landmarker,
gap filling and resampling to P); each emotion's models (one per seed, averaged) gather
their own landmarks; the highest probability names the emotion.
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from emo import artifacts
from emo.config import Params
from emo.data.dataset import load_landmarks
from emo.data.emotions import EMOTIONS
from emo.data.extraction import extract_sequence, settings_of
from emo.data.face_model import resolve_face_model
from emo.data.landmarks import LandmarkDetector
from emo.data.mesh import N_LANDMARKS, face_mesh
from emo.data.sources import SequenceSource, check_video_path
from emo.errors import EmoError
from emo.explanation.action_units import action_unit_shares, shares_dict
from emo.explanation.attribution import landmark_mask
from emo.explanation.global_attribution import integrated_gradients_of, ranking_of
from emo.files import atomic_file, write_json
from emo.models.backend import configure
from emo.models.ensemble import EmotionModels, choose_models, ensemble_probabilities, load_models
from emo.models.model import model_weights
from emo.models.training import model_input
from emo.parallel import prefetch
from emo.video.streams import Frame, Source

# Regions a reader names; the face oval stands for the jaw line and cheeks' outline.
REGIONS = {"lips": "lips", "left eyebrow": "left_eyebrow", "right eyebrow": "right_eyebrow",
           "left eye": "left_eye", "right eye": "right_eye", "nose": "nose", "jaw and face outline": "face_oval"}


@dataclass
class VideoResult:
    path: str
    probabilities: np.ndarray | None = None  # [6], mean over seeds
    error: str = ""
    landmarks: np.ndarray | None = None  # [P, 2, 468], what the models see
    frames: list | None = None  # decoded grayscale frames, kept for `explain`
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


def decoded(path: Path, moment: Moment | None = None) -> VideoResult:
    """A video's frames, or the reason it has none; with `moment`, only that stretch of it
    (the recording is read up to the stretch's end, never held whole)."""
    result = VideoResult(str(path), moment=moment)
    try:
        start = time.perf_counter()
        source = video_source(path)
        if moment is None:
            result.frames = list(source.frames())
        else:
            result.frames = [f.gray for f in itertools.takewhile(lambda f: not moment.past(f), Source(str(path)).frames())
                             if moment.holds(f)]
            if not result.frames:
                raise EmoError(f"{path} has no frame {moment.span}; check the range against its length.")
        result.timing["decode"] = time.perf_counter() - start
    except EmoError as err:
        result.error = str(err)
    return result


class Predictor:
    """The face model and every chosen binary model, loaded once for many videos."""

    def __init__(self, params, models: list[EmotionModels]):
        configure(single_threaded=False)

        e = params.extract
        self.params = params
        self.models = models
        self.keras = load_models(models)
        self.detector = LandmarkDetector(resolve_face_model(e.face_model), e.crop_size, e.box, e.box_margin)

    def close(self) -> None:
        self.detector.close()

    def landmarks(self, path: Path, moment: Moment | None = None) -> VideoResult:
        return self.detect(decoded(path, moment))

    def landmarks_of_all(self, paths: list[Path], progress: bool = True) -> list[VideoResult]:
        """Every path's landmarks, in order; the next videos are decoded in a background
        thread meanwhile (decoding releases the GIL)."""
        return [self.detect(r) for r in tqdm(prefetch(map(decoded, paths), depth=2), total=len(paths),
                                             desc="landmarks", unit="video", disable=not progress)]

    def detect(self, result: VideoResult) -> VideoResult:
        if result.error:
            return result
        try:
            start = time.perf_counter()
            outcome = extract_sequence(self.detector, result.frames, settings_of(self.params.extract),
                                       keep_frames=True)
            result.timing["landmarks"] = time.perf_counter() - start
        except EmoError as err:
            result.error = str(err)
            return result
        if outcome.points is None:
            result.error = f"{result.path}: {outcome.reason}"
        result.landmarks, result.frame_points = outcome.points, outcome.frame_points
        return result

    def classify(self, results: list[VideoResult]) -> None:
        """Fill in the six probabilities of every video that has landmarks, in one eager batch per model."""
        ok = [r for r in results if r.landmarks is not None]
        if not ok:
            return
        start = time.perf_counter()
        probabilities = ensemble_probabilities(self.models, self.keras, np.stack([r.landmarks for r in ok]))
        elapsed = (time.perf_counter() - start) / len(ok)
        for r, p in zip(ok, probabilities):
            r.probabilities = p
            r.timing["model"] = elapsed


def predict(params: Params, paths: list[Path], variant: str = "temo", k: int | None = None,
            progress: bool = False) -> tuple[list[VideoResult], list[EmotionModels]]:
    """Every path's six probabilities with the chosen models (one result per path, in order)."""
    models = choose_models(artifacts.FULL, artifacts.RETRAIN, variant, k)
    predictor = Predictor(params, models)
    try:
        results = predictor.landmarks_of_all(paths, progress)
        predictor.classify(results)
    finally:
        predictor.close()
    return results, models


def results_table(results: list[VideoResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        row = {"video": r.path}
        if r.probabilities is not None:
            row.update({e: f"{float(p):.3f}" for e, p in zip(EMOTIONS, r.probabilities)})
            row["emotion"] = r.emotion
        else:
            row["emotion"] = "error"
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def results_json(results: list[VideoResult], models: list[EmotionModels]) -> dict:
    return {
        "models": {m.emotion: {"K": m.k, "files": [str(f) for f in m.files]} for m in models},
        "videos": [
            {"path": r.path, "emotion": r.emotion,
             "probabilities": None if r.probabilities is None else {e: float(p) for e, p in zip(EMOTIONS, r.probabilities)},
             "error": r.error or None, "timing_s": {k: round(v, 4) for k, v in r.timing.items()}}
            for r in results
        ],
    }


# ------------------------------------------------------------------------------ explain


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
        return shares_dict(action_unit_shares(self.attribution))

    @functools.cached_property
    def dataset_action_units(self) -> dict[str, float]:
        """The emotion's dataset-wide attribution per action unit, for comparison."""
        return shares_dict(action_unit_shares(self.dataset))


def explain_video(predictor: Predictor, result: VideoResult, emotion: str, steps: int, method: str) -> Explanation:
    """IG of one video for one emotion's models, against the typical videos of the five other
    emotions that the attribute stage chose; per-landmark values made as the attribute stage
    makes them (its `mask`), averaged over baselines and seeds."""
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


def write_explanation(predictor: Predictor, result: VideoResult, explanation: Explanation, out_dir: Path,
                      top: int, fps: float = 10.0) -> dict[str, Path]:
    """The picture (peak frame), the video (every frame) and the numbers of one explanation."""
    import cv2
    import matplotlib.pyplot as plt

    # Plotting loads matplotlib (~1 s): only `emo explain` needs it, never `emo predict`.
    from emo.report.plotting import colour_points, ranking_panels

    size = predictor.params.extract.crop_size
    crops = predictor.detector.face_crops(result.frames)
    ranking = ranking_of(explanation.attribution)
    name = Path(result.path).stem or Path(result.path).name
    if result.moment is not None:
        name += f"_{result.moment.label}"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"png": out_dir / f"{name}_{explanation.emotion}.png", "mp4": out_dir / f"{name}_{explanation.emotion}.mp4",
             "json": out_dir / f"{name}_{explanation.emotion}.json"}

    fig = ranking_panels(crops[-1], result.landmarks[-1].T * size, explanation.attribution, ranking, (top,),
                         f"{name}: {explanation.emotion} (p = {explanation.probability:.2f})")
    with atomic_file(paths["png"]) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    n, P = len(crops), len(explanation.per_frame)
    # A model of motion from the first frame puts that frame's attribution at minus the sum of
    # the others; scale the colours by the other frames so that the motion stays visible.
    moving = explanation.per_frame[1:] if predictor.params.model.input == "displacement" else explanation.per_frame
    peak = moving.max() or 1.0
    scale = 2
    with atomic_file(paths["mp4"]) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size * scale, size * scale))
        if not writer.isOpened():
            raise EmoError(f"OpenCV cannot write MP4 video to {paths['mp4']}; check the folder and its free space.")
        for i, crop in enumerate(crops):
            # The model saw P frames resampled from n: each frame shows the nearest one's attribution.
            t = int(round(i * (P - 1) / max(n - 1, 1)))
            blank = np.zeros((size, size), np.uint8) if crop is None else crop
            writer.write(colour_points(blank, result.frame_points[i] * size, explanation.per_frame[t] / peak, scale))
        writer.release()

    write_json(paths["json"], {
        "video": result.path,
        "moment": None if result.moment is None else {"start": result.moment.start, "end": result.moment.end,
                                                       "unit": result.moment.unit},
        "emotion": explanation.emotion,
        "probability": explanation.probability,
        "probabilities": {e: float(p) for e, p in zip(EMOTIONS, result.probabilities)},
        "models": next({"K": m.k, "files": [str(f) for f in m.files]} for m in predictor.models
                       if m.emotion == explanation.emotion),
        "top_landmarks": [int(i) for i in ranking[:top]],
        "regions": {k: round(v, 4) for k, v in explanation.regions.items()},
        "action_units": explanation.action_units,
        "emotion_action_units": explanation.dataset_action_units,
        "attribution": [round(float(v), 6) for v in explanation.attribution],
        "timing_s": {k: round(v, 4) for k, v in result.timing.items()},
    })
    return paths
