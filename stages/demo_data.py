"""DVC stage demo_data: the embedded demo dataset, in CK+ layout, at demo.out."""

from emo.cli import run_stage
from emo.data.demo import generate_demo
from emo.face_model import managed_face_model


def main(params) -> None:
    print(generate_demo(params.demo, managed_face_model()))


if __name__ == "__main__":
    run_stage(main)
