"""emo: explainable facial-emotion recognition from face-mesh landmark videos."""

from emo.environment import quiet_native_logs

# emo's only environment writes at import (see emo/environment.py): before TensorFlow or
# MediaPipe can print their C++ banners.
quiet_native_logs()

__version__ = "0.1.0"

# The points of MediaPipe's face mesh (its 10 iris points left out): the landmark tensor's last
# axis everywhere. Here, at the root, so that params validation (emo.config) can use it too.
N_LANDMARKS = 468

# The Python APIs of `emo predict` and `emo timeline`, imported on first use: `import emo` stays
# cheap (the models' stack takes seconds to import).
_API = {"Predictor": "emo.predict", "predict_videos": "emo.predict", "ClipWarning": "emo.predict",
        "StartsAtPeakWarning": "emo.predict", "LongRecordingWarning": "emo.predict", "COLUMNS": "emo.predict",
        "timeline": "emo.timeline_api"}
__all__ = ["N_LANDMARKS", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'emo' has no attribute {name!r}")
