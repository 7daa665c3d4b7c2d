"""DVC stage evaluate_landmarks@NAME, for the dataset evaluate.datasets.NAME: see emo/pipeline/evaluate_landmarks.py."""

import sys

from emo.pipeline import evaluate_landmarks, run_stage

if __name__ == "__main__":
    run_stage(evaluate_landmarks, *sys.argv[1:])
