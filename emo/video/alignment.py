"""Head motion removed: each frame's landmarks rotated, scaled and shifted onto a reference face
by the similarity that best maps its rigid landmarks (forehead, temples, nose bridge) onto the
reference's (Umeyama 1991), so that what is left is expression.

Written here, vectorised over frames, because scipy's procrustes standardises both shapes
and returns no transform, and orthogonal_procrustes fits one pair at a time without scale.
"""

from __future__ import annotations

import functools

import numpy as np

from emo.data.mesh import face_mesh


@functools.cache
def rigid_landmarks() -> np.ndarray:
    """Landmarks that expressions barely move: the face outline above the eyes' height (forehead,
    temples) and the nose's midline ridge (not its wings, which wrinkle)."""
    mesh = face_mesh()
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    eyes = np.concatenate([mesh.regions["left_eye"], mesh.regions["right_eye"]])
    outline = mesh.regions["face_oval"]
    nose = mesh.regions["nose"]
    upper_outline = outline[y[outline] > y[eyes].max()]
    ridge = nose[np.abs(x[nose]) < 0.5]
    return np.unique(np.concatenate([upper_outline, ridge]))


def aligned(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """points [n, 468, 2] mapped onto reference [468, 2] by each frame's best similarity on the
    rigid landmarks; frames holding NaN stay NaN."""
    rigid = rigid_landmarks()
    src, dst = points[:, rigid].astype(np.float64), reference[rigid].astype(np.float64)
    mu_s, mu_d = src.mean(axis=1, keepdims=True), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    cov = np.einsum("mi,nmj->nij", d, s) / len(rigid)
    u, sigma, vt = np.linalg.svd(np.nan_to_num(cov))
    flip = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    sigma[:, 1] *= flip
    u[:, :, 1] *= flip[:, None]
    rotation = u @ vt
    variance = (s**2).sum(axis=2).mean(axis=1)
    scale = sigma.sum(axis=1) / np.where(variance > 0, variance, 1.0)
    out = scale[:, None, None] * np.einsum("nij,nmj->nmi", rotation, points - mu_s) + mu_d
    return out.astype(points.dtype)
