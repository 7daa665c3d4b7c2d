"""DVC stage demo_data: see emo/pipeline/demo_data.py."""

from emo.pipeline import demo_data, run_stage

if __name__ == "__main__":
    run_stage(demo_data)
