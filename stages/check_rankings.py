"""DVC stage check_rankings: see emo/pipeline/check_rankings.py."""

from emo.pipeline import check_rankings, run_stage

if __name__ == "__main__":
    run_stage(check_rankings)
