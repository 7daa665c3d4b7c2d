"""Ranked landmarks marked on a face so that each stays readable when they crowd together: an
emotion's top 16 often sit within a few pixels of the mouth corners, where circles sized for
the whole face merge into blobs. Each gets a thin ring, a little smaller than the spacing of
neighbouring landmarks, and beside the whole face an enlarged view of each place where they
gather, with each landmark's rank in a column beside the view, joined to its ring by a line."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Circle, Rectangle

from emo.report.plotting import draw_face

RING = "#00b4d8"  # a cyan that shows on a gray face and on the white margin alike
RING_RADIUS = 0.012  # of the view's width: neighbouring landmarks' rings touch but do not merge
MARGIN = 0.16  # of the view's width, on each side, for the columns of ranks
LEAST_VIEW = 0.12  # of the image's width: an enlarged view shows at least this much of the face
MOST_VIEWS = 3  # enlarged views beside the face; places further apart share one when more
GATHER = 0.1  # of the image's width: landmarks this close (in a chain) are shown in one view


def spread(wanted: np.ndarray, gap: float, low: float, high: float) -> np.ndarray:
    """Sorted positions moved apart to at least `gap`, each as near its wanted place as a forward
    and a backward pass allow, within [low, high] when they fit."""
    steps = gap * np.arange(len(wanted))
    placed = np.maximum.accumulate(np.maximum(wanted, low) - steps) + steps
    return np.minimum(placed, high - steps[::-1])


def gatherings(points: np.ndarray, reach: float) -> list[np.ndarray]:
    """Indices of `points` [k, 2] in groups linked by steps shorter than `reach` (single
    linkage), each group in order, the groups in the order of their first member."""
    near = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)) < reach
    label = np.arange(len(points))
    while True:  # each point takes the smallest label among its neighbours, until none changes
        linked = np.where(near, label[None, :], len(points)).min(axis=1)
        if (linked == label).all():
            break
        label = linked
    return [np.flatnonzero(label == first) for first in dict.fromkeys(label)]


def ranked_view(points: np.ndarray, image_size: int) -> tuple[float, float, float, float]:
    """The square (x0, x1, y0, y1) around landmarks `points` [k, 2] in pixels, with a margin of a
    fifth of its side, at least LEAST_VIEW of the image wide and inside the image."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    side = min(max(1.4 * (hi - lo).max(), LEAST_VIEW * image_size), image_size)
    x0, y0 = np.clip((lo + hi) / 2 - side / 2, 0, image_size - side)
    return x0, x0 + side, y0, y0 + side


def outline_view(ax, view: tuple[float, float, float, float]) -> None:
    """Where an enlarged view lies, as a dashed square."""
    x0, x1, y0, y1 = view
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=RING, linewidth=0.7, linestyle="--"))


def mark_ranked(ax, points: np.ndarray, ranked: np.ndarray, view: tuple[float, float, float, float] | None = None,
                ranks: np.ndarray | None = None) -> None:
    """On an axes showing a face image (y down) with its landmarks `points` [468, 2] in pixels:
    the landmarks `ranked` ringed, within `view` (x0, x1, y0, y1; default: the axes' limits).
    With `ranks` (one per landmark, 1 = best), each rank in a column on its landmark's side of
    the view, in the order of their heights, so that the lines do not cross."""
    if view is None:
        (x0, x1), (y1, y0) = ax.get_xlim(), ax.get_ylim()
    else:
        x0, x1, y0, y1 = view
    width, height = x1 - x0, y1 - y0
    where = points[ranked]
    radius = RING_RADIUS * width
    numbered = ranks is not None
    if numbered:  # the face inside the view only, so that the ranks stand on white
        frame = Rectangle((x0, y0), width, height, transform=ax.transData)
        for artist in [*ax.images, *ax.collections]:
            artist.set_clip_path(frame)
    ax.add_collection(PatchCollection([Circle(p, radius) for p in where], facecolors="none", edgecolors=RING,
                                      linewidths=0.7, zorder=3))
    margin = MARGIN * width if numbered else 0.0
    ax.set_xlim(x0 - margin, x1 + margin)
    ax.set_ylim(y1, y0)
    if not numbered:
        return
    left = where[:, 0] < (x0 + x1) / 2
    segments = []
    for side, x_label in ((left, x0 - 0.45 * margin), (~left, x1 + 0.45 * margin)):
        order = np.flatnonzero(side)[np.argsort(where[side, 1])]
        gap = min(0.05 * height, height / (len(order) + 1))  # a line of text, or less when many
        for i, y_label in zip(order, spread(where[order, 1], gap, y0 + gap / 2, y1 - gap / 2)):
            ax.text(x_label, y_label, str(ranks[i]), color=RING, fontsize=7, ha="center", va="center", zorder=4)
            # from the ring's edge, not its centre, so that the landmark's own colour shows
            toward = np.array([x_label, y_label]) - where[i]
            start = where[i] + radius * toward / max(np.hypot(*toward), 1e-9)
            segments.append([start, (x_label + np.sign(where[i, 0] - x_label) * 0.2 * margin, y_label)])
    ax.add_collection(LineCollection(segments, colors=RING, linewidths=0.4, alpha=0.8, zorder=3))


def ranked_figure(face: np.ndarray, points: np.ndarray, attribution: np.ndarray, ranked: np.ndarray, title: str):
    """The whole face (a grayscale crop, landmarks `points` [468, 2] in its pixels, coloured by
    `attribution`) with the landmarks `ranked` (best first) ringed, and beside it an enlarged,
    numbered view of each place where they gather (at most MOST_VIEWS: the linking distance
    grows until they fit)."""
    size = face.shape[1]
    reach = GATHER * size
    while len(groups := gatherings(points[ranked], reach)) > MOST_VIEWS:
        reach *= 1.5
    fig, axes = plt.subplots(1, 1 + len(groups), figsize=(5.2 + 4.2 * len(groups), 5.0))
    art = draw_face(axes[0], face, points, attribution, title=title)
    mark_ranked(axes[0], points, ranked)
    for ax, group in zip(axes[1:], groups):
        view = ranked_view(points[ranked[group]], size)
        outline_view(axes[0], view)
        draw_face(ax, face, points, attribution, title=f"ranks {', '.join(map(str, group[:3] + 1))}"
                  + (", ..." if len(group) > 3 else ""), mesh=False)
        mark_ranked(ax, points, ranked[group], view, ranks=group + 1)
        outline_view(ax, view)
    fig.colorbar(art, ax=list(axes), fraction=0.02, pad=0.01, label="attribution (of max)")
    return fig
