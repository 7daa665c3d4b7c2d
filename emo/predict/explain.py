"""`emo explain`: Integrated Gradients of one video's prediction, per landmark, face region and
action unit, and the files that show it (a picture of the peak frame, a video of every frame,
the numbers).

The explanation modules load SciPy (~0.5 s) and plotting loads matplotlib (~1 s): they are
imported where `emo explain` needs them, so that `emo predict` answers a path that is no video
at once."""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emo import artifacts
from emo.data.dataset import load_landmarks
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS, face_mesh
from emo.errors import EmoError
from emo.files import atomic_file, write_json
from emo.models.model import model_weights
from emo.models.training import model_input
from emo.predict.predictor import Predictor
from emo.predict.tables import VideoResult
from emo.video.clips import Moment, clip_frames
from emo.video.mp4 import H264Writer

# Regions a reader names; the face oval stands for the jaw line and cheeks' outline.
REGIONS = {"lips": "lips", "left eyebrow": "left_eyebrow", "right eyebrow": "right_eyebrow",
           "left eye": "left_eye", "right eye": "right_eye", "nose": "nose", "jaw and face outline": "face_oval"}


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
    for model in predictor.keras_models[emotion]:
        ig = integrated_gradients_of(model, steps, method, 256 * 2**20)
        values = ig.attributions(x, baselines, model_weights(model))  # [5, P, 2, L, 1]: every baseline in one call
        whole += landmark_mask(values, mask).sum(axis=0)
        # each frame on its own: [5 * P, 1, 2, L, 1] -> [5, P, L]
        by_frame = landmark_mask(values.reshape(-1, 1, *values.shape[2:]), mask)
        frames += by_frame.reshape(len(others), data.frames, -1).sum(axis=0)
    result.timing["ig"] = time.perf_counter() - start
    runs = len(predictor.keras_models[emotion]) * len(others)
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
    import matplotlib.pyplot as plt

    from emo.explanation.global_attribution import ranking_of
    from emo.report.callouts import ranked_figure

    size = predictor.params.extract.crop_size
    ranking = ranking_of(explanation.attribution)
    where = "" if result.moment is None else f", {result.moment.span}"
    face = _write_explanation_video(predictor, result, explanation, files["mp4"], fps)

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


def _write_explanation_video(predictor: Predictor, result: VideoResult, explanation: Explanation, path: Path,
                             fps: float) -> np.ndarray:
    """Every frame's face crop with its landmarks coloured by their attribution, as an H.264 MP4
    at `path`; returns the last frame's crop (blank when it had no face)."""
    from emo.report.plotting import colour_points

    size = predictor.params.extract.crop_size
    n, P = len(result.frame_points), len(explanation.per_frame)
    # A model of motion from the first frame puts that frame's attribution at minus the sum of
    # the others; scale the colours by the other frames so that the motion stays visible.
    moving = explanation.per_frame[1:] if predictor.params.model.input == "displacement" else explanation.per_frame
    peak = moving.max() or 1.0
    scale = 2
    face = blank = np.zeros((size, size), np.uint8)
    # The video is read a second time, each frame cropped to the box its landmarks are measured
    # in, rather than held: a long one's frames would not fit in memory.
    clip = clip_frames(Path(result.path), result.moment, predictor.params.timeline.frame_rate)
    frames = itertools.islice(clip.frames, n)
    with atomic_file(path) as tmp, H264Writer(tmp, fps, (size * scale, size * scale)) as video:
        for i, (frame, box) in enumerate(zip(frames, result.frame_boxes)):
            face = blank if box is None or frame.gray is None else box.crop(frame.gray, size)
            # The model saw P frames resampled from n: each frame shows the nearest one's attribution.
            t = int(round(i * (P - 1) / max(n - 1, 1)))
            video.write(colour_points(face, result.frame_points[i] * size, explanation.per_frame[t] / peak, scale))
    return face
