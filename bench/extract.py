"""Benchmark the extract stage against the bare detector (prints figures; not a test).

    python bench/extract.py [--sequences 120]

On the demo frames (run `dvc repro demo_data` first): frames per second of the extract
stage's worker pool with 1 and 2 workers (decode, face box, crop, FaceLandmarker, gap
filling, resampling; pool start-up included), beside FaceLandmarker.detect alone on the
same frames decoded in advance: on the 300x300 face crops the stage feeds it, and on the
whole frames. Targets: 1 worker within 15% of the bare detector; 2 workers >= 1.6x 1 worker.

A PNG frame of 640x490 costs about 4 ms to decode, 40% of a detection. One worker hides it
in a prefetch thread on the idle core; two workers have no idle core left, so together the
two ratios are bounded by 2 x detect / (detect + decode).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from emo.config import load_params
from emo.data.extraction import extract_sequences
from emo.data.face_boxes import FaceBoxes
from emo.data.face_model import resolve_face_model
from emo.data.landmarks import LandmarkDetector
from emo.data.layouts import find_sequences


def bare_detector_fps(detector: LandmarkDetector, frames: list[np.ndarray]) -> float:
    """FaceLandmarker.detect on ready RGB images: the floor any extraction pays per frame."""
    images = [detector._image(f) for f in frames]
    landmarker = detector._landmarker
    landmarker.detect(images[0])
    start = time.perf_counter()
    for image in images:
        landmarker.detect(image)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=120, help="demo sequences to use (default 120)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()

    params = load_params(args.params)
    model = resolve_face_model(params.extract.face_model)
    sources = [s for s in find_sequences(params.data.root, params.data.layout, params.data.subject_pattern) if s.usable]
    sources = sources[: args.sequences]

    frames, crops = [], []
    e = params.extract
    with FaceBoxes.of(model, e) as faces:
        for s in sources:
            seq = [f for f in s.frames() if f.gray is not None]
            frames += [f.gray for f in seq]
            boxes = faces.sequence(seq).boxes  # boxed as the stage boxes them
            crops += [box.crop(f.gray, e.crop_size) for f, box in zip(seq, boxes) if box is not None]
        bare_crop = bare_detector_fps(faces.detector, crops)
        bare_full = bare_detector_fps(faces.detector, frames)
    n = len(frames)
    print(f"{len(sources)} sequences, {n} frames of {frames[0].shape[1]}x{frames[0].shape[0]}")
    print(f"{f'bare FaceLandmarker.detect, {e.crop_size}x{e.crop_size} crops':48s} {bare_crop:7.1f} frames/s")
    print(f"{'bare FaceLandmarker.detect, whole frames':48s} {bare_full:7.1f} frames/s")

    stage = {}
    for workers in (1, 2):
        p = dataclasses.replace(params.extract, workers=workers)
        start = time.perf_counter()
        extract_sequences(sources, p, model, progress=False)
        stage[workers] = n / (time.perf_counter() - start)
        print(f"{f'extract stage, {workers} worker(s)':48s} {stage[workers]:7.1f} frames/s")
    print()
    print(f"1 worker / bare detector on crops:  {stage[1] / bare_crop:.2f}  (target >= 0.87, i.e. within 15%)")
    print(f"1 worker / bare detector on frames: {stage[1] / bare_full:.2f}")
    print(f"2 workers / 1 worker:               {stage[2] / stage[1]:.2f}  (target >= 1.6)")


if __name__ == "__main__":
    main()
