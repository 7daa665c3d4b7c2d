"""DVC stage baselines: see emo/pipeline/baselines.py."""

from emo.pipeline import baselines, run_stage

if __name__ == "__main__":
    run_stage(baselines)
