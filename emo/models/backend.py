"""The Keras backend (JAX or TensorFlow): chosen per process, before Keras is imported.

Models, training and Integrated Gradients are written against Keras 3 alone; this module
holds the little that Keras lacks: a gradient of a function with respect to its first
argument (`jax.value_and_grad` / `tf.GradientTape`), compiling a pure function
(`jax.jit` / `tf.function`), and each runtime's threading and determinism switches.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from emo.environment import KERAS_BACKEND, XLA_FLAGS

BACKENDS = ("jax", "tensorflow")

# One XLA CPU thread: with one training process per core, more threads only compete.
_XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def use_backend(name: str, single_threaded: bool = False) -> None:
    """Make Keras use backend `name` in this process and in the processes it spawns.

    Must run before Keras is first imported; `single_threaded` keeps the runtime to one
    core (set before the runtime starts, so also before the first import)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown Keras backend {name!r}; use one of {BACKENDS}")
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != name:
            raise RuntimeError(f"Keras was imported with the {keras.backend.backend()} backend before "
                               f"{name} was chosen; choose the backend first.")
    os.environ[KERAS_BACKEND] = name
    if name == "jax":
        # Compiled steps are cached on disk across processes and stages (a new shape costs
        # 5-10 s to compile); JAX's own environment variables override these.
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "emo", "jax")
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(cache))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        # Allocate GPU memory as needed, so that a process checking for a GPU does not take it all.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if single_threaded and name == "jax" and _XLA_SINGLE_THREAD not in os.environ.get(XLA_FLAGS, ""):
        os.environ[XLA_FLAGS] = f"{os.environ.get(XLA_FLAGS, '')} {_XLA_SINGLE_THREAD}".strip()


def configure(single_threaded: bool) -> None:
    """The runtime's switches, once per process after `use_backend`: TensorFlow's op
    determinism (same seed, same numbers), its thread pools, and GPU memory growth. XLA on
    CPU (JAX) is deterministic as it is; its threads are set by `use_backend`."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    if single_threaded:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    tf.config.experimental.enable_op_determinism()


def gpu_visible() -> bool:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def value_and_gradient(fn: Callable) -> Callable:
    """fn(x, *rest) -> (value, aux) with a scalar value, to
    g(x, *rest) -> ((value, aux), d value / d x); x may be a list of arrays."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.value_and_grad(fn, has_aux=True)
    import tensorflow as tf

    def with_gradient(x, *rest):
        x = tf.nest.map_structure(tf.convert_to_tensor, x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value, aux = fn(x, *rest)
        return (value, aux), tape.gradient(value, x)

    return with_gradient


def batching_models() -> bool:
    """Whether many models of one shape can train in one compiled call (`over_models`)."""
    import keras

    return keras.backend.backend() == "jax"


def over_models(fn: Callable) -> Callable:
    """fn over a leading model axis of every argument (`jax.vmap`); JAX only (`batching_models`).
    TensorFlow's vectorized_map would need fn's loops rewritten as its own, so under
    TensorFlow models train one at a time."""
    import jax

    return jax.vmap(fn)


def compiled(fn: Callable) -> Callable:
    """fn, traced and compiled once per input shape (XLA under JAX, a graph under TensorFlow)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    import tensorflow as tf

    return tf.function(fn, reduce_retracing=True)
