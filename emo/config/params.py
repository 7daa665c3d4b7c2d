"""Params: the whole params file, one typed section per stage group, and the checks on keys
that must fit together across sections."""

from __future__ import annotations

from dataclasses import dataclass

from emo.config.bounds import KeyName
from emo.config.data_sections import (DataParams, DemoParams, EvaluateParams, ExtractParams, SplitParams,
                                      TimelineParams)
from emo.config.folders import check_replaced_folders, from_project
from emo.config.model_sections import (AttributeParams, BaselineParams, ModelParams, RetrainParams, RivalParams,
                                       TrainParams, TrainTimelineParams, TuneParams)
from emo.errors import ConfigError

# Keys that change how fast or where a stage works, never a number it writes: no DVC stage
# lists them, so editing them reruns nothing.
UNTRACKED = frozenset({"demo.workers", "extract.workers", "train.workers", "train.budget_mb", "attribute.budget_mb",
                       "tune.directory", "timeline.workers"})


@dataclass(frozen=True)
class Params:
    data: DataParams
    demo: DemoParams
    extract: ExtractParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    tune: TuneParams
    attribute: AttributeParams
    retrain_k: RetrainParams
    rivals: RivalParams
    baselines: BaselineParams
    evaluate: EvaluateParams
    train_timeline: TrainTimelineParams
    timeline: TimelineParams

    def check(self, key: KeyName) -> None:
        missing = [m for m in self.retrain_k.rankings[1:] if m not in self.rivals.methods]
        if missing:
            raise ConfigError(f"{key('retrain_k.rankings')} holds {missing[0]}, which rivals.methods does not "
                              "compute; add it there or remove it here.")
        # The convolution slides over the landmarks with no padding: a kernel wider than a
        # model's landmark count leaves nothing to convolve (retrain_k's smallest K fails).
        if self.model.kernel[1] > min(self.retrain_k.ks):
            raise ConfigError(f"{key('model.kernel')} is {list(self.model.kernel)}, wider than the smallest of "
                              f"retrain_k.ks ({min(self.retrain_k.ks)} landmarks); lower the kernel's second size "
                              "or drop the smaller K.")
        # attribute would silently average over fewer T-EMO models than asked for.
        if self.attribute.models != "all" and self.attribute.models > len(self.split.seeds):
            raise ConfigError(f"{key('attribute.models')} is {self.attribute.models}, but split.seeds gives only "
                              f"{len(self.split.seeds)} partitions (one T-EMO model each); lower it or write all.")
        # extract would skip the demo's sequences shorter than min_frames (demo_data makes them
        # from demo.frames) and stop only when too many are gone.
        read = {from_project(self.data.root)} | {from_project(d.root) for d in self.evaluate.datasets.values()}
        if self.extract.min_frames > self.demo.frames[0] and read & {from_project(self.demo.out),
                                                                     from_project(self.demo.heldout.out)}:
            raise ConfigError(f"{key('extract.min_frames')} is {self.extract.min_frames}, above the shortest demo "
                              f"sequence (demo.frames: {list(self.demo.frames)}), so extract would skip demo "
                              "sequences; lower it or raise demo.frames.")
        check_replaced_folders(self.data, self.demo, self.tune, key)
