"""Stage register: the six-emotion classifier (T-EMO; each emotion's models at its K of lowest
validation loss, every seed's averaged, as `emo predict` chooses them) logged as an MLflow
model and registered as `emo-six-emotions`, so that `mlflow.pyfunc.load_model` and `mlflow
models serve` run it (emo/served_model.py holds its code and says what it takes and returns).

The model carries what it needs and nothing else: the params file, the chosen models and the
runs tables that chose them, the training landmarks, the face model, emo's own code and the
pinned requirements. models/registered_model.json says which version this run registered.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from emo import artifacts
from emo.artifacts import ModelPackage
from emo.config import PARAMS_FILE, ExtractParams, ModelParams
from emo.data.mesh import N_LANDMARKS
from emo.files import write_json
from emo.models.ensemble import choose_models
from emo.tracking.runs import stage_run
from emo.tracking.store import tracking_uri

MODEL_NAME = "emo-six-emotions"

INPUTS = (artifacts.FULL.runs, artifacts.FULL.models, artifacts.RETRAIN.runs, artifacts.RETRAIN.models,
          artifacts.RETRAIN.hparams, artifacts.LANDMARKS, artifacts.FACE_MODEL_PARAM, artifacts.SERVED_MODEL_CODE)
OUTPUTS = (artifacts.REGISTERED,)


def requirements() -> list[str]:
    """emo's pinned dependencies (pyproject.toml), which a served model's environment needs."""
    return [r for r in metadata.requires("emo") or [] if "extra ==" not in r]


def model_package(root: Path, extract: ExtractParams) -> ModelPackage:
    """The model's artifact folder `pipeline` under `root`: the chosen models and what chose them."""
    package = ModelPackage(root / "pipeline")
    pairs = ((artifacts.FULL, package.full), (artifacts.RETRAIN, package.retrain))
    for source, copy in pairs:
        copy.root.mkdir(parents=True)
        for table in (source.runs, source.hparams):
            if table.is_file():
                shutil.copy2(table, copy.root / table.name)
    for m in choose_models(artifacts.FULL, artifacts.RETRAIN, "temo"):
        source, copy = pairs[m.k != N_LANDMARKS]
        shutil.copytree(source.model_folder(m.emotion, "temo", m.k), copy.model_folder(m.emotion, "temo", m.k))
    shutil.copy2(PARAMS_FILE, package.params)
    shutil.copy2(artifacts.LANDMARKS, package.landmarks)
    shutil.copy2(extract.face_model, package.face_model)
    return package


def run(extract: ExtractParams, model: ModelParams) -> dict:
    """Log and register the model; write models/registered_model.json."""
    import logging
    import os
    import warnings

    import mlflow

    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # a bar per file MLflow copies back
    # It takes two kinds of input (paths or landmarks), which one type hint cannot say.
    warnings.filterwarnings("ignore", message=".*type hints to the `predict` method")

    # What the packaged model applies to a video (emo predict's extraction) and to landmarks.
    applies = {"extract": {"crop_size": extract.crop_size, "box": extract.box, "box_margin": extract.box_margin,
                           "frames": extract.frames, "min_frames": extract.min_frames,
                           "min_face_fraction": extract.min_face_fraction},
               "model": {"input": model.input}}
    with stage_run("register", **applies) as run, tempfile.TemporaryDirectory() as tmp:
        package = model_package(Path(tmp), extract)
        files = [f for f in package.root.rglob("*") if f.is_file()]
        run.log_metrics({"models": sum(f.suffix == ".keras" for f in files),
                         "package_mb": round(sum(f.stat().st_size for f in files) / 2**20, 1)})
        mlflow.set_tracking_uri(tracking_uri())
        logging.getLogger("mlflow.models.model").setLevel(logging.ERROR)  # "no signature": it takes two kinds of input
        with mlflow.start_run(run_id=run.run_id):
            info = mlflow.pyfunc.log_model(name="six_emotions", python_model=str(artifacts.SERVED_MODEL_CODE),
                                           artifacts={"pipeline": str(package.root)},
                                           code_paths=[str(artifacts.SERVED_MODEL_CODE.parent)],
                                           pip_requirements=requirements(), registered_model_name=MODEL_NAME)
    version = info.registered_model_version
    registered = {"name": MODEL_NAME, "version": int(version), "uri": f"models:/{MODEL_NAME}/{version}",
                  "run_id": run.run_id, "model_uri": info.model_uri, **applies}
    write_json(artifacts.REGISTERED, registered)
    print(f"registered {registered['uri']} (mlflow models serve -m {registered['uri']} --env-manager local)")
    return registered
