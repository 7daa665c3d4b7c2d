"""DVC stage report: see emo/pipeline/report.py."""

from emo.pipeline import report, run_stage

if __name__ == "__main__":
    run_stage(report)
