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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.interpolate import LinearNDInterpolator
from tqdm import tqdm

from emo.config import DemoParams
from emo.data.action_units import ACTION_UNITS, EMOTION_ACTION_UNITS, action_unit_field, near, ramp
from emo.data.ckplus import IMAGES, LABELS
from emo.data.emotions import CKPLUS_CODES, EMOTIONS
from emo.data.landmarks import LandmarkDetector
from emo.data.mesh import face_mesh
from emo.data.truth import PlantedTruth, write_truth
from emo.parallel import process_pool, worker_count

CODE_OF = {name: code for code, name in CKPLUS_CODES.items()}
GRID_STEP = 4  # the piecewise-affine map is evaluated every 4 px and interpolated between


def identity_field(rng: np.random.Generator) -> np.ndarray:
    """A subject's face-shape change [468, 2] (cm): width, length, jaw, eye spacing, mouth, nose, brows."""
    mesh = face_mesh()
    v = mesh.vertices
    x, y = v[:, 0], v[:, 1]
    r = mesh.regions
    d = np.zeros((len(v), 2))
    d[:, 0] += (rng.uniform(0.92, 1.08) - 1) * x
    d[:, 1] += (rng.uniform(0.93, 1.07) - 1) * y
    d[:, 0] += (rng.uniform(0.9, 1.1) - 1) * x * ramp(-3.0 - y, 0.0, 3.0)
    d[:, 0] += rng.uniform(-0.2, 0.2) * np.sign(x) * near(v, np.concatenate([r["left_eye"], r["right_eye"]]), 0.8)
    d[:, 0] += (rng.uniform(0.9, 1.12) - 1) * x * near(v, r["lips"], 0.8)
    nose_tip = np.array([1, 2, 4, 5])
    d[:, 1] += rng.uniform(-0.25, 0.25) * near(v, nose_tip, 1.0)
    d[:, 1] += rng.uniform(-0.2, 0.2) * near(v, np.concatenate([r["left_eyebrow"], r["right_eyebrow"]]), 1.0)
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

    def expression_parts(self, rng: np.random.Generator, emotion: str, distractor: float,
                         side: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
        """The peak of one expression as drawn: the emotion's action units, each at a random
        strength, and one unrelated action unit up to `distractor` (both [468, 2], canonical
        cm), and the gain both take (the subject's intensity, varied per sequence)."""
        units = EMOTION_ACTION_UNITS[emotion]
        field = sum(rng.uniform(0.8, 1.2) * action_unit_field(au, side) for au in units)
        others = [au for au in ACTION_UNITS if au not in units]
        unrelated = rng.uniform(0, distractor) * action_unit_field(int(rng.choice(others)))
        return field, unrelated, self.intensity * rng.uniform(0.85, 1.15)

    def expression(self, rng: np.random.Generator, emotion: str, distractor: float, side: int = 0) -> np.ndarray:
        """The peak of one expression [468, 2] (base-photo pixels), as expression_parts draws it."""
        field, unrelated, gain = self.expression_parts(rng, emotion, distractor, side)
        return self.to_pixels(gain * (field + unrelated))

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


def sequence_start(params: DemoParams, plan: SequencePlan) -> tuple[np.random.Generator, int, int]:
    """A sequence's generator, seeded (seed, 3, subject, sequence), after its first draws: the
    number of frames and the side of a unilateral expression (contempt), returned with it."""
    rng = np.random.default_rng([params.seed, 3, plan.subject, plan.index])
    n = int(rng.integers(params.frames[0], params.frames[1] + 1))
    side = int(rng.choice([-1, 1])) if plan.emotion == "contempt" else 0
    return rng, n, side


def _write_subject(args: tuple[DemoParams, list[SequencePlan], Path]) -> int:
    """Render and write every sequence of one subject; returns the number of frames written."""
    params, plans, out = args
    s = plans[0].subject
    subject = worker_subject(params, s)
    frames_written = 0
    for plan in plans:
        seq_rng, n, side = sequence_start(params, plan)
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
    """Write the demo dataset into the empty folder `out`, with the truth it plants (truth.json),
    and return a one-line summary."""
    plans = plan_sequences(params)
    by_subject = [[p for p in plans if p.subject == s] for s in range(params.subjects)]
    bases = base_faces(model_path)
    with process_pool(worker_count(params.workers, params.subjects), _init_worker, (bases,)) as pool:
        jobs = pool.map(_write_subject, [(params, subject_plans, out) for subject_plans in by_subject])
        frames = sum(tqdm(jobs, total=params.subjects, desc="demo_data", unit="subject", disable=not progress))
    write_truth(out, planted_truth(params, bases))
    labels = Counter(p.emotion if p.labeled else "unlabeled" for p in plans)
    return (f"{params.subjects} subjects, {len(plans)} sequences, {frames} frames: "
            + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))


def planted_truth(params: DemoParams, bases: list[BaseFace]) -> PlantedTruth:
    """What the generator planted: per emotion, the displacement at the peak that its action
    units alone (not the unrelated one) give each landmark, as a share of the subject's
    neutral face width, averaged over the labelled sequences. The sequences' own draws are
    replayed, so it is the truth of exactly these files."""
    moved: dict[str, list[np.ndarray]] = {emotion: [] for emotion in EMOTIONS}
    subjects: dict[int, Subject] = {}
    for plan in plan_sequences(params):
        if plan.labeled and plan.emotion in moved:
            if plan.subject not in subjects:
                subjects[plan.subject] = make_subject(params, plan.subject, bases[plan.subject % len(bases)])
            subject = subjects[plan.subject]
            rng, _, side = sequence_start(params, plan)
            field, _, gain = subject.expression_parts(rng, plan.emotion, params.distractor, side)
            width = np.ptp(subject.neutral[:, 0])
            moved[plan.emotion].append(100 * np.linalg.norm(subject.to_pixels(gain * field), axis=1) / width)
    relevance = np.stack([np.mean(moved[emotion], axis=0) for emotion in EMOTIONS])
    return PlantedTruth(relevance, {emotion: EMOTION_ACTION_UNITS[emotion] for emotion in EMOTIONS})


def heldout_params(params: DemoParams) -> DemoParams:
    """The held-apart demo set's generation params: the main demo's frames and colour, its own
    seed (identities, distractor action units), subjects, intensities and distractor strength;
    every sequence labelled with one of the six emotions."""
    h = params.heldout
    return dataclasses.replace(params, out=h.out, seed=h.seed, subjects=h.subjects, intensity=h.intensity,
                               distractor=h.distractor, contempt=0, unlabeled=0)
