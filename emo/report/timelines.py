"""A recording's timeline as a picture: the six probabilities over time, the threshold, the
frames without a face, and, when it is known, the truth as a band of coloured episodes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from emo.data.emotions import EMOTIONS  # noqa: E402
from emo.files import atomic_file  # noqa: E402

COLOURS = dict(zip(EMOTIONS, sns.color_palette("colorblind", len(EMOTIONS))))


def _spans(times: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) times of each run of True in mask."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(int), 0]))
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    return [(times[a], times[b - 1] + step) for a, b in zip(edges[::2], edges[1::2])]


def timeline_figure(table: pd.DataFrame, threshold: float, title: str, truth: pd.DataFrame | None = None):
    """Probabilities (top) and the timeline's answer beside the truth (bottom) against time."""
    fig, (ax, bands) = plt.subplots(2, 1, figsize=(12, 4.2), sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    t = table.time_s.to_numpy()
    for emotion in EMOTIONS:
        ax.plot(t, table[emotion], color=COLOURS[emotion], lw=1.1, label=emotion)
    for a, b in _spans(t, ~table.face.to_numpy(bool)):
        ax.axvspan(a, b, color="0.85", lw=0, zorder=0)
    ax.axhline(threshold, color="0.3", ls="--", lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("probability")
    ax.legend(ncol=6, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(title, fontsize=10, loc="left")

    rows = [("timeline", table.set_index("frame").emotion)]
    if truth is not None:
        rows.insert(0, ("truth", truth.set_index("frame").emotion.reindex(table.frame)))
    for y, (name, said) in enumerate(rows):
        said = said.fillna("").to_numpy().astype(str)
        for emotion in EMOTIONS:
            for a, b in _spans(t, said == emotion):
                bands.axvspan(a, b, ymin=y / len(rows) + 0.05, ymax=(y + 1) / len(rows) - 0.05,
                              color=COLOURS[emotion], lw=0)
    bands.set_yticks((np.arange(len(rows)) + 0.5) / len(rows), [name for name, _ in rows], fontsize=8)
    bands.set_ylim(0, 1)
    bands.set_xlabel("time (s)")
    bands.set_xlim(t[0] if len(t) else 0, t[-1] if len(t) else 1)
    fig.tight_layout()
    return fig


def save_timeline_figure(path, table: pd.DataFrame, threshold: float, title: str,
                         truth: pd.DataFrame | None = None) -> None:
    fig = timeline_figure(table, threshold, title, truth)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
