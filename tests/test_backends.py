"""Both Keras backends: the model, trainer (batched: one at a time under TensorFlow) and IG
tests under the one the rest of the suite does not use, and models saved under one backend
loaded under the other."""

import os
import sys

import numpy as np
import pytest

from emo.models.backend import BACKENDS
from tests.support import BACKEND, REPO, run

pytestmark = pytest.mark.slow
OTHER = next(b for b in BACKENDS if b != BACKEND)


def _python(*args, backend=None):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if backend:
        env["EMO_TEST_BACKEND"] = backend
    return run([sys.executable, *args], env=env).stdout


def test_model_trainer_and_attribution_tests_pass_under_the_other_backend():
    out = _python("-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "tests/test_model.py",
                  "tests/test_batched_training.py", "tests/test_attribution.py", "tests/test_global_attribution.py",
                  backend=OTHER)
    assert " passed" in out and " failed" not in out


def test_a_model_saved_under_either_backend_predicts_the_same_under_both(tmp_path):
    first, second = BACKENDS
    _python("-m", "tests.backend_helper", first, str(tmp_path), "train")  # and loads its own model
    _python("-m", "tests.backend_helper", second, str(tmp_path), "train")  # and loads both
    _python("-m", "tests.backend_helper", first, str(tmp_path))  # loads both
    for saved_under in BACKENDS:
        trained = np.load(tmp_path / f"saved_under_{saved_under}.trained.npy")
        for backend in BACKENDS:
            loaded = np.load(tmp_path / f"saved_under_{saved_under}.loaded_under_{backend}.npy")
            np.testing.assert_allclose(loaded, trained, atol=1e-5, err_msg=f"saved under {saved_under}, "
                                                                            f"loaded under {backend}")
