"""Stage face_model: the official face_landmarker.task, fetched once into models/."""

from __future__ import annotations

from pathlib import Path

from emo import artifacts
from emo.data.face_model import managed_face_model, sha256_of
from emo.tracking.runs import stage_run

INPUTS = ()
OUTPUTS = (artifacts.FACE_MODEL,)


def run() -> Path:
    with stage_run("face_model") as run:
        path = managed_face_model(artifacts.FACE_MODEL)
        run.set_tags({"face_model.sha256": sha256_of(path)})
    print(f"face model: {path}")
    return path
