"""DVC stage train_full: see emo/pipeline/train_full.py."""

from emo.pipeline import train_full, run_stage

if __name__ == "__main__":
    run_stage(train_full)
