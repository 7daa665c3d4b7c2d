"""Stage evaluate_landmarks@NAME: the landmarks of the dataset evaluate.datasets.NAME, extracted
with the extract stage's code and settings; its own output, so that refitting what evaluate
scores does not extract the dataset again."""

from __future__ import annotations

from emo import artifacts
from emo.config import DataParams, EvaluateParams, ExtractParams
from emo.data.dataset import save_landmarks
from emo.data.extraction import extract_dataset, manifest_counts, manifest_summary
from emo.data.face_model import resolve_face_model
from emo.evaluation.cross_dataset import dataset_sources
from emo.files import write_csv
from emo.tracking.runs import stage_run

INPUTS = (artifacts.EVALUATED_ROOT, artifacts.FACE_MODEL_PARAM)
OUTPUTS = (artifacts.EVALUATION_TEMPLATE.landmarks, artifacts.EVALUATION_TEMPLATE.manifest)


def run(name: str, evaluate: EvaluateParams, data: DataParams, extract: ExtractParams, progress: bool = True) -> None:
    dataset, sources, key = dataset_sources(evaluate.datasets, name, data.subject_pattern)
    where = artifacts.Evaluation(name)
    with stage_run(f"evaluate_landmarks@{name}", dataset={"name": name, "root": dataset.root, "layout": dataset.layout},
                   extract=extract) as run:
        landmarks, manifest = extract_dataset(DataParams(dataset.root, dataset.layout, data.subject_pattern), extract,
                                              resolve_face_model(extract.face_model), progress, key=key, sources=sources)
        save_landmarks(where.landmarks, landmarks)
        write_csv(where.manifest, manifest)
        run.log_metrics(manifest_counts(manifest))
    print(f"{name}: {manifest_summary(manifest)}")
