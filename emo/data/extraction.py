"""The extract stage: every sequence of a dataset to a fixed-size landmark tensor.

Output (DESIGN.md): landmarks.npz with X [N, P, 2, 468] float32 (x, y in the face crop,
in [0, 1]), y [N] (index into EMOTIONS), subject [N], sequence [N]; and manifest.csv,
one row per sequence found, saying what became of it and why.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from emo.config import DataParams, ExtractParams
from emo.data.dataset import LandmarkData
from emo.data.emotions import EMOTIONS
from emo.data.face_boxes import FaceBoxes, init_worker_faces, worker_faces
from emo.data.frames import Frame, unreadable
from emo.data.layouts import find_sequences
from emo.data.mesh import face_mesh
from emo.data.sequences import fill_gaps, resample
from emo.data.sources import DatasetVideo
from emo.errors import EmoError
from emo.parallel import process_pool, worker_count

MANIFEST_COLUMNS = [
    "sequence", "path", "subject", "label", "frames_total", "frames_read", "frames_with_face",
    "frames_filled", "size_changes", "status", "reason",
]

# Eye centres closer than this (a fraction of the face box) are no face: the landmarker's
# points have collapsed. A real face's are about a third of the box apart.
MIN_EYE_DISTANCE = 1e-3


@dataclass
class SequenceOutcome:
    frames_total: int = 0
    frames_read: int = 0
    frames_with_face: int = 0
    frames_filled: int = 0
    size_changes: int = 0  # frames whose size differs from the previous frame's (the face box found afresh)
    reason: str = ""  # "" when the sequence was kept
    points: np.ndarray | None = None  # [P, 2, 468]
    end_blendshapes: np.ndarray | None = None  # [2, 52] the first and the last face's blendshape scores
    frame_points: np.ndarray | None = None  # [n, 468, 2] every frame's gap-filled landmarks, on request
    frame_boxes: list | None = None  # [n] the face box each frame's landmarks are measured in (None: no face yet)


@dataclass(frozen=True)
class SequenceSettings:
    frames: int
    min_frames: int
    min_face_fraction: float


def settings_of(params: ExtractParams) -> SequenceSettings:
    return SequenceSettings(params.frames, params.min_frames, params.min_face_fraction)


def extract_sequence(faces: FaceBoxes, frames: Iterable[Frame], s: SequenceSettings, keep_frames: bool = False,
                     warm_up: Iterable[Frame] = (), restart_every: int | None = None) -> SequenceOutcome:
    """One sequence's landmark tensor, or the reason it cannot have one: the extract stage's
    code path, used as well by `emo predict` (`warm_up`, `restart_every`: FaceBoxes.sequence's,
    for a stretch of a recording)."""
    import cv2

    out = SequenceOutcome()

    def counted(frames):
        shape = None
        for frame in frames:
            out.frames_total += 1
            if frame.gray is not None:
                out.frames_read += 1
                out.size_changes += shape is not None and frame.gray.shape != shape
                shape = frame.gray.shape
            yield frame

    try:
        read = faces.sequence(counted(frames), warm_up, restart_every)
        points = read.point_array()
    except (cv2.error, OSError, ValueError) as e:
        out.reason = f"unreadable: {e}"
        return out
    found = ~np.isnan(points).any(axis=(1, 2))
    out.frames_with_face = int(found.sum())
    if out.frames_total == 0:
        out.reason = "unreadable: no frame could be decoded"
    elif out.frames_read == 0:
        out.reason = f"unreadable: none of its {out.frames_total} frames could be decoded"
    elif out.frames_total < s.min_frames:
        out.reason = f"too short: {out.frames_total} frames, fewer than extract.min_frames = {s.min_frames}"
    elif out.frames_with_face < s.min_face_fraction * out.frames_total or out.frames_with_face == 0:
        out.reason = (f"no face: found in {out.frames_with_face} of {out.frames_total} frames, "
                      f"fewer than extract.min_face_fraction = {s.min_face_fraction}")
    else:
        filled, out.frames_filled = fill_gaps(points)
        out.reason = _bad_points(filled)
        if not out.reason:
            out.points = resample(filled, s.frames).transpose(0, 2, 1)  # [P, 2, 468]
            faced = np.flatnonzero(found)
            out.end_blendshapes = np.stack([read.blendshapes[faced[0]], read.blendshapes[faced[-1]]])
            if keep_frames:
                out.frame_points, out.frame_boxes = filled, read.boxes
    return out


def _bad_points(points: np.ndarray) -> str:
    """Why gap-filled landmarks [n, 468, 2] cannot be a face ("" when they can): values that are
    not finite, or points collapsed so that the eyes coincide."""
    bad = ~np.isfinite(points).all(axis=(1, 2))
    if bad.any():
        return f"not finite: landmarks hold NaN or infinite values in {int(bad.sum())} of {len(points)} frames"
    regions = face_mesh().regions
    eyes = points[:, regions["left_eye"]].mean(axis=1) - points[:, regions["right_eye"]].mean(axis=1)
    collapsed = np.linalg.norm(eyes, axis=1) < MIN_EYE_DISTANCE
    if collapsed.any():
        return (f"degenerate face: the eyes' landmarks coincide (inter-ocular distance 0) in {int(collapsed.sum())} "
                f"of {len(points)} frames")
    return ""


def _extract_one(args: tuple[DatasetVideo, SequenceSettings]) -> SequenceOutcome:
    source, settings = args
    try:
        return extract_sequence(worker_faces(), source.frames(), settings)
    except EmoError as e:  # a video that cannot be opened, a folder that cannot be listed
        return SequenceOutcome(reason=f"unreadable: {e}")


def extract_sequences(
    sources: list[DatasetVideo], params: ExtractParams, model_path: Path, progress: bool = True
) -> list[SequenceOutcome]:
    """Landmarks of each usable source, in a pool of worker processes, in the sources' order."""
    settings = settings_of(params)
    workers = worker_count(params.workers, len(sources))
    init_args = (str(model_path), params)
    with process_pool(workers, init_worker_faces, init_args) as pool:
        results = pool.map(_extract_one, [(s, settings) for s in sources])
        return list(tqdm(results, total=len(sources), desc="extract", unit="seq", disable=not progress))


def extract_dataset(
    data: DataParams, params: ExtractParams, model_path: Path, progress: bool = True,
    key: str = "data", sources: list[DatasetVideo] | None = None,
) -> tuple[LandmarkData, pd.DataFrame]:
    """The landmarks of the dataset at data.root (its `sources`, when already found) and its
    manifest (one row per sequence found); messages name the params as `key`.root and
    `key`.layout."""
    if not data.root.exists():
        raise EmoError(f"{key}.root '{data.root}' does not exist; put the dataset there or change {key}.root in "
                       "params.yaml.")
    if not os.access(data.root, os.R_OK | os.X_OK):
        raise EmoError(f"{key}.root: {unreadable(data.root)}")
    if sources is None:
        sources = find_sequences(data.root, data.layout, data.subject_pattern)
    if not sources:
        raise EmoError(f"no sequence found under {data.root} in the {data.layout} layout; check {key}.root and "
                       f"{key}.layout (README: Running on CK+).")
    usable = [s for s in sources if s.usable]
    if not usable:
        raise EmoError(
            f"no usable sequence under {data.root} ({len(sources)} found: {_summary(s.problem for s in sources)}); "
            f"check {key}.root and {key}.layout."
        )
    outcomes = dict(zip((s.sequence for s in usable), extract_sequences(usable, params, model_path, progress)))

    rows, kept = [], []
    for s in sources:
        o = outcomes.get(s.sequence, SequenceOutcome(reason=s.problem))
        row = {"sequence": s.sequence, "path": str(s.path.relative_to(data.root)), "subject": s.subject,
               "label": s.label, "status": "ok" if o.points is not None else "skipped"}
        row.update({k: getattr(o, k) for k in MANIFEST_COLUMNS if hasattr(o, k)})
        rows.append(row)
        if o.points is not None:
            kept.append((s, o))
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)

    failed = [o.reason for o in outcomes.values() if o.points is None]
    if not kept:
        raise EmoError(f"no sequence of {data.root} gave landmarks ({_summary(failed)}); check that the videos show a face.")
    if len(failed) > params.max_skipped_fraction * len(usable):
        raise EmoError(
            f"{len(failed)} of {len(usable)} labelled sequences were skipped ({_summary(failed)}), more than "
            f"extract.max_skipped_fraction = {params.max_skipped_fraction}; check the data or raise that limit."
        )

    landmarks = LandmarkData(X=np.stack([o.points for _, o in kept]).astype(np.float32),
                             y=np.array([EMOTIONS.index(s.label) for s, _ in kept], dtype=np.int64),
                             subject=np.array([s.subject for s, _ in kept]),
                             sequence=np.array([s.sequence for s, _ in kept]),
                             end_blendshapes=np.stack([o.end_blendshapes for _, o in kept]))
    return landmarks, manifest


def manifest_counts(manifest: pd.DataFrame) -> dict[str, float]:
    """The extract stage's headline numbers (MLflow)."""
    ok = manifest[manifest.status == "ok"]
    return {"sequences_found": len(manifest), "kept": len(ok), "skipped": len(manifest) - len(ok),
            "frames_filled": int(ok.frames_filled.sum()), "frames_total": int(ok.frames_total.sum()),
            "size_changes": int(manifest.size_changes.sum()),
            **{f"kept.{e}": int((ok.label == e).sum()) for e in EMOTIONS}}


def manifest_summary(manifest: pd.DataFrame) -> str:
    """A few lines a user reads after the stage: kept per emotion, skipped per reason, frames filled."""
    ok = manifest[manifest.status == "ok"]
    skipped = manifest[manifest.status == "skipped"]
    per_emotion = ", ".join(f"{e} {int((ok.label == e).sum())}" for e in EMOTIONS)
    lines = [
        f"{len(manifest)} sequences found, {len(ok)} kept ({per_emotion}), {len(skipped)} skipped"
        + (f" ({_summary(skipped.reason)})" if len(skipped) else ""),
        f"{int(ok.frames_filled.sum())} of {int(ok.frames_total.sum())} frames in kept sequences were filled "
        f"from neighbours (no face or unreadable)",
    ]
    resized = manifest[manifest.size_changes > 0]
    if len(resized):
        lines.append(f"{len(resized)} sequences change frame size midway ({int(resized.size_changes.sum())} times, "
                     "listed in manifest.csv's size_changes); the face box was found again at each change")
    return "\n".join(lines)


def _summary(reasons) -> str:
    counts = Counter(r.split(":")[0] for r in reasons if r)
    return ", ".join(f"{n} {k}" for k, n in counts.most_common())
