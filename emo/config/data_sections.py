"""The params sections that say what data emo reads and writes: data, demo, extract, split,
evaluate and timeline. Each section checks its own values; Params (emo.config.params) checks
the keys that must fit together across sections.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from emo.config.bounds import (MAX_CROP, MAX_EPISODES, MAX_FRAMES, MAX_INTENSITY, MAX_SEEDS, MAX_SEQUENCE_FRAMES,
                               MAX_STRETCH_S, MAX_STRIDE, MAX_SUBJECTS, KeyName, check_count, check_fraction,
                               check_non_negative, check_ordered_range, check_seed, check_within, check_workers)
from emo.config.reads import Section, section
from emo.errors import ConfigError


@section
class DataParams(Section):
    root: Path
    """Dataset folder: CK+ (holding cohn-kanade-images/ and Emotion/) or a folder layout."""
    layout: Literal["ckplus", "folder"]
    subject_pattern: str
    """Folder layout only: regex whose first group, applied to a video's name, is its subject."""

    def check(self, key: KeyName) -> None:
        try:
            pattern = re.compile(self.subject_pattern)
        except re.error as e:
            raise ConfigError(f"{key('subject_pattern')} is not a valid regular expression ({e}); fix it.") from None
        if pattern.groups < 1:
            raise ConfigError(f"{key('subject_pattern')} needs one capturing group (the subject), e.g. '^([^_]+)'.")


@section
class HeldoutDemoParams(Section):
    """A second demo set that no model trains on, for the evaluate stage: other identities,
    expression intensities and distractor action units than the main demo's."""

    out: Path
    seed: int
    subjects: int
    intensity: tuple[float, float]
    distractor: float

    def check(self, key: KeyName) -> None:
        check_seed(self.seed, key("seed"))
        check_within(self.subjects, key("subjects"), 1, MAX_SUBJECTS)
        check_ordered_range(self.intensity, key("intensity"), 0.0, MAX_INTENSITY)
        check_within(self.distractor, key("distractor"), 0, MAX_INTENSITY)


@section
class DemoRecordingsParams(Section):
    """Long synthetic recordings with per-frame truth (the timeline stage's default input): a
    person goes neutral, onset, apex held, offset, neutral, then the next emotion, with head
    motion, blinks, distractor action units and a stretch where the face leaves the frame."""

    out: Path
    """The recordings of the main demo's people."""
    heldout_out: Path
    """The recordings of the held-apart people, in a folder of their own: nothing is chosen on them."""
    subjects: int
    """Recordings of the main demo's identities (the models trained on these people)."""
    heldout_subjects: int
    """Recordings of the held-apart set's identities (no model saw these people)."""
    opens_on_expression: int
    """Of each set's recordings, the last this many open on their first expression's apex."""
    fps: float
    episodes: int
    """Expressions per recording, each emotion in turn (a seeded order)."""
    neutral_range_s: tuple[float, float]
    """Shortest and longest neutral stretch before each expression, seconds."""
    apex_range_s: tuple[float, float]
    """Shortest and longest hold of the expression's peak, seconds."""
    talking_range_s: tuple[float, float]
    """Shortest and longest stretch of talking (no emotion) that ends each recording, seconds."""

    def check(self, key: KeyName) -> None:
        check_non_negative(self.subjects, key("subjects"))
        check_non_negative(self.heldout_subjects, key("heldout_subjects"))
        if self.subjects + self.heldout_subjects == 0:
            raise ConfigError(f"{key('subjects')} and heldout_subjects are both 0; give at least one recording.")
        check_within(self.opens_on_expression, key("opens_on_expression"), 0, max(self.subjects, self.heldout_subjects))
        check_within(self.fps, key("fps"), 1, 120)
        check_within(self.episodes, key("episodes"), 1, MAX_EPISODES)
        check_ordered_range(self.neutral_range_s, key("neutral_range_s"), 0.5, MAX_STRETCH_S)
        check_ordered_range(self.apex_range_s, key("apex_range_s"), 0.2, MAX_STRETCH_S)
        check_ordered_range(self.talking_range_s, key("talking_range_s"), 0.5, MAX_STRETCH_S)


@section
class DemoParams(Section):
    out: Path
    seed: int
    subjects: int
    frames: tuple[int, int]
    """Fewest and most frames of a sequence (CK+ has 10 to 60)."""
    intensity: tuple[float, float]
    """Range of a subject's expression intensity (1 = the action units' nominal size)."""
    distractor: float
    """Largest intensity of one unrelated action unit added to each sequence."""
    contempt: int
    unlabeled: int
    colour_fraction: float
    workers: int
    heldout: HeldoutDemoParams
    recordings: DemoRecordingsParams

    def check(self, key: KeyName) -> None:
        check_seed(self.seed, key("seed"))
        check_within(self.subjects, key("subjects"), 1, MAX_SUBJECTS)
        check_ordered_range(self.frames, key("frames"), 2, MAX_FRAMES)
        check_ordered_range(self.intensity, key("intensity"), 0.0, MAX_INTENSITY)
        check_within(self.distractor, key("distractor"), 0, MAX_INTENSITY)
        check_within(self.contempt, key("contempt"), 0, MAX_SUBJECTS)
        check_within(self.unlabeled, key("unlabeled"), 0, MAX_SUBJECTS)
        check_fraction(self.colour_fraction, key("colour_fraction"))
        check_workers(self.workers, key("workers"))
        for name, count, available in (("recordings.subjects", self.recordings.subjects, self.subjects),
                                       ("recordings.heldout_subjects", self.recordings.heldout_subjects,
                                        self.heldout.subjects)):
            if count > available:
                raise ConfigError(f"{key(name)} is {count}, but that demo set has only {available} subjects; "
                                  "lower it or generate more.")


@section
class ExtractParams(Section):
    face_model: Path
    """face_landmarker.task; the default path is filled by the face_model stage."""
    frames: int
    """P: every sequence is resampled to this many frames."""
    crop_size: int
    box: Literal["sequence", "frame"]
    """'sequence': one face box per sequence, so landmarks move only with the face (ours);
    'frame': a box per frame, the paper's literal per-frame crop."""
    box_margin: float
    min_frames: int
    min_face_fraction: float
    max_skipped_fraction: float
    workers: int
    """Processes; 0 uses every core."""

    def check(self, key: KeyName) -> None:
        check_within(self.frames, key("frames"), 2, MAX_FRAMES)
        check_within(self.crop_size, key("crop_size"), 32, MAX_CROP)
        check_fraction(self.box_margin, key("box_margin"), upper=1.0)
        check_within(self.min_frames, key("min_frames"), 2, MAX_SEQUENCE_FRAMES)
        check_fraction(self.min_face_fraction, key("min_face_fraction"))
        check_fraction(self.max_skipped_fraction, key("max_skipped_fraction"))
        check_workers(self.workers, key("workers"))


@section
class SplitParams(Section):
    seeds: list[int]
    """One train/validation/test partition per seed (the paper: 10)."""
    mode: Literal["subject", "random"]
    """'subject' keeps every person in one part (ours); 'random' is the paper's plain split."""
    test_fraction: float
    val_fraction: float

    def check(self, key: KeyName) -> None:
        if not self.seeds:
            raise ConfigError(f"{key('seeds')} is empty; give at least one seed, e.g. [0, 1, 2].")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"{key('seeds')} repeats a seed; each partition needs its own.")
        check_count(self.seeds, key("seeds"), MAX_SEEDS)
        for seed in self.seeds:
            check_seed(seed, key("seeds"))
        check_fraction(self.test_fraction, key("test_fraction"), upper=0.5)
        check_fraction(self.val_fraction, key("val_fraction"), upper=0.5)
        if self.test_fraction == 0 or self.val_fraction == 0:
            raise ConfigError(f"{key('test_fraction')} and val_fraction must be above 0; both parts are needed.")


@section
class EvaluationDataset(Section):
    root: Path
    """The dataset's folder, in any layout extract reads."""
    layout: Literal["ckplus", "folder"]


@section
class EvaluateParams(Section):
    datasets: dict[str, EvaluationDataset]
    """Other datasets to run the trained models on, by name ({} = none)."""

    def check(self, key: KeyName) -> None:
        for name in self.datasets:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise ConfigError(f"{key('datasets')} names a dataset '{name}'; use letters, digits, - and _ only "
                                  "(the name becomes a folder).")


@section
class Recordings(Section):
    root: Path
    """A folder of recordings: video files and frame folders; `<name>.truth.csv` beside a
    recording (columns frame, emotion) scores its timeline."""


@section
class TimelineParams(Section):
    recordings: dict[str, Recordings]
    """Folders of continuous recordings for the timeline stage, by name ({} = none)."""
    models: Literal["timeline", "paper"]
    """'timeline': the timeline's own models (train_timeline: trained on timeline-like windows too);
    'paper': the paper's (each emotion's best K of train_full and retrain_k, as `emo predict`)."""
    window_s: float
    """The models read the last window_s seconds before each frame (resampled to extract.frames)."""
    reference: Literal["estimated", "first", "rolling", "neutral"]
    """The face the motion is read from: 'estimated' (the median of neutral_s seconds' worth of the
    frames that look most neutral: of the whole recording offline, of the frames so far live),
    'first' of each window (as in training), 'rolling' (the median face of the last history_s
    seconds), 'neutral' (the first neutral_s seconds)."""
    history_s: float
    neutral_s: float
    """estimated: seconds' worth of the most neutral-looking frames; neutral: the opening seconds."""
    align: Literal["none", "similarity"]
    """'similarity': each frame's landmarks are rotated, scaled and shifted onto the reference
    (Procrustes on the rigid landmarks), so that head motion does not read as expression."""
    threshold: float
    """A frame's emotion is the most probable one when its probability reaches this, else 'none'."""
    absolute_weight: float
    """The share of each frame's probabilities read from the frame alone (its blendshape scores,
    the reference-free baseline), the rest from the models' reading against the neutral face."""
    stride: int
    """The models run every stride-th frame; the frames between repeat the last answer."""
    frame_rate: float
    """Frames per second of frame folders (videos carry their own timestamps)."""
    workers: int
    """Processes reading landmarks; 0 = every core."""

    def check(self, key: KeyName) -> None:
        for name in self.recordings:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise ConfigError(f"{key('recordings')} names '{name}'; use letters, digits, - and _ only "
                                  "(the name becomes a folder).")
        for name, value, low, high in (("window_s", self.window_s, 0.1, 30.0), ("history_s", self.history_s, 1.0, 600.0),
                                       ("neutral_s", self.neutral_s, 0.1, 600.0), ("frame_rate", self.frame_rate, 1.0, 1000.0)):
            check_within(value, key(name), low, high)
        check_fraction(self.threshold, key("threshold"))
        check_fraction(self.absolute_weight, key("absolute_weight"))
        check_within(self.stride, key("stride"), 1, MAX_STRIDE)
        check_workers(self.workers, key("workers"))

