"""Stage attribute: the dataset-wide IG ranking of the 468 landmarks per emotion."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from emo import artifacts
from emo.config import AttributeParams, ModelParams, TrainParams
from emo.data.dataset import load_landmarks, load_partitions
from emo.data.emotions import EMOTIONS
from emo.explanation.global_attribution import (AttributionJob, ConfidenceJob, attribute_one, combine, medoid_videos,
                                                most_confident_video, summary_document)
from emo.explanation.rankings import save_rankings
from emo.files import atomic_file, write_json
from emo.models.runs import TrainingContext, run_many
from emo.pipeline.shared.attributed import attributed_models
from emo.tracking.runs import stage_run

INPUTS = (artifacts.LANDMARKS, artifacts.SPLITS, artifacts.FULL.models)
OUTPUTS = (artifacts.ATTRIBUTIONS, artifacts.RANKINGS, artifacts.ATTRIBUTION_SUMMARY)


def run(attribute: AttributeParams, model: ModelParams, train: TrainParams, progress: bool = True) -> dict:
    """data/attributions.npz, the rankings alone, and a JSON summary."""
    a = attribute
    data = load_landmarks(artifacts.LANDMARKS)
    partitions = load_partitions(artifacts.SPLITS, labels=data.y)
    paths = attributed_models(a.models, len(partitions))
    used = sorted({p for _, p in paths})
    context = TrainingContext(artifacts.LANDMARKS, artifacts.SPLITS, model, train)
    with stage_run("attribute", attribute=a, model=model) as run:
        if a.typical == "medoid":
            typical = {p: medoid_videos(data, partitions[p], model.input == "displacement") for p in used}
        else:
            typical = {p: np.zeros(len(EMOTIONS), dtype=np.int64) for p in used}
            jobs = [ConfidenceJob(e, p, str(f)) for (e, p), f in paths.items()]
            for job, index in run_many(jobs, context, train.workers, task=most_confident_video):
                typical[job.partition][job.emotion] = index
        jobs = [AttributionJob(e, p, str(f), tuple(int(i) for i in typical[p]), a.steps, a.method, a.samples,
                               a.budget_mb * 2**20) for (e, p), f in paths.items()]
        results = list(tqdm(run_many(jobs, context, train.workers, task=attribute_one), total=len(jobs),
                            desc="attribute", unit="model", disable=not progress))
        arrays = combine(results, a.aggregate)
        arrays["typical"] = np.stack([typical[p] for p in used])  # [S, 6] sample indices
        with atomic_file(artifacts.ATTRIBUTIONS) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        save_rankings(artifacts.RANKINGS, arrays["ranking"])
        summary = summary_document(arrays)
        write_json(artifacts.ATTRIBUTION_SUMMARY, summary)
        run.log_metrics({f"{emotion}.{k}": v for emotion, d in summary.items() for k, v in d.items()
                         if isinstance(v, float)})
        run.log_file(artifacts.ATTRIBUTIONS)
        run.log_file(artifacts.ATTRIBUTION_SUMMARY)
    for emotion, d in summary.items():
        print(f"{emotion:10s} |completeness error| mean {d['completeness_abs_mean']:.4f}, "
              f"seed Spearman {d['seed_spearman']}, top-64 overlap {d['seed_top64_overlap']}, top16 {d['top16']}")
    return summary
