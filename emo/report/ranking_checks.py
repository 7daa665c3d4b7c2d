"""The report's "Is the ranking right?" section: IG's ranking against the planted truth, under
the sanity checks, by keep-and-retrain, beside the rivals, in action units and on the faces."""

from __future__ import annotations

from pathlib import Path

from emo.data.mesh import N_LANDMARKS
from emo.data.truth import TRUTH_FILE
from emo.explanation.global_attribution import ranking_of
from emo.explanation.localisation import RANDOM, localisation_means
from emo.explanation.rivals import METHOD_NAMES, PAPER, SHORT_NAMES
from emo.explanation.sanity import sanity_means
from emo.report import comparisons as stats_tables
from emo.report import figures, tables
from emo.report.document import Document
from emo.report.inputs import ReportInputs


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

