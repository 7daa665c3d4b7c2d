"""The report, section by section, and the data it is written with: metrics.json, the plot
data for `dvc plots` and the statistics and per-subject tables.

Each section adds its headings, text, tables and figures (PNGs written into `fig_dir`) to
the document, from the loaded inputs alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emo import paper
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.data.truth import TRUTH_FILE
from emo.evaluation.metrics import rounded
from emo.evaluation.runs import TEMO_468, TEMO_BEST_K, VARIANT_NAMES
from emo.evaluation.six_class import confusion
from emo.explanation.global_attribution import ranking_of
from emo.explanation.localisation import RANDOM, localisation_means
from emo.explanation.rivals import METHOD_NAMES, PAPER, SHORT_NAMES
from emo.explanation.sanity import sanity_means
from emo.files import atomic_dir
from emo.models.model import VARIANTS
from emo.report import comparisons as stats_tables
from emo.report import figures, tables
from emo.report.document import Document
from emo.report.inputs import ReportInputs

TITLE = "emo: the paper's tables and figures, reproduced from raw video"


def report_document(r: ReportInputs, fig_dir: Path, environment: str) -> Document:
    """The whole report; `environment` says where and with what it was computed."""
    doc = Document(TITLE)
    header(doc, r, environment)
    for section in SECTIONS:
        section(doc, r, fig_dir)
    return doc


def environment_line(env: dict[str, str], pipeline: str) -> str:
    """`env`: emo.tracking.environment(); `pipeline`: the pipeline run's tag (commit/params digest)."""
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
    if not r.timelines:
        doc.text("`timeline.recordings` lists no folder, so no recording was run; add one (videos or frame "
                 "folders) to see the per-frame timeline, or use `emo timeline` on any recording.")
        return
    doc.text(f"The trained models on long recordings, frame by frame (the timeline stage, `emo timeline`): "
             f"{r.setup.timeline}. A frame's emotion is the most probable one when it reaches the threshold, "
             "else none; frames without a face, or before the first full window, have no answer and count as "
             "none. Scored against each recording's per-frame truth where it has one: per-frame macro-F1 and "
             "accuracy over the six emotions and none; an episode (a true stretch of one emotion) is detected "
             "when the timeline names it while it lasts; precision is the share of the timeline's own episodes "
             "(at least 0.2 s) that overlap a true one; onset latency runs from the truth's first frame of an "
             "episode (its intensity past one half) to the first frame the timeline names it; neutral false "
             "positives are the neutral frames given an emotion.")
    for name, result in r.timelines.items():
        doc.heading(f"{name}", 3)
        frames, episodes = tables.timeline_tables(result)
        doc.table(frames, "Frames per recording, and pooled over the recordings with truth")
        doc.table(episodes, "Episodes per recording, and pooled over the recordings with truth")
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


def ranking_checks(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    """Is IG's ranking right? Against a planted truth, under the sanity checks, by keep-and-retrain,
    beside the rivals, in action units, and on the faces."""
    doc.heading("Is the ranking right?")
    rivals = [m for m in r.checks["methods"] if m != PAPER]
    doc.text(f"IG's ranking beside {len(rivals)} rival rankings of the same {N_LANDMARKS} landmarks, on the same "
             f"models and training videos: {', '.join(METHOD_NAMES[m] for m in rivals)}. Each is checked against "
             "the truth a generated dataset plants, under the sanity checks, by retraining on its top K, against "
             "the others, and in FACS action units (the check_rankings and retrain_k stages).")
    _localisation(doc, r)
    _sanity(doc, r)
    _keep_and_retrain(doc, r)
    _agreement(doc, r)
    _action_units(doc, r)
    _rival_faces(doc, r, fig_dir)


SANITY_THRESHOLD = 0.2  # |Spearman| with the trained model's ranking below which a ranking changed with the model
SANITY_MODELS = {"randomised": "the untrained model (its initial, random weights)",
                 "shuffled": "the model trained on shuffled labels"}


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _localisation(doc: Document, r: ReportInputs) -> None:
    doc.heading("Against the planted truth", 3)
    if r.localisation is None:
        doc.text(f"localisation skipped: `{r.setup.data_root}` has no {TRUTH_FILE} (only a generated dataset "
                 "knows its truth).")
        return
    means, ks = localisation_means(r.localisation), r.checks["ks"]
    best = r.checks["best_localising"]
    # The best beside IG, or, where IG is the best, beside the best rival.
    other = PAPER if best != PAPER else max((m for m in r.checks["methods"] if m != PAPER),
                                            key=lambda m: means.loc[m, "mass"])
    head = sorted(ks)[:2]  # precision where a ranking's head matters most (@8, @16)

    def scores(column: str, signed: bool = False) -> str:
        value = "{:+.3f}" if signed else "{:.3f}"
        return (f"{value.format(means.loc[best, column])} ({SHORT_NAMES[other]} "
                f"{value.format(means.loc[other, column])}, random floor {value.format(means.loc[RANDOM, column])})")

    by_rho = means.drop(RANDOM).spearman.idxmax()
    doc.text(
        "The demo generator knows which landmarks each emotion's action units move (its truth.json): the true "
        "set. Relevance mass is the share of a method's (non-negative) attribution on the true set; precision@K "
        "and recall@K score its top K against it; Spearman compares its attribution with every landmark's true "
        f"displacement. Means over the six emotions.\n\n**{_capital(SHORT_NAMES[best])} localises the planted "
        f"action units best**, by relevance mass: {scores('mass')}; "
        + "; ".join(f"precision@{k} {scores(f'precision@{k}')}" for k in head)
        + f"; Spearman with the true displacement {scores('spearman', signed=True)}."
        + ("" if by_rho == best else f" Ranked as a whole, {SHORT_NAMES[by_rho]} follows the truth best "
                                     f"(Spearman {means.loc[by_rho, 'spearman']:+.3f}).")
    )
    doc.table(tables.localisation_table(r.localisation, ks),
              "Against the planted truth, means over the six emotions; the random floor is a uniformly random "
              "ranking's expectation.", key_columns=1)


def _sanity(doc: Document, r: ReportInputs) -> None:
    doc.heading("Sanity checks", 3)
    if not len(r.sanity):
        doc.text("`rivals.sanity` lists no check, so none ran.")
        return
    means = sanity_means(r.sanity)
    ig = means.loc[PAPER].dropna()
    rhos = " and ".join(f"rho = {rho:+.3f} on {SANITY_MODELS[check]}" for check, rho in ig.items())
    verdict = ("**IG passes the sanity checks**: " + rhos if (ig.abs() < SANITY_THRESHOLD).all() else
               "**IG does not pass the sanity checks**: its ranking survives with " + rhos)
    passing = means.index[((means.abs() < SANITY_THRESHOLD) | means.isna()).all(axis=1)]
    doc.text(
        "Each method ranks the landmarks again on models that know nothing of the emotion (Adebayo et al. 2018): "
        f"{' and '.join(SANITY_MODELS[c] for c in means.columns)}. A ranking that still correlates with the "
        "method's ranking of the trained model shows the input's motion, not what the model learned. A method "
        f"passes when the mean Spearman over the six emotions stays below {SANITY_THRESHOLD} in absolute value "
        "on every check that applies to it (a model-free method has no untrained model).\n\n"
        f"{verdict}. "
        + (f"Passing every check that applies: {', '.join(SHORT_NAMES[m] for m in passing)}." if len(passing)
           else "No method passes every check that applies to it.")
    )
    doc.table(tables.sanity_table(r.sanity), "Mean Spearman over the six emotions between each method's ranking "
              "of the check's model and of the trained model; n/a: the check does not apply.")


def _keep_and_retrain(doc: Document, r: ReportInputs) -> None:
    doc.heading("Keep and retrain", 3)
    rivals = tables.kar_selections(r.runs)
    if not rivals:
        doc.text("`retrain_k.rankings` lists no rival, so T-EMO was retrained on IG's top K alone; add a method "
                 "(e.g. effect_size, occlusion) to compare the rankings by what a model learns from their top K.")
        return
    doc.text("T-EMO retrained on each method's top K with the F/Q/R searched for IG's top K (keep and retrain, "
             "Hooker et al. 2019): the ranking whose top K keeps more accuracy found more of what the task needs. "
             "Paired by seed and emotion as under 'Statistics', pooled over the six emotions (top-K: IG's):")
    keys = [f"{PAPER}_vs_{m}" for m in rivals] + [f"{m}_vs_random" for m in rivals]
    c = r.comparisons
    pooled = c[(c.emotion == stats_tables.POOLED) & (c.metric == "accuracy") & c.comparison.isin(keys)]
    doc.text("\n".join(f"- {stats_tables.sentence(row)}" for row in pooled.itertuples()))
    doc.table(tables.kar_table(r.runs), "T-EMO test accuracy on each method's top K, mean ± std over seeds; "
              "'all emotions': each seed's mean over the six.", key_columns=2)


def _agreement(doc: Document, r: ReportInputs) -> None:
    doc.heading("Do the methods agree?", 3)
    ks = r.checks["ks"]
    with_ig = {m: r.checks["agreement"][f"{PAPER} ~ {m}"]["spearman"] for m in r.checks["methods"] if m != PAPER}
    closest, furthest = max(with_ig, key=with_ig.get), min(with_ig, key=with_ig.get)
    doc.text(f"IG's attribution is closest to {SHORT_NAMES[closest]}'s (Spearman {with_ig[closest]:+.3f}) and "
             f"furthest from {SHORT_NAMES[furthest]}'s ({with_ig[furthest]:+.3f}), means over the six emotions. "
             f"Two random rankings have Spearman 0 and share K/{N_LANDMARKS} of their top K on average ("
             + ", ".join(f"{k / N_LANDMARKS:.3f} at K = {k}" for k in ks) + ").")
    doc.table(tables.agreement_table(r.agreement, ks), "Each pair of methods, means over the six emotions: "
              "Spearman of their attributions and the share of their top K they have in common.", key_columns=1)


def _action_units(doc: Document, r: ReportInputs) -> None:
    doc.heading("In action units", 3)
    doc.text("Each attribution decomposed into the action units' footprints (how far each moves every landmark; "
             "non-negative least squares, what no footprint explains is 'other'): the three largest shares.")
    units = r.checks.get("action_units")
    if units is None:
        doc.table(tables.action_unit_table(r.action_unit_shares, r.checks["methods"], None),
                  "Each method's three largest action-unit shares per emotion.")
        return
    rival, _ = tables.featured_rival(r.checks)
    generating = {emotion: d["generating"] for emotion, d in units[tables.TRUTH]["per_emotion"].items()}
    doc.table(tables.action_unit_table(r.action_unit_shares, [tables.TRUTH, PAPER, rival], generating),
              f"The action units that generated each emotion, and the three largest shares of the planted truth's "
              f"displacement, of IG's attribution and of {SHORT_NAMES[rival]}'s (the best-localising rival).")
    ig, truth = units[PAPER], units[tables.TRUTH]
    rivals = "; ".join(f"{SHORT_NAMES[m]} {units[m]['hits']}" for m in r.checks["methods"] if m != PAPER)
    doc.text(f"Taking as many of a method's largest shares per emotion as action units generated it, IG recovers "
             f"{ig['hits']} of {ig['of']} generating action units; the planted truth decomposed the same way "
             f"recovers {truth['hits']} of {truth['of']} (the ceiling: overlapping units such as AU1/AU2 share "
             f"landmarks). The rivals: {rivals}.")


def _rival_faces(doc: Document, r: ReportInputs, fig_dir: Path) -> None:
    rival, why = tables.featured_rival(r.checks)
    name = SHORT_NAMES[rival]
    doc.heading(f"Figure 3 by {name}", 3)
    doc.text(f"The faces of Figure 3 with the landmarks coloured by {METHOD_NAMES[rival]} instead of IG: {why}. "
             "Negative values (a landmark whose change helps the model) are drawn as none.")
    attribution = r.rival_attributions[rival]
    ranking = ranking_of(attribution)
    for e, (emotion, face) in enumerate(r.typical_faces.items()):
        doc.figure(figures.attribution_face(face, attribution[e], ranking[e], f"{emotion}, {name}: {face.sequence}",
                                            fig_dir / f"landmarks_{emotion}_{rival}.png"),
                   f"{emotion}: {name} attribution and top-K")


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
    doc["timeline"] = {name: {k: None if v is None else rounded(v) for k, v in result["pooled"].items()}
                       for name, result in r.timelines.items() if "pooled" in result}
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


def write_plot_data(folder: Path, r: ReportInputs) -> None:
    """CSVs for `dvc plots show` (atomically, as one folder): accuracy against K per emotion and
    variant, and the paper's at the paper's K (its own file, so that no line runs through a K
    it did not measure); six-class predictions (actual, predicted) for the confusion template.
    Each evaluated dataset's confusion plot is evaluate@NAME's own output."""
    s = r.summary
    top = s[(s.selection == "top") & s.variant.isin(VARIANTS)]
    wide = top.pivot_table(index="K", columns=["emotion", "variant"], values="accuracy_mean")
    wide.columns = [f"{e}_{v}" for e, v in wide.columns]
    paper_ks = sorted({k for variant in VARIANTS for emotion in EMOTIONS for k in paper.ACCURACY[variant][emotion]})
    published = pd.DataFrame(
        {f"{emotion}_{variant}_paper": [paper.ACCURACY[variant][emotion].get(k, (np.nan,))[0] for k in paper_ks]
         for variant in VARIANTS for emotion in EMOTIONS}, index=pd.Index(paper_ks, name="K"))
    names = np.array(EMOTIONS)
    with atomic_dir(folder) as tmp:
        wide.reset_index().to_csv(tmp / "accuracy_vs_k.csv", index=False)
        published.reset_index().to_csv(tmp / "accuracy_vs_k_paper.csv", index=False)
        for config, name in ((TEMO_468, "six_class_temo_468.csv"), (TEMO_BEST_K, "six_class_temo_best_k.csv")):
            part = r.merged[r.merged.config == config]
            pd.DataFrame({"actual": names[part.actual], "predicted": names[part.predicted]}
                         ).to_csv(tmp / name, index=False)


def write_tables(folder: Path, r: ReportInputs) -> None:
    """The report's long tables as CSV (atomically, as one folder): every comparison's
    statistics and the six-class accuracy per test subject."""
    with atomic_dir(folder) as tmp:
        r.comparisons.to_csv(tmp / "statistics.csv", index=False)
        r.per_subject.to_csv(tmp / "per_subject.csv", index=False)
