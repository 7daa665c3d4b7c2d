"""Process pools for CPU-bound stages (one single-threaded worker per core), and a prefetching iterator."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
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


@contextlib.contextmanager
def process_pool(workers: int, initializer: Callable | None = None, initargs: tuple = ()) -> Iterator[ProcessPoolExecutor]:
    """A pool of spawned single-threaded workers; if the caller is interrupted (Ctrl-C, or the
    SIGTERM that stage scripts turn into KeyboardInterrupt), the workers are stopped at once
    instead of finishing their jobs, so that nothing runs on after the stage has ended."""
    # spawn, not fork: the parent may hold TensorFlow or MediaPipe threads that fork would copy broken.
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_single_threaded,
        initargs=(initializer, initargs),
    )
    try:
        yield pool
    except BaseException:
        for process in list((pool._processes or {}).values()):  # no public way before Python 3.14
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def prefetch(items: Iterable, depth: int = 4) -> Iterator:
    """Iterate `items` in a background thread, `depth` ahead: frame decoding (which releases the
    GIL) then overlaps with landmark detection instead of adding to it."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fill() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except Exception as e:  # handed to the consumer, raised there
            put((done, e))
            return
        put((done, None))

    thread = threading.Thread(target=fill, daemon=True)
    thread.start()
    try:
        while True:
            item, error = q.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()
