"""Train and save, and load and predict, under one Keras backend, for test_backends.py.

    python -m tests.backend_helper BACKEND FOLDER [train]

With `train`, trains a model and saves it as FOLDER/saved_under_BACKEND.keras (its own
probabilities beside it); then loads every saved_under_*.keras in FOLDER and writes each one's
probabilities under this backend as FOLDER/<model>.loaded_under_BACKEND.npy. One process per
backend and step: three runs check both ways (train jax, train tensorflow, load under jax again).
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np

from emo.models.backend import use_backend


def main(backend: str, folder: str, *train: str) -> None:
    use_backend(backend)
    from emo.config import load_params
    from emo.models.model import Architecture, load_model
    from emo.models.training import fit_binary, model_input
    from tests.synthetic import planted_landmarks

    X, y, _ = planted_landmarks(subjects=4, frames=4)
    X = model_input(X, np.arange(8, 24))
    out = Path(folder)
    if train:
        params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
        settings = dataclasses.replace(params.train, epochs=3, learning_rate=0.01)
        model = fit_binary(X[:16], y[:16] == 2, X[16:], y[16:] == 2, Architecture(3, 4, 4), "temo", 0, params.model,
                           settings).model
        model.save(out / f"saved_under_{backend}.keras")
        np.save(out / f"saved_under_{backend}.trained.npy", np.asarray(model(X, training=False))[:, 1])
    for saved in sorted(out.glob("saved_under_*.keras")):
        model = load_model(saved)
        np.save(out / f"{saved.stem}.loaded_under_{backend}.npy", np.asarray(model(X, training=False))[:, 1])


if __name__ == "__main__":
    main(*sys.argv[1:])
