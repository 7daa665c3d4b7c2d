"""The six emotions: their order, names and CK+ codes. Defined here and nowhere else."""

from __future__ import annotations

# Index order of every label array, model and table in the project.
EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")

# CK+ Emotion/*.txt codes.
CKPLUS_CODES: dict[int, str] = {
    0: "neutral",
    1: "anger",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happiness",
    6: "sadness",
    7: "surprise",
}
# Present in CK+ but not among the six classes (the paper drops contempt: too few videos).
EXCLUDED = ("neutral", "contempt")

# A moment is named by its expression from this share of the expression's peak on (the demo
# recordings' per-frame truth, and the windows the timeline's models train on).
LABELLED_FROM = 0.5

# Folder names a generic dataset may use for each emotion.
ALIASES: dict[str, str] = {
    "anger": "anger", "angry": "anger",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happiness": "happiness", "happy": "happiness", "joy": "happiness",
    "sadness": "sadness", "sad": "sadness",
    "surprise": "surprise", "surprised": "surprise",
    "contempt": "contempt", "neutral": "neutral",
}
