"""The per-emotion landmark rankings alone, apart from the attributions they come from: what
retrain_k reads, so that an attribute change that leaves them unchanged stops there. The
paper's IG ranking is one file; the rivals' is one file keyed by method."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emo.data.emotions import EMOTIONS
from emo.data.mesh import N_LANDMARKS
from emo.errors import EmoError
from emo.files import atomic_file


def _lines(rankings: np.ndarray, indent: str) -> str:
    """{emotion: [landmark, ...]} of [6, 468] rankings, one emotion per line."""
    lines = [f'{indent}"{emotion}": {json.dumps([int(i) for i in rankings[e]])}' for e, emotion in enumerate(EMOTIONS)]
    return "{\n" + ",\n".join(lines) + "\n" + indent[:-2] + "}"


def save_rankings(path: Path, rankings: np.ndarray) -> None:
    """[6, 468] rankings as {emotion: [landmark, ...]}, one emotion per line."""
    with atomic_file(path) as tmp:
        tmp.write_text(_lines(rankings, "  ") + "\n")


def save_method_rankings(path: Path, rankings: dict[str, np.ndarray]) -> None:
    """{method: [6, 468]} as {method: {emotion: [landmark, ...]}}."""
    body = ",\n".join(f'  "{method}": {_lines(r, "    ")}' for method, r in rankings.items())
    with atomic_file(path) as tmp:
        tmp.write_text("{\n" + body + "\n}\n")


def _rankings_of(doc, path: Path) -> np.ndarray:
    if (not isinstance(doc, dict) or sorted(doc) != sorted(EMOTIONS)
            or any(sorted(doc[e]) != list(range(N_LANDMARKS)) for e in EMOTIONS)):
        raise EmoError(f"{path} does not rank the 468 landmarks of each of the six emotions; "
                       "rerun the stage that writes it (`dvc repro`).")
    return np.array([doc[e] for e in EMOTIONS], dtype=np.int64)


def _document(path: Path, stage: str):
    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro {stage}` first.")
    try:
        return json.loads(path.read_text())
    except ValueError:
        raise EmoError(f"{path} is not valid JSON; rerun `dvc repro {stage}`.") from None


def load_rankings(path: Path) -> np.ndarray:
    """[6, 468] landmark indices, most important first, in EMOTIONS order."""
    return _rankings_of(_document(path, "attribute"), path)


def load_method_rankings(path: Path, methods: list[str]) -> dict[str, np.ndarray]:
    """{method: [6, 468]} for the given methods, each of which the file must hold."""
    doc = _document(path, "rivals")
    missing = [m for m in methods if m not in doc]
    if missing:
        raise EmoError(f"{path} has no ranking by {missing[0]}; add it to rivals.methods and run `dvc repro rivals`.")
    return {m: _rankings_of(doc[m], path) for m in methods}
