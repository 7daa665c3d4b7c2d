"""Process pools for CPU-bound stages: one single-threaded worker per core."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


def worker_count(requested: int, jobs: int) -> int:
    """`requested` processes (0 = every core), never more than there are jobs."""
    return max(1, min(requested or os.cpu_count() or 1, jobs))


def _single_threaded(initializer: Callable | None, initargs: tuple) -> None:
    import cv2
    from threadpoolctl import threadpool_limits

    # With one process per core, BLAS and OpenCV threads only fight each other: two workers
    # with spinning OpenBLAS threads ran slower than one.
    threadpool_limits(1)
    cv2.setNumThreads(1)
    if initializer is not None:
        initializer(*initargs)


def process_pool(workers: int, initializer: Callable | None = None, initargs: tuple = ()) -> ProcessPoolExecutor:
    # spawn, not fork: the parent may hold TensorFlow or MediaPipe threads that fork would copy broken.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_single_threaded,
        initargs=(initializer, initargs),
    )
