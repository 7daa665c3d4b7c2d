"""Stage demo_data: the embedded demo dataset, in CK+ layout, at demo.out; a second one, held
apart from training, at demo.heldout.out (evaluate's cross-dataset check); and long recordings
with per-frame truth (the timeline stage's input) of the main set's people at demo.recordings.out
and of the held-apart people at demo.recordings.heldout_out."""

from __future__ import annotations

from emo import artifacts
from emo.config import DemoParams
from emo.data.demo import generate_demo, heldout_params
from emo.data.demo_recordings import generate_recordings
from emo.data.face_model import managed_face_model
from emo.files import atomic_dir
from emo.tracking.runs import stage_run

INPUTS = (artifacts.FACE_MODEL,)
OUTPUTS = (artifacts.DEMO, artifacts.DEMO_HELDOUT, artifacts.DEMO_RECORDINGS, artifacts.DEMO_RECORDINGS_HELDOUT)


def run(demo: DemoParams, progress: bool = True) -> None:
    model = managed_face_model(artifacts.FACE_MODEL)
    with stage_run("demo_data", demo=demo):
        for label, params in (("", demo), ("held apart: ", heldout_params(demo))):
            with atomic_dir(params.out) as tmp:
                print(label + generate_demo(params, model, tmp, progress))
        with atomic_dir(demo.recordings.out) as tmp, atomic_dir(demo.recordings.heldout_out) as held_tmp:
            print("recordings: " + generate_recordings(demo, model, tmp, held_tmp, progress))
