"""DVC stage extract: see emo/pipeline/extract.py."""

from emo.pipeline import extract, run_stage

if __name__ == "__main__":
    run_stage(extract)
