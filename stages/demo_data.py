"""DVC stage demo_data: the embedded demo dataset, in CK+ layout, at demo.out, and a second
one, held apart from training, at demo.heldout.out (evaluate's cross-dataset check)."""

from emo.cli import run_stage
from emo.data.demo import generate_demo, heldout_params
from emo.data.face_model import managed_face_model


def main(params) -> None:
    model = managed_face_model()
    print(generate_demo(params.demo, model))
    print("held apart:", generate_demo(heldout_params(params.demo), model))


if __name__ == "__main__":
    run_stage(main)
