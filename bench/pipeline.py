"""Wall time of every stage of the demo's `dvc repro` from scratch, and of a no-op rerun
(prints figures; not a test).

    python bench/pipeline.py [--workdir /tmp/emo-bench]

Clones this repository into the work folder (its committed state), runs each stage with
`dvc repro -s STAGE` in pipeline order, then `dvc repro` again. Targets on 2 cores: the
whole run under 20 minutes; the no-op under 10 seconds.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DVC = str(Path(sys.executable).parent / "dvc")


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/emo-bench-pipeline"))
    args = parser.parse_args()
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    subprocess.run(["git", "clone", "-q", str(REPO), str(args.workdir)], check=True)
    stages = list(yaml.safe_load((args.workdir / "dvc.yaml").read_text())["stages"])
    rows = []
    for stage in stages:
        seconds = timed([DVC, "repro", "-s", stage], args.workdir)
        rows.append((stage, seconds))
        print(f"{stage:12s} {seconds:8.1f} s", flush=True)
    total = sum(s for _, s in rows)
    noop = timed([DVC, "repro"], args.workdir)
    print(f"{'total':12s} {total:8.1f} s  ({total / 60:.1f} min; target < 20 min)")
    print(f"{'no-op repro':12s} {noop:8.1f} s  (target < 10 s)")


if __name__ == "__main__":
    main()
