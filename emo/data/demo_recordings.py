"""Long synthetic recordings with per-frame truth, made from the demo's faces and action units.

A recording is one demo subject (of the main set, whom the models trained on, or of the
held-apart set, whom no model saw) filmed for a minute or so: a neutral stretch, then an
expression's onset (as many frames as a training clip), its apex held, its offset (slower than
the onset, as real expressions fade), then the next emotion, the six in a seeded order; a last
neutral stretch, then one of talking (`talking_range_s`: the jaw and lower lip moving at a
syllable's pace, no emotion), end it. The last `opens_on_expression` recordings of each set open on their
first expression's apex, held from frame 0, without a neutral stretch before it. On top: the
head drifts, turns and scales slowly, the eyes blink every few seconds, some neutral stretches
hold a brief weak action unit that is no emotion, and once the face leaves the frame for a
couple of seconds. Each recording is `<name>.mp4` with `<name>.truth.csv` beside it, one row
per frame (TRUTH_COLUMNS). Everything is drawn from numpy generators seeded by
(set's seed, 4, subject, part), so the same params give the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from emo.config import DemoParams
from emo.data.action_units import ACTION_UNITS, action_unit_field, blink_field
from emo.data.demo import (Subject, _init_worker, _smoothstep, base_faces, heldout_params, render_frame, subject_name,
                           worker_subject)
from emo.data.emotions import EMOTIONS, LABELLED_FROM
from emo.errors import ConfigError
from emo.parallel import process_pool, worker_count

STREAM = 4  # the recordings' generators: (seed, STREAM, subject, part); the CK+ sequences use 0..3
CANVAS = (640, 480)  # width, height of every recording
TRUTH_SUFFIX = ".truth.csv"
TRUTH_COLUMNS = ("frame", "time_s", "emotion", "phase", "face", "intensity", "blink", "distractor", "talking")
PHASES = ("neutral", "onset", "apex", "offset", "away")
NEUTRAL, ONSET, APEX, OFFSET, AWAY = range(len(PHASES))

# Nuisances (seconds, canvas pixels, degrees, action-unit intensities).
HEAD_SHIFT = 20.0  # largest drift of the head from its resting place, px
HEAD_TURN = 6.0  # largest in-plane turn, degrees
HEAD_ZOOM = 0.04  # largest change of scale (towards or away from the camera)
HEAD_PERIOD_S = (3.0, 12.0)  # periods of the slow sinusoids the head motion is made of
HEAD_WAVES = 3  # sinusoids per motion
BLINK_EVERY_S = (2.0, 6.0)
BLINK_S = (0.2, 0.3)
DISTRACTOR_CHANCE = 0.5  # of a neutral stretch holding a distractor action unit
DISTRACTOR_S = (0.5, 1.0)
DISTRACTOR_INTENSITY = (0.2, 0.5)
AWAY_S = (1.5, 2.5)
OFFSET_SLOWER = (1.5, 3.0)  # an offset lasts this many times its onset
SYLLABLE_S = (0.15, 0.35)  # one opening and closing of the mouth
PAUSE_CHANCE = 0.2  # of a syllable's time being a pause instead
JAW = (0.2, 0.6)  # AU26 (jaw drop) per syllable: speech opens the mouth less than surprise's 1
LOWER_LIP = (0.0, 0.4)  # AU16 (lower lip depressor) per syllable
TALKING_UNITS = (26, 16)
AWAY_BLUR = 0.1  # the empty frame's blur, as a fraction of the canvas width


@dataclass(frozen=True)
class Recording:
    """One recording to make: a subject of a demo set, and the file name that says whose face it is."""

    name: str  # demo_S001 (main set) or heldout_S001 (held-apart set)
    params: DemoParams  # the set's generation params (heldout_params for the held-apart set)
    subject: int
    opens_on_expression: bool
    heldout: bool  # written to demo.recordings.heldout_out, apart from the trained-on people's


@dataclass(frozen=True)
class Timeline:
    """What happens in a recording, one entry per frame."""

    emotions: tuple[str, ...]  # the emotion of each episode
    phase: np.ndarray  # [n] int, index into PHASES
    episode: np.ndarray  # [n] int, the expression's episode; -1 in neutral and away frames
    alpha: np.ndarray  # [n] how much of the expression, 0..1
    blink: np.ndarray  # [n] how far the eyes are closed, 0..1
    distractor: np.ndarray  # [n] int, the distractor's action unit; 0 when none
    distractor_amount: np.ndarray  # [n] its intensity at that frame
    talking: np.ndarray  # [n] bool: the talking stretch (its phase is neutral: no emotion)
    mouth: np.ndarray  # [n, 2] the talking's AU26 and AU16 intensities (TALKING_UNITS); 0 elsewhere

    def truth(self, fps: float) -> pd.DataFrame:
        """The per-frame truth table (TRUTH_COLUMNS)."""
        n = len(self.phase)
        emotion = np.array(self.emotions + ("none",))[self.episode]  # episode -1 reads "none"
        face = self.phase != AWAY
        return pd.DataFrame({
            "frame": np.arange(n),
            "time_s": np.round(np.arange(n) / fps, 3),
            "emotion": np.where(self.alpha >= LABELLED_FROM, emotion, "none"),
            "phase": np.array(PHASES)[self.phase],
            "face": np.where(face, "true", "false"),
            "intensity": np.round(self.alpha, 3),
            "blink": np.where(self.blink > 0, "true", "false"),
            "distractor": self.distractor,
            "talking": np.where(self.talking, "true", "false"),
        }, columns=list(TRUTH_COLUMNS))


def _bump(u: np.ndarray) -> np.ndarray:
    """0 -> 1 -> 0 over u in [0, 1], smoothly (a blink, a brief action unit)."""
    return _smoothstep(1 - np.abs(2 * u - 1))


def _frames(rng: np.random.Generator, seconds: tuple[float, float], fps: float) -> int:
    return max(1, round(rng.uniform(*seconds) * fps))


def plan_timeline(params: DemoParams, s: int, opens_on_expression: bool = False) -> Timeline:
    """Subject s's recording (of the set `params`): its episodes, blinks, distractors and talking;
    with `opens_on_expression`, the first episode's apex is held from frame 0."""
    rec, fps = params.recordings, params.recordings.fps
    rng = np.random.default_rng([params.seed, STREAM, s, 0])
    order = rng.permutation(len(EMOTIONS))
    emotions = tuple(EMOTIONS[order[k % len(order)]] for k in range(rec.episodes))
    # Episode k is neutral[k], onset, apex, offset; neutral[episodes] ends the recording.
    neutral = [_frames(rng, rec.neutral_range_s, fps) for _ in range(rec.episodes + 1)]
    onset = rng.integers(params.frames[0], params.frames[1] + 1, size=rec.episodes)
    apex = [_frames(rng, rec.apex_range_s, fps) for _ in range(rec.episodes)]
    # The face leaves during one neutral stretch, not the first: a recording opens on a face.
    away_in = int(rng.integers(1, rec.episodes + 1))
    away = _frames(rng, AWAY_S, fps)
    away_at = round(neutral[away_in] * rng.uniform(0.25, 0.75))
    offset = np.maximum(1, np.round(onset * rng.uniform(*OFFSET_SLOWER, size=rec.episodes))).astype(int)
    talk = _frames(rng, rec.talking_range_s, fps)

    phase, episode, alpha = [], [], []

    def stretch(kind: int, k: int, amounts: np.ndarray) -> None:
        phase.append(np.full(len(amounts), kind))
        episode.append(np.full(len(amounts), k))
        alpha.append(amounts)

    for k in range(rec.episodes + 1):
        opening = k == 0 and opens_on_expression
        if k == away_in:
            stretch(NEUTRAL, -1, np.zeros(away_at))
            stretch(AWAY, -1, np.zeros(away))
            stretch(NEUTRAL, -1, np.zeros(neutral[k] - away_at))
        elif not opening:
            stretch(NEUTRAL, -1, np.zeros(neutral[k]))
        if k == rec.episodes:
            break
        if not opening:
            stretch(ONSET, k, _smoothstep((np.arange(onset[k]) + 0.5) / onset[k]))
        stretch(APEX, k, np.ones(apex[k]))
        stretch(OFFSET, k, _smoothstep(1 - (np.arange(offset[k]) + 0.5) / offset[k]))
    stretch(NEUTRAL, -1, np.zeros(talk))
    phase, episode, alpha = (np.concatenate(a) for a in (phase, episode, alpha))
    t = np.arange(len(phase)) / fps
    talking = np.arange(len(phase)) >= len(phase) - talk

    blink = _blinks(params, s, t, phase)
    distractor, amount = _distractors(params, s, (phase == NEUTRAL) & ~talking, fps)
    return Timeline(emotions, phase, episode, alpha, blink, distractor, amount, talking, _mouth(params, s, talking))


def _mouth(params: DemoParams, s: int, talking: np.ndarray) -> np.ndarray:
    """[n, 2] AU26 and AU16 while talking: syllables (the mouth opens and closes once each) of random
    length and opening, some of them pauses."""
    rng = np.random.default_rng([params.seed, STREAM, s, 6])
    fps, n = params.recordings.fps, len(talking)
    mouth = np.zeros((n, len(TALKING_UNITS)))
    t = (np.arange(n) - np.argmax(talking)) / fps  # seconds into the talking
    ends = np.cumsum(rng.uniform(*SYLLABLE_S, size=int(talking.sum() / fps / SYLLABLE_S[0]) + 2))
    i = np.searchsorted(ends, t, side="right")
    starts = np.r_[0.0, ends[:-1]]
    opening = np.stack([rng.uniform(*JAW, size=len(ends)), rng.uniform(*LOWER_LIP, size=len(ends))], axis=1)
    opening[rng.uniform(size=len(ends)) < PAUSE_CHANCE] = 0.0
    inside = talking & (i < len(ends))
    j = i[inside]
    u = (t[inside] - starts[j]) / (ends[j] - starts[j])
    mouth[inside] = opening[j] * _bump(np.clip(u, 0, 1))[:, None]
    return mouth


def _blinks(params: DemoParams, s: int, t: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Blinks: a renewal process over the whole recording, none while the face is away."""
    rng = np.random.default_rng([params.seed, STREAM, s, 1])
    starts = np.cumsum(rng.uniform(*BLINK_EVERY_S, size=int(t[-1] / BLINK_EVERY_S[0]) + 1))
    lengths = rng.uniform(*BLINK_S, size=len(starts))
    i = np.searchsorted(starts, t, side="right") - 1
    u = (t - starts[np.maximum(i, 0)]) / lengths[np.maximum(i, 0)]
    return np.where((i >= 0) & (u < 1) & (phase != AWAY), _bump(np.clip(u, 0, 1)), 0.0)


def _distractors(params: DemoParams, s: int, quiet: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """In some quiet neutral stretches (`quiet` [n]: neutral, not talking; split by the away
    stretch into two), one brief weak action unit: its number and amount per frame."""
    rng = np.random.default_rng([params.seed, STREAM, s, 2])
    n = len(quiet)
    distractor, amount = np.zeros(n, dtype=int), np.zeros(n)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet, [0]]).astype(int)))
    for first, end in edges.reshape(-1, 2):
        # Drawn whether the stretch gets one or not: DISTRACTOR_CHANCE moves no other draw.
        au = int(rng.choice(ACTION_UNITS))
        strength = rng.uniform(*DISTRACTOR_INTENSITY)
        length = min(_frames(rng, DISTRACTOR_S, fps), end - first)
        start = first + int(rng.integers(0, end - first - length + 1))
        if rng.uniform() < DISTRACTOR_CHANCE:
            distractor[start:start + length] = au
            amount[start:start + length] = strength * _bump((np.arange(length) + 0.5) / length)
    return distractor, amount


def head_motion(params: DemoParams, s: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slow head motion over n frames: shift [n, 2] (px), turn [n] (degrees), zoom [n] (around
    1); each a sum of sinusoids with random periods, phases and shares of its largest size."""
    rng = np.random.default_rng([params.seed, STREAM, s, 3])
    t = np.arange(n) / params.recordings.fps
    size = np.array([HEAD_SHIFT, HEAD_SHIFT, HEAD_TURN, HEAD_ZOOM])
    period = rng.uniform(*HEAD_PERIOD_S, size=(len(size), HEAD_WAVES))
    phase = rng.uniform(0, 2 * np.pi, size=(len(size), HEAD_WAVES))
    share = rng.uniform(0.2, 1.0, size=(len(size), HEAD_WAVES))
    share /= share.sum(axis=1, keepdims=True)  # so no motion exceeds its size
    motion = (size[:, None] * share * np.sin(2 * np.pi * t[:, None, None] / period + phase)).sum(axis=-1)
    return motion[:, :2], motion[:, 2], 1 + motion[:, 3]


def empty_frame(subject: Subject) -> np.ndarray:
    """What the camera sees when the face has left: the subject's resting frame blurred past
    recognition (no face for a detector to find), before lighting, tone and noise."""
    still = render_frame(subject.face, subject.neutral, subject.canvas, subject.placement(), subject.image)
    return cv2.GaussianBlur(still, (0, 0), AWAY_BLUR * subject.canvas[0])


def _write_recording(args: tuple[Recording, Path]) -> int:
    """Render and write one recording and its truth; returns its number of frames."""
    recording, out = args
    params, s = recording.params, recording.subject
    subject = worker_subject(params, s, canvas=CANVAS)
    timeline = plan_timeline(params, s, recording.opens_on_expression)
    n = len(timeline.phase)
    shift, turn, zoom = head_motion(params, s, n)
    rng = np.random.default_rng([params.seed, STREAM, s, 4])
    expressions = [subject.expression(rng, emotion, params.distractor) for emotion in timeline.emotions]
    closed_eyes = subject.to_pixels(blink_field())
    units = {au: subject.to_pixels(action_unit_field(au))
             for au in {*np.unique(timeline.distractor), *TALKING_UNITS} if au}
    empty = empty_frame(subject)
    noise = np.random.default_rng([params.seed, STREAM, s, 5])

    fps = params.recordings.fps
    partial = out / f".{recording.name}.partial.mp4"  # VideoWriter picks the container by the suffix
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, CANVAS)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4v video to {partial}")
    try:
        for f in range(n):
            if timeline.phase[f] == AWAY:
                frame = subject.camera(empty, noise)
            else:
                target = subject.neutral + timeline.blink[f] * closed_eyes
                if timeline.episode[f] >= 0:
                    target = target + timeline.alpha[f] * expressions[timeline.episode[f]]
                if timeline.distractor[f]:
                    target = target + timeline.distractor_amount[f] * units[timeline.distractor[f]]
                if timeline.talking[f]:
                    target = target + sum(a * units[au] for a, au in zip(timeline.mouth[f], TALKING_UNITS))
                frame = subject.render(target, subject.placement(turn[f], shift[f], zoom[f]), noise)
            writer.write(frame if subject.colour else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    finally:
        writer.release()
    partial.rename(out / f"{recording.name}.mp4")
    timeline.truth(fps).to_csv(out / f"{recording.name}{TRUTH_SUFFIX}", index=False, float_format="%.3f")
    return n


def plan_recordings(params: DemoParams) -> list[Recording]:
    """The recordings params.recordings asks for: subjects 0, 1, ... of the main demo set (on
    base faces 0, 1, ... in turn), then of the held-apart set; the last `opens_on_expression`
    of each set open on an expression."""
    rec, held = params.recordings, heldout_params(params)
    for what, count, available in (("subjects", rec.subjects, params.subjects),
                                   ("heldout_subjects", rec.heldout_subjects, held.subjects)):
        if count > available:
            raise ConfigError(f"demo.recordings.{what} is {count}, but that demo set has only {available} subjects.")
    return [Recording(f"{prefix}_{subject_name(s)}", set_params, s, s >= count - rec.opens_on_expression, heldout)
            for prefix, set_params, count, heldout in (("demo", params, rec.subjects, False),
                                                       ("heldout", held, rec.heldout_subjects, True))
            for s in range(count)]


def generate_recordings(params: DemoParams, model_path: Path, out: Path, heldout_out: Path,
                        progress: bool = True) -> str:
    """Write the recordings params.recordings asks for, each a video and its truth, into the
    empty folders `out` (the main demo's people) and `heldout_out` (the held-apart people's);
    return a one-line summary."""
    recordings = plan_recordings(params)
    bases = base_faces(model_path)
    with process_pool(worker_count(params.workers, len(recordings)), _init_worker, (bases,)) as pool:
        jobs = pool.map(_write_recording, [(r, heldout_out if r.heldout else out) for r in recordings])
        frames = sum(tqdm(jobs, total=len(recordings), desc="demo_recordings", unit="recording",
                          disable=not progress))
    rec, fps = params.recordings, params.recordings.fps
    opening = sum(r.opens_on_expression for r in recordings)
    return (f"{len(recordings)} recordings ({rec.subjects} of demo subjects, {rec.heldout_subjects} held apart; "
            f"{opening} open on an expression), {frames} frames, {frames / fps:.1f} s at {fps:g} fps")
