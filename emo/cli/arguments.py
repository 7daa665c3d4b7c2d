"""What several `emo` commands take: argument types that answer a bad value in one sentence, and
the options that choose the models (predict, explain, timeline)."""

from __future__ import annotations

import argparse

from emo.data.mesh import N_LANDMARKS
from emo.models.model import VARIANTS
from emo.video.clips import Moment


def moment_option(unit: str):
    def parse(text: str) -> Moment:
        try:
            start, end = (float(v) for v in text.split(":"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"give START:END, e.g. 12.5:14 (not {text!r})") from None
        if not 0 <= start < end:
            raise argparse.ArgumentTypeError(f"START must be at least 0 and below END ({text!r})")
        return Moment(start, end, unit)

    return parse


def at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a whole number of at least 1 (not {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (not {value})")
    return value


def landmark_count(name: str):
    def parse(text: str) -> int:
        value = int(text)
        if not 1 <= value <= N_LANDMARKS:
            raise argparse.ArgumentTypeError(f"{name} must lie between 1 and {N_LANDMARKS}")
        return value

    return parse


def model_options() -> argparse.ArgumentParser:
    """The parent parser of the commands that run the models: which models, and how loudly."""
    models = argparse.ArgumentParser(add_help=False)
    models.add_argument("--k", type=landmark_count("K"), default=None, metavar="K",
                        help="landmarks per model: one of the pipeline's K (468 = train_full); default: each "
                             "emotion's K with the lowest validation loss")
    models.add_argument("--variant", choices=VARIANTS, default="temo", help="T-EMO (default) or R-EMO models")
    models.add_argument("--params", default="params.yaml", help="params file the pipeline ran with")
    models.add_argument("--timing", action="store_true",
                        help="print milliseconds per video: decode, landmarks, model, IG")
    models.add_argument("--verbose", action="store_true", help="also show TensorFlow's and MediaPipe's own log lines")
    return models
