"""Stage extract: the dataset at data.root -> its landmark tensor and manifest."""

from __future__ import annotations

from emo import artifacts
from emo.config import DataParams, ExtractParams
from emo.data.dataset import save_end_blendshapes, save_landmarks
from emo.data.extraction import extract_dataset, manifest_counts, manifest_summary
from emo.data.face_model import resolve_face_model
from emo.files import write_csv
from emo.tracking.runs import stage_run

INPUTS = (artifacts.DATA_ROOT, artifacts.FACE_MODEL_PARAM)
OUTPUTS = (artifacts.LANDMARKS, artifacts.MANIFEST, artifacts.END_BLENDSHAPES)


def run(data: DataParams, extract: ExtractParams, progress: bool = True) -> None:
    with stage_run("extract", data=data, extract=extract) as run:
        landmarks, manifest = extract_dataset(data, extract, resolve_face_model(extract.face_model), progress)
        save_landmarks(artifacts.LANDMARKS, landmarks)
        save_end_blendshapes(artifacts.END_BLENDSHAPES, landmarks)
        write_csv(artifacts.MANIFEST, manifest)
        run.log_metrics(manifest_counts(manifest))
    print(manifest_summary(manifest))
