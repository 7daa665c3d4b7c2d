"""DVC stage extract: data.root -> data/landmarks/landmarks.npz and manifest.csv."""

from pathlib import Path

from emo.cli import run_stage
from emo.data.extraction import manifest_counts, manifest_summary, run_extract
from emo.data.face_model import resolve_face_model
from emo.tracking import stage_run

OUT = Path("data/landmarks")


def main(params) -> None:
    with stage_run("extract", {"data": params.data, "extract": params.extract}) as run:
        manifest = run_extract(params.data, params.extract, resolve_face_model(params.extract.face_model), OUT)
        run.log_metrics(manifest_counts(manifest))
    print(manifest_summary(manifest))


if __name__ == "__main__":
    run_stage(main)
