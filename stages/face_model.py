"""DVC stage face_model: see emo/pipeline/face_model.py."""

from emo.pipeline import face_model, run_stage

if __name__ == "__main__":
    run_stage(face_model)
