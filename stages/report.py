"""DVC stage report: reports/report.md and .html, figures, metrics.json and plot data."""

from pathlib import Path

from emo.cli import run_stage
from emo.report import run_report

OUT = Path("reports")


def main(params) -> None:
    metrics = run_report(params, OUT)
    print(f"wrote {OUT / 'report.md'} and {OUT / 'report.html'}")
    for config, accuracy in metrics["six_class_accuracy"].items():
        print(f"six-class accuracy, {config}: {accuracy:.3f}")


if __name__ == "__main__":
    run_stage(main)
