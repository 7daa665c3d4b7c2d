"""DVC stage retrain_k: see emo/pipeline/retrain_k.py."""

from emo.pipeline import retrain_k, run_stage

if __name__ == "__main__":
    run_stage(retrain_k)
