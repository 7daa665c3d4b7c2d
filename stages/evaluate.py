"""DVC stage evaluate@NAME, for the dataset evaluate.datasets.NAME: see emo/pipeline/evaluate.py."""

import sys

from emo.pipeline import evaluate, run_stage

if __name__ == "__main__":
    run_stage(evaluate, *sys.argv[1:])
