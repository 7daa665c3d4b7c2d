"""Stage rivals: rankings of the 468 landmarks by other methods than the paper's IG, on the
same T-EMO models and training videos (model-based) or the same partitions (model-free)."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from emo import artifacts
from emo.config import AttributeParams, BaselineParams, ModelParams, RivalParams, TrainParams
from emo.data.dataset import load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.explanation.global_attribution import ranking_of, stability
from emo.explanation.rankings import save_method_rankings
from emo.explanation.rivals import MODEL_FREE, MODEL_RIVALS, model_free, rival_jobs, rival_values
from emo.files import atomic_file
from emo.models.runs import TrainingContext, run_many
from emo.pipeline.shared.attributed import attributed_models
from emo.tracking.runs import stage_run

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS, artifacts.FULL.models)
OUTPUTS = (artifacts.RIVALS, artifacts.RIVAL_RANKINGS)


def run(rivals: RivalParams, attribute: AttributeParams, baselines: BaselineParams, model: ModelParams,
        train: TrainParams, progress: bool = True) -> dict[str, np.ndarray]:
    """data/rivals.npz ({method}: [6, 468], {method}_per_model: [6, S, 468]) and the rankings alone."""
    data = load_landmarks(artifacts.LANDMARKS)
    partitions = load_partitions(artifacts.SPLITS, labels=data.y)
    paths = attributed_models(attribute.models, len(partitions))
    used = sorted({p for _, p in paths})
    based = tuple(m for m in rivals.methods if m in MODEL_RIVALS)
    per_model = {m: np.zeros((len(EMOTIONS), len(used), 468)) for m in rivals.methods}
    context = TrainingContext(artifacts.LANDMARKS, artifacts.SPLITS, model, train)
    with stage_run("rivals", rivals=rivals, attribute=attribute) as run:
        if based:
            jobs = rival_jobs(paths, based, attribute, rivals.repeats)
            for job, values in tqdm(run_many(jobs, context, train.workers, task=rival_values), total=len(jobs),
                                    desc="rivals", unit="model", disable=not progress):
                for m, v in values.items():
                    per_model[m][job.emotion, used.index(job.partition)] = v
        for m in (m for m in rivals.methods if m in MODEL_FREE):
            for e in range(len(EMOTIONS)):
                for s, p in enumerate(used):
                    per_model[m][e, s] = model_free(m, data, partitions[p], e, baselines)
        attributions = {m: v.mean(axis=1) for m, v in per_model.items()}
        with atomic_file(artifacts.RIVALS) as tmp, open(tmp, "wb") as f:
            np.savez(f, methods=np.array(list(rivals.methods)), partitions=np.array(used), **attributions,
                     **{f"{m}_per_model": v for m, v in per_model.items()})
        save_method_rankings(artifacts.RIVAL_RANKINGS, {m: ranking_of(v) for m, v in attributions.items()})
        # How much the seeds' models agree on each method's ranking (as attribute logs for IG).
        run.log_metrics({f"{m}.{emotion}.seed_spearman": stability(v[e])[0] for m, v in per_model.items()
                         for e, emotion in enumerate(EMOTIONS) if len(used) > 1})
        run.log_file(artifacts.RIVALS)
        run.log_file(artifacts.RIVAL_RANKINGS)
    for m, v in attributions.items():
        print(f"{m:15s} top 8 per emotion: " + "; ".join(f"{emotion} {ranking_of(v[e])[:8].tolist()}"
                                                          for e, emotion in enumerate(EMOTIONS)))
    return attributions
