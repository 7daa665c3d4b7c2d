"""How well a landmark ranking finds what a dataset planted, and how much two rankings agree.

Against a planted truth (emo.data.truth), per method and emotion:
- relevance mass on the true set: the share of the method's non-negative attribution that
  falls on the landmarks the emotion's action units move (Quantus' "relevance mass accuracy");
- precision@K and recall@K of the method's top K against the true set;
- Spearman correlation of the attribution with the true displacement magnitude.
A random ranking's expected values are the floor: mass and precision@K |T|/468, recall@K
K/468, Spearman 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.explanation.global_attribution import ranking_of

RANDOM = "random"  # the floor's name in the tables


def localisation(attribution: np.ndarray, relevance: np.ndarray, true_set: np.ndarray, ks: list[int]) -> dict:
    """Scores of one attribution [468] against one emotion's true relevance [468] and set [468] bool."""
    positive = np.clip(attribution, 0, None)
    top = ranking_of(attribution)
    hits = np.cumsum(true_set[top])
    scores = {"mass": float(positive[true_set].sum() / positive.sum()) if positive.sum() > 0 else 0.0,
              "spearman": float(spearmanr(attribution, relevance).statistic)}
    for k in ks:
        scores[f"precision@{k}"] = float(hits[k - 1] / k)
        scores[f"recall@{k}"] = float(hits[k - 1] / true_set.sum())
    return scores


def random_floor(true_set: np.ndarray, ks: list[int]) -> dict:
    """A uniformly random ranking's expected scores."""
    share = float(true_set.mean())
    return {"mass": share, "spearman": 0.0, **{f"precision@{k}": share for k in ks},
            **{f"recall@{k}": k / N_LANDMARKS for k in ks}}


def localisation_table(attributions: dict[str, np.ndarray], relevance: np.ndarray, true_sets: np.ndarray,
                       ks: list[int]) -> pd.DataFrame:
    """Rows method x emotion (and the random floor) of every score; attributions[method] is [6, 468]."""
    rows = []
    for e, emotion in enumerate(EMOTIONS):
        for method, values in attributions.items():
            rows.append({"method": method, "emotion": emotion,
                         **localisation(values[e], relevance[e], true_sets[e], ks)})
        rows.append({"method": RANDOM, "emotion": emotion, **random_floor(true_sets[e], ks)})
    return pd.DataFrame(rows)


def localisation_means(table: pd.DataFrame) -> pd.DataFrame:
    """Rows method (and the random floor) of localisation_table's scores, means over the emotions."""
    return table.groupby("method", sort=False).mean(numeric_only=True)


def agreement_table(attributions: dict[str, np.ndarray], ks: list[int]) -> pd.DataFrame:
    """Rows (method a, method b, emotion): Spearman of the attributions and the shared share of
    their top K for each K (a random pair shares K/468 on average)."""
    rows = []
    methods = list(attributions)
    for i, a in enumerate(methods):
        for b in methods[i + 1:]:
            for e, emotion in enumerate(EMOTIONS):
                ra, rb = ranking_of(attributions[a][e]), ranking_of(attributions[b][e])
                rows.append({"a": a, "b": b, "emotion": emotion,
                             "spearman": float(spearmanr(attributions[a][e], attributions[b][e]).statistic),
                             **{f"top{k}_overlap": len(set(ra[:k]) & set(rb[:k])) / k for k in ks}})
    return pd.DataFrame(rows)
