"""DVC stage split: see emo/pipeline/split.py."""

from emo.pipeline import split, run_stage

if __name__ == "__main__":
    run_stage(split)
