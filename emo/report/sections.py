"""The report, section by section: each adds its headings, text, tables and figures (PNGs
written into `fig_dir`) to the document, from the loaded inputs alone. The ranking checks'
section is in emo.report.ranking_checks; the numbers and CSVs beside the report are in
emo.report.metrics_document and emo.report.csv_files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emo import paper
from emo.data.mesh import N_LANDMARKS
from emo.evaluation.runs import TEMO_468, TEMO_BEST_K, VARIANT_NAMES
from emo.evaluation.six_class import confusion
from emo.report import comparisons as stats_tables
from emo.report import figures, tables
from emo.report.document import Document
from emo.report.inputs import ReportInputs
from emo.report.ranking_checks import ranking_checks

TITLE = "emo: the paper's tables and figures, reproduced from raw video"


def report_document(r: ReportInputs, fig_dir: Path, environment: str) -> Document:
    """The whole report; `environment` says where and with what it was computed."""
    doc = Document(TITLE)
    header(doc, r, environment)
    for section in SECTIONS:
        section(doc, r, fig_dir)
    return doc


def environment_line(env: dict[str, str], pipeline: str) -> str:
    """`env`: emo.tracking.provenance.environment(); `pipeline`: the pipeline run's tag (commit/params digest)."""
    backend = env["keras_backend"]
    libraries = ", ".join(f"{name} {env[name]}" for name in ("numpy", "scipy", "scikit-learn", "mediapipe")
                          if name in env)
    return (f"Computed on {env['cpu']} ({env['cores']} cores) with Keras {env.get('keras', '?')} on {backend} "
            f"{env.get(backend, '?')}, Python {env['python']}, {libraries}; pipeline run "
            f"`{pipeline}` (commit/params digest, the MLflow tag `pipeline`). "
            "The same versions on the same CPU model give these numbers bit for bit; another CPU or another "
            "version gives numbers equal within floating-point noise.")


def header(doc: Document, r: ReportInputs, environment: str) -> None:
    setup, data = r.setup, r.data
    seeds = sorted(r.runs.seed.unique())
    doc.text(
        f"Data: `{setup.data_root}` ({setup.layout} layout), {len(data.y)} videos of "
        f"{len(np.unique(data.subject))} subjects, P = {data.frames} frames each; {len(seeds)} partitions (seeds "
        f"{', '.join(map(str, seeds))}), split `{setup.split_mode}`-wise; model input `{setup.model_input}`, flip "
        f"`{setup.flip}`, learning rate {setup.learning_rate}, at most {setup.epochs} epochs. Every number below is "
        "a mean ± sample standard deviation over the seeds, measured on each seed's test part; the paper's "
        "published values are in parentheses. Regenerate with `dvc repro report`."
    )
    doc.text(environment)


def hyperparameters(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("Tables 1-5: grid-search winners F/Q/R")
    doc.table(tables.hyperparameter_table(r.hparams, r.ks), "Our F/Q/R per emotion and landmark count (the paper's).",
              key_columns=1)


def accuracy(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("Tables 6 and 7: test accuracy")
    for variant in r.variants:
        doc.table(tables.metric_table(r.summary, variant, "accuracy", r.ks, with_paper=True),
                  f"{VARIANT_NAMES[variant]} accuracy, best L per row in bold; the last row is what always "
                  "answering 'not this emotion' scores on the same test parts.", key_columns=1)
    doc.heading("Balanced accuracy and ROC AUC", 3)
    doc.text("Each binary task is about 1:5, so accuracy flatters; these two do not.")
    for variant in r.variants:
        for metric in ("balanced_accuracy", "roc_auc"):
            doc.table(tables.metric_table(r.summary, variant, metric, r.ks, with_paper=False),
                      f"{VARIANT_NAMES[variant]} {metric.replace('_', ' ')}", key_columns=1)
    doc.figure(figures.accuracy_vs_k(r.runs, fig_dir / "accuracy_vs_k.png"),
               "Accuracy against the number of landmarks (mean ± std over seeds); crosses: the paper.")


def controls(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    if not r.controls:
        return
    doc.heading("Controls: is the IG ranking better than chance?")
    draws = int(r.runs[r.runs.selection == "random"].draw.nunique()) if "draw" in r.runs else 1
    doc.text(f"T-EMO on each emotion's top K landmarks against K landmarks drawn at random ({draws} "
             "independent draws per seed, averaged: each seed's random-K is an estimate, not one draw) "
             "and against the bottom K of the ranking, with the same F/Q/R. Differences are paired by "
             "seed (the same partition's test videos), with their 95% t interval and the paired t-test's "
             "p-value, Holm-adjusted over every emotion and K of the comparison; the sentences under "
             "'Statistics' pool the six emotions.")
    doc.table(tables.controls_table(r.runs, r.controls, r.comparisons, "accuracy"), "Accuracy", key_columns=2)
    doc.table(tables.controls_table(r.runs, r.controls, r.comparisons, "roc_auc"), "ROC AUC", key_columns=2)
    doc.figure(figures.controls(r.runs, fig_dir / "controls.png"),
               "Top-K, random-K and bottom-K T-EMO accuracy (mean ± std over seeds).")


def statistics(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("Statistics: what the comparisons support")
    doc.text("Each comparison pairs two configurations by emotion and seed (the same test videos) and pools "
             "the six emotions: the mean difference with its 95% t interval, the p-value of a sign-flip "
             "permutation test over all pairs, and that p-value Holm-adjusted over the comparison's K values. "
             f"'No detectable difference' means the Holm-adjusted p is at least {stats_tables.ALPHA}. Per "
             "emotion, with the bootstrap interval, the t-test, Wilcoxon and sign-flip p-values: the appendix "
             "and `reports/tables/statistics.csv`.")
    for metric in stats_tables.METRICS:
        lines = stats_tables.pooled_sentences(r.comparisons, metric)
        if lines:
            name = stats_tables.METRIC_NAMES[metric]
            doc.heading(name[0].upper() + name[1:], 3)
            doc.text("\n".join(f"- {line}" for line in lines))


def baselines(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("Baselines on the same test parts")
    doc.text("SVMs on each landmark's motion from the first to the last frame (position and scale "
             f"normalised), what a practitioner tries first, against the networks at L = {N_LANDMARKS}. The HOG + "
             "SVM columns are the numbers the paper quotes from Kumar et al. (2016), on their data, not ours.")
    doc.table(tables.baselines_table(r.summary, r.svm, "accuracy"), f"Accuracy at L = {N_LANDMARKS}")
    doc.table(tables.baselines_table(r.summary, r.svm, "roc_auc"), f"ROC AUC at L = {N_LANDMARKS}")


def six_class(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("One six-emotion classifier from the six binary models")
    doc.text(f"Each emotion's model gathers its own landmarks from the same {N_LANDMARKS}-landmark video; the "
             "highest positive-class probability wins. 'Best K' takes each emotion's K with the lowest mean "
             f"validation loss: {', '.join(f'{e} {k}' for e, k in r.best_k.items())}.")
    six = r.six
    doc.table(six.assign(accuracy=[tables.cell(m, sd) for m, sd in zip(six["mean"], six["std"])])
              [["config", "accuracy", "seeds"]], "Six-class accuracy (chance: 1/6)")
    for config in (TEMO_468, TEMO_BEST_K):
        part = r.merged[r.merged.config == config]
        name = config.replace(" ", "_").replace("'", "").replace("=", "")
        doc.figure(figures.confusion(confusion(part.actual.to_numpy(), part.predicted.to_numpy()),
                                     f"{config}, all seeds' test videos", fig_dir / f"confusion_{name}.png"),
                   f"Six-class confusion matrix, {config}")


def other_datasets(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("Other datasets: do the models generalise?")
    if r.evaluations:
        doc.text("The trained models, unchanged, on datasets no model was trained, tuned or ranked on (the "
                 "evaluate stage): landmarks extracted with the extract stage's settings, each emotion's "
                 "models averaged over the seeds and the highest of the six probabilities taken, as "
                 "`emo predict` does; the SVMs refit on every video of the training data. Chance: 1/6.")
    else:
        doc.text("`evaluate.datasets` lists no dataset, so none was evaluated; add one (any layout extract "
                 "reads) to see how the models do on data they never saw.")
    for name, result in r.evaluations.items():
        doc.heading(f"{name} (`{r.setup.evaluated_roots[name]}`, {result['videos']} videos)", 3)
        scores, aucs = tables.evaluation_tables(result)
        doc.table(scores, "Six-class accuracy, balanced accuracy and the mean of the emotions' ROC AUC")
        doc.table(aucs, "Each emotion's one-vs-rest ROC AUC from its probability")
        doc.figure(figures.confusion(np.array(result[TEMO_BEST_K]["confusion"]), f"{name}, {TEMO_BEST_K}",
                                     fig_dir / f"evaluate_{name}_confusion.png"),
                   f"Six-class confusion matrix on {name}, {TEMO_BEST_K}")


def continuous_recordings(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("Continuous recordings: the emotion at every moment")
    doc.table(tables.timeline_set_table(r.summary, r.timeline_set),
              "Clip accuracy of the timeline's own models (train_timeline: T-EMO at L = 468 trained on the clips "
              "and on windows like the timeline's: a face at rest, an apex held, an offset, an onset under way) "
              "beside the paper's T-EMO at L = 468, on the same test clips (mean ± std over seeds)")
    if not r.timelines:
        doc.text("`timeline.recordings` lists no folder, so no recording was run; add one (videos or frame "
                 "folders) to see the per-frame timeline, or use `emo timeline` on any recording.")
        return
    doc.text(f"The trained models on long recordings, frame by frame (the timeline stage, `emo timeline`): "
             f"{r.setup.timeline}. A frame's emotion is the most probable one when it reaches the threshold, "
             "else none; frames without a face, or (with a reference other than the estimated one) before the "
             "first full window, have no answer and count as "
             "none. Scored against each recording's per-frame truth where it has one: per-frame macro-F1 and "
             "accuracy over the six emotions and none; an episode (a true stretch of one emotion) is detected "
             "when the timeline names it while it lasts; precision is the share of the timeline's own episodes "
             "(at least 0.2 s) that overlap a true one; onset latency runs from the truth's first frame of an "
             "episode (its intensity past one half) to the first frame the timeline names it; neutral false "
             "positives are the neutral frames at rest given an emotion, talking false positives those of the "
             "neutral stretches where the person talks; onset, apex and offset are the shares of those phases' "
             "frames named as the truth names them. Recordings that open on an expression are also pooled apart: "
             "a reference taken from the first seconds reads them against the expression. Beside the timeline "
             "stands a reference-free baseline, as the SVMs stand beside the clip models: each frame's 52 "
             "blendshape scores (from the same FaceLandmarker call) into a 7-class logistic regression, trained "
             "on the training videos' first frames as none and last frames as their emotion.")
    for name, result in r.timelines.items():
        doc.heading(f"{name}", 3)
        frames, episodes = tables.timeline_tables(result)
        doc.table(frames, "Frames per recording, and pooled over the recordings with truth")
        doc.table(episodes, "Episodes per recording, and pooled over the recordings with truth")
        if "confusion" in result:
            doc.table(tables.timeline_confusion(result["confusion"]),
                      "Pooled frames by truth (rows) and answer (columns), each row's share")
        if "macro_f1_by_threshold" in result:
            sweep = result["macro_f1_by_threshold"]
            best = max(sweep, key=sweep.get)
            doc.text("Pooled per-frame macro-F1 by threshold: " + ", ".join(f"{t}: {v:.3f}" for t, v in sweep.items())
                     + f" (best {best}).")
        for recording, plot in r.timeline_plots[name].items():
            copy = fig_dir / f"timeline_{name}_{recording}.png"
            copy.write_bytes(Path(plot).read_bytes())
            doc.figure(copy, f"{name}/{recording}: the six probabilities over time (grey: no face; dashed: the "
                             "threshold); below, the truth and the timeline's answer")


def cost(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("Cost against the number of landmarks")
    doc.table(tables.cost_table(r.summary, r.ks), "Mean over emotions and seeds, from the same training runs; "
              f"ratios to L = {N_LANDMARKS}.")


def faces(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    """Figure 3: each emotion's attribution on the peak frame of its typical video."""
    doc.heading("Figure 3: which landmarks matter, on a face")
    doc.text("For each emotion, the last (peak) frame of its typical training video, cropped as extract "
             "cropped it, with every landmark coloured by the emotion's dataset-wide attribution and the top "
             "234/128/64/32/16 circled.")
    arrays = r.attributions
    for e, (emotion, face) in enumerate(r.typical_faces.items()):
        doc.figure(figures.attribution_face(face, arrays["attribution"][e], arrays["ranking"][e],
                                            f"{emotion}: {face.sequence}", fig_dir / f"landmarks_{emotion}.png"),
                   f"{emotion}: attribution and top-K")


def alpha_path(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    """Figure 2."""
    doc.heading("Figure 2: the target probability along the integration path")
    doc.figure(figures.alpha_curves(r.attributions, fig_dir / "alpha_path.png"),
               "F along alpha from a typical sadness video (surprise, for sadness) to each emotion's typical "
               "video; the paper saw surprise saturate after alpha = 0.3.")


def attribution(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    arrays = r.attributions
    doc.heading("The attribution itself", 3)
    completeness, seeds = tables.attribution_tables(r.attribution_summary)
    doc.table(completeness, f"Completeness error sum(IG) - (F(x) - F(x')), in absolute value, per video and "
                            f"baseline at m = {r.setup.ig_steps}.")
    doc.table(seeds, "Agreement of the seeds' rankings, and the top 16 landmarks.")
    agreement = tables.mask_agreement(arrays, [k for k in paper.LANDMARK_COUNTS if k < N_LANDMARKS])
    if len(agreement):
        doc.table(agreement, f"Share of the top K shared by our ranking (mask `{arrays['mask']}`) and the "
                             "paper's |IG| sum.", key_columns=1)


def honest_notes(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    setup = r.setup
    inside, total, far = tables.paper_comparison(r.summary, r.ks)
    svm_mean = r.svm.groupby("variant").accuracy.mean()
    temo = r.runs[(r.runs.variant == "temo") & (r.runs.K == N_LANDMARKS)].accuracy.mean()
    lines = [
        f"- {inside} of {total} accuracy cells (emotion x L x variant) lie within the paper's mean ± (its std + "
        "ours); " + ("the others: " + "; ".join(far[:12]) + ("; ..." if len(far) > 12 else "") + "." if far else
                     "all of them."),
        "- The data: " + ("the embedded demo, real photographs warped with FACS action units, not CK+; its "
                          "expressions are cleaner and more alike than people's, so equal numbers would be "
                          "chance, not reproduction." if setup.demo else f"`{setup.data_root}`."),
        f"- Splits are `{setup.split_mode}`-wise: " + ("no person is in two parts, which the paper does not "
                                                        "promise; a subject-mixed split lets a model recognise "
                                                        "faces it has seen and usually scores higher."
                                                        if setup.split_mode == "subject" else "as the paper."),
        f"- P = {setup.frames} frames per video (the paper does not give P); the model reads "
        f"`{setup.model_input}`" + (" (motion from the first frame), not the raw coordinates the paper feeds."
                                    if setup.model_input == "displacement" else "."),
        f"- The SVMs on landmark motion reach a mean accuracy of {svm_mean.get('svm_linear', float('nan')):.3f} "
        f"(linear) and {svm_mean.get('svm_rbf', float('nan')):.3f} (RBF) against T-EMO's {temo:.3f} at "
        f"L = {N_LANDMARKS}: the deep models have to be judged against that, not against 'always negative'.",
        f"- The merged six-emotion classifier reaches {r.six['mean'].max():.3f} six-class accuracy at its best "
        "(chance 0.167), so the paper's claim that the binary models cannot be combined does not hold.",
    ]
    doc.heading("Where we match the paper, where not, and why")
    doc.text("\n".join(lines))


def appendices(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    doc.heading("Appendix: every comparison per emotion")
    for c in stats_tables.COMPARISONS:
        for metric in stats_tables.METRICS:
            part = stats_tables.per_emotion_table(r.comparisons, c.key, metric)
            if len(part):
                doc.table(part, f"{c.key.replace('_', ' ')}, {stats_tables.METRIC_NAMES[metric]}: a minus b, "
                                "paired by seed; Holm over the comparison's emotions and K, per emotion or pooled",
                          key_columns=2)
    doc.heading("Appendix: six-class accuracy per test subject")
    doc.text("Every test video of every seed, pooled (a subject is in several seeds' test parts): do the "
             "errors concentrate on a few people? Also in `reports/tables/per_subject.csv`.")
    per_subject = r.per_subject
    doc.table(per_subject.assign(**{c: per_subject[c].map("{:.3f}".format) for c in per_subject.columns
                                    if c.endswith("accuracy")}), "Six-class accuracy per test subject")


# After the header, in the report's order.
SECTIONS = (hyperparameters, accuracy, controls, statistics, baselines, six_class, other_datasets,
            continuous_recordings, cost, faces, alpha_path, attribution, ranking_checks, honest_notes, appendices)
