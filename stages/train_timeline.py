"""DVC stage train_timeline: see emo/pipeline/train_timeline.py."""

from emo.pipeline import train_timeline, run_stage

if __name__ == "__main__":
    run_stage(train_timeline)
