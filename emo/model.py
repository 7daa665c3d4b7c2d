"""The paper's network: one binary classifier per emotion over a landmark video.

Input N x P x 2 x L x 1 (P frames, x/y, L landmarks). Per frame a 2D convolution with F
filters and ReLU (the same weights for every frame), batch normalisation, flatten, one LSTM
with Q units, dropout, a dense layer of R neurons, and a 2-way softmax; Adam and binary
cross-entropy. T-EMO trains everything; R-EMO keeps the convolution at its seeded random
initialisation, frozen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras

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


@keras.saving.register_keras_serializable(package="emo")
class FrameDisplacement(keras.layers.Layer):
    """Each frame's landmarks minus the first frame's, times `scale`.

    CK+ videos start at the neutral face, so this is the expression's motion. Coordinates
    are fractions of the face box; motion is about 0.01 of it, below batch normalisation's
    epsilon in variance, so it is expressed in percent (scale 100).
    """

    def __init__(self, scale: float = 100.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        return (x - x[:, :1]) * self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def build_model(
    frames: int,
    landmarks: int,
    arch: Architecture,
    variant: Variant,
    params: ModelParams,
    learning_rate: float = 1e-4,
    seed: int = 0,
) -> keras.Model:
    """The compiled binary classifier; input [N, frames, 2, landmarks, 1] landmark coordinates."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; use one of {VARIANTS}")
    inputs = keras.Input((frames, 2, landmarks, 1), name="landmarks")
    x = FrameDisplacement(name="displacement")(inputs) if params.input == "displacement" else inputs
    # A (1, kh, kw) 3D convolution is the per-frame 2D convolution shared across frames;
    # TimeDistributed(Conv2D) computes the same with more per-step overhead on CPU.
    x = keras.layers.Conv3D(
        arch.filters,
        (1, *params.kernel),
        activation="relu",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        trainable=variant == "temo",
        name="conv",
    )(x)
    x = keras.layers.BatchNormalization(name="batch_norm")(x)
    x = keras.layers.Reshape((frames, -1), name="flatten")(x)
    x = keras.layers.LSTM(arch.units, name="lstm")(x)
    x = keras.layers.Dropout(params.dropout, seed=seed, name="dropout")(x)
    x = keras.layers.Dense(arch.neurons, activation=params.fc1_activation, name="fc1")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="fc2")(x)
    model = keras.Model(inputs, outputs, name=f"{variant}_L{landmarks}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    return model
