"""A generic layout: one folder per emotion, holding video files or folders of frames."""

from __future__ import annotations

import re
from pathlib import Path

from emo.data.emotions import ALIASES, EMOTIONS
from emo.data.frames import VIDEO_SUFFIXES
from emo.data.sources import DatasetVideo, folder_problem
from emo.errors import EmoError


def find_sequences(root: Path, subject_pattern: str) -> list[DatasetVideo]:
    if not root.is_dir():
        raise EmoError(f"data.root '{root}' is not a folder; put the dataset there or change data.root.")
    pattern = re.compile(subject_pattern)
    out = []
    for emotion_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = ALIASES.get(emotion_dir.name.lower(), "")
        for item in sorted(emotion_dir.iterdir()):
            if item.name.startswith("."):
                continue
            if item.is_file() and item.suffix.lower() not in VIDEO_SUFFIXES:
                continue
            match = pattern.search(item.stem)
            subject = match.group(1) if match else item.stem
            if not label:
                problem = f"bad label: folder '{emotion_dir.name}' is not an emotion name ({', '.join(EMOTIONS)})"
            elif label not in EMOTIONS:
                problem = f"{label}: not among the six emotions"
            else:
                problem = folder_problem(item) if item.is_dir() else ""
            out.append(DatasetVideo(sequence=f"{emotion_dir.name}/{item.name}", subject=subject, path=item,
                                      label=label, problem=problem))
    return out
