"""Stage demo_data: the embedded demo dataset, in CK+ layout, at demo.out, and a second one,
held apart from training, at demo.heldout.out (evaluate's cross-dataset check)."""

from __future__ import annotations

from emo import artifacts
from emo.config import DemoParams
from emo.data.demo import generate_demo, heldout_params
from emo.data.face_model import managed_face_model
from emo.files import atomic_dir
from emo.tracking import stage_run

INPUTS = (artifacts.FACE_MODEL,)
OUTPUTS = (artifacts.DEMO, artifacts.DEMO_HELDOUT)


def run(demo: DemoParams, progress: bool = True) -> None:
    model = managed_face_model(artifacts.FACE_MODEL)
    with stage_run("demo_data", demo=demo):
        for label, params in (("", demo), ("held apart: ", heldout_params(demo))):
            with atomic_dir(params.out) as tmp:
                print(label + generate_demo(params, model, tmp, progress))
