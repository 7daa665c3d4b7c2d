"""Datasets and their landmarks: the layouts a dataset comes in (CK+, a folder per emotion, the
embedded demo), its videos, the face model and landmarker, the landmark tensor and its splits."""
