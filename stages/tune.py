"""DVC stage tune: see emo/pipeline/tune.py."""

from emo.pipeline import tune, run_stage

if __name__ == "__main__":
    run_stage(tune)
