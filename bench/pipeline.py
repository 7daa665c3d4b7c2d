"""Wall time of every stage of the demo's `dvc repro` from scratch, and of a no-op rerun
(prints figures; not a test).

    python bench/pipeline.py [--workdir /tmp/emo-bench] [--set train.backend=tensorflow ...]

Clones this repository into the work folder (its committed state), sets any `--set`
params in the clone's params.yaml (as `dvc exp run -S` would), runs each stage with
`dvc repro -s STAGE` in pipeline order, then `dvc repro` again; with an empty JAX
compilation cache, as on a fresh machine. Targets on 2 cores: the whole run under 15
minutes; the no-op under 10 seconds.
"""

from __future__ import annotations

import argparse
import os
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
    # The clone's own code, not the working tree's that the environment's editable install points to.
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cwd / ".jax-cache"), "PYTHONPATH": str(cwd)}
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/emo-bench-pipeline"))
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="params to change, e.g. tune.factor=4")
    args = parser.parse_args()
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    subprocess.run(["git", "clone", "-q", str(REPO), str(args.workdir)], check=True)
    if args.set:
        params_file = args.workdir / "params.yaml"
        params = yaml.safe_load(params_file.read_text())
        for assignment in args.set:
            key, value = assignment.split("=", 1)
            *path, last = key.split(".")
            section = params
            for name in path:
                section = section[name]
            section[last] = yaml.safe_load(value)
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        print(f"params: {', '.join(args.set)}")
    stages = list(yaml.safe_load((args.workdir / "dvc.yaml").read_text())["stages"])
    rows = []
    for stage in stages:
        seconds = timed([DVC, "repro", "-s", stage], args.workdir)
        rows.append((stage, seconds))
        print(f"{stage:12s} {seconds:8.1f} s", flush=True)
    total = sum(s for _, s in rows)
    noop = timed([DVC, "repro"], args.workdir)
    print(f"{'total':12s} {total:8.1f} s  ({total / 60:.1f} min; target < 15 min)")
    print(f"{'no-op repro':12s} {noop:8.1f} s  (target < 10 s)")


if __name__ == "__main__":
    main()
