"""reports/metrics.json: every number of the report that `dvc metrics show` and `dvc metrics diff`
compare."""

from __future__ import annotations

import pandas as pd

from emo.evaluation.metrics import rounded
from emo.explanation.rivals import PAPER
from emo.report import comparisons as stats_tables
from emo.report.inputs import ReportInputs


def metrics_document(r: ReportInputs) -> dict:
    """reports/metrics.json, for `dvc metrics show` and `dvc metrics diff`."""
    s = r.summary
    doc: dict = {}
    for metric in ("accuracy", "balanced_accuracy", "roc_auc"):
        for row in s[s.selection == "top"].to_dict(orient="records"):
            doc.setdefault(metric, {}).setdefault(row["variant"], {}).setdefault(row["emotion"], {})[
                f"K{row['K']}"] = rounded(row[f"{metric}_mean"])
    for row in s[s.selection.isin(r.controls)].to_dict(orient="records"):
        doc.setdefault("controls_accuracy", {}).setdefault(row["selection"], {}).setdefault(row["emotion"], {})[
            f"K{row['K']}"] = rounded(row["accuracy_mean"])
    doc["six_class_accuracy"] = {row["config"]: rounded(row["mean"]) for row in r.six.to_dict(orient="records")}
    doc["comparisons"] = stats_tables.comparisons_document(r.comparisons)
    doc["evaluation"] = {name: {config: {k: result[config][k] for k in ("six_class_accuracy", "balanced_accuracy")}
                                for config in result if config != "videos"}
                         for name, result in r.evaluations.items()}
    doc["timeline"] = {name: {**{k: None if v is None else rounded(v) for k, v in result["pooled"].items()},
                              "opening_on_expression_macro_f1": rounded(opening["macro_f1"])
                              if (opening := result.get("pooled_opening_on_expression")) else None,
                              **({f"baseline_{k}": rounded(result["baseline"]["pooled"][k])
                                  for k in ("macro_f1", "neutral_false_positive_rate", "talking_false_positive_rate")
                                  if result["baseline"]["pooled"].get(k) is not None} if "baseline" in result else {})}
                       for name, result in r.timelines.items() if "pooled" in result}
    own = r.timeline_set[(r.timeline_set.variant == "temo") & (r.timeline_set.selection == "all")]
    doc["timeline_models_accuracy"] = {row["emotion"]: rounded(row["accuracy_mean"])
                                       for row in own.to_dict(orient="records")}
    doc["rankings"] = rankings_document(r.checks, r.comparisons)
    return doc


def rankings_document(checks: dict, comparisons: pd.DataFrame) -> dict:
    """metrics.json's 'rankings': the best-localising method and each method's relevance mass
    and Spearman against the truth (where one exists), the sanity checks' mean Spearman, and
    keep-and-retrain: IG's top-K accuracy minus each rival's, pooled over the emotions."""
    doc: dict = {}
    if checks["truth"]:
        doc["best_localising"] = checks["best_localising"]
        doc["localisation"] = {m: {k: s[k] for k in ("mass", "spearman")} for m, s in checks["localisation"].items()}
    doc["sanity"] = checks["sanity"]
    c = comparisons
    kar = c[(c.emotion == stats_tables.POOLED) & (c.metric == "accuracy") & c.comparison.str.startswith(
        f"{PAPER}_vs_")] if len(c) else c
    doc["keep_and_retrain_ig_minus"] = {}
    for row in kar.itertuples():
        doc["keep_and_retrain_ig_minus"].setdefault(row.comparison.removeprefix(f"{PAPER}_vs_"), {})[
            f"K{row.K}"] = rounded(row.difference)
    return doc
