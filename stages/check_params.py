"""DVC stage check_params: see emo/pipeline/check_params.py."""

from emo.pipeline import check_params, run_stage

if __name__ == "__main__":
    run_stage(check_params)
