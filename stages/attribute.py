"""DVC stage attribute: see emo/pipeline/attribute.py."""

from emo.pipeline import attribute, run_stage

if __name__ == "__main__":
    run_stage(attribute)
