"""`emo predict`'s peak memory against a video's length (prints figures; not a test).

    python bench/predict_memory.py [--frames 300 3000] [--emo "python -m emo.cli"]

Writes 1280x720 MP4s of the demo's face frames (data/raw/demo, scaled to the frame's height and
padded at the sides, played forwards and back to the length asked), runs `emo predict` on each
in a subprocess in the repository (where `dvc repro` ran) and prints the subprocess's peak
resident memory. Frames are streamed, so the peak should stay flat as the video grows.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 1280, 720


def demo_frames(root: Path) -> list[np.ndarray]:
    """The first demo sequence's frames, scaled to HEIGHT and padded to WIDTH, in BGR."""
    folder = sorted((root / "cohn-kanade-images").glob("S*/*"))[0]
    frames = []
    for f in sorted(folder.glob("*.png")):
        gray = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        width = round(gray.shape[1] * HEIGHT / gray.shape[0])
        scaled = cv2.resize(gray, (width, HEIGHT), interpolation=cv2.INTER_LINEAR)
        left = (WIDTH - width) // 2
        padded = cv2.copyMakeBorder(scaled, 0, 0, left, WIDTH - width - left, cv2.BORDER_REPLICATE)
        frames.append(cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR))
    return frames


def write_video(path: Path, frames: list[np.ndarray], n: int) -> None:
    """n frames: the clip forwards, then backwards, and so on."""
    cycle = frames + frames[-2:0:-1]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (WIDTH, HEIGHT))
    for i in range(n):
        writer.write(cycle[i % len(cycle)])
    writer.release()


def peak_rss(command: list[str]) -> tuple[int, float, int, str]:
    """(peak resident memory in bytes, wall seconds, exit status, last stderr line) of a command."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    return usage.ru_maxrss * 1024, time.perf_counter() - start, child.returncode, (lines or [""])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[300, 3000], help="video lengths in frames")
    parser.add_argument("--emo", default=f"{sys.executable} -m emo.cli", help="the command that runs emo")
    parser.add_argument("--demo", type=Path, default=Path("data/raw/demo"), help="the demo dataset (CK+ layout)")
    args = parser.parse_args()
    frames = demo_frames(args.demo)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.frames:
            video = Path(tmp) / f"clip{n}.mp4"
            write_video(video, frames, n)
            rss, wall, status, last = peak_rss([*shlex.split(args.emo), "predict", str(video), "--csv"])
            print(f"{n:6d} frames of {WIDTH}x{HEIGHT} ({video.stat().st_size / 2**20:.1f} MiB mp4): peak RSS "
                  f"{rss / 2**30:.2f} GiB, {wall:.0f} s, exit {status}" + (f" ({last})" if status else ""),
                  flush=True)


if __name__ == "__main__":
    main()
