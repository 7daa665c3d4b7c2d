"""The layouts a dataset comes in: CK+'s, or one folder per emotion of videos or frame folders."""

from __future__ import annotations

from pathlib import Path

from emo.data import ckplus, folder
from emo.data.frames import unreadable
from emo.data.sources import DatasetVideo
from emo.errors import EmoError


def find_sequences(root: Path, layout: str, subject_pattern: str = r"^([^_]+)") -> list[DatasetVideo]:
    """Every sequence under `root`, usable or not, in a stable order; one sentence when a folder
    that holds sequences cannot be listed."""
    try:
        if layout == "ckplus":
            return ckplus.find_sequences(root)
        return folder.find_sequences(root, subject_pattern)
    except PermissionError as e:
        raise EmoError(unreadable(Path(e.filename))) from None
