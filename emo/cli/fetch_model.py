"""`emo fetch-model`: MediaPipe's face model, fetched into models/ and checked."""

from __future__ import annotations

import argparse

from emo.data.face_model import managed_face_model


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("fetch-model", help="fetch face_landmarker.task into models/ (checks its sha256)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    print(managed_face_model())
