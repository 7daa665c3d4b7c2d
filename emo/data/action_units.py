"""FACS action units (Ekman and Friesen) as displacement fields of the 468 face-mesh landmarks.

Each field is defined on MediaPipe's canonical face (cm; x towards the subject's left, y
up) at intensity 1: which landmarks an action unit moves, in which direction and how far.
The demo generator animates faces with them, so they are also the truth that landmark
rankings are scored against, and the vocabulary explanations are stated in
(emo.explanation.action_units).
"""

from __future__ import annotations

import functools

import numpy as np

from emo.data.mesh import face_mesh

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
ACTION_UNIT_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser", 6: "cheek raiser",
    7: "lid tightener", 9: "nose wrinkler", 12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor",
    16: "lower lip depressor", 20: "lip stretcher", 23: "lip tightener", 26: "jaw drop", 45: "blink",
}


def near(v: np.ndarray, idx: np.ndarray, sigma: float) -> np.ndarray:
    """Soft membership [468]: 1 at the given landmarks, falling off with distance (cm)."""
    d2 = ((v[:, None, :] - v[idx][None, :, :]) ** 2).sum(-1).min(axis=1)
    return np.exp(-d2 / (2 * sigma**2))


def ramp(x: np.ndarray, start: float, width: float) -> np.ndarray:
    return np.clip((x - start) / width, 0.0, 1.0)


# Long: one branch per modelled action unit, kept together as the table of FACS definitions it is.
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
    above_eyes = ramp(y, 3.3, 0.5)
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
    below_mouth = ramp(mouth_split - y, 0.0, 0.25)
    upper_lip = lips[y[lips] > mouth_split]
    lower_lip = lips[y[lips] < mouth_split]
    nose = r["nose"]
    nose_wings = nose[np.abs(x[nose]) > 1.0]
    cheeks = np.exp(-((np.abs(x) - 4.0) ** 2 + (y + 1.0) ** 2) / (2 * 1.2**2)) * (v[:, 2] > 2.0)

    d = np.zeros((len(v), 2))
    if au == 1:  # inner brow raiser
        d[:, 1] = 0.55 * near(v, inner_brows, 0.9) * above_eyes
    elif au == 2:  # outer brow raiser
        d[:, 1] = 0.55 * near(v, outer_brows, 0.9) * above_eyes
    elif au == 4:  # brow lowerer: down and drawn together
        w = near(v, brows, 1.0) * above_eyes
        d[:, 1] = -0.45 * w
        d[:, 0] = -0.25 * sx * w * near(v, inner_brows, 1.5)
    elif au == 5:  # upper lid raiser
        d[:, 1] = 0.18 * near(v, upper_lids, 0.3)
    elif au == 6:  # cheek raiser
        d[:, 1] = 0.3 * cheeks + 0.08 * near(v, lower_lids, 0.3)
    elif au == 7:  # lid tightener
        d[:, 1] = 0.12 * near(v, lower_lids, 0.3)
    elif au == 9:  # nose wrinkler: alae up, upper lip a little
        d[:, 1] = 0.3 * near(v, nose_wings, 0.6) + 0.1 * near(v, upper_lip, 0.4) * (1 - below_mouth)
    elif au == 12:  # lip corner puller: up and out
        w = near(v, corners, 0.8)
        d[:, 0], d[:, 1] = 0.3 * sx * w, 0.4 * w
    elif au == 14:  # dimpler
        w = near(v, corners, 0.5)
        d[:, 0], d[:, 1] = 0.2 * sx * w, 0.05 * w
    elif au == 15:  # lip corner depressor
        d[:, 1] = -0.4 * near(v, corners, 0.8)
    elif au == 16:  # lower lip depressor
        d[:, 1] = -0.3 * near(v, lower_lip, 0.8) * below_mouth
    elif au == 20:  # lip stretcher
        w = near(v, corners, 0.9)
        d[:, 0], d[:, 1] = 0.4 * sx * w, -0.08 * w
    elif au == 23:  # lip tightener: corners in, lips thinner
        w = near(v, corners, 0.6)
        d[:, 0] = -0.15 * sx * w
        lips_w = near(v, lips, 0.3)
        d[:, 1] = lips_w * np.where(y > mouth_split, -0.08, 0.08) * (np.abs(x) < 2.0)
    elif au == 26:  # jaw drop
        d[:, 1] = -0.8 * below_mouth * (1 - 0.6 * ramp(np.abs(x), 0.0, 7.0))
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
        d[:, 1] -= 0.9 * gap * near(v, upper, 0.25) * (y > centre)
    return d
