"""The report's figures (matplotlib and seaborn), each written as a PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from emo import paper  # noqa: E402
from emo.data.emotions import EMOTIONS  # noqa: E402
from emo.data.mesh import N_LANDMARKS  # noqa: E402
from emo.evaluation.runs import VARIANT_NAMES  # noqa: E402
from emo.models.model import VARIANTS  # noqa: E402
from emo.models.selection import CONTROLS  # noqa: E402
from emo.report.inputs import TypicalFace  # noqa: E402
from emo.report.plotting import ranking_panels  # noqa: E402

DPI = 110


def save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def alpha_curves(arrays: dict, path: Path) -> Path:
    """Figure 2 analogue: F_e along the path from a baseline (sadness; surprise for sadness)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    alphas = arrays["alphas"]
    for e, emotion in enumerate(EMOTIONS):
        baseline = "surprise" if emotion == "sadness" else "sadness"
        j = list(arrays["baseline_emotions"][e]).index(EMOTIONS.index(baseline))
        ax.plot(alphas, arrays["alpha_curves"][e, j], label=f"{emotion} (from {baseline})",
                linewidth=2.5 if emotion == "surprise" else 1.3)
    ax.set_xlabel("alpha (baseline -> input)")
    ax.set_ylabel("probability of the target emotion")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)


def accuracy_vs_k(runs: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path:
    """Accuracy against K per emotion, T-EMO and R-EMO (mean ± std over seeds), the paper's points overlaid."""
    data = runs[(runs.selection == "top") & runs.variant.isin(VARIANTS)].copy()
    data["model"] = data.variant.map(VARIANT_NAMES)
    grid = sns.relplot(data=data, x="K", y=metric, hue="model", col="emotion", col_wrap=3, kind="line",
                       errorbar="sd", marker="o", height=2.6, aspect=1.25, col_order=list(EMOTIONS),
                       facet_kws={"sharey": False})
    palette = dict(zip([VARIANT_NAMES[v] for v in VARIANTS], sns.color_palette()))
    for emotion, ax in grid.axes_dict.items():
        for variant in VARIANTS:
            published = paper.ACCURACY[variant][emotion]
            ks = sorted(published)
            ax.errorbar(ks, [published[k][0] for k in ks], yerr=[published[k][1] for k in ks], fmt="x", ms=5,
                        color=palette[VARIANT_NAMES[variant]], alpha=0.6, capsize=2,
                        label=f"{VARIANT_NAMES[variant]} (paper)")
        ax.set_xscale("log")
        ax.set_xticks(paper.LANDMARK_COUNTS, [str(k) for k in paper.LANDMARK_COUNTS])
        ax.minorticks_off()
    handles, labels = grid.axes.flat[0].get_legend_handles_labels()
    grid.axes.flat[0].legend(handles, labels, fontsize=7)
    grid.set_axis_labels("landmarks K", metric.replace("_", " "))
    return save(grid.figure, path)


def controls(runs: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path:
    data = runs[(runs.variant == "temo") & (runs.K < N_LANDMARKS)]
    data = data.groupby(["emotion", "K", "selection", "seed"], as_index=False)[metric].mean()  # over random draws
    grid = sns.catplot(data=data, x="emotion", y=metric, hue="selection", col="K", kind="point", errorbar="sd",
                       dodge=0.4, height=3.2, aspect=1.5, order=list(EMOTIONS),
                       hue_order=[s for s in ("top", *CONTROLS) if s in set(data.selection)],
                       col_order=sorted(data.K.unique(), reverse=True))
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", rotation=30)
    return save(grid.figure, path)


def confusion(matrix: np.ndarray, title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4.6, 4))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax,
                xticklabels=EMOTIONS, yticklabels=EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title, fontsize=10)
    return save(fig, path)


def attribution_face(face: TypicalFace, attribution: np.ndarray, ranking: np.ndarray, title: str, path: Path) -> Path:
    """Figure 3's look: the face once per K of the paper's below 468, landmarks coloured by the
    attribution [468], the top K of the ranking circled."""
    return save(ranking_panels(face.crop, face.points, attribution, ranking, paper.LANDMARK_COUNTS[1:], title), path)
