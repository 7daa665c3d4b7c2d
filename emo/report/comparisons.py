"""Every comparison the report makes, as paired statistics over seeds.

Two configurations are paired by (emotion, seed): the same partition's test videos. Random-K
is each seed's mean over its random draws. Per emotion, n = the seeds; pooled over the six
emotions, n = emotions x seeds, which detects a small effect that is consistent across
emotions (the pairs of one seed share a partition, so the pooled test leans on emotions
being separate binary tasks). Holm's adjustment runs over each comparison x metric family:
its per-emotion tests over every K together, its pooled tests over every K together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.metrics import rounded
from emo.evaluation.statistics import holm, paired_comparison
from emo.explanation.rivals import RIVALS, SHORT_NAMES

METRICS = ("accuracy", "balanced_accuracy", "roc_auc")
METRIC_NAMES = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "roc_auc": "ROC AUC"}
ALPHA = 0.05
POOLED = "all emotions"


@dataclass(frozen=True)
class Comparison:
    key: str  # stable name in metrics.json
    a: tuple[str, str]  # (variant, selection) of the first; its K is the compared K
    b: tuple[str, str]  # the second's
    b_k: int | None = None  # a fixed K for the second (N_LANDMARKS: all of them), None = the same K
    only_subsets: bool = False  # K < N_LANDMARKS only

    def labels(self, k: int) -> tuple[str, str]:
        return _label(*self.a, k), _label(*self.b, self.b_k or k)


COMPARISONS = (
    Comparison("top_vs_random", ("temo", "top"), ("temo", "random"), only_subsets=True),
    Comparison("top_vs_bottom", ("temo", "top"), ("temo", "bottom"), only_subsets=True),
    Comparison(f"k_vs_{N_LANDMARKS}", ("temo", "top"), ("temo", "top"), b_k=N_LANDMARKS, only_subsets=True),
    Comparison("temo_vs_remo", ("temo", "top"), ("remo", "top")),
    Comparison("temo_vs_svm_linear", ("temo", "top"), ("svm_linear", "all"), b_k=N_LANDMARKS),
    Comparison("temo_vs_svm_rbf", ("temo", "top"), ("svm_rbf", "all"), b_k=N_LANDMARKS),
)
# Keep-and-retrain per rival ranking: T-EMO on the paper's IG top K against each rival's top
# K, and each rival's top K against K random landmarks.
COMPARISONS += tuple(c for m in RIVALS for c in (
    Comparison(f"ig_vs_{m}", ("temo", "top"), ("temo", m), only_subsets=True),
    Comparison(f"{m}_vs_random", ("temo", m), ("temo", "random"), only_subsets=True)))
NAMES = {"temo": "T-EMO", "remo": "R-EMO", "svm_linear": "the linear SVM", "svm_rbf": "the RBF SVM"}


def _label(variant: str, selection: str, k: int) -> str:
    if variant.startswith("svm"):
        return NAMES[variant]
    if selection in RIVALS:
        return f"{SHORT_NAMES[selection]} top-{k}"
    if selection == "top" and variant == "temo":
        return f"top-{k}" if k < N_LANDMARKS else f"T-EMO at {N_LANDMARKS}"
    if selection == "top":
        return f"{NAMES[variant]} top-{k}" if k < N_LANDMARKS else f"{NAMES[variant]} at {N_LANDMARKS}"
    return f"{selection}-{k}"


def per_seed_values(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """metric with rows (emotion, seed) and columns (variant, selection, K); a seed's random
    draws are averaged."""
    return runs.groupby(["emotion", "seed", "variant", "selection", "K"])[metric].mean().unstack([2, 3, 4])


def comparisons_table(runs: pd.DataFrame, svm: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per comparison x metric x K x emotion (and 'all emotions', pooled) with the
    statistics of emo.evaluation.statistics.PairedComparison, the primary p-value (paired t-test per
    emotion, sign-flip permutation pooled) and its Holm-adjusted value."""
    every = pd.concat([runs, svm], ignore_index=True) if svm is not None else runs
    ks = sorted(runs.K.unique(), reverse=True)
    rows = []
    for metric in METRICS:
        values = per_seed_values(every, metric)
        for c in COMPARISONS:
            for k in ks:
                if c.only_subsets and k >= N_LANDMARKS:
                    continue
                a_key, b_key = (*c.a, k), (*c.b, c.b_k or k)
                if a_key not in values.columns or b_key not in values.columns:
                    continue
                pairs = values[[a_key, b_key]].dropna().set_axis(["a", "b"], axis=1)
                emotions = pairs.index.get_level_values("emotion")
                for emotion in [e for e in EMOTIONS if e in set(emotions)] + [POOLED] * (len(pairs) > 0):
                    part = pairs if emotion == POOLED else pairs[emotions == emotion]
                    result = paired_comparison(part.a.to_numpy(), part.b.to_numpy())
                    p = result.p_sign_flip if emotion == POOLED else result.p_t
                    rows.append({"comparison": c.key, "metric": metric, "K": int(k), "emotion": emotion,
                                 **result.as_dict(), "p": p})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_holm"] = np.nan
    family = [table.comparison, table.metric, table.emotion == POOLED]
    for _, index in table.groupby(family, sort=False).groups.items():
        table.loc[index, "p_holm"] = holm(table.loc[index, "p"].to_numpy())
    return table


def sentence(row: pd.Series) -> str:
    """'top-32 beats random-32 by +0.014 [+0.006, +0.022], p = 0.003 over 60 pairs (Holm p = 0.006)'."""
    comparison = next(c for c in COMPARISONS if c.key == row.comparison)
    a, b = comparison.labels(int(row.K))
    interval = f"{row.difference:+.3f} [{row.t_low:+.3f}, {row.t_high:+.3f}]"
    evidence = f"p {_relation(row.p)} over {row.n} pairs (Holm p {_relation(row.p_holm)})"
    if row.p_holm < ALPHA:
        verb = "beats" if row.difference > 0 else "falls behind"
        return f"{a} {verb} {b} by {interval}, {evidence}."
    return f"{a} against {b}: no detectable difference, {interval}, {evidence}."


P_FLOOR = 0.001  # p-values below it print as '< 0.001': three decimals would round them to 0.000


def format_p(p: float) -> str:
    """A p-value as the report prints it, in tables and sentences: '0.012', '< 0.001' or 'n/a'."""
    if p != p:
        return "n/a"
    return f"< {P_FLOOR}" if p < P_FLOOR else f"{p:.3f}"


def _relation(p: float) -> str:
    """format_p to follow a 'p' in a sentence: '= 0.012', '< 0.001' or '= n/a'."""
    text = format_p(p)
    return text if text.startswith("<") else f"= {text}"


def pooled_sentences(table: pd.DataFrame, metric: str) -> list[str]:
    rows = table[(table.emotion == POOLED) & (table.metric == metric)]
    return [sentence(row) for row in rows.itertuples()]


def per_emotion_table(table: pd.DataFrame, comparison: str, metric: str) -> pd.DataFrame:
    """Rows K x emotion: difference [t interval], bootstrap interval, the three p-values, Holm."""
    rows = table[(table.comparison == comparison) & (table.metric == metric)]
    return pd.DataFrame({
        "K": rows.K, "emotion": rows.emotion, "pairs": rows.n,
        "difference [95% t CI]": [f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in zip(rows.difference, rows.t_low, rows.t_high)],
        "bootstrap CI": [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(rows.bootstrap_low, rows.bootstrap_high)],
        **{name: rows[column].map(format_p) for name, column in
           (("p t-test", "p_t"), ("p Wilcoxon", "p_wilcoxon"), ("p sign-flip", "p_sign_flip"), ("p Holm", "p_holm"))},
    })


def comparisons_document(table: pd.DataFrame) -> dict:
    """For reports/metrics.json: comparison -> metric -> K{k} -> emotion (or 'pooled') -> numbers."""
    doc: dict = {}
    for row in table.itertuples():
        name = "pooled" if row.emotion == POOLED else row.emotion
        cell = {"difference": rounded(row.difference), "p_holm": rounded(row.p_holm)}
        if row.emotion == POOLED:
            cell.update(low=rounded(row.t_low), high=rounded(row.t_high), p=rounded(row.p), pairs=int(row.n))
        doc.setdefault(row.comparison, {}).setdefault(row.metric, {}).setdefault(f"K{row.K}", {})[name] = cell
    return doc
