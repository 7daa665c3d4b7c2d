"""The report stage: the paper's tables and figures beside ours, from the artifacts alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emo import paper
from emo.data.emotions import EMOTIONS
from emo.errors import EmoError
from emo.evaluation.metrics import TIMINGS, summarize
from emo.report import comparisons as stats_tables
from emo.report import figures, tables
from emo.report.document import Document
from emo.evaluation.six_class import accuracy_table, confusion, merge


@dataclass(frozen=True)
class Artifacts:
    """Where the report reads from (DVC passes them as the stage's dependencies)."""

    landmarks: Path = Path("data/landmarks/landmarks.npz")
    manifest: Path = Path("data/landmarks/manifest.csv")
    attributions: Path = Path("data/attributions.npz")
    attribution_summary: Path = Path("data/attribution_summary.json")
    tune: Path = Path("models/tune/hparams.json")
    full_runs: Path = Path("models/full/runs.csv")
    full_timings: Path = Path("models/full/timings.csv")
    full_predictions: Path = Path("models/full/test_probabilities.csv")
    retrain_runs: Path = Path("models/retrain_k/runs.csv")
    retrain_timings: Path = Path("models/retrain_k/timings.csv")
    retrain_predictions: Path = Path("models/retrain_k/test_probabilities.csv")
    retrain_hparams: Path = Path("models/retrain_k/hparams.json")
    baselines: Path = Path("models/baselines/runs.csv")
    evaluations: Path = Path("models/evaluate")  # one folder per dataset of evaluate.datasets

    def require(self, evaluated=()) -> None:
        files = [path for name, path in vars(self).items() if name != "evaluations"]
        files += [self.evaluation(name) for name in evaluated]
        for path in files:
            if not Path(path).is_file():
                raise EmoError(f"{path} is missing; run `dvc repro` so that every stage before report has run.")

    def evaluation(self, name: str) -> Path:
        return Path(self.evaluations) / name / "metrics.json"


def best_k_per_emotion(runs: pd.DataFrame) -> dict[str, int]:
    """Each emotion's K with the lowest mean validation loss of its T-EMO top-K models (chosen
    on validation data, never on test)."""
    top = runs[(runs.variant == "temo") & (runs.selection == "top")]
    loss = top.groupby(["emotion", "K"]).val_loss.mean()
    return {e: int(loss.loc[e].idxmin()) for e in EMOTIONS}


def six_class_predictions(predictions: pd.DataFrame, best_k: dict[str, int]) -> pd.DataFrame:
    top = predictions[predictions.selection.isin(["all", "top"])]
    configs = [top.assign(config=top.variant.map(tables.VARIANT_NAMES) + " L=" + top.K.astype(str))]
    for variant in ("temo", "remo"):
        chosen = top[(top.variant == variant) & (top.K == top.emotion.map(best_k))]
        configs.append(chosen.assign(config=f"{tables.VARIANT_NAMES[variant]} each emotion's best K"))
    return pd.concat(configs, ignore_index=True)


def with_timings(runs: Path, timings: Path) -> pd.DataFrame:
    """A stage's runs with their wall-clock times (kept apart from runs.csv; see write_results)."""
    table = pd.read_csv(timings)
    return pd.read_csv(runs).merge(table, on=[c for c in table.columns if c not in TIMINGS], how="left")


def peak_face(detector, path: Path) -> np.ndarray:
    """A video's last (peak) frame, cropped as extract cropped it."""
    from emo.data import SequenceSource

    frames = list(SequenceSource(sequence=path.name, subject="", path=path, label="").frames())
    crop = detector.face_crops(frames)[-1]
    if crop is None:
        raise EmoError(f"no face found again in {path}; was data.root changed since extract ran?")
    return crop


def run_report(params, out_dir: Path, artifacts: Artifacts = Artifacts()) -> dict:
    from emo.data.dataset import load_landmarks
    from emo.data.face_model import resolve_face_model
    from emo.files import atomic_dir, atomic_file, write_json
    from emo.data.landmarks import LandmarkDetector
    from emo.report.plotting import ranking_panels

    artifacts.require(params.evaluate.datasets)
    evaluations = {name: json.loads(artifacts.evaluation(name).read_text()) for name in params.evaluate.datasets}
    data = load_landmarks(artifacts.landmarks)
    with np.load(artifacts.attributions) as z:
        arrays = {k: z[k] for k in z.files}
    attribution_summary = json.loads(artifacts.attribution_summary.read_text())
    runs = tables.all_runs(with_timings(artifacts.full_runs, artifacts.full_timings),
                           with_timings(artifacts.retrain_runs, artifacts.retrain_timings))
    predictions = pd.concat([pd.read_csv(artifacts.full_predictions), pd.read_csv(artifacts.retrain_predictions)],
                            ignore_index=True)
    svm = pd.read_csv(artifacts.baselines)
    ks = tables.ks_of(runs)
    s = summarize(runs)
    best = {468: json.loads(artifacts.tune.read_text())["best"]}
    retrain_hparams = json.loads(artifacts.retrain_hparams.read_text())
    best.update({int(k[1:]): v for k, v in retrain_hparams["best"].items()})
    best_k = best_k_per_emotion(runs)
    merged = merge(six_class_predictions(predictions, best_k), data.y)
    six = accuracy_table(merged)
    controls = sorted(set(runs.selection) - {"top"}, key=["random", "bottom"].index)
    variants = [v for v in ("temo", "remo") if v in set(runs.variant)]
    comparisons = stats_tables.comparisons_table(runs, svm)

    doc = Document("emo: the paper's tables and figures, reproduced from raw video")
    n_subjects = len(np.unique(data.subject))
    seeds = sorted(runs.seed.unique())
    doc.text(
        f"Data: `{params.data.root}` ({params.data.layout} layout), {len(data.y)} videos of {n_subjects} subjects, "
        f"P = {data.frames} frames each; {len(seeds)} partitions (seeds {', '.join(map(str, seeds))}), "
        f"split `{params.split.mode}`-wise; model input `{params.model.input}`, flip `{params.train.flip}`, "
        f"learning rate {params.train.learning_rate}, at most {params.train.epochs} epochs. Every number below is "
        "a mean +- sample standard deviation over the seeds, measured on each seed's test part; the paper's "
        "published values are in parentheses. Regenerate with `dvc repro report`."
    )
    doc.text(environment_line())

    doc.heading("Tables 1-5: grid-search winners F/Q/R")
    doc.table(tables.hyperparameter_table(best, ks), "Our F/Q/R per emotion and landmark count (the paper's).")

    doc.heading("Tables 6 and 7: test accuracy")
    for variant in variants:
        doc.table(tables.metric_table(s, variant, "accuracy", ks, with_paper=True),
                  f"{tables.VARIANT_NAMES[variant]} accuracy, best L per row in bold; the last row is what always "
                  "answering 'not this emotion' scores on the same test parts.")
    doc.heading("Balanced accuracy and ROC AUC", 3)
    doc.text("Each binary task is about 1:5, so accuracy flatters; these two do not.")
    for variant in variants:
        for metric in ("balanced_accuracy", "roc_auc"):
            doc.table(tables.metric_table(s, variant, metric, ks, with_paper=False),
                      f"{tables.VARIANT_NAMES[variant]} {metric.replace('_', ' ')}")

    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_dir(out_dir / "figures") as fig_dir:
        doc.figure(figures.accuracy_vs_k(runs, fig_dir / "accuracy_vs_k.png"),
                   "Accuracy against the number of landmarks (mean +- std over seeds); crosses: the paper.")

        if controls:
            doc.heading("Controls: is the IG ranking better than chance?")
            draws = int(runs[runs.selection == "random"].draw.nunique()) if "draw" in runs else 1
            doc.text(f"T-EMO on each emotion's top K landmarks against K landmarks drawn at random ({draws} "
                     "independent draws per seed, averaged: each seed's random-K is an estimate, not one draw) "
                     "and against the bottom K of the ranking, with the same F/Q/R. Differences are paired by "
                     "seed (the same partition's test videos), with their 95% t interval and the paired t-test's "
                     "p-value, Holm-adjusted over every emotion and K of the comparison; the sentences under "
                     "'Statistics' pool the six emotions.")
            doc.table(tables.controls_table(runs, controls, comparisons, "accuracy"), "Accuracy")
            doc.table(tables.controls_table(runs, controls, comparisons, "roc_auc"), "ROC AUC")
            doc.figure(figures.controls(runs, fig_dir / "controls.png"),
                       "Top-K, random-K and bottom-K T-EMO accuracy (mean +- std over seeds).")

        doc.heading("Statistics: what the comparisons support")
        doc.text("Each comparison pairs two configurations by emotion and seed (the same test videos) and pools "
                 "the six emotions: the mean difference with its 95% t interval, the p-value of a sign-flip "
                 "permutation test over all pairs, and that p-value Holm-adjusted over the comparison's K values. "
                 f"'No detectable difference' means the Holm-adjusted p is at least {stats_tables.ALPHA}. Per "
                 "emotion, with the bootstrap interval, the t-test, Wilcoxon and sign-flip p-values: the appendix "
                 "and `reports/tables/statistics.csv`.")
        for metric in stats_tables.METRICS:
            lines = stats_tables.pooled_sentences(comparisons, metric)
            if lines:
                name = stats_tables.METRIC_NAMES[metric]
                doc.heading(name[0].upper() + name[1:], 3)
                doc.text("\n".join(f"- {line}" for line in lines))

        doc.heading("Baselines on the same test parts")
        doc.text("SVMs on each landmark's motion from the first to the last frame (position and scale "
                 "normalised), what a practitioner tries first, against the networks at L = 468. The HOG + SVM "
                 "columns are the numbers the paper quotes from Kumar et al. (2016), on their data, not ours.")
        doc.table(tables.baselines_table(s, svm), "Accuracy and ROC AUC at L = 468")

        doc.heading("One six-emotion classifier from the six binary models")
        doc.text("Each emotion's model gathers its own landmarks from the same 468-landmark video; the highest "
                 "positive-class probability wins. 'Best K' takes each emotion's K with the lowest mean "
                 f"validation loss: {', '.join(f'{e} {k}' for e, k in best_k.items())}.")
        doc.table(six.assign(accuracy=[tables.cell(m, sd) for m, sd in zip(six["mean"], six["std"])])
                  [["config", "accuracy", "seeds"]], "Six-class accuracy (chance: 1/6)")
        for config in ("T-EMO L=468", "T-EMO each emotion's best K"):
            part = merged[merged.config == config]
            name = config.replace(" ", "_").replace("'", "").replace("=", "")
            doc.figure(figures.confusion(confusion(part.actual.to_numpy(), part.predicted.to_numpy()),
                                         f"{config}, all seeds' test videos", fig_dir / f"confusion_{name}.png"),
                       f"Six-class confusion matrix, {config}")

        doc.heading("Other datasets: do the models generalise?")
        if evaluations:
            doc.text("The trained models, unchanged, on datasets no model was trained, tuned or ranked on (the "
                     "evaluate stage): landmarks extracted with the extract stage's settings, each emotion's "
                     "models averaged over the seeds and the highest of the six probabilities taken, as "
                     "`emo predict` does; the SVMs refit on every video of the training data. Chance: 1/6.")
        else:
            doc.text("`evaluate.datasets` lists no dataset, so none was evaluated; add one (any layout extract "
                     "reads) to see how the models do on data they never saw.")
        for name, result in evaluations.items():
            dataset = params.evaluate.datasets[name]
            doc.heading(f"{name} (`{dataset.root}`, {result['videos']} videos)", 3)
            doc.table(evaluation_table(result), "Six-class accuracy and balanced accuracy; each emotion's "
                      "one-vs-rest ROC AUC from its probability")
            best = "T-EMO each emotion's best K"
            doc.figure(figures.confusion(np.array(result[best]["confusion"]), f"{name}, {best}",
                                         fig_dir / f"evaluate_{name}_confusion.png"),
                       f"Six-class confusion matrix on {name}, {best}")

        doc.heading("Cost against the number of landmarks")
        doc.table(tables.cost_table(s, ks), "Mean over emotions and seeds, from the same training runs; "
                  "ratios to L = 468.")

        doc.heading("Figure 3: which landmarks matter, on a face")
        doc.text("For each emotion, the last (peak) frame of its typical training video, cropped as extract "
                 "cropped it, with every landmark coloured by the emotion's dataset-wide attribution and the top "
                 "234/128/64/32/16 circled.")
        typical = arrays["typical"][0]
        manifest = pd.read_csv(artifacts.manifest).set_index("sequence")
        x = params.extract
        with LandmarkDetector(resolve_face_model(x.face_model), x.crop_size, x.box, x.box_margin) as detector:
            for e, emotion in enumerate(EMOTIONS):
                sequence = str(data.sequence[typical[e]])
                crop = peak_face(detector, params.data.root / manifest.loc[sequence, "path"])
                points = data.X[typical[e], -1].T * x.crop_size  # its landmarks, in the crop's pixels
                fig = ranking_panels(crop, points, arrays["attribution"][e], arrays["ranking"][e],
                                     paper.LANDMARK_COUNTS[1:], f"{emotion}: {sequence}")
                doc.figure(figures.save(fig, fig_dir / f"landmarks_{emotion}.png"), f"{emotion}: attribution and top-K")

        doc.heading("Figure 2: the target probability along the integration path")
        doc.figure(figures.alpha_curves(arrays, fig_dir / "alpha_path.png"),
                   "F along alpha from a typical sadness video (surprise, for sadness) to each emotion's typical "
                   "video; the paper saw surprise saturate after alpha = 0.3.")

        doc.heading("The attribution itself", 3)
        doc.table(tables.attribution_table(attribution_summary),
                  f"Completeness error sum(IG) - (F(x) - F(x')), in absolute value, per video and baseline at m = "
                  f"{params.attribute.steps}, agreement of the seeds' rankings, and the top 16 landmarks.")
        agreement = tables.mask_agreement(arrays, [k for k in paper.LANDMARK_COUNTS if k < 468])
        if len(agreement):
            doc.table(agreement, f"Share of the top K shared by our ranking (mask `{arrays['mask']}`) and the "
                                 "paper's |IG| sum.")

        inside, total, far = tables.paper_comparison(s, ks)
        doc.heading("Where we match the paper, where not, and why")
        doc.text(honest_notes(params, inside, total, far, runs, svm, six))

        per_subject = per_subject_accuracy(merged, data.subject)
        doc.heading("Appendix: every comparison per emotion")
        for c in stats_tables.COMPARISONS:
            for metric in stats_tables.METRICS:
                part = stats_tables.per_emotion_table(comparisons, c.key, metric)
                if len(part):
                    doc.table(part, f"{c.key.replace('_', ' ')}, {stats_tables.METRIC_NAMES[metric]}: a minus b, "
                                    "paired by seed; Holm over the comparison's emotions and K, per emotion or pooled")
        doc.heading("Appendix: six-class accuracy per test subject")
        doc.text("Every test video of every seed, pooled (a subject is in several seeds' test parts): do the "
                 "errors concentrate on a few people? Also in `reports/tables/per_subject.csv`.")
        doc.table(per_subject.assign(**{c: per_subject[c].map("{:.3f}".format) for c in per_subject.columns
                                        if c.endswith("accuracy")}), "Six-class accuracy per test subject")
        markdown = doc.markdown("figures")
        page = doc.html()  # embeds the figures while they are still in the temporary folder
    with atomic_file(out_dir / "report.md") as tmp:
        tmp.write_text(markdown)
    with atomic_file(out_dir / "report.html") as tmp:
        tmp.write_text(page)
    metrics = metrics_document(s, six, runs, controls)
    metrics["comparisons"] = stats_tables.comparisons_document(comparisons)
    metrics["evaluation"] = {name: {config: {k: result[config][k] for k in ("six_class_accuracy", "balanced_accuracy")}
                                    for config in result if config != "videos"}
                             for name, result in evaluations.items()}
    log_report(params, metrics, comparisons)
    write_json(out_dir / "metrics.json", metrics)
    write_plot_data(out_dir / "plots", s, merged, evaluations)
    with atomic_dir(out_dir / "tables") as tmp:
        comparisons.to_csv(tmp / "statistics.csv", index=False)
        per_subject.to_csv(tmp / "per_subject.csv", index=False)
    return metrics


def log_report(params, metrics: dict, comparisons: pd.DataFrame) -> None:
    """The report's parent run: six-class accuracies, the evaluated datasets' and every pooled
    comparison's difference and Holm-adjusted p, and the report itself."""
    from emo.tracking import metric_name, stage_run

    pooled = comparisons[comparisons.emotion == stats_tables.POOLED] if len(comparisons) else comparisons
    with stage_run("report", {"data": params.data, "evaluate": params.evaluate}) as run:
        run.log_metrics({
            **{metric_name(f"six_class.{config}"): v for config, v in metrics["six_class_accuracy"].items()},
            **{metric_name(f"evaluate.{name}.{config}.{k}"): v for name, result in metrics["evaluation"].items()
               for config, m in result.items() for k, v in m.items()},
            **{f"{row.comparison}.{row.metric}.K{row.K}.{stat}": getattr(row, stat) for row in pooled.itertuples()
               for stat in ("difference", "p_holm")},
        })


def per_subject_accuracy(merged: pd.DataFrame, subjects: np.ndarray,
                         configs: tuple[str, ...] = ("T-EMO L=468", "T-EMO each emotion's best K")) -> pd.DataFrame:
    """Six-class accuracy per test subject, pooled over seeds, for each config; worst first.
    Every config predicts the same test videos, so the counts come from the first."""
    tested = merged.assign(subject=subjects[merged["sample"].to_numpy()], correct=merged.actual == merged.predicted)
    first = tested[tested.config == configs[0]].groupby("subject")
    table = pd.DataFrame({"videos": first["sample"].nunique(), "predictions": first.size(),
                          **{f"{c} accuracy": tested[tested.config == c].groupby("subject").correct.mean()
                             for c in configs}})
    return table.rename_axis("subject").reset_index().sort_values(f"{configs[-1]} accuracy", kind="stable"
                                                                  ).reset_index(drop=True)


def environment_line() -> str:
    """Where and with what the report was computed: the same versions on the same CPU model
    give the same numbers bit for bit; another CPU or version, equal within rounding noise."""
    from emo.tracking import environment, pipeline_tags

    env = environment()
    backend = env["keras_backend"]
    libraries = ", ".join(f"{name} {env[name]}" for name in ("numpy", "scipy", "scikit-learn", "mediapipe")
                          if name in env)
    return (f"Computed on {env['cpu']} ({env['cores']} cores) with Keras {env.get('keras', '?')} on {backend} "
            f"{env.get(backend, '?')}, Python {env['python']}, {libraries}; pipeline run "
            f"`{pipeline_tags()['pipeline']}` (commit/params digest, the MLflow tag `pipeline`). "
            "The same versions on the same CPU model give these numbers bit for bit; another CPU or another "
            "version gives numbers equal within floating-point noise.")


def honest_notes(params, inside: int, total: int, far: list[str], runs, svm, six) -> str:
    demo = params.data.root.resolve() == params.demo.out.resolve()
    svm_mean = svm.groupby("variant").accuracy.mean()
    temo = runs[(runs.variant == "temo") & (runs.K == 468)].accuracy.mean()
    lines = [
        f"- {inside} of {total} accuracy cells (emotion x L x variant) lie within the paper's mean +- (its std + "
        "ours); " + ("the others: " + "; ".join(far[:12]) + ("; ..." if len(far) > 12 else "") + "." if far else
                     "all of them."),
        "- The data: " + ("the embedded demo, real photographs warped with FACS action units, not CK+; its "
                          "expressions are cleaner and more alike than people's, so equal numbers would be "
                          "chance, not reproduction." if demo else f"`{params.data.root}`."),
        f"- Splits are `{params.split.mode}`-wise: " + ("no person is in two parts, which the paper does not "
                                                         "promise; a subject-mixed split lets a model recognise "
                                                         "faces it has seen and usually scores higher."
                                                         if params.split.mode == "subject" else "as the paper."),
        f"- P = {params.extract.frames} frames per video (the paper does not give P); the model reads "
        f"`{params.model.input}`" + (" (motion from the first frame), not the raw coordinates the paper feeds."
                                    if params.model.input == "displacement" else "."),
        f"- The SVMs on landmark motion reach a mean accuracy of {svm_mean.get('svm_linear', float('nan')):.3f} "
        f"(linear) and {svm_mean.get('svm_rbf', float('nan')):.3f} (RBF) against T-EMO's {temo:.3f} at L = 468: "
        "the deep models have to be judged against that, not against 'always negative'.",
        f"- The merged six-emotion classifier reaches {six['mean'].max():.3f} six-class accuracy at its best "
        "(chance 0.167), so the paper's claim that the binary models cannot be combined does not hold.",
    ]
    return "\n".join(lines)


def metrics_document(s: pd.DataFrame, six: pd.DataFrame, runs: pd.DataFrame, controls: list[str]) -> dict:
    """reports/metrics.json, for `dvc metrics show` and `dvc metrics diff`."""
    doc: dict = {}
    for metric in ("accuracy", "balanced_accuracy", "roc_auc"):
        for row in s[s.selection == "top"].to_dict(orient="records"):
            doc.setdefault(metric, {}).setdefault(row["variant"], {}).setdefault(row["emotion"], {})[
                f"K{row['K']}"] = round(float(row[f"{metric}_mean"]), 4)
    for row in s[s.selection.isin(controls)].to_dict(orient="records"):
        doc.setdefault("controls_accuracy", {}).setdefault(row["selection"], {}).setdefault(row["emotion"], {})[
            f"K{row['K']}"] = round(float(row["accuracy_mean"]), 4)
    doc["six_class_accuracy"] = {row["config"]: round(float(row["mean"]), 4) for row in six.to_dict(orient="records")}
    return doc


def evaluation_table(result: dict) -> pd.DataFrame:
    rows = []
    for config, m in result.items():
        if config == "videos":
            continue
        aucs = [v for v in m["roc_auc"].values() if v is not None]
        rows.append({"models": config, "six-class accuracy": f"{m['six_class_accuracy']:.3f}",
                     "balanced accuracy": f"{m['balanced_accuracy']:.3f}",
                     "mean AUC": f"{np.mean(aucs):.3f}" if aucs else "n/a",
                     **{f"AUC {e}": "n/a" if m["roc_auc"][e] is None else f"{m['roc_auc'][e]:.3f}" for e in EMOTIONS}})
    return pd.DataFrame(rows)


def write_plot_data(folder: Path, s: pd.DataFrame, merged: pd.DataFrame, evaluations: dict) -> None:
    """CSVs for `dvc plots show`: accuracy against K per emotion and variant, with the paper's;
    six-class predictions (actual, predicted) for the confusion template, also per evaluated
    dataset (evaluate/NAME.csv, T-EMO at each emotion's best K)."""
    from emo.files import atomic_dir

    top = s[(s.selection == "top") & s.variant.isin(["temo", "remo"])]
    wide = top.pivot_table(index="K", columns=["emotion", "variant"], values="accuracy_mean")
    wide.columns = [f"{e}_{v}" for e, v in wide.columns]
    for variant in ("temo", "remo"):
        for emotion in EMOTIONS:
            wide[f"{emotion}_{variant}_paper"] = [paper.ACCURACY[variant][emotion].get(k, (np.nan,))[0]
                                                  for k in wide.index]
    with atomic_dir(folder) as tmp:
        wide.reset_index().to_csv(tmp / "accuracy_vs_k.csv", index=False)
        for config, name in (("T-EMO L=468", "six_class_temo_468.csv"),
                             ("T-EMO each emotion's best K", "six_class_temo_best_k.csv")):
            part = merged[merged.config == config]
            pd.DataFrame({"actual": np.array(EMOTIONS)[part.actual], "predicted": np.array(EMOTIONS)[part.predicted]}
                         ).to_csv(tmp / name, index=False)
        (tmp / "evaluate").mkdir()
        for name, result in evaluations.items():
            counts = np.array(result["T-EMO each emotion's best K"]["confusion"])
            actual, predicted = np.nonzero(counts)
            repeats = counts[actual, predicted]
            pd.DataFrame({"actual": np.repeat(np.array(EMOTIONS)[actual], repeats),
                          "predicted": np.repeat(np.array(EMOTIONS)[predicted], repeats)}
                         ).to_csv(tmp / "evaluate" / f"{name}.csv", index=False)
