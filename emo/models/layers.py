"""The network's own Keras layers (backend-agnostic: keras.ops only).

Importing this module registers them, so that saved `.keras` models load under either
backend; `emo.models.model.load_model` does that.
"""

from __future__ import annotations

import keras
from keras import ops


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


@keras.saving.register_keras_serializable(package="emo")
class FrameConvolution(keras.layers.Layer):
    """The paper's per-frame 2D convolution over (x/y, landmarks), F filters, valid padding,
    ReLU: what Conv3D with kernel (1, kh, kw) computes on [N, P, 2, L, 1], with Conv3D's
    weight shapes and initialisation, as one matrix product of the kh x kw patches.

    With kernel (2, 1) each output is relu(w0 x + w1 y + b) of one landmark. Measured on one
    core (XLA, demo size): a training step's pass through Conv3D took 4.6 ms, this layer's
    1.0 ms; IG's input gradient for 256 path points 106 ms and 34 ms. (A hand-written
    gradient was faster alone but slowed the whole training step: 0.12 -> 0.18 s/epoch.)
    """

    def __init__(self, filters: int, kernel: tuple[int, int], seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.seed = filters, tuple(kernel), seed

    def build(self, input_shape):
        kh, kw = self.kernel_size
        self.kernel = self.add_weight(shape=(1, kh, kw, 1, self.filters), name="kernel",
                                      initializer=keras.initializers.GlorotUniform(self.seed))
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros")

    def call(self, x):
        kh, kw = self.kernel_size
        height, width = x.shape[2] - kh + 1, x.shape[3] - kw + 1
        patches = ops.stack([x[:, :, a : a + height, b : b + width, 0] for a in range(kh) for b in range(kw)],
                            axis=-1)  # [N, P, H, W, kh * kw]
        return ops.relu(ops.matmul(patches, ops.reshape(self.kernel, (kh * kw, self.filters))) + self.bias)

    def compute_output_shape(self, input_shape):
        kh, kw = self.kernel_size
        return (*input_shape[:2], input_shape[2] - kh + 1, input_shape[3] - kw + 1, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel": list(self.kernel_size), "seed": self.seed}


@keras.saving.register_keras_serializable(package="emo")
class LSTM(keras.layers.Layer):
    """keras.layers.LSTM(units) as the paper uses it (last output; tanh, sigmoid gates in the
    order i, f, c, o; forget-gate bias 1; Glorot input and orthogonal recurrent weights),
    with the input projection done once for all frames.

    The input projection (F x L inputs to 4Q gates) is almost all of the model's work.
    Keras' LSTM multiplies each frame's 16 samples separately inside its time loop; here one
    matrix product covers all P frames (measured on one core, gradient of the paper-size
    LSTM, L = 468: 135 -> 53 ms a batch). Only the small recurrent product stays in the loop.
    """

    def __init__(self, units: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.seed = seed  # the input weights' seed; the recurrent weights' is seed + 1

    def build(self, input_shape):
        q, seed = self.units, self.seed
        self.kernel = self.add_weight(shape=(input_shape[-1], 4 * q), name="kernel",
                                      initializer=keras.initializers.GlorotUniform(seed))
        self.recurrent_kernel = self.add_weight(
            shape=(q, 4 * q), name="recurrent_kernel",
            initializer=keras.initializers.Orthogonal(seed=None if seed is None else seed + 1))
        self.bias = self.add_weight(
            shape=(4 * q,), name="bias",
            initializer=lambda shape, dtype=None: ops.concatenate(
                [ops.zeros((q,), dtype), ops.ones((q,), dtype), ops.zeros((2 * q,), dtype)]))

    def call(self, x):
        z = ops.matmul(x, self.kernel) + self.bias  # [N, P, 4Q] in one product
        h = c = ops.zeros((ops.shape(x)[0], self.units), dtype=x.dtype)
        for t in range(x.shape[1]):  # P is static and small: unrolled
            i, f, g, o = ops.split(z[:, t] + ops.matmul(h, self.recurrent_kernel), 4, axis=-1)
            c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
            h = ops.sigmoid(o) * ops.tanh(c)
        return h

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "seed": self.seed}
