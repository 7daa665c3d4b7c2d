"""DVC stage timeline@NAME: see emo/pipeline/timeline.py."""

import sys

from emo.pipeline import run_stage, timeline

if __name__ == "__main__":
    run_stage(timeline, *sys.argv[1:])
