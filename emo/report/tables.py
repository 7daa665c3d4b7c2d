"""The report's tables, computed from the stages' artifacts only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emo import paper
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.metrics import summarize
from emo.evaluation.runs import TEMO_468, TEMO_BEST_K, VARIANT_NAMES
from emo.explanation.action_units import OTHER, UNITS, shares_sentence, unit_label
from emo.explanation.localisation import RANDOM, localisation_means
from emo.explanation.rivals import METHOD_NAMES, PAPER, RIVALS, SHORT_NAMES
from emo.explanation.sanity import sanity_means
from emo.models.model import VARIANTS
from emo.report.comparisons import POOLED, format_p


def cell(mean: float, std: float, digits: int = 3) -> str:
    if mean != mean:
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if std == std else f"{mean:.{digits}f}"


def summary_cell(row: pd.Series, metric: str) -> str:
    """A summarize row's metric as a cell, saying over how many seeds where the metric is
    undefined in some (a test part without the emotion): '0.930 ± 0.020 (8 of 10 seeds)'."""
    text = cell(row[f"{metric}_mean"], row[f"{metric}_std"])
    seeds = row.get(f"{metric}_seeds", row["runs"])
    return text if seeds == row["runs"] or text == "n/a" else f"{text} ({seeds} of {row['runs']} seeds)"


def paper_cell(mean: float, std: float) -> str:
    return f"{mean:.3f} ± {std:.3f}".replace("0.", ".")


def ks_of(runs: pd.DataFrame) -> list[int]:
    return sorted(runs.K.unique(), reverse=True)


def hyperparameter_table(best: dict[int, dict[str, dict]], ks: list[int]) -> pd.DataFrame:
    """Tables 1-5 analogue: our F/Q/R per emotion and K, the paper's beside it."""
    rows = []
    for emotion in EMOTIONS:
        row = {"emotion": emotion}
        for k in ks:
            ours = best.get(k, {}).get(emotion)
            mine = f"{ours['filters']}/{ours['units']}/{ours['neurons']}" if ours else "n/a"
            published = paper.HYPERPARAMETERS.get(k, {}).get(emotion)
            row[f"L={k}"] = mine + (f" (paper {'/'.join(map(str, published))})" if published else "")
        rows.append(row)
    return pd.DataFrame(rows)


def metric_table(s: pd.DataFrame, variant: str, metric: str, ks: list[int], with_paper: bool) -> pd.DataFrame:
    """Tables 6/7 analogue: metric mean ± std per emotion (rows) and K (columns), best K in
    bold; the paper's accuracy in each cell beside ours; a last row with what always answering
    'no' scores on the same test parts (the majority's share in accuracy; 0.5 in balanced
    accuracy and ROC AUC)."""
    top = s[(s.variant == variant) & (s.selection == "top")].set_index(["emotion", "K"])
    rows = []
    for emotion in EMOTIONS:
        means = {k: top.loc[(emotion, k), f"{metric}_mean"] for k in ks if (emotion, k) in top.index}
        best = max(means, key=lambda k: means[k]) if means else None
        row = {"emotion": emotion}
        for k in ks:
            if k not in means:
                row[f"L={k}"] = "n/a"
                continue
            text = summary_cell(top.loc[(emotion, k)], metric)
            if k == best:
                text = f"**{text}**"
            published = paper.ACCURACY.get(variant, {}).get(emotion, {}).get(k)
            if with_paper and published:
                text += f" (paper {paper_cell(*published)})"
            row[f"L={k}"] = text
        rows.append(row)
    majority = {"emotion": "majority class"}
    for k in ks:
        at_k = top.xs(k, level="K") if k in top.index.get_level_values("K") else None
        if at_k is None:
            majority[f"L={k}"] = "n/a"
        else:
            majority[f"L={k}"] = cell(at_k["majority_accuracy_mean"].mean() if metric == "accuracy" else 0.5, float("nan"))
    rows.append(majority)
    return pd.DataFrame(rows)


def controls_table(runs: pd.DataFrame, controls: list[str], comparisons: pd.DataFrame,
                   metric: str = "accuracy") -> pd.DataFrame:
    """IG top-K against random-K (each seed's mean over its draws) and bottom-K (T-EMO, same
    F/Q/R): mean ± std over seeds, and the paired difference with its 95% interval and
    Holm-adjusted p (emo.report.comparisons)."""
    s = summarize(runs[runs.variant == "temo"])
    rows = []
    for k in [k for k in ks_of(runs) if k < N_LANDMARKS]:
        for emotion in EMOTIONS:
            row = {"K": k, "emotion": emotion}
            for sel in ["top", *controls]:
                m = s[(s.K == k) & (s.emotion == emotion) & (s.selection == sel)]
                row[f"{sel}-K"] = summary_cell(m.iloc[0], metric) if len(m) else "n/a"
            for other in controls:
                c = comparisons[(comparisons.comparison == f"top_vs_{other}") & (comparisons.metric == metric)
                                & (comparisons.K == k) & (comparisons.emotion == emotion)]
                row[f"top - {other}"] = (f"{c.difference.iloc[0]:+.3f} [{c.t_low.iloc[0]:+.3f}, {c.t_high.iloc[0]:+.3f}], "
                                         f"Holm p {format_p(c.p_holm.iloc[0])}") if len(c) else "n/a"
            rows.append(row)
    return pd.DataFrame(rows)


def baselines_table(s: pd.DataFrame, svm: pd.DataFrame, metric: str) -> pd.DataFrame:
    """metric ('accuracy' or 'roc_auc') of the SVMs on displacement vs T-EMO and R-EMO at
    L = 468 on identical test parts; with accuracy, the HOG + SVM accuracies the paper quotes
    (published figures, other data)."""
    svm_s = summarize(svm)
    rows = []
    for emotion in EMOTIONS:
        row = {"emotion": emotion}
        for variant, table in (("temo", s), ("remo", s), ("svm_linear", svm_s), ("svm_rbf", svm_s)):
            m = table[(table.variant == variant) & (table.emotion == emotion) & (table.K == N_LANDMARKS)]
            row[VARIANT_NAMES[variant]] = summary_cell(m.iloc[0], metric) if len(m) else "n/a"
        if metric == "accuracy":
            row["HOG+linear SVM (paper)"] = f"{paper.HOG_SVM['linear'][emotion]:.2f}"
            row["HOG+RBF SVM (paper)"] = f"{paper.HOG_SVM['rbf'][emotion]:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def cost_table(s: pd.DataFrame, ks: list[int]) -> pd.DataFrame:
    """Parameters, seconds per training epoch and inference ms per video per K, averaged over
    emotions and seeds, with ratios to L = 468 (the paper's 'fast' claim)."""
    rows = []
    for variant in VARIANTS:
        top = s[(s.variant == variant) & (s.selection == "top")]
        ref = top[top.K == N_LANDMARKS]
        for k in ks:
            m = top[top.K == k]
            if not len(m):
                continue
            row = {"variant": VARIANT_NAMES[variant], "L": k}
            for column, label, fmt in (("parameters", "parameters", "{:,.0f}"), ("seconds_per_epoch", "s/epoch", "{:.3f}"),
                                       ("inference_ms", "ms/video", "{:.3f}")):
                value = m[f"{column}_mean"].mean()
                row[label] = fmt.format(value)
                row[f"{label} / L={N_LANDMARKS}"] = f"{value / ref[f'{column}_mean'].mean():.3f}" if len(ref) else "n/a"
            rows.append(row)
    return pd.DataFrame(rows)


def paper_comparison(s: pd.DataFrame, ks: list[int]) -> tuple[int, int, list[str]]:
    """How many (emotion, K, variant) cells fall within the paper's mean ± (its std + ours)."""
    inside = total = 0
    far = []
    for variant in VARIANTS:
        top = s[(s.variant == variant) & (s.selection == "top")].set_index(["emotion", "K"])
        for emotion in EMOTIONS:
            for k in ks:
                published = paper.ACCURACY[variant][emotion].get(k)
                if not published or (emotion, k) not in top.index:
                    continue
                mean, std = top.loc[(emotion, k), "accuracy_mean"], top.loc[(emotion, k), "accuracy_std"]
                std = 0.0 if std != std else std
                total += 1
                if abs(mean - published[0]) <= published[1] + std:
                    inside += 1
                else:
                    far.append(f"{VARIANT_NAMES[variant]} {emotion} L={k}: ours {mean:.3f}, paper {published[0]:.3f}")
    return inside, total, far


def attribution_tables(summary_doc: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per emotion: the completeness error's mean, median, 95th percentile and maximum; and the
    agreement of the seeds' rankings with the top 16 landmarks."""
    completeness = pd.DataFrame([{
        "emotion": emotion,
        "completeness error, mean abs": f"{d['completeness_abs_mean']:.4f}",
        "median": f"{d['completeness_abs_median']:.4f}",
        "95th pct": f"{d['completeness_abs_p95']:.4f}",
        "max": f"{d['completeness_abs_max']:.4f}",
    } for emotion, d in summary_doc.items()])
    seeds = pd.DataFrame([{
        "emotion": emotion,
        "seed Spearman": "n/a" if d["seed_spearman"] is None else f"{d['seed_spearman']:.3f}",
        "seed top-64 overlap": "n/a" if d["seed_top64_overlap"] is None else f"{d['seed_top64_overlap']:.3f}",
        "top 16 landmarks": " ".join(map(str, d["top16"])),
    } for emotion, d in summary_doc.items()])
    return completeness, seeds


def mask_agreement(arrays: dict, ks: list[int]) -> pd.DataFrame:
    """Shared share of the top K between our mask and the paper's |IG| sum, per emotion."""
    other = [k for k in arrays if k.startswith("attribution_")]
    if not other:
        return pd.DataFrame()
    paper_rank = np.argsort(-arrays[other[0]], axis=1, kind="stable")
    rows = []
    for e, emotion in enumerate(EMOTIONS):
        row = {"emotion": emotion}
        for k in ks:
            row[f"top {k}"] = f"{len(set(arrays['ranking'][e, :k]) & set(paper_rank[e, :k])) / k:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def evaluation_tables(result: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One evaluated dataset's scores (its metrics.json) per config of models: six-class
    accuracy, balanced accuracy and mean AUC; and each emotion's one-vs-rest ROC AUC."""
    rows = []
    for config, m in result.items():
        if config == "videos":
            continue
        aucs = [v for v in m["roc_auc"].values() if v is not None]
        rows.append({"models": config, "six-class accuracy": f"{m['six_class_accuracy']:.3f}",
                     "balanced accuracy": f"{m['balanced_accuracy']:.3f}",
                     "mean AUC": f"{np.mean(aucs):.3f}" if aucs else "n/a",
                     **{e: "n/a" if m["roc_auc"][e] is None else f"{m['roc_auc'][e]:.3f}" for e in EMOTIONS}})
    table = pd.DataFrame(rows)
    return table.drop(columns=list(EMOTIONS)), table[["models", *EMOTIONS]]


FRAME_SCORES = {"macro_f1": "macro-F1", "accuracy": "accuracy", "neutral_false_positive_rate": "neutral false positives",
                "talking_false_positive_rate": "talking false positives", "onset_accuracy": "onset",
                "apex_accuracy": "apex", "offset_accuracy": "offset"}
EPISODE_SCORES = {"episode_recall": "episode recall", "episode_precision": "episode precision",
                  "onset_latency_ms": "onset latency (ms)"}


def timeline_tables(result: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One recordings folder's timeline scores (its metrics.json), per recording, then pooled, and
    the blendshape baseline's pooled: the frames (counts and FRAME_SCORES) and the episodes
    (EPISODE_SCORES)."""
    rows = []
    groups = (("pooled", "pooled"), ("pooled_opening_on_expression", "pooled, opening on an expression"))
    pooled = [(f"**{label}**", result[key]) for key, label in groups if key in result]
    pooled += [(f"**{label}, blendshape baseline**", result["baseline"][key]) for key, label in groups
               if key in result.get("baseline", {})]
    for name, m in list(result["recordings"].items()) + pooled:
        row = {"recording": name, "frames": str(m["frames"]),
               "with face": str(m.get("frames_with_face", ""))}
        row.update({label: "n/a" if m.get(key) is None or m[key] != m[key] else
                    (f"{m[key]:.0f}" if key == "onset_latency_ms" else f"{m[key]:.3f}")
                    for key, label in {**FRAME_SCORES, **EPISODE_SCORES}.items()})
        rows.append(row)
    table = pd.DataFrame(rows).fillna("")
    return (table[["recording", "frames", "with face", *FRAME_SCORES.values()]],
            table[["recording", *EPISODE_SCORES.values()]])


def timeline_set_table(summary: pd.DataFrame, timeline_set: pd.DataFrame) -> pd.DataFrame:
    """Clip accuracy per emotion (mean ± std over seeds, the same test clips): the paper's T-EMO at
    L = 468 (train_full) beside the timeline's own models (train_timeline), and their difference."""
    def accuracy(table: pd.DataFrame) -> pd.DataFrame:
        # train_full's runs read as the top 468 among retrain_k's (emo.evaluation.runs.all_runs)
        rows = table[(table.variant == "temo") & (table.K == N_LANDMARKS) & table.selection.isin(["all", "top"])]
        return rows.set_index("emotion").reindex(list(EMOTIONS))

    paper, own = accuracy(summary), accuracy(timeline_set)
    return pd.DataFrame({
        "emotion": list(EMOTIONS),
        "paper's T-EMO, L = 468": [f"{m:.3f} ± {s:.3f}" for m, s in zip(paper.accuracy_mean, paper.accuracy_std)],
        "timeline's models": [f"{m:.3f} ± {s:.3f}" for m, s in zip(own.accuracy_mean, own.accuracy_std)],
        "difference": [f"{d:+.3f}" for d in own.accuracy_mean.to_numpy() - paper.accuracy_mean.to_numpy()],
    })


def timeline_confusion(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    """A recordings folder's pooled confusion (metrics.json's 'confusion'): frames by truth (rows) and
    answer (columns), each row's share of its frames."""
    table = pd.DataFrame(counts).T
    shares = table.div(table.sum(axis=1).where(lambda n: n > 0), axis=0)
    return shares.map(lambda v: "" if v != v else f"{v:.2f}").rename_axis("truth").reset_index()


def per_subject_accuracy(merged: pd.DataFrame, subjects: np.ndarray,
                         configs: tuple[str, ...] = (TEMO_468, TEMO_BEST_K)) -> pd.DataFrame:
    """Six-class accuracy per test subject, pooled over seeds, for each config; worst first.
    Every config predicts the same test videos, so the counts come from the first."""
    tested = merged.assign(subject=subjects[merged["sample"].to_numpy()], correct=merged.actual == merged.predicted)
    first = tested[tested.config == configs[0]].groupby("subject")
    table = pd.DataFrame({"videos": first["sample"].nunique(), "predictions": first.size(),
                          **{f"{c} accuracy": tested[tested.config == c].groupby("subject").correct.mean()
                             for c in configs}})
    return table.rename_axis("subject").reset_index().sort_values(f"{configs[-1]} accuracy", kind="stable"
                                                                  ).reset_index(drop=True)


# Is the ranking right? (the check_rankings stage's tables, and keep-and-retrain per method)

TRUTH = "truth"  # the planted truth's own action-unit decomposition in action_units.csv


def method_name(method: str) -> str:
    return "random floor" if method == RANDOM else METHOD_NAMES[method]


def localisation_table(localisation: pd.DataFrame, ks: list[int]) -> pd.DataFrame:
    """Rows method (and the random floor): relevance mass, Spearman, precision@K and recall@K
    for each K, means over the emotions."""
    means = localisation_means(localisation)
    columns = ["mass", "spearman", *(f"{score}@{k}" for k in ks for score in ("precision", "recall"))]
    table = means[columns].map("{:.3f}".format).assign(spearman=means.spearman.map("{:+.3f}".format))
    return table.rename(columns={"spearman": "Spearman"}, index=method_name).rename_axis("method").reset_index()


def sanity_table(sanity: pd.DataFrame) -> pd.DataFrame:
    means = sanity_means(sanity)
    return means.map(lambda v: "n/a" if v != v else f"{v:+.3f}").rename(index=method_name
                                                                         ).rename_axis("method").reset_index()


def kar_selections(runs: pd.DataFrame) -> list[str]:
    """The rival rankings retrain_k kept and retrained on (their names are the runs' selection)."""
    return [m for m in RIVALS if m in set(runs.selection)]


def kar_table(runs: pd.DataFrame) -> pd.DataFrame:
    """T-EMO test accuracy (mean ± std over seeds) on IG's top K, on each rival's top K and on
    K random landmarks, per K < 468 and emotion, and pooled: each seed's mean over the emotions."""
    columns = {"top": SHORT_NAMES[PAPER], **{m: SHORT_NAMES[m] for m in kar_selections(runs)}, "random": "random-K"}
    temo = runs[(runs.variant == "temo") & (runs.K < N_LANDMARKS) & runs.selection.isin(list(columns))]
    per_seed = temo.groupby(["K", "selection", "emotion", "seed"], as_index=False).accuracy.mean()  # draws: once
    pooled = per_seed.groupby(["K", "selection", "seed"], as_index=False).accuracy.mean().assign(emotion=POOLED)
    stats = pd.concat([per_seed, pooled]).groupby(["K", "selection", "emotion"]).accuracy.agg(["mean", "std"])
    cells = pd.Series([cell(m, sd) for m, sd in zip(stats["mean"], stats["std"])], index=stats.index)
    order = pd.MultiIndex.from_product([sorted(temo.K.unique(), reverse=True), [*EMOTIONS, POOLED]],
                                       names=["K", "emotion"])
    table = cells.unstack("selection").reindex(index=order, columns=[c for c in columns if c in set(temo.selection)])
    return table.fillna("n/a").rename(columns=columns).reset_index()


def agreement_table(agreement: pd.DataFrame, ks: list[int]) -> pd.DataFrame:
    """Rows: each pair of methods, mean Spearman and top-K overlap over the emotions; a last row
    with what two random rankings give on average (0 and K/468)."""
    overlaps = [f"top{k}_overlap" for k in ks]
    means = agreement.groupby(["a", "b"], sort=False)[["spearman", *overlaps]].mean()
    pairs = [f"{SHORT_NAMES[a]} ~ {SHORT_NAMES[b]}" for a, b in means.index]
    table = means.map("{:.3f}".format).assign(spearman=means.spearman.map("{:+.3f}".format))
    table = table.set_axis(pairs).rename_axis("methods").reset_index()
    chance = pd.DataFrame([{"methods": "two random rankings", "spearman": f"{0:+.3f}",
                            **{f"top{k}_overlap": f"{k / N_LANDMARKS:.3f}" for k in ks}}])
    return pd.concat([table, chance], ignore_index=True).rename(
        columns={"spearman": "Spearman", **{f"top{k}_overlap": f"top-{k} overlap" for k in ks}})


def action_unit_shares_of(shares: pd.DataFrame, method: str) -> np.ndarray:
    """[6, len(UNITS) + 1]: a method's action-unit shares per emotion from action_units.csv, in
    emo.explanation.action_units' order ('other' last)."""
    labels = [unit_label(au) for au in UNITS] + [OTHER]
    part = shares[shares.method == method]
    return part.pivot(index="emotion", columns="action_unit", values="share").reindex(
        index=list(EMOTIONS), columns=labels).fillna(0.0).to_numpy()


def action_unit_table(shares: pd.DataFrame, methods: list[str], generating: dict[str, str] | None) -> pd.DataFrame:
    """Rows emotion: the action units that generated it (`generating`, where a truth knows
    them) and, per method (TRUTH: the planted truth decomposed the same way), its three
    largest action-unit shares."""
    table = pd.DataFrame({"emotion": list(EMOTIONS)})
    if generating is not None:
        table["generating action units"] = [generating[e] for e in EMOTIONS]
    for method in methods:
        name = "planted truth, decomposed" if method == TRUTH else SHORT_NAMES[method]
        table[name] = [shares_sentence(row) for row in action_unit_shares_of(shares, method)]
    return table


def featured_rival(checks: dict) -> tuple[str, str]:
    """The rival drawn beside IG on the faces, and why: the best-localising rival where a truth
    exists, else the rival whose ranking agrees least with IG's."""
    rivals = [m for m in checks["methods"] if m != PAPER]
    if checks["truth"]:
        best = max(rivals, key=lambda m: checks["localisation"][m]["mass"])
        return best, "the rival with the largest relevance mass on the planted truth"
    least = min(rivals, key=lambda m: checks["agreement"][f"{PAPER} ~ {m}"]["spearman"])
    return least, "the rival whose ranking agrees least with IG's (no truth to localise against)"
