"""Stage check_rankings: is each landmark ranking right? Against the truth a generated dataset
plants (localisation), under the sanity checks (the same methods on an untrained model and
on one trained on shuffled labels), in how far the methods agree, and in FACS action units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from tqdm import tqdm

from emo import artifacts
from emo.config import AttributeParams, BaselineParams, DataParams, ModelParams, RetrainParams, RivalParams, TrainParams
from emo.data.dataset import LandmarkData, Partition, load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.data.truth import TRUTH_FILE, read_truth
from emo.evaluation.metrics import rounded
from emo.explanation.action_units import recovery_table, shares_table
from emo.explanation.global_attribution import AttributionJob, AttributionResult, attribute_one
from emo.explanation.localisation import RANDOM, agreement_table, localisation_means, localisation_table
from emo.explanation.rivals import MODEL_FREE, MODEL_RIVALS, PAPER, model_free, rival_jobs, rival_values
from emo.explanation.sanity import SanityModelJob, sanity_batches, sanity_means, sanity_models, shuffled_labels
from emo.files import atomic_dir, write_csv, write_json
from emo.models.runs import TrainingContext, run_many
from emo.models.search_results import load_hparams
from emo.pipeline.shared.attributed import attributed_models
from emo.tracking.runs import stage_run

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS, artifacts.FULL.models, artifacts.TUNED_HPARAMS,
          artifacts.ATTRIBUTIONS, artifacts.RIVALS, artifacts.DATA_ROOT)
OUTPUTS = (artifacts.CHECKS,)
SMALL_KS = (16, 8)  # scored besides the pipeline's K: where a ranking's head matters most


def _explain(job, data: LandmarkData, partitions: list[Partition], context: TrainingContext):
    """IG (the paper's) or the model-based rivals of one saved model (run_many's task)."""
    return attribute_one(job, data, partitions, context) if isinstance(job, AttributionJob) else \
        rival_values(job, data, partitions, context)


def sanity_table(real: dict[str, np.ndarray], checked: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """Rows (method, check, emotion): Spearman between the method's attribution [468] of the
    trained model (real[method]: [6, 468]) and of the check's model (checked[(method, check)])."""
    return pd.DataFrame([{"method": m, "check": check, "emotion": emotion,
                          "spearman": float(spearmanr(real[m][e], values[e]).statistic)}
                         for (m, check), values in checked.items() for e, emotion in enumerate(EMOTIONS)],
                        columns=["method", "check", "emotion", "spearman"])


def sanity_attributions(rivals: RivalParams, attribute: AttributeParams, baselines: BaselineParams, methods: list[str],
                        typical: tuple[int, ...], first: int, landmarks: LandmarkData, partitions: list[Partition],
                        context: TrainingContext, model_dir: Path, progress: bool) -> dict[tuple[str, str], np.ndarray]:
    """{(method, check): [6, 468]}: every method on each emotion's sanity-check models (saved
    under model_dir), on partition `first` and IG's typical videos of that partition."""
    attributed_models(attribute.models, len(partitions))  # the real models must exist
    tuned = load_hparams(artifacts.TUNED_HPARAMS)
    made = [SanityModelJob(e, first, tuned[emotion], check, str(model_dir / check / f"{emotion}.keras"))
            for check in rivals.sanity for e, emotion in enumerate(EMOTIONS)]
    batches = sanity_batches(made, landmarks.frames, context.train)
    with tqdm(total=len(made), desc="sanity models", unit="model", disable=not progress) as bar:
        for batch in run_many(batches, context, context.train.workers, task=sanity_models):
            bar.update(len(batch))
    based = tuple(m for m in methods if m in MODEL_RIVALS)
    check_of = {}
    for check in rivals.sanity:
        paths = {(j.emotion, j.partition): j.save_to for j in made if j.check == check}
        jobs = [AttributionJob(e, p, f, typical, attribute.steps, attribute.method, attribute.samples,
                               attribute.budget_mb * 2**20) for (e, p), f in paths.items()]
        jobs += rival_jobs(paths, based, attribute, rivals.repeats) if based else []
        check_of.update({job: check for job in jobs})
    checked: dict[tuple[str, str], np.ndarray] = {}
    for result in tqdm(run_many(list(check_of), context, context.train.workers, task=_explain), total=len(check_of),
                       desc="sanity explanations", unit="model", disable=not progress):
        if isinstance(result, AttributionResult):
            job, values = result.job, {PAPER: result.masks[attribute.aggregate].mean(axis=0)}
        else:
            job, values = result
        for m, v in values.items():
            checked.setdefault((m, check_of[job]), np.zeros((len(EMOTIONS), N_LANDMARKS)))[job.emotion] = v
    if "shuffled" in rivals.sanity:
        labels = shuffled_labels(landmarks.y, partitions[first].seed)
        for m in (m for m in methods if m in MODEL_FREE):
            checked[(m, "shuffled")] = np.stack([model_free(m, landmarks, partitions[first], e, baselines, labels)
                                                 for e in range(len(EMOTIONS))])
    return checked


def run(data: DataParams, rivals: RivalParams, attribute: AttributeParams, retrain_k: RetrainParams,
        baselines: BaselineParams, model: ModelParams, train: TrainParams, progress: bool = True) -> dict:
    landmarks = load_landmarks(artifacts.LANDMARKS)
    partitions = load_partitions(artifacts.SPLITS, labels=landmarks.y)
    with np.load(artifacts.ATTRIBUTIONS) as ig, np.load(artifacts.RIVALS) as rv:
        methods = [PAPER, *(str(m) for m in rv["methods"])]
        attributions = {PAPER: ig["attribution"], **{m: rv[m] for m in methods[1:]}}
        # The sanity checks' reference: each method on the first attributed seed's model.
        first_model = {PAPER: ig["per_model"][:, 0], **{m: rv[f"{m}_per_model"][:, 0] for m in methods[1:]}}
        typical = tuple(int(i) for i in ig["typical"][0])
        first = int(rv["partitions"][0])
    truth = read_truth(data.root)
    ks = sorted(set(retrain_k.ks) | set(SMALL_KS), reverse=True)
    context = TrainingContext(artifacts.LANDMARKS, artifacts.SPLITS, model, train)
    with stage_run("check_rankings", rivals=rivals, attribute=attribute) as run, atomic_dir(artifacts.CHECKS) as out:
        checked = sanity_attributions(rivals, attribute, baselines, methods, typical, first, landmarks, partitions,
                                      context, out / artifacts.CHECK_MODELS.relative_to(artifacts.CHECKS),
                                      progress) if rivals.sanity else {}
        sanity = sanity_table(first_model, checked)
        agreement = agreement_table(attributions, ks)
        localisation = shares = recovery = None
        if truth is not None:
            localisation = localisation_table(attributions, truth.relevance, truth.true_sets, ks)
            with_truth = {"truth": truth.relevance, **attributions}
            shares = shares_table(with_truth)
            recovery = recovery_table(with_truth, truth.action_units)
        else:
            shares = shares_table(attributions)
        for table, path in ((localisation, artifacts.LOCALISATION), (sanity, artifacts.SANITY),
                            (agreement, artifacts.AGREEMENT), (shares, artifacts.ACTION_UNIT_SHARES)):
            if table is not None:
                write_csv(out / path.relative_to(artifacts.CHECKS), table)
        summary = checks_document(methods, ks, localisation, sanity, agreement, recovery)
        write_json(out / artifacts.CHECK_METRICS.relative_to(artifacts.CHECKS), summary)
        run.log_metrics(flat_metrics(summary))
    print(checks_summary(summary))
    return summary


def checks_document(methods: list[str], ks: list[int], localisation: pd.DataFrame | None, sanity: pd.DataFrame,
                    agreement: pd.DataFrame, recovery: pd.DataFrame | None) -> dict:
    """metrics.json: per method, each score's mean over the six emotions."""
    doc: dict = {"methods": methods, "ks": ks, "truth": localisation is not None}
    if localisation is not None:
        means = localisation_means(localisation)
        doc["localisation"] = {m: {k: rounded(v) for k, v in means.loc[m].items()} for m in [*methods, RANDOM]}
        doc["best_localising"] = max(methods, key=lambda m: means.loc[m, "mass"])
    if recovery is not None:
        doc["action_units"] = {m: {"hits": int(part.hits.sum()), "of": int(part["of"].sum()),
                                   "share_generating": rounded(part.share_generating.mean()),
                                   "per_emotion": {r.emotion: {"generating": r.generating, "found": r.found}
                                                   for r in part.itertuples()}}
                               for m, part in recovery.groupby("method", sort=False)}
    doc["sanity"] = {m: {c: rounded(v) for c, v in row.dropna().items()}
                     for m, row in sanity_means(sanity).iterrows()} if len(sanity) else {}
    doc["agreement"] = {f"{a} ~ {b}": {k: rounded(v) for k, v in part.mean(numeric_only=True).items()}
                        for (a, b), part in agreement.groupby(["a", "b"], sort=False)}
    return doc


def flat_metrics(doc: dict) -> dict[str, float]:
    """The numbers MLflow compares runs by: localisation and sanity means per method."""
    flat = {f"{m}.{k}": v for m, scores in doc.get("localisation", {}).items() for k, v in scores.items()}
    flat.update({f"{m}.sanity_{c}": v for m, checks in doc["sanity"].items() for c, v in checks.items()})
    return {k.replace("@", "_at_"): v for k, v in flat.items() if isinstance(v, float) and v == v}


def checks_summary(doc: dict) -> str:
    lines = []
    if doc["truth"]:
        lines.append("localisation (mean over emotions): " + "; ".join(
            f"{m} mass {s['mass']:.3f} rho {s['spearman']:+.3f}" for m, s in doc["localisation"].items()))
        lines.append(f"best localising: {doc['best_localising']}")
    else:
        lines.append(f"no {TRUTH_FILE} in the dataset: localisation skipped")
    lines.append("sanity (Spearman with the trained model's ranking): " + "; ".join(
        f"{m} " + ", ".join(f"{c} {v:+.3f}" for c, v in checks.items()) for m, checks in doc["sanity"].items()))
    return "\n".join(lines)
