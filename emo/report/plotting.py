"""Landmarks and their attributions drawn on a face, the look of the paper's Figure 3."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emo.data.mesh import face_mesh  # noqa: E402

CMAP = "inferno"


def draw_face(ax, crop: np.ndarray, points: np.ndarray, values: np.ndarray, circled: np.ndarray | None = None,
              title: str = "", mesh: bool = True):
    """On a grayscale face crop: the 468 landmarks (points [468, 2] in pixels) coloured by
    `values`, the mesh faintly behind them, and the landmarks in `circled` ringed."""
    ax.imshow(crop, cmap="gray", vmin=0, vmax=255)
    if mesh:
        edges = face_mesh().edges
        segments = points[edges]  # [E, 2, 2]
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(segments, colors="white", linewidths=0.2, alpha=0.25))
    values = np.clip(values, 0, None)  # some rivals (occlusion, permutation) go negative: drawn as no importance
    scale = values / values.max() if values.max() > 0 else values
    order = np.argsort(scale)  # the strongest drawn last, on top
    art = ax.scatter(points[order, 0], points[order, 1], c=scale[order], cmap=CMAP, vmin=0, vmax=1,
                     s=4 + 30 * scale[order], linewidths=0)
    if circled is not None and len(circled):
        ax.scatter(points[circled, 0], points[circled, 1], s=45, facecolors="none", edgecolors="#29e3ff",
                   linewidths=0.7)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return art


def ranking_panels(crop: np.ndarray, points: np.ndarray, attribution: np.ndarray, ranking: np.ndarray,
                   ks: tuple[int, ...], title: str):
    """One face per K with the top K landmarks circled (the paper's Figure 3)."""
    width = 3.2 if len(ks) > 1 else 5.0
    fig, axes = plt.subplots(1, len(ks), figsize=(width * len(ks), width * 1.12))
    for ax, k in zip(np.atleast_1d(axes), ks):
        art = draw_face(ax, crop, points, attribution, ranking[:k], f"top {k}")
    fig.colorbar(art, ax=axes, fraction=0.012, pad=0.01, label="attribution (of max)")
    fig.suptitle(title, fontsize=11)
    return fig


def colour_points(image: np.ndarray, points: np.ndarray, values: np.ndarray, scale: int = 2) -> np.ndarray:
    """A grayscale crop, enlarged `scale` times, with the landmarks drawn as discs coloured (and
    sized) by `values` in [0, 1]: one frame of the explanation video (OpenCV, fast)."""
    import cv2

    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    canvas = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    colours = (plt.get_cmap(CMAP)(np.clip(values, 0, 1))[:, :3] * 255).astype(int)
    for i in np.argsort(values):
        x, y = (points[i] * scale).round().astype(int)
        r, g, b = colours[i]
        cv2.circle(canvas, (int(x), int(y)), int(1 + 4 * values[i]), (int(b), int(g), int(r)), -1, cv2.LINE_AA)
    return canvas
