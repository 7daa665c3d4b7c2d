"""The embedded demo dataset: real face photographs animated with FACS action units, in CK+ layout.

Two public-domain portraits ship with our dependencies: NASA's astronaut photo
(scikit-image) and the US Navy portrait of Grace Hopper (matplotlib); each also mirrored,
four base faces. A subject is one base face with its own identity (face shape, scale,
rotation, position, lighting, noise, frame size, grayscale or colour). A sequence warps
that face from neutral to the peak of one emotion: the action units of the emotion move
the 468 mesh landmarks (displacements defined on MediaPipe's canonical face, in cm), and
a piecewise-affine map over the landmark triangulation carries the pixels along.
Everything is drawn from numpy generators seeded by (seed, subject, sequence), so the same
params give the same files.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.interpolate import LinearNDInterpolator
from tqdm import tqdm

from emo.config import DemoParams
from emo.data.ckplus import IMAGES, LABELS
from emo.data.emotions import CKPLUS_CODES, EMOTIONS
from emo.data.landmarks import LandmarkDetector
from emo.data.mesh import face_mesh
from emo.parallel import process_pool, worker_count

# FACS action units of each expression (the prototypes the issue and EMFACS give).
EMOTION_ACTION_UNITS: dict[str, tuple[int, ...]] = {
    "anger": (4, 5, 7, 23),
    "disgust": (9, 15, 16),
    "fear": (1, 2, 4, 5, 7, 20, 26),
    "happiness": (6, 12),
    "sadness": (1, 4, 15),
    "surprise": (1, 2, 5, 26),
    "contempt": (12, 14),  # unilateral
}
ACTION_UNITS = (1, 2, 4, 5, 6, 7, 9, 12, 14, 15, 16, 20, 23, 26)
CODE_OF = {name: code for code, name in CKPLUS_CODES.items()}
GRID_STEP = 4  # the piecewise-affine map is evaluated every 4 px and interpolated between


# ---------------------------------------------------------------- action units on the canonical face


def _near(v: np.ndarray, idx: np.ndarray, sigma: float) -> np.ndarray:
    """Soft membership [468]: 1 at the given landmarks, falling off with distance (cm)."""
    d2 = ((v[:, None, :] - v[idx][None, :, :]) ** 2).sum(-1).min(axis=1)
    return np.exp(-d2 / (2 * sigma**2))


def _ramp(x: np.ndarray, start: float, width: float) -> np.ndarray:
    return np.clip((x - start) / width, 0.0, 1.0)


@functools.cache
def action_unit_field(au: int, side: int = 0) -> np.ndarray:
    """Displacement [468, 2] (x towards the subject's left, y up; cm) of one action unit at
    intensity 1. `side` -1 or +1 keeps only the subject's right or left half (unilateral)."""
    mesh = face_mesh()
    v = mesh.vertices
    x, y = v[:, 0], v[:, 1]
    sx = np.sign(x)
    r = mesh.regions
    brows = np.concatenate([r["left_eyebrow"], r["right_eyebrow"]])
    brow_abs_x = np.abs(x[brows])
    inner_brows = brows[brow_abs_x <= np.median(brow_abs_x)]
    outer_brows = brows[brow_abs_x > np.median(brow_abs_x)]
    above_eyes = _ramp(y, 3.3, 0.5)
    lids_up, lids_low = [], []
    for eye in ("left_eye", "right_eye"):
        centre = y[r[eye]].mean()
        lids_up.append(r[eye][y[r[eye]] > centre])
        lids_low.append(r[eye][y[r[eye]] < centre])
    upper_lids, lower_lids = np.concatenate(lids_up), np.concatenate(lids_low)
    lips = r["lips"]
    corners = lips[np.argsort(np.abs(x[lips]))[-2:]]
    # Landmarks 13 and 14 are the inner upper and lower lip on the midline.
    mouth_split = (y[13] + y[14]) / 2
    below_mouth = _ramp(mouth_split - y, 0.0, 0.25)
    upper_lip = lips[y[lips] > mouth_split]
    lower_lip = lips[y[lips] < mouth_split]
    nose = r["nose"]
    nose_wings = nose[np.abs(x[nose]) > 1.0]
    cheeks = np.exp(-((np.abs(x) - 4.0) ** 2 + (y + 1.0) ** 2) / (2 * 1.2**2)) * (v[:, 2] > 2.0)

    d = np.zeros((len(v), 2))
    if au == 1:  # inner brow raiser
        d[:, 1] = 0.55 * _near(v, inner_brows, 0.9) * above_eyes
    elif au == 2:  # outer brow raiser
        d[:, 1] = 0.55 * _near(v, outer_brows, 0.9) * above_eyes
    elif au == 4:  # brow lowerer: down and drawn together
        w = _near(v, brows, 1.0) * above_eyes
        d[:, 1] = -0.45 * w
        d[:, 0] = -0.25 * sx * w * _near(v, inner_brows, 1.5)
    elif au == 5:  # upper lid raiser
        d[:, 1] = 0.18 * _near(v, upper_lids, 0.3)
    elif au == 6:  # cheek raiser
        d[:, 1] = 0.3 * cheeks + 0.08 * _near(v, lower_lids, 0.3)
    elif au == 7:  # lid tightener
        d[:, 1] = 0.12 * _near(v, lower_lids, 0.3)
    elif au == 9:  # nose wrinkler: alae up, upper lip a little
        d[:, 1] = 0.3 * _near(v, nose_wings, 0.6) + 0.1 * _near(v, upper_lip, 0.4) * (1 - below_mouth)
    elif au == 12:  # lip corner puller: up and out
        w = _near(v, corners, 0.8)
        d[:, 0], d[:, 1] = 0.3 * sx * w, 0.4 * w
    elif au == 14:  # dimpler
        w = _near(v, corners, 0.5)
        d[:, 0], d[:, 1] = 0.2 * sx * w, 0.05 * w
    elif au == 15:  # lip corner depressor
        d[:, 1] = -0.4 * _near(v, corners, 0.8)
    elif au == 16:  # lower lip depressor
        d[:, 1] = -0.3 * _near(v, lower_lip, 0.8) * below_mouth
    elif au == 20:  # lip stretcher
        w = _near(v, corners, 0.9)
        d[:, 0], d[:, 1] = 0.4 * sx * w, -0.08 * w
    elif au == 23:  # lip tightener: corners in, lips thinner
        w = _near(v, corners, 0.6)
        d[:, 0] = -0.15 * sx * w
        lips_w = _near(v, lips, 0.3)
        d[:, 1] = lips_w * np.where(y > mouth_split, -0.08, 0.08) * (np.abs(x) < 2.0)
    elif au == 26:  # jaw drop
        d[:, 1] = -0.8 * below_mouth * (1 - 0.6 * _ramp(np.abs(x), 0.0, 7.0))
    else:
        raise ValueError(f"action unit {au} is not modelled; known: {ACTION_UNITS}")
    if side:
        d *= np.where(sx == side, 1.0, np.where(sx == 0, 0.5, 0.0))[:, None]
    return d


@functools.cache
def blink_field() -> np.ndarray:
    """Displacement [468, 2] (cm, as action_unit_field) of a blink (FACS action unit 45) at its
    fullest: every upper-lid landmark comes down almost onto the lower lid below it (a slit
    stays, so no two landmarks meet), the lid's skin above following part of the way."""
    mesh = face_mesh()
    v = mesh.vertices
    x, y = v[:, 0], v[:, 1]
    d = np.zeros((len(v), 2))
    for eye in ("left_eye", "right_eye"):
        ring = mesh.regions[eye]
        centre = y[ring].mean()
        corners = ring[[np.argmin(x[ring]), np.argmax(x[ring])]]
        upper = np.union1d(ring[y[ring] > centre], corners)
        lower = np.union1d(ring[y[ring] < centre], corners)
        upper, lower = upper[np.argsort(x[upper])], lower[np.argsort(x[lower])]
        # The eye's opening at each landmark's x: 0 at and beyond the corners.
        gap = np.interp(x, x[upper], y[upper]) - np.interp(x, x[lower], y[lower])
        d[:, 1] -= 0.9 * gap * _near(v, upper, 0.25) * (y > centre)
    return d


def identity_field(rng: np.random.Generator) -> np.ndarray:
    """A subject's face-shape change [468, 2] (cm): width, length, jaw, eye spacing, mouth, nose, brows."""
    mesh = face_mesh()
    v = mesh.vertices
    x, y = v[:, 0], v[:, 1]
    r = mesh.regions
    d = np.zeros((len(v), 2))
    d[:, 0] += (rng.uniform(0.92, 1.08) - 1) * x
    d[:, 1] += (rng.uniform(0.93, 1.07) - 1) * y
    d[:, 0] += (rng.uniform(0.9, 1.1) - 1) * x * _ramp(-3.0 - y, 0.0, 3.0)
    d[:, 0] += rng.uniform(-0.2, 0.2) * np.sign(x) * _near(v, np.concatenate([r["left_eye"], r["right_eye"]]), 0.8)
    d[:, 0] += (rng.uniform(0.9, 1.12) - 1) * x * _near(v, r["lips"], 0.8)
    nose_tip = np.array([1, 2, 4, 5])
    d[:, 1] += rng.uniform(-0.25, 0.25) * _near(v, nose_tip, 1.0)
    d[:, 1] += rng.uniform(-0.2, 0.2) * _near(v, np.concatenate([r["left_eyebrow"], r["right_eyebrow"]]), 1.0)
    return d


# ---------------------------------------------------------------- base faces and warping


@dataclass(frozen=True)
class BaseFace:
    image: np.ndarray  # RGB uint8
    landmarks: np.ndarray  # [468, 2] pixels
    canonical_to_image: np.ndarray  # [2, 2]: a canonical displacement (row vector) times this = pixels


def base_photos() -> list[np.ndarray]:
    """The RGB portraits the demo animates, each as shipped and mirrored."""
    import matplotlib.cbook
    import skimage.data

    astronaut = skimage.data.astronaut()
    hopper = cv2.cvtColor(cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))),
                          cv2.COLOR_BGR2RGB)
    photos = [astronaut, hopper]
    return photos + [np.ascontiguousarray(p[:, ::-1]) for p in photos]


def base_faces(model_path: Path) -> list[BaseFace]:
    faces = []
    v = face_mesh().vertices
    design = np.column_stack([v[:, 0], v[:, 1], np.ones(len(v))])
    with LandmarkDetector(model_path) as detector:
        for photo in base_photos():
            points = detector.detect_in_frame(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY))
            if points is None:
                raise RuntimeError("FaceLandmarker found no face in a demo base photo")
            affine, *_ = np.linalg.lstsq(design, points, rcond=None)
            faces.append(BaseFace(photo, points.astype(np.float64), affine[:2]))
    return faces


def _anchor_points(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Points that stay put: a ring around the face and the photo's border."""
    centre = landmarks.mean(axis=0)
    radius = (landmarks.max(axis=0) - landmarks.min(axis=0)) * 0.9
    t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = centre + np.column_stack([np.cos(t), np.sin(t)]) * radius
    h, w = shape
    border = np.array([[x, y] for x in (0, w / 2, w - 1) for y in (0, h / 2, h - 1) if (x, y) != (w / 2, h / 2)])
    return np.concatenate([ring, border])


def render_frame(
    face: BaseFace,
    target: np.ndarray,
    canvas: tuple[int, int],
    to_canvas: np.ndarray,
    image: np.ndarray,
) -> np.ndarray:
    """Warp `image` (the base photo, gray or RGB) so its landmarks move to `target` (base pixels),
    then place it on a canvas (width, height) with the 2x3 similarity `to_canvas`."""
    anchors = _anchor_points(face.landmarks, face.image.shape[:2])
    src = np.concatenate([face.landmarks, anchors])
    dst = np.concatenate([target, anchors])
    w, h = canvas
    gx, gy = np.meshgrid(np.arange(0, w + GRID_STEP, GRID_STEP, dtype=np.float64),
                         np.arange(0, h + GRID_STEP, GRID_STEP, dtype=np.float64))
    inverse = cv2.invertAffineTransform(to_canvas)
    q = np.stack([gx, gy], axis=-1) @ inverse[:, :2].T + inverse[:, 2]
    # Backward map: for each warped position, where it came from in the photo.
    p = LinearNDInterpolator(dst, src)(q.reshape(-1, 2)).reshape(q.shape)
    p = np.where(np.isnan(p), q, p).astype(np.float32)
    fx, fy = np.meshgrid(np.arange(w, dtype=np.float32) / GRID_STEP, np.arange(h, dtype=np.float32) / GRID_STEP)
    map_x = cv2.remap(p[..., 0], fx, fy, cv2.INTER_LINEAR)
    map_y = cv2.remap(p[..., 1], fx, fy, cv2.INTER_LINEAR)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


# ---------------------------------------------------------------- subjects and sequences


@dataclass(frozen=True)
class SequencePlan:
    subject: int
    index: int  # 1-based sequence number within the subject
    emotion: str  # one of EMOTIONS, "contempt", or the expression of an unlabeled sequence
    labeled: bool


def plan_sequences(params: DemoParams) -> list[SequencePlan]:
    """One sequence per emotion per subject, in a per-subject order, plus the contempt and
    unlabeled extras on randomly chosen subjects (as CK+ has them)."""
    rng = np.random.default_rng([params.seed, 0])
    plans = []
    extra_subjects = rng.integers(0, params.subjects, size=params.contempt + params.unlabeled)
    for s in range(params.subjects):
        order = np.random.default_rng([params.seed, 1, s]).permutation(len(EMOTIONS))
        emotions = [(EMOTIONS[i], True) for i in order]
        for k, subj in enumerate(extra_subjects):
            if subj == s:
                emotions.append(("contempt", True) if k < params.contempt else (EMOTIONS[k % len(EMOTIONS)], False))
        plans += [SequencePlan(s, i + 1, e, lab) for i, (e, lab) in enumerate(emotions)]
    return plans


def subject_name(index: int) -> str:
    return f"S{index + 1:03d}"


@dataclass(frozen=True)
class Subject:
    """One synthetic person as the camera records them: a base face with its own face shape and
    expression intensity, placed on a canvas with its own size, scale, rotation and position,
    and seen through one session's lighting, tone curve and sensor noise."""

    face: BaseFace
    neutral: np.ndarray  # [468, 2] the face at rest (its identity's shape), base-photo pixels
    intensity: float  # expression intensity (1 = the action units' nominal size)
    colour: bool
    canvas: tuple[int, int]  # width, height
    scale: float  # canvas pixels per base-photo pixel
    angle: float  # in-plane rotation, degrees
    centre: np.ndarray  # [2] where the face's centre lands on the canvas
    light: np.ndarray  # [h, w] or [h, w, 1]: a lighting gradient over the canvas
    tone: np.ndarray  # [256] uint8: the camera's tone curve
    noise: float  # sensor noise (standard deviation, grey levels)
    image: np.ndarray  # the base photo as recorded: RGB or grayscale

    def to_pixels(self, field: np.ndarray) -> np.ndarray:
        """A displacement on the canonical face [468, 2] (cm) in this face's base-photo pixels."""
        return field @ self.face.canonical_to_image

    def expression(self, rng: np.random.Generator, emotion: str, distractor: float, side: int = 0) -> np.ndarray:
        """The peak of one expression [468, 2] (base-photo pixels): the emotion's action units,
        each at a random strength, plus one unrelated action unit up to `distractor`, at the
        subject's intensity."""
        units = EMOTION_ACTION_UNITS[emotion]
        field = sum(rng.uniform(0.8, 1.2) * action_unit_field(au, side) for au in units)
        others = [au for au in ACTION_UNITS if au not in units]
        field = field + rng.uniform(0, distractor) * action_unit_field(int(rng.choice(others)))
        return self.to_pixels(self.intensity * rng.uniform(0.85, 1.15) * field)

    def placement(self, turn: float = 0.0, shift: np.ndarray | float = 0.0, zoom: float = 1.0) -> np.ndarray:
        """The 2x3 similarity from base-photo pixels to the canvas, with the head turned by `turn`
        degrees, moved by `shift` canvas pixels and scaled by `zoom` from its resting pose."""
        to_canvas = cv2.getRotationMatrix2D((0.0, 0.0), self.angle + turn, self.scale * zoom)
        to_canvas[:, 2] = self.centre + shift - to_canvas[:, :2] @ self.neutral.mean(axis=0)
        return to_canvas

    def render(self, target: np.ndarray, to_canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One frame as the camera writes it: the face with its landmarks at `target` (base-photo
        pixels), placed on the canvas by `to_canvas`; the noise is drawn from `rng`."""
        return self.camera(render_frame(self.face, target, self.canvas, to_canvas, self.image), rng)

    def camera(self, frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Lighting, tone curve and noise on a canvas-sized frame (gray or RGB uint8): the frame as
        written, grayscale or BGR."""
        frame = cv2.LUT(np.clip(frame * self.light, 0, 255).astype(np.uint8), self.tone)
        frame = frame + self.noise * rng.standard_normal(frame.shape, dtype=np.float32)
        frame = np.clip(frame, 0, 255).astype(np.uint8)
        if self.colour:
            frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        return frame


def make_subject(params: DemoParams, s: int, face: BaseFace, canvas: tuple[int, int] | None = None) -> Subject:
    """Subject `s` of the demo set `params`, on `face`, drawn from the generator seeded (seed, 2, s).
    `canvas` (width, height) replaces the drawn frame size; the draw is still made, so every
    other draw stays the same."""
    rng = np.random.default_rng([params.seed, 2, s])
    shape = identity_field(rng) @ face.canonical_to_image
    intensity = rng.uniform(*params.intensity)
    colour = rng.uniform() < params.colour_fraction
    drawn = (640, 490) if rng.uniform() < 0.75 else (640, 480)
    canvas = canvas or drawn
    neutral = face.landmarks + shape
    span = neutral.max(axis=0) - neutral.min(axis=0)
    scale = rng.uniform(230, 290) / span[0]
    angle = rng.uniform(-6, 6)
    centre = np.array(canvas) / 2 + rng.uniform([-40, -25], [40, 25])
    gain = rng.uniform(-0.35, 0.35, size=2)
    gamma, contrast, brightness = rng.uniform(0.8, 1.25), rng.uniform(0.85, 1.15), rng.uniform(-15, 15)
    tone = np.clip((255 * (np.arange(256) / 255) ** gamma - 128) * contrast + 128 + brightness, 0, 255)
    noise = rng.uniform(1.0, 3.0)
    w, h = canvas
    gx, gy = np.meshgrid(np.linspace(-0.5, 0.5, w, dtype=np.float32), np.linspace(-0.5, 0.5, h, dtype=np.float32))
    light = 1 + gain[0] * gx + gain[1] * gy
    return Subject(
        face=face, neutral=neutral, intensity=intensity, colour=colour, canvas=canvas, scale=scale, angle=angle,
        centre=centre, light=light[..., None] if colour else light, tone=tone.astype(np.uint8), noise=noise,
        image=face.image if colour else cv2.cvtColor(face.image, cv2.COLOR_RGB2GRAY),
    )


_bases: list[BaseFace] = []


def _init_worker(bases: list[BaseFace]) -> None:
    global _bases
    _bases = bases


def worker_subject(params: DemoParams, s: int, canvas: tuple[int, int] | None = None) -> Subject:
    """make_subject on subject s's base face, in a worker that _init_worker has given the base faces."""
    return make_subject(params, s, _bases[s % len(_bases)], canvas)


def _write_subject(args: tuple[DemoParams, list[SequencePlan], Path]) -> int:
    """Render and write every sequence of one subject; returns the number of frames written."""
    params, plans, out = args
    s = plans[0].subject
    subject = worker_subject(params, s)
    frames_written = 0
    for plan in plans:
        seq_rng = np.random.default_rng([params.seed, 3, s, plan.index])
        n = int(seq_rng.integers(params.frames[0], params.frames[1] + 1))
        side = int(seq_rng.choice([-1, 1])) if plan.emotion == "contempt" else 0
        expression = subject.expression(seq_rng, plan.emotion, params.distractor, side)
        drift = seq_rng.uniform(-3, 3, size=2)
        tilt = seq_rng.uniform(-1, 1)
        name = f"{subject_name(s)}_{plan.index:03d}"
        seq_dir = out / IMAGES / subject_name(s) / f"{plan.index:03d}"
        seq_dir.mkdir(parents=True)
        for t in range(n):
            progress = t / (n - 1)
            alpha = _smoothstep(np.clip((progress - 0.1) / 0.9, 0, 1))
            to_canvas = subject.placement(turn=tilt * progress, shift=drift * progress)
            frame = subject.render(subject.neutral + alpha * expression, to_canvas, seq_rng)
            cv2.imwrite(str(seq_dir / f"{name}_{t + 1:08d}.png"), frame, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        frames_written += n
        if plan.labeled:
            label_dir = out / LABELS / subject_name(s) / f"{plan.index:03d}"
            label_dir.mkdir(parents=True)
            # CK+ writes the code as a float in exponent notation, padded with spaces.
            (label_dir / f"{name}_{n:08d}_emotion.txt").write_text(f"   {float(CODE_OF[plan.emotion]):.7e}\n")
    return frames_written


def _smoothstep(a: float) -> float:
    return a * a * (3 - 2 * a)


def generate_demo(params: DemoParams, model_path: Path, out: Path, progress: bool = True) -> str:
    """Write the demo dataset into the empty folder `out` and return a one-line summary."""
    plans = plan_sequences(params)
    by_subject = [[p for p in plans if p.subject == s] for s in range(params.subjects)]
    bases = base_faces(model_path)
    with process_pool(worker_count(params.workers, params.subjects), _init_worker, (bases,)) as pool:
        jobs = pool.map(_write_subject, [(params, subject_plans, out) for subject_plans in by_subject])
        frames = sum(tqdm(jobs, total=params.subjects, desc="demo_data", unit="subject", disable=not progress))
    labels = Counter(p.emotion if p.labeled else "unlabeled" for p in plans)
    return (f"{params.subjects} subjects, {len(plans)} sequences, {frames} frames: "
            + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))


def heldout_params(params: DemoParams) -> DemoParams:
    """The held-apart demo set's generation params: the main demo's frames and colour, its own
    seed (identities, distractor action units), subjects, intensities and distractor strength;
    every sequence labelled with one of the six emotions."""
    h = params.heldout
    return dataclasses.replace(params, out=h.out, seed=h.seed, subjects=h.subjects, intensity=h.intensity,
                               distractor=h.distractor, contempt=0, unlabeled=0)
