"""The stage layer: one module per DVC stage, named after it, each with a `run` that takes
the params sections it reads (by their names: `data`, `extract`, ...), opens its MLflow
parent run, calls domain code and writes its outputs (emo.artifacts) atomically.

Each module also declares INPUTS and OUTPUTS, the artifacts its stage reads and writes;
tests/test_dvc_yaml.py holds dvc.yaml's deps, params and outs to them.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import sys
from pathlib import Path
from types import ModuleType

from emo.config import Params, field_values, load_params, log_reads
from emo.console import native_logs_hidden, user_errors_reported
from emo.environment import EMO_VERBOSE
from emo.files import stage_outputs
from emo.models.backend import use_backend


def pipeline_params(path: str | Path = "params.yaml") -> Params:
    """The validated params, with Keras' backend (train.backend) chosen before anything imports Keras."""
    params = load_params(path)
    # Not logged as a read of every stage: the stages that run Keras models list train.backend
    # (tests/test_dvc_yaml.py adds it to those whose code imports the model).
    use_backend(field_values(params.train)["backend"])
    return params


def stage_name(stage: ModuleType) -> str:
    return stage.__name__.rsplit(".", 1)[-1]


def params_sections(runner, params: Params) -> dict:
    """The params sections a runner takes, by its parameters' names."""
    wanted = inspect.signature(runner).parameters
    return {name: getattr(params, name) for name in wanted if name in Params.__dataclass_fields__}


def run_stage(stage: ModuleType, *args: str, params_file: str | Path = "params.yaml") -> None:
    """Load and validate params (before TensorFlow, JAX or MediaPipe is imported) and run the
    stage's `run` with the sections it names, its native log lines hidden (EMO_VERBOSE=1
    shows them), its outputs written as one set (emo.files.stage_outputs: a failed or
    interrupted run leaves the old ones, a complete run a manifest that readers check); a user
    error becomes one line on stderr and exit status 2."""

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    # DVC and schedulers stop a stage with SIGTERM: unwind as for Ctrl-C, so that temporary
    # outputs are removed and worker processes stopped.
    signal.signal(signal.SIGTERM, interrupted)
    log_reads(stage_name(stage))
    quiet = contextlib.nullcontext() if os.environ.get(EMO_VERBOSE) == "1" else native_logs_hidden()
    try:
        with user_errors_reported():
            params = pipeline_params(params_file)
            # A foreach stage's name in dvc.yaml: evaluate@NAME.
            with quiet, stage_outputs("@".join((stage_name(stage), *args))):
                stage.run(*args, **params_sections(stage.run, params))
    except KeyboardInterrupt:
        print("interrupted; no output was left half-written", file=sys.stderr)
        sys.exit(130)
