"""The paper's network: one binary classifier per emotion over a landmark video.

Input N x P x 2 x L x 1 (P frames, x/y, L landmarks). Per frame a 2D convolution with F
filters and ReLU (the same weights for every frame), batch normalisation, flatten, one LSTM
with Q units, dropout, a dense layer of R neurons, and a 2-way softmax; Adam and binary
cross-entropy. T-EMO trains everything; R-EMO keeps the convolution at its seeded random
initialisation, frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from emo.config import ModelParams

Variant = Literal["temo", "remo"]
VARIANTS: tuple[str, ...] = ("temo", "remo")


@dataclass(frozen=True)
class Architecture:
    filters: int  # F
    units: int  # Q
    neurons: int  # R

    def as_dict(self) -> dict[str, int]:
        return {"filters": self.filters, "units": self.units, "neurons": self.neurons}


def build_model(
    frames: int,
    landmarks: int,
    arch: Architecture,
    variant: Variant,
    params: ModelParams,
    learning_rate: float = 1e-4,
    seed: int = 0,
) -> "keras.Model":
    """The compiled binary classifier; input [N, frames, 2, landmarks, 1] landmark coordinates.
    Every random initial weight and the dropout draws come from `seed` alone."""
    import keras

    from emo.models.layers import LSTM, FrameConvolution, FrameDisplacement

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; use one of {VARIANTS}")
    inputs = keras.Input((frames, 2, landmarks, 1), name="landmarks")
    x = FrameDisplacement(name="displacement")(inputs) if params.input == "displacement" else inputs
    x = FrameConvolution(arch.filters, params.kernel, seed=seed, trainable=variant == "temo", name="conv")(x)
    x = keras.layers.BatchNormalization(name="batch_norm")(x)
    x = keras.layers.Reshape((frames, -1), name="flatten")(x)
    x = LSTM(arch.units, seed=seed + 1, name="lstm")(x)
    x = keras.layers.Dropout(params.dropout, seed=seed, name="dropout")(x)
    x = keras.layers.Dense(arch.neurons, activation=params.fc1_activation,
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 3), name="fc1")(x)
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 4),
                                 name="fc2")(x)
    model = keras.Model(inputs, outputs, name=f"{variant}_L{landmarks}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    return model


def save_model(model, path: str | Path) -> None:
    """model.save, but the same model gives the same bytes: Keras stamps the save time into
    metadata.json and the weights' zip entry, which would make DVC see a new model (and rerun
    every stage that reads it) after a rerun with identical weights."""
    import json
    import zipfile

    path = Path(path)
    tmp = path.with_name(f".{path.stem}.saving.keras")
    model.save(tmp)
    with zipfile.ZipFile(tmp) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "metadata.json":
                metadata = json.loads(data)
                metadata.pop("date_saved", None)
                data = json.dumps(metadata).encode()
            target.writestr(zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0)), data,
                            compress_type=item.compress_type)
    tmp.unlink()


def load_model(path: str | Path):
    """A saved model, under whichever backend this process uses."""
    import keras

    import emo.models.layers  # noqa: F401  (registers the custom layers)

    return keras.models.load_model(path, compile=False)  # for inference: no optimizer state


def model_weights(model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A model's (trainable, non-trainable) variable values: the state that the compiled
    training and attribution functions take as an argument."""
    return [np.asarray(v) for v in model.trainable_variables], [np.asarray(v) for v in model.non_trainable_variables]


def set_model_weights(model, weights: tuple) -> None:
    for variables, values in zip((model.trainable_variables, model.non_trainable_variables), weights[:2]):
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
