"""DVC stage rivals: see emo/pipeline/rivals.py."""

from emo.pipeline import rivals, run_stage

if __name__ == "__main__":
    run_stage(rivals)
