"""What a new user sees in `emo ui`, checked in a real browser; saves the README's screenshot.

    python docs/mlflow_ui.py [--out docs/mlflow_ui.png]

Run in the repository root after `dvc repro`. It starts `emo ui` on a free port, opens the
address it prints in headless Chromium with a fresh profile (no localStorage, so no earlier
choice of the UI's GenAI / Model training mode: what a first visit gets), and reads the page:
the runs tab in model-training mode, the report runs listed, the headline columns shown.
Prints what it found and exits non-zero when something is missing. Not a test: Chromium is
not on PyPI (`apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("Chromium is not installed; install it (Debian: apt-get install chromium) and run again.")


def browse(url: str, width: int, *output: str) -> str:
    """Chromium's rendering of `url` after the page settled, in a profile of its own."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                               f"--window-size={width},1000", "--virtual-time-budget=20000", *output, url],
                              capture_output=True, text=True, timeout=180)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "mlflow_ui.png")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.support import free_port  # the port choice the tests use

    headline = json.loads((REPO / "reports" / "headline.json").read_text())
    ui = subprocess.Popen([str(BIN / "emo"), "ui", "--port", str(free_port())], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    try:
        url = ui.stdout.readline().strip()
        if not url.startswith("http"):
            sys.exit(f"emo ui printed no address (exit {ui.poll()})")
        print(f"emo ui: {url}")
        page = browse(url, 2600, "--dump-dom")  # wide: the table draws only the columns in view
        browse(url, 1920, f"--screenshot={args.out}")
    finally:
        ui.terminate()
        ui.wait(timeout=30)
    columns = [name for name in headline if f"metrics.`{name}`" in page]
    report_rows = page.count(">report<")
    # Model training mode: the experiment's menu offers Runs; the GenAI overview's empty traces are absent.
    training = ">Runs<" in page and "No data available" not in page and "Detect Issues" not in page
    print(f"model-training mode: {'yes' if training else 'no'}; report runs listed: {report_rows}; "
          f"headline columns shown: {len(columns)} of {len(headline)} ({', '.join(columns)})")
    print(f"screenshot: {args.out}")
    if not (training and report_rows and len(columns) == len(headline)):
        sys.exit(1)


if __name__ == "__main__":
    main()
