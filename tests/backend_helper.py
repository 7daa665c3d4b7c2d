"""Train and save, or load and predict, under one Keras backend, for test_backends.py.

    python -m tests.backend_helper train BACKEND MODEL.keras PROBABILITIES.npy
    python -m tests.backend_helper load BACKEND MODEL.keras PROBABILITIES.npy
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np

from emo.models.backend import use_backend


def main(action: str, backend: str, model_file: str, out_file: str) -> None:
    use_backend(backend)
    from emo.config import load_params
    from emo.models.model import Architecture, load_model
    from emo.models.training import fit_binary, model_input
    from tests.synthetic import planted_landmarks

    X, y, _ = planted_landmarks(subjects=4, frames=4)
    X = model_input(X, np.arange(8, 24))
    if action == "train":
        params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
        train = dataclasses.replace(params.train, epochs=3, learning_rate=0.01)
        model = fit_binary(X[:16], y[:16] == 2, X[16:], y[16:] == 2, Architecture(3, 4, 4), "temo", 0, params.model,
                           train).model
        model.save(model_file)
    else:
        model = load_model(model_file)
    np.save(out_file, np.asarray(model(X, training=False))[:, 1])


if __name__ == "__main__":
    main(*sys.argv[1:])
