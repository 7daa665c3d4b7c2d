"""MP4 video in H.264, which browsers, VS Code and Jupyter play: OpenCV's wheels write only
MPEG-4 Part 2 ('mp4v'), which none of them does. Frames go to the ffmpeg binary that the
imageio-ffmpeg wheel ships, one at a time through a pipe, so a long video is never held whole."""

from __future__ import annotations

import warnings
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from emo.errors import EmoError


class H264Writer:
    """BGR uint8 frames [h, w, 3], all of one size, into an H.264 MP4 (yuv420p: the pixel format
    every player decodes). Use as a context manager, or call close()."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]):
        self.path, self.size = Path(path), size  # size: (width, height), as OpenCV gives it
        self._ffmpeg = imageio_ffmpeg.write_frames(
            str(path), size, pix_fmt_in="bgr24", pix_fmt_out="yuv420p", fps=float(fps), codec="libx264",
            quality=6,  # x264's CRF 20: the coloured landmarks stay sharp
            # yuv420p needs even sides: ffmpeg pads one black row or column rather than
            # imageio rescaling to its macro block (which blurs the landmarks)
            macro_block_size=1, output_params=["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-movflags", "+faststart"],
            ffmpeg_log_level="error")
        try:
            with warnings.catch_warnings():
                # JAX warns of any fork in its multithreaded process; subprocess execs ffmpeg in
                # the child at once, running no Python there, so no lock can be held.
                warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
                self._ffmpeg.send(None)  # starts ffmpeg
        except (OSError, RuntimeError):
            raise EmoError(f"cannot start ffmpeg to write {self.path}; reinstall imageio-ffmpeg.") from None

    def write(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        if (w, h) != self.size or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame of shape {frame.shape} in a {self.size[0]}x{self.size[1]} BGR video")
        try:
            self._ffmpeg.send(np.ascontiguousarray(frame, dtype=np.uint8))
        except (OSError, RuntimeError):  # ffmpeg stopped: its own message is many lines long
            raise EmoError(f"ffmpeg could not write {self.path}; check its folder, permissions and free disk "
                           "space.") from None

    def close(self) -> None:
        try:
            self._ffmpeg.close()  # waits for ffmpeg to finish the file
        except (OSError, RuntimeError):
            raise EmoError(f"ffmpeg could not finish {self.path}; check free disk space.") from None

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            self.close()
        except EmoError:
            if error is None:  # else the error that stopped the writing is the one to report
                raise
