"""DVC stage register: see emo/pipeline/register.py."""

from emo.pipeline import register, run_stage

if __name__ == "__main__":
    run_stage(register)
