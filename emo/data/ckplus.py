"""The CK+ layout: cohn-kanade-images/Sxxx/yyy/*.png with Emotion/Sxxx/yyy/*_emotion.txt."""

from __future__ import annotations

from pathlib import Path

from emo.data.emotions import CKPLUS_CODES, EMOTIONS
from emo.data.sources import DatasetVideo, folder_problem
from emo.errors import EmoError

IMAGES = "cohn-kanade-images"
LABELS = "Emotion"


def find_sequences(root: Path) -> list[DatasetVideo]:
    images = root / IMAGES
    if not images.is_dir():
        raise EmoError(
            f"data.root '{root}' has no {IMAGES}/ folder; point data.root at the folder holding "
            f"{IMAGES}/ and {LABELS}/, or set data.layout: folder for one folder per emotion."
        )
    out = []
    for subject_dir in sorted(p for p in images.iterdir() if p.is_dir()):
        for seq_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            seq = f"{subject_dir.name}/{seq_dir.name}"
            label, problem = read_label(root / LABELS / subject_dir.name / seq_dir.name)
            if not problem:
                problem = folder_problem(seq_dir)
            out.append(DatasetVideo(sequence=seq, subject=subject_dir.name, path=seq_dir, label=label, problem=problem))
    return out


def read_label(label_dir: Path) -> tuple[str, str]:
    """(label, problem) for a sequence's Emotion folder; CK+ labels only 327 of 593 sequences."""
    files = sorted(label_dir.glob("*_emotion.txt")) if label_dir.is_dir() else []
    if not files:
        return "", "unlabeled: CK+ has no emotion file for it"
    if len(files) > 1:
        return "", f"bad label: {len(files)} emotion files in {label_dir}; keep one"
    text = files[0].read_text(errors="replace").strip()
    try:
        value = float(text)
    except ValueError:
        return "", f"bad label: {files[0].name} holds {text[:20]!r}, not a CK+ emotion code"
    if value != int(value) or int(value) not in CKPLUS_CODES:
        return "", f"bad label: {files[0].name} holds {text[:20]!r}, not a CK+ code 0..7"
    label = CKPLUS_CODES[int(value)]
    if label not in EMOTIONS:
        return label, f"{label}: not among the six emotions"
    return label, ""
