"""DVC stage face_model: the official face_landmarker.task, fetched once into models/."""

from emo.cli import run_stage
from emo.data.face_model import managed_face_model


def main(params) -> None:
    print(f"face model: {managed_face_model()}")


if __name__ == "__main__":
    run_stage(main)
