"""Every environment variable emo reads or writes, in one list: its name, who reads it, its
default and what it does. Modules take emo's own names from here; tests/test_environment.py
checks that every variable emo/ touches is listed, tests/test_docs.py that the README's table
is this list.

The only writes at import time are `quiet_native_logs` (called once, by emo/__init__.py):
TensorFlow and MediaPipe print C++ banners at start-up before any of our code could silence them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    read_by: str
    default: str
    does: str


EMO_VERBOSE = "EMO_VERBOSE"
EMO_PARAMS_READS = "EMO_PARAMS_READS"
EMO_PARAMS_READS_FILE = "EMO_PARAMS_READS_FILE"
EMO_FACE_MODEL = "EMO_FACE_MODEL"
EMO_TRIAL_TIMEOUT_S = "EMO_TRIAL_TIMEOUT_S"
KERASTUNER_TUNER_ID = "KERASTUNER_TUNER_ID"
KERASTUNER_ORACLE_IP = "KERASTUNER_ORACLE_IP"
KERASTUNER_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
MLFLOW_TRACKING_URI = "MLFLOW_TRACKING_URI"
DVC_EXP_NAME = "DVC_EXP_NAME"
KERAS_BACKEND = "KERAS_BACKEND"
XLA_FLAGS = "XLA_FLAGS"

# The project's default Keras backend (train.backend's default): what a process that has not
# chosen one yet is taken to run.
DEFAULT_BACKEND = "jax"

VARIABLES = (
    Variable(EMO_VERBOSE, "emo.pipeline (run_stage)", "unset",
             "1 shows TensorFlow's, JAX's and MediaPipe's native log lines, which stages hide by default"),
    Variable(EMO_PARAMS_READS, "emo.config.reads", "unset",
             "a folder: every stage process logs the params keys it reads there (tests/test_dvc_yaml.py "
             "holds dvc.yaml's params lists to them)"),
    Variable(EMO_PARAMS_READS_FILE, "emo.config.reads", "set by emo",
             "the log file of the stage being run, set for the stage's worker processes"),
    Variable(EMO_FACE_MODEL, "emo.data.face_model", "extract.face_model",
             "a face_landmarker.task to use instead of the one the face_model stage fetched"),
    Variable(EMO_TRIAL_TIMEOUT_S, "emo.models.oracles", "21600 (6 h)",
             "seconds a distributed chief gives a worker to finish a trial before handing it out again"),
    Variable(KERASTUNER_TUNER_ID, "keras_tuner, emo tune-worker", "unset (one process)",
             "chief, or tunerN for a worker: Keras Tuner's distributed mode"),
    Variable(KERASTUNER_ORACLE_IP, "keras_tuner, emo.models.oracles", "unset",
             "the chief's address that workers reach"),
    Variable(KERASTUNER_ORACLE_PORT, "keras_tuner, emo.models.oracles", "unset", "the chief's port"),
    Variable(MLFLOW_TRACKING_URI, "emo.tracking, mlflow", "sqlite:///mlflow.db",
             "the MLflow store or server every stage logs to"),
    Variable(DVC_EXP_NAME, "emo.tracking", "set by dvc exp run",
             "the experiment's name, logged as the dvc_exp tag of every stage's run"),
    Variable(KERAS_BACKEND, "keras, emo.tracking", f"{DEFAULT_BACKEND} (train.backend)",
             "set by emo from train.backend before Keras is imported"),
    Variable(XLA_FLAGS, "jax", "unset",
             "emo adds one-thread flags for processes that train one model per core"),
    Variable("XDG_CACHE_HOME", "emo.models.backend", "~/.cache", "where the JAX compilation cache goes"),
    Variable("JAX_COMPILATION_CACHE_DIR", "jax", "$XDG_CACHE_HOME/emo/jax (set by emo where unset)",
             "compiled training steps cached on disk across processes and stages"),
    Variable("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "jax", "0 (set by emo where unset)",
             "every compiled step is cached, however quick its compilation"),
    Variable("XLA_PYTHON_CLIENT_PREALLOCATE", "jax", "false (set by emo where unset)",
             "GPU memory taken as needed, not all at once"),
    Variable("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "mlflow", "5 (set by emo where unset)",
             "retries of a call to a tracking server that stops answering"),
    Variable("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "mlflow", "1 (set by emo where unset)",
             "the back-off between those retries"),
    Variable("MLFLOW_HTTP_REQUEST_TIMEOUT", "mlflow", "60 (set by emo where unset)",
             "seconds one call to the tracking server may take"),
    Variable("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "mlflow", "false in the register stage",
             "MLflow's progress bar per file it copies, off where the stage shows its own"),
    Variable("TF_CPP_MIN_LOG_LEVEL", "tensorflow", "3 (set by emo where unset)", "TensorFlow's C++ log level"),
    Variable("GLOG_minloglevel", "mediapipe", "2 (set by emo where unset)", "MediaPipe's C++ log level"),
)


def quiet_native_logs() -> None:
    """Keep TensorFlow's and MediaPipe's C++ start-up banners off the console; a value the user
    set wins."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GLOG_minloglevel", "2")
