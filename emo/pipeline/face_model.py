"""Stage face_model: the official face_landmarker.task, fetched once into models/."""

from __future__ import annotations

from pathlib import Path

from emo import artifacts
from emo.data.face_model import managed_face_model

INPUTS = ()
OUTPUTS = (artifacts.FACE_MODEL,)


def run() -> Path:
    path = managed_face_model(artifacts.FACE_MODEL)
    print(f"face model: {path}")
    return path
