"""Everything the report reads, loaded and checked once, with the values its sections derive
from it computed once."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emo.data.dataset import LandmarkData, load_landmarks
from emo.data.emotions import EMOTIONS
from emo.data.face_boxes import FaceBoxes
from emo.data.face_model import resolve_face_model
from emo.data.landmarks import LandmarkDetector
from emo.data.mesh import N_LANDMARKS
from emo.data.sources import DatasetVideo
from emo.errors import EmoError
from emo.evaluation.metrics import TIMINGS, summarize
from emo.evaluation.runs import all_runs, best_k_per_emotion, config_label
from emo.evaluation.six_class import accuracy_table, merge
from emo.models.model import VARIANTS
from emo.models.selection import CONTROLS
from emo.report.comparisons import comparisons_table
from emo.report.tables import ks_of, per_subject_accuracy


@dataclass(frozen=True)
class Setup:
    """The params values the report states or works with."""

    data_root: Path
    layout: str
    demo: bool  # data.root is the embedded demo, not real recordings
    split_mode: str
    model_input: str
    flip: str
    learning_rate: float
    epochs: int
    frames: int  # P, extract.frames
    ig_steps: int  # m, attribute.steps
    evaluated_roots: dict[str, Path]  # each dataset of evaluate.datasets: its folder
    timeline: str  # the timeline stage's settings, in words
    # Figure 3 crops the faces again as extract cropped them:
    face_model: Path  # extract.face_model, resolved only when Figure 3 is drawn
    crop_size: int
    box: str
    box_margin: float


@dataclass(frozen=True)
class TypicalFace:
    """The peak (last) frame of an emotion's typical training video, cropped as extract cropped it."""

    sequence: str
    crop: np.ndarray  # grayscale, crop_size x crop_size
    points: np.ndarray  # [468, 2] its landmarks, in the crop's pixels


@dataclass(frozen=True)
class ReportInputs:
    setup: Setup
    data: LandmarkData
    manifest: pd.DataFrame  # extract's, indexed by sequence
    attributions: dict[str, np.ndarray]  # the attribute stage's arrays
    attribution_summary: dict
    runs: pd.DataFrame  # train_full's (the top 468) and retrain_k's, with their timings
    predictions: pd.DataFrame  # both stages' test probabilities
    svm: pd.DataFrame  # the baselines' runs
    hparams: dict[int, dict[str, dict]]  # K -> emotion -> the chosen F/Q/R
    evaluations: dict[str, dict]  # each dataset of evaluate.datasets: its metrics.json
    timelines: dict[str, dict]  # each folder of timeline.recordings: its metrics.json
    timeline_set: pd.DataFrame  # the timeline's own models' summary on the test clips (train_timeline)
    timeline_plots: dict[str, dict[str, Path]]  # ... and each recording's plot
    # Derived:
    summary: pd.DataFrame  # emo.evaluation.metrics.summarize of the runs
    ks: list[int]  # largest first
    best_k: dict[str, int]  # each emotion's K with the lowest validation loss
    merged: pd.DataFrame  # six-class predictions per config, seed and test video
    six: pd.DataFrame  # six-class accuracy per config
    controls: list[str]  # the control selections that ran, e.g. ['random', 'bottom']
    variants: list[str]  # the networks that ran
    comparisons: pd.DataFrame  # emo.report.comparisons.comparisons_table
    per_subject: pd.DataFrame
    # The check_rankings stage's: is each ranking right?
    checks: dict  # its metrics.json
    localisation: pd.DataFrame | None  # None when the dataset plants no truth (real data)
    sanity: pd.DataFrame
    agreement: pd.DataFrame
    action_unit_shares: pd.DataFrame
    rival_attributions: dict[str, np.ndarray]  # each rival method's [6, 468] (the rivals stage)

    @functools.cached_property
    def typical_faces(self) -> dict[str, TypicalFace]:
        """Each emotion's typical face, for Figure 3 and its rivals: the face detector runs once
        per emotion, and only when a figure is drawn."""
        setup, typical = self.setup, self.attributions["typical"][0]
        faces = {}
        detector = LandmarkDetector(resolve_face_model(setup.face_model), setup.crop_size, setup.box_margin)
        with FaceBoxes(detector, setup.box) as boxes:
            for e, emotion in enumerate(EMOTIONS):
                sequence = str(self.data.sequence[typical[e]])
                crop = peak_face(boxes, setup.data_root / self.manifest.loc[sequence, "path"], setup.crop_size)
                faces[emotion] = TypicalFace(sequence, crop, self.data.X[typical[e], -1].T * setup.crop_size)
        return faces


def load_inputs(setup: Setup, *, landmarks: Path, manifest: Path, attributions: Path, attribution_summary: Path,
                tuned_hparams: Path, full_runs: Path, full_timings: Path, full_predictions: Path,
                retrain_runs: Path, retrain_timings: Path, retrain_predictions: Path, retrain_hparams: Path,
                baseline_runs: Path, evaluations: dict[str, Path], timelines: dict[str, Path], timeline_set_runs: Path,
                check_metrics: Path,
                localisation: Path, sanity: Path, agreement: Path, action_unit_shares: Path,
                rivals: Path) -> ReportInputs:
    """Load the report's files (`evaluations`: each evaluated dataset's metrics.json;
    `timelines`: each recordings folder's metrics.json, its plots beside it; `localisation`
    exists only where check_rankings had a truth) after checking that every one exists."""
    files = [landmarks, manifest, attributions, attribution_summary, tuned_hparams, full_runs, full_timings,
             full_predictions, retrain_runs, retrain_timings, retrain_predictions, retrain_hparams, baseline_runs,
             *evaluations.values(), *timelines.values(), timeline_set_runs, check_metrics, sanity, agreement,
             action_unit_shares, rivals]
    _require(files)
    checks = _json(check_metrics)
    if checks["truth"]:
        _require([localisation])
    data = load_landmarks(landmarks)
    with np.load(attributions) as z:
        arrays = {k: z[k] for k in z.files}
    with np.load(rivals) as z:
        rival_arrays = {str(m): z[str(m)] for m in z["methods"]}
    runs = all_runs(_with_timings(full_runs, full_timings), _with_timings(retrain_runs, retrain_timings))
    predictions = pd.concat([pd.read_csv(full_predictions), pd.read_csv(retrain_predictions)], ignore_index=True)
    svm = pd.read_csv(baseline_runs)
    hparams = {N_LANDMARKS: _json(tuned_hparams)["best"]}
    hparams.update({int(k[1:]): v for k, v in _json(retrain_hparams)["best"].items()})  # keys 'K32', ...
    best_k = best_k_per_emotion(runs)
    merged = merge(_six_class_predictions(predictions, best_k), data.y)
    return ReportInputs(
        setup=setup, data=data, manifest=pd.read_csv(manifest).set_index("sequence"), attributions=arrays,
        attribution_summary=_json(attribution_summary), runs=runs, predictions=predictions, svm=svm,
        hparams=hparams, evaluations={name: _json(path) for name, path in evaluations.items()},
        timelines={name: _json(path) for name, path in timelines.items()},
        timeline_set=summarize(pd.read_csv(timeline_set_runs)),
        timeline_plots={name: {rec: Path(path).parent / f"{rec}.png" for rec in _json(path)["recordings"]}
                        for name, path in timelines.items()},
        summary=summarize(runs), ks=ks_of(runs), best_k=best_k, merged=merged, six=accuracy_table(merged),
        controls=[c for c in CONTROLS if c in set(runs.selection)],
        variants=[v for v in VARIANTS if v in set(runs.variant)], comparisons=comparisons_table(runs, svm),
        per_subject=per_subject_accuracy(merged, data.subject),
        checks=checks, localisation=pd.read_csv(localisation) if checks["truth"] else None,
        sanity=pd.read_csv(sanity), agreement=pd.read_csv(agreement),
        action_unit_shares=pd.read_csv(action_unit_shares), rival_attributions=rival_arrays,
    )


def _require(files: list[Path]) -> None:
    for path in files:
        if not Path(path).is_file():
            raise EmoError(f"{path} is missing; run `dvc repro` so that every stage before report has run.")


def _json(path: Path):
    return json.loads(Path(path).read_text())


def _with_timings(runs: Path, timings: Path) -> pd.DataFrame:
    """A stage's runs with their wall-clock times (kept apart from runs.csv, which must not
    change when only the timings do)."""
    table = pd.read_csv(timings)
    return pd.read_csv(runs).merge(table, on=[c for c in table.columns if c not in TIMINGS], how="left")


def peak_face(boxes: FaceBoxes, path: Path, size: int) -> np.ndarray:
    """A video's last (peak) frame, cropped to the box extract measured its landmarks in."""
    frames = list(DatasetVideo(sequence=path.name, subject="", path=path, label="").frames())
    measured_in = boxes.sequence(frames).boxes
    if not frames or measured_in[-1] is None or frames[-1].gray is None:
        raise EmoError(f"no face found again in {path}; was data.root changed since extract ran?")
    return measured_in[-1].crop(frames[-1].gray, size)


def _six_class_predictions(predictions: pd.DataFrame, best_k: dict[str, int]) -> pd.DataFrame:
    """The test probabilities of every network config: each variant at each K, and each
    variant at each emotion's best K."""
    top = predictions[predictions.selection.isin(["all", "top"])]
    configs = [top.assign(config=[config_label(v, k) for v, k in zip(top.variant, top.K)])]
    for variant in VARIANTS:
        chosen = top[(top.variant == variant) & (top.K == top.emotion.map(best_k))]
        configs.append(chosen.assign(config=config_label(variant, None)))
    return pd.concat(configs, ignore_index=True)
