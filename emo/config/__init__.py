"""params.yaml loaded into typed, validated objects: the package's public face.

- emo.config.parsing: the YAML-to-dataclass parser (load_params, parse_params) and renamed keys;
- emo.config.params: Params, the whole file, and the checks across its sections;
- emo.config.data_sections, emo.config.model_sections: the sections and their own checks;
- emo.config.bounds: the bounds on values and the checks that apply them;
- emo.config.folders: the folders emo replaces, kept apart from everything else;
- emo.config.reads: the params-read log behind dvc.yaml's params lists.
"""

from emo.config.bounds import KeyName
from emo.config.data_sections import (DataParams, DemoParams, DemoRecordingsParams, EvaluateParams, EvaluationDataset,
                                      ExtractParams, HeldoutDemoParams, Recordings, SplitParams, TimelineParams)
from emo.config.folders import replaced_folders
from emo.config.model_sections import (AttributeParams, BaselineParams, ModelParams, RetrainParams, RivalParams,
                                       TrainParams, TrainTimelineParams, TuneParams)
from emo.config.params import UNTRACKED, Params
from emo.config.parsing import PARAMS_FILE, load_params, parse_params
from emo.config.reads import field_values, log_reads

__all__ = [
    "AttributeParams", "BaselineParams", "DataParams", "DemoParams", "DemoRecordingsParams", "EvaluateParams",
    "EvaluationDataset", "ExtractParams", "HeldoutDemoParams", "KeyName", "ModelParams", "PARAMS_FILE", "Params",
    "Recordings", "RetrainParams", "RivalParams", "SplitParams", "TimelineParams", "TrainParams",
    "TrainTimelineParams", "TuneParams", "UNTRACKED", "field_values", "load_params", "log_reads", "parse_params", "replaced_folders",
]
