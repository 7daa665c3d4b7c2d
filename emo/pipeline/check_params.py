"""Stage check_params: the whole params file, checked before any stage runs.

DVC deletes a stage's outputs before running its command, so a stage that finds a bad value
itself has already lost its previous outputs. Every other stage depends on this stage's
output, and DVC runs it first: run_stage has validated every key before `run` is called;
`run` adds the checks that look at the disk (a folder emo would replace but did not make).
Its output's content is constant, so a valid edit reruns only the stages that read the key.
"""

from __future__ import annotations

from emo import artifacts
from emo.config import DemoParams, TuneParams, replaced_folders
from emo.errors import ConfigError, EmoError
from emo.files import check_replaceable, write_json

INPUTS = ()
OUTPUTS = (artifacts.PARAMS_CHECK,)


def run(demo: DemoParams, tune: TuneParams) -> None:
    for key, folder in replaced_folders(demo, tune).items():
        try:
            check_replaceable(folder)
        except EmoError as e:
            raise ConfigError(f"params.yaml: {key}: {e}") from None
    write_json(artifacts.PARAMS_CHECK, {"params.yaml": "valid"})
