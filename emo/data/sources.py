"""One video of a dataset, a folder of frames or a video file: where its frames are, its subject
and its label."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from emo.data.emotions import EMOTIONS
from emo.data.frames import Frame, VideoStream, image_files
from emo.errors import EmoError


@dataclass(frozen=True)
class DatasetVideo:
    """One video of a dataset (a folder of frames or a video file), with its subject and label."""

    sequence: str  # unique id within the dataset, e.g. "S005/001"
    subject: str
    path: Path
    label: str  # an emotion name, "contempt", "neutral", or "" when unknown
    problem: str = ""  # why it cannot be used; "" when it can

    @property
    def usable(self) -> bool:
        return not self.problem and self.label in EMOTIONS

    def frames(self) -> Iterator[Frame]:
        """Its frames in order (a Frame's gray is None where it cannot be decoded)."""
        return VideoStream(str(self.path)).frames()


def folder_problem(folder: Path) -> str:
    """Why a sequence folder gives no frames, as the manifest says it ("" when it has some)."""
    try:
        return "" if image_files(folder) else "no frames: no image files in the sequence folder"
    except EmoError as e:
        return f"unreadable: {e}"
