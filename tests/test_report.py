"""The report on a small fabricated artifact set (real demo faces, made-up numbers)."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from emo.config import DataParams
from emo.data.emotions import EMOTIONS
from emo.evaluation.cross_dataset import scores
from emo.data.extraction import run_extract
from emo.explanation.global_attribution import ALPHAS, ranking_of
from emo.report import Artifacts, run_report
from emo.evaluation.metrics import METRICS, TIMINGS

pytestmark = pytest.mark.slow


def _runs(rng, y, partitions, variant, k, selection):
    rows, preds = [], []
    for e, emotion in enumerate(EMOTIONS):
        for p in partitions:
            metrics = {m: float(rng.uniform(0.8, 1.0)) for m in METRICS}
            rows.append({"emotion": emotion, "variant": variant, "K": k, "selection": selection, "draw": 0,
                         "seed": p["seed"],
                         "filters": 4, "units": 8, "neurons": 8, **metrics, "val_loss": float(rng.uniform(0.1, 0.5)),
                         "epochs": 5, "seconds": 2.0, "seconds_per_epoch": 0.4 * k / 468 + 0.1,
                         "parameters": 100 * k, "inference_ms": 0.5 * k / 468 + 0.1, "n_test": len(p["test"]),
                         "n_test_positive": int((y[p["test"]] == e).sum())})
            for i in p["test"]:
                preds.append({"emotion": emotion, "variant": variant, "K": k, "selection": selection,
                              "seed": p["seed"], "sample": i,
                              "probability": 0.9 if y[i] == e else float(rng.uniform(0, 0.5))})
    return pd.DataFrame(rows), pd.DataFrame(preds)


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_demo, smoke_params, face_model):
    root = tmp_path_factory.mktemp("report")
    data = DataParams(root=tiny_demo, layout="ckplus", subject_pattern="^([^_]+)")
    extract = dataclasses.replace(smoke_params.extract, workers=2)
    run_extract(data, extract, face_model, root / "landmarks", progress=False)
    z = np.load(root / "landmarks" / "landmarks.npz")
    y, n = z["y"], len(z["y"])
    rng = np.random.default_rng(0)
    partitions = [{"seed": s, "test": list(range(s * 6, s * 6 + 6)),
                   "train": [i for i in range(n) if not s * 6 <= i < s * 6 + 6]} for s in (0, 1)]
    a = Artifacts(landmarks=root / "landmarks/landmarks.npz", manifest=root / "landmarks/manifest.csv",
                  attributions=root / "attributions.npz", attribution_summary=root / "attribution_summary.json",
                  tune=root / "tune.json", full_runs=root / "full_runs.csv", full_predictions=root / "full_p.csv",
                  retrain_runs=root / "retrain_runs.csv", retrain_predictions=root / "retrain_p.csv",
                  full_timings=root / "full_timings.csv", retrain_timings=root / "retrain_timings.csv",
                  retrain_hparams=root / "retrain.json", baselines=root / "svm.csv", evaluations=root / "evaluate")
    full = [_runs(rng, y, partitions, v, 468, "all") for v in ("temo", "remo")]
    retrain = [_runs(rng, y, partitions, v, 32, "top") for v in ("temo", "remo")]
    retrain += [_runs(rng, y, partitions, "temo", 32, s) for s in ("random", "bottom")]
    for runs, runs_file, timings_file in ((full, a.full_runs, a.full_timings),
                                          (retrain, a.retrain_runs, a.retrain_timings)):
        table = pd.concat([r for r, _ in runs])
        table.drop(columns=list(TIMINGS)).to_csv(runs_file, index=False)
        table[["emotion", "variant", "K", "selection", "draw", "seed", *TIMINGS]].to_csv(timings_file, index=False)
    pd.concat([p for _, p in full]).to_csv(a.full_predictions, index=False)
    pd.concat([p for _, p in retrain]).to_csv(a.retrain_predictions, index=False)
    svm = pd.concat([_runs(rng, y, partitions, v, 468, "all")[0] for v in ("svm_linear", "svm_rbf")])
    svm.to_csv(a.baselines, index=False)
    arch = {e: {"filters": 4, "units": 8, "neurons": 8} for e in EMOTIONS}
    a.tune.write_text(json.dumps({"best": arch}))
    a.retrain_hparams.write_text(json.dumps({"best": {"K32": arch}}))
    attribution = rng.random((6, 468))
    ranking = ranking_of(attribution)
    typical = np.array([[int(np.flatnonzero(y == e)[0]) for e in range(6)]])
    np.savez(a.attributions, attribution=attribution, ranking=ranking, typical=typical, alphas=ALPHAS,
             alpha_curves=np.tile(np.linspace(0.1, 0.9, len(ALPHAS)), (6, 5, 1)),
             baseline_emotions=np.array([[b for b in range(6) if b != e] for e in range(6)]),
             attribution_abs_sum=rng.random((6, 468)), mask=np.array("group_abs"))
    a.attribution_summary.write_text(json.dumps({e: {
        "completeness_abs_mean": 0.01, "completeness_abs_median": 0.005, "completeness_abs_p95": 0.03,
        "completeness_abs_max": 0.05, "seed_spearman": 0.7, "seed_top64_overlap": 0.6,
        "top16": [int(i) for i in ranking[k, :16]]} for k, e in enumerate(EMOTIONS)}))
    held = rng.integers(0, 6, 20)
    evaluation = {"videos": 20, **{c: scores(held, rng.random((20, 6))) for c in
                                  ("T-EMO L=468", "T-EMO each emotion's best K", "linear SVM", "rbf SVM")}}
    (root / "evaluate" / "demo_heldout").mkdir(parents=True)
    a.evaluation("demo_heldout").write_text(json.dumps(evaluation))
    params = dataclasses.replace(smoke_params, data=data, extract=extract)
    out = root / "reports"
    metrics = run_report(params, out, a)
    return out, metrics


def test_every_section_and_the_papers_numbers_are_there(report):
    out, _ = report
    md = (out / "report.md").read_text()
    for heading in ("Tables 1-5", "Tables 6 and 7", "Balanced accuracy and ROC AUC", "Controls",
                    "Baselines on the same test parts", "six-emotion classifier", "Cost against the number",
                    "Figure 3", "Figure 2", "Where we match the paper", "Statistics: what the comparisons support",
                    "Other datasets: do the models generalise?", "demo_heldout", "Appendix: every comparison per emotion",
                    "Appendix: six-class accuracy per test subject"):
        assert heading in md, heading
    assert "(paper .924 +- .016)" in md  # T-EMO anger at L = 468, Table 6
    assert "(paper .889 +- .018)" in md  # R-EMO anger at L = 468, Table 7
    assert "(paper 25/31/54)" in md  # Table 5, anger at L = 32
    assert "**" in md and "majority class" in md and "top - random" in md
    assert "HOG+linear SVM (paper)" in md and "0.85" in md
    assert "T-EMO each emotion's best K" in md
    assert "nan" not in md.lower().replace("n/a", "")
    assert "over 12 pairs" in md  # pooled: 6 emotions x 2 seeds


def test_always_no_scores_half_under_balanced_accuracy_and_auc(report):
    md = (report[0] / "report.md").read_text()
    tables = md.split("T-EMO balanced accuracy")[1], md.split("T-EMO roc auc")[1]
    for table in tables:
        majority = next(line for line in table.splitlines() if line.startswith("| majority class"))
        assert majority.count("0.500") == 2, majority  # L = 468 and 32
    accuracy = md.split("T-EMO accuracy, best L per row")[1]
    majority = next(line for line in accuracy.splitlines() if line.startswith("| majority class"))
    assert "0.500" not in majority  # the test parts' share of negatives, about 5/6


def test_statistics_and_per_subject_tables(report):
    out, metrics = report
    stats = pd.read_csv(out / "tables" / "statistics.csv")
    assert {"top_vs_random", "top_vs_bottom", "k_vs_468", "temo_vs_remo", "temo_vs_svm_linear",
            "temo_vs_svm_rbf"} == set(stats.comparison)
    assert set(stats.metric) == {"accuracy", "balanced_accuracy", "roc_auc"}
    assert (stats.p_holm >= stats.p - 1e-12).all()
    pooled = metrics["comparisons"]["top_vs_random"]["accuracy"]["K32"]["pooled"]
    assert pooled["pairs"] == 12 and pooled["low"] <= pooled["difference"] <= pooled["high"]
    subjects = pd.read_csv(out / "tables" / "per_subject.csv")
    assert subjects.predictions.sum() == 12  # every test video of both seeds
    assert metrics["evaluation"]["demo_heldout"]["linear SVM"]["six_class_accuracy"] >= 0


def test_figures_are_written_and_embedded(report):
    out, _ = report
    names = {p.name for p in (out / "figures").iterdir()}
    assert {f"landmarks_{e}.png" for e in EMOTIONS} <= names
    assert {"accuracy_vs_k.png", "alpha_path.png", "controls.png"} <= names
    md = (out / "report.md").read_text()
    assert all(f"figures/{n}" in md for n in names)
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(names)
    assert "<table" in page and "<b>" in page


def test_metrics_and_plot_data(report):
    out, metrics = report
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == metrics
    assert set(on_disk["accuracy"]["temo"]["anger"]) == {"K468", "K32"}
    assert set(on_disk["controls_accuracy"]) == {"random", "bottom"}
    assert "T-EMO L=468" in on_disk["six_class_accuracy"]
    curve = pd.read_csv(out / "plots" / "accuracy_vs_k.csv")
    assert list(curve.K) == [32, 468] and "anger_temo" in curve and "anger_temo_paper" in curve
    assert curve.loc[curve.K == 468, "anger_temo_paper"].item() == pytest.approx(0.924)
    confusion = pd.read_csv(out / "plots" / "six_class_temo_468.csv")
    assert set(confusion.columns) == {"actual", "predicted"} and len(confusion) == 12
