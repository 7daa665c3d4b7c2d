"""params.yaml loaded into typed, validated objects.

Every key must be present and known: the committed profiles list them all, so a
misspelt key is caught instead of silently falling back to a default. Each problem
stops with one sentence that names the key and says what to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import types
import typing
from dataclasses import dataclass, fields
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import yaml

from emo import N_LANDMARKS
from emo.errors import ConfigError

PARAMS_FILE = Path("params.yaml")

# Keys that change how fast or where a stage works, never a number it writes: no DVC stage
# lists them, so editing them reruns nothing.
UNTRACKED = frozenset({"demo.workers", "extract.workers", "train.workers", "attribute.budget_mb", "tune.directory",
                       "timeline.workers"})

# When EMO_PARAMS_READS names a folder, every stage process (and its workers) appends each
# params key it reads, once, to <folder>/<stage>.txt: the test that keeps dvc.yaml's params
# lists equal to what each stage reads (tests/test_dvc_yaml.py) runs the smoke pipeline so.
READS_FOLDER, READS_FILE = "EMO_PARAMS_READS", "EMO_PARAMS_READS_FILE"
_read: set[str] = set()
_unlogged = 0  # > 0 while reads are no stage's: validation, hashing, comparing, printing


class Section:
    """A params section: a frozen dataclass that knows its key (e.g. 'extract') and logs
    which of its keys a stage reads (see READS_FOLDER)."""

    _key = ""  # set by load_params; a copy made with dataclasses.replace logs nothing

    def __getattribute__(self, name: str):
        value = object.__getattribute__(self, name)
        if not name.startswith("_") and name in type(self).__dataclass_fields__:
            key = object.__getattribute__(self, "_key")
            if key:
                _log_read(f"{key}.{name}")
        return value


def _log_read(key: str) -> None:
    log = os.environ.get(READS_FILE)
    if log and not _unlogged and key not in _read:
        _read.add(key)
        with open(log, "a") as f:
            f.write(key + "\n")


@contextlib.contextmanager
def reads_unlogged() -> Iterator[None]:
    global _unlogged
    _unlogged += 1
    try:
        yield
    finally:
        _unlogged -= 1


def _without_logging(method: Callable) -> Callable:
    @functools.wraps(method)
    def unlogged(*args, **kwargs):
        with reads_unlogged():
            return method(*args, **kwargs)

    return unlogged


def log_reads(stage: str) -> None:
    """Log this process's params reads (and its workers') as `stage`'s, when EMO_PARAMS_READS is set."""
    folder = os.environ.get(READS_FOLDER)
    if folder:
        log = Path(folder) / f"{stage}.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()  # a stage that reads no key leaves an empty log: it ran
        os.environ[READS_FILE] = str(log)


def field_values(section) -> dict[str, Any]:
    """A section's fields by name, without logging them as read (e.g. for MLflow's params)."""
    return {name: vars(section)[name] for name in type(section).__dataclass_fields__}

# Turns a field name into the full key for messages, e.g. "params.yaml: extract.frames".
KeyName = typing.Callable[[str], str]


@dataclass(frozen=True)
class DataParams(Section):
    root: Path
    """Dataset folder: CK+ (holding cohn-kanade-images/ and Emotion/) or a folder layout."""
    layout: Literal["ckplus", "folder"]
    subject_pattern: str
    """Folder layout only: regex whose first group, applied to a video's name, is its subject."""

    def check(self, key: KeyName) -> None:
        import re

        try:
            pattern = re.compile(self.subject_pattern)
        except re.error as e:
            raise ConfigError(f"{key('subject_pattern')} is not a valid regular expression ({e}); fix it.") from None
        if pattern.groups < 1:
            raise ConfigError(f"{key('subject_pattern')} needs one capturing group (the subject), e.g. '^([^_]+)'.")


@dataclass(frozen=True)
class HeldoutDemoParams(Section):
    """A second demo set that no model trains on, for the evaluate stage: other identities,
    expression intensities and distractor action units than the main demo's."""

    out: Path
    seed: int
    subjects: int
    intensity: tuple[float, float]
    distractor: float

    def check(self, key: KeyName) -> None:
        _seed(self.seed, key("seed"))
        _within(self.subjects, key("subjects"), 1, MAX_SUBJECTS)
        _ordered_range(self.intensity, key("intensity"), 0.0, MAX_INTENSITY)
        _within(self.distractor, key("distractor"), 0, MAX_INTENSITY)


@dataclass(frozen=True)
class DemoRecordingsParams(Section):
    """Long synthetic recordings with per-frame truth (the timeline stage's default input): a
    person goes neutral, onset, apex held, offset, neutral, then the next emotion, with head
    motion, blinks, distractor action units and a stretch where the face leaves the frame."""

    out: Path
    subjects: int
    """Recordings of the main demo's identities (the models trained on these people)."""
    heldout_subjects: int
    """Recordings of the held-apart set's identities (no model saw these people)."""
    fps: float
    episodes: int
    """Expressions per recording, each emotion in turn (a seeded order)."""
    neutral_s: tuple[float, float]
    """Shortest and longest neutral stretch before each expression, seconds."""
    apex_s: tuple[float, float]
    """Shortest and longest hold of the expression's peak, seconds."""

    def check(self, key: KeyName) -> None:
        _non_negative(self.subjects, key("subjects"))
        _non_negative(self.heldout_subjects, key("heldout_subjects"))
        if self.subjects + self.heldout_subjects == 0:
            raise ConfigError(f"{key('subjects')} and heldout_subjects are both 0; give at least one recording.")
        _within(self.fps, key("fps"), 1, 120)
        _within(self.episodes, key("episodes"), 1, MAX_EPISODES)
        _ordered_range(self.neutral_s, key("neutral_s"), 0.5, MAX_STRETCH_S)
        _ordered_range(self.apex_s, key("apex_s"), 0.2, MAX_STRETCH_S)


@dataclass(frozen=True)
class DemoParams(Section):
    out: Path
    seed: int
    subjects: int
    frames: tuple[int, int]
    """Fewest and most frames of a sequence (CK+ has 10 to 60)."""
    intensity: tuple[float, float]
    """Range of a subject's expression intensity (1 = the action units' nominal size)."""
    distractor: float
    """Largest intensity of one unrelated action unit added to each sequence."""
    contempt: int
    unlabeled: int
    colour_fraction: float
    workers: int
    heldout: HeldoutDemoParams
    recordings: DemoRecordingsParams

    def check(self, key: KeyName) -> None:
        _seed(self.seed, key("seed"))
        _within(self.subjects, key("subjects"), 1, MAX_SUBJECTS)
        _ordered_range(self.frames, key("frames"), 2, MAX_FRAMES)
        _ordered_range(self.intensity, key("intensity"), 0.0, MAX_INTENSITY)
        _within(self.distractor, key("distractor"), 0, MAX_INTENSITY)
        _within(self.contempt, key("contempt"), 0, MAX_SUBJECTS)
        _within(self.unlabeled, key("unlabeled"), 0, MAX_SUBJECTS)
        _fraction(self.colour_fraction, key("colour_fraction"))
        _workers(self.workers, key("workers"))
        for name, count, available in (("recordings.subjects", self.recordings.subjects, self.subjects),
                                       ("recordings.heldout_subjects", self.recordings.heldout_subjects,
                                        self.heldout.subjects)):
            if count > available:
                raise ConfigError(f"{key(name)} is {count}, but that demo set has only {available} subjects; "
                                  "lower it or generate more.")


@dataclass(frozen=True)
class ExtractParams(Section):
    face_model: Path
    """face_landmarker.task; the default path is filled by the face_model stage."""
    frames: int
    """P: every sequence is resampled to this many frames."""
    crop_size: int
    box: Literal["sequence", "frame"]
    """'sequence': one face box per sequence, so landmarks move only with the face (ours);
    'frame': a box per frame, the paper's literal per-frame crop."""
    box_margin: float
    min_frames: int
    min_face_fraction: float
    max_skipped_fraction: float
    workers: int
    """Processes; 0 uses every core."""

    def check(self, key: KeyName) -> None:
        _within(self.frames, key("frames"), 2, MAX_FRAMES)
        _within(self.crop_size, key("crop_size"), 32, MAX_CROP)
        _fraction(self.box_margin, key("box_margin"), upper=1.0)
        _within(self.min_frames, key("min_frames"), 2, MAX_SEQUENCE_FRAMES)
        _fraction(self.min_face_fraction, key("min_face_fraction"))
        _fraction(self.max_skipped_fraction, key("max_skipped_fraction"))
        _workers(self.workers, key("workers"))


@dataclass(frozen=True)
class SplitParams(Section):
    seeds: list[int]
    """One train/validation/test partition per seed (the paper: 10)."""
    mode: Literal["subject", "random"]
    """'subject' keeps every person in one part (ours); 'random' is the paper's plain split."""
    test_fraction: float
    val_fraction: float

    def check(self, key: KeyName) -> None:
        if not self.seeds:
            raise ConfigError(f"{key('seeds')} is empty; give at least one seed, e.g. [0, 1, 2].")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"{key('seeds')} repeats a seed; each partition needs its own.")
        _count(self.seeds, key("seeds"), MAX_SEEDS)
        for seed in self.seeds:
            _seed(seed, key("seeds"))
        _fraction(self.test_fraction, key("test_fraction"), upper=0.5)
        _fraction(self.val_fraction, key("val_fraction"), upper=0.5)
        if self.test_fraction == 0 or self.val_fraction == 0:
            raise ConfigError(f"{key('test_fraction')} and val_fraction must be above 0; both parts are needed.")


@dataclass(frozen=True)
class ModelParams(Section):
    input: Literal["displacement", "coordinates"]
    """'displacement': each frame minus the first, in % of the face box (ours); 'coordinates': as extracted (paper)."""
    kernel: tuple[int, int]
    """Convolution kernel over (x/y, landmarks); the paper does not give it."""
    dropout: float
    fc1_activation: Literal["relu", "tanh", "sigmoid", "elu", "gelu"]
    variants: tuple[Literal["temo", "remo"], ...]
    """Which models train_full and retrain_k train (the paper: both); the grid search tunes T-EMO."""

    def check(self, key: KeyName) -> None:
        if "temo" not in self.variants or len(set(self.variants)) != len(self.variants):
            raise ConfigError(f"{key('variants')} is {list(self.variants)}; list temo (attribute explains T-EMO), "
                              "and remo if wanted, once each.")
        if self.kernel[0] not in (1, 2) or not 1 <= self.kernel[1] <= N_LANDMARKS:
            raise ConfigError(f"{key('kernel')} is {list(self.kernel)}; the first size must be 1 or 2 (x/y), "
                              f"the second between 1 and {N_LANDMARKS} (landmarks).")
        _fraction(self.dropout, key("dropout"), upper=0.95)


@dataclass(frozen=True)
class TrainParams(Section):
    learning_rate: float
    batch_size: int
    epochs: int
    patience: int
    """Early stopping on validation loss; the best epoch's weights are kept."""
    flip: Literal["horizontal", "vertical", "none"]
    """Training-time augmentation: 'horizontal' mirrors the face with the mesh's left/right
    pairs (ours); 'vertical' is the paper's literal wording; 'none' turns it off."""
    class_weight: Literal["none", "balanced"]
    backend: Literal["jax", "tensorflow"]
    """Keras' backend for training, attribution and prediction; it changes the numbers (other
    floating-point kernels), so DVC tracks it."""
    workers: int
    """Training processes; 0 = one per core, or one when the backend sees a GPU."""

    def check(self, key: KeyName) -> None:
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"{key('learning_rate')} is {self.learning_rate}; it must lie between 0 and 1 (the paper: 0.0001).")
        _within(self.batch_size, key("batch_size"), 1, MAX_BATCH)
        _within(self.epochs, key("epochs"), 1, MAX_EPOCHS)
        _within(self.patience, key("patience"), 1, MAX_EPOCHS)
        _workers(self.workers, key("workers"))


@dataclass(frozen=True)
class TuneParams(Section):
    filters: list[int]
    """F values of the grid (conv filters)."""
    units: list[int]
    """Q values (LSTM units)."""
    neurons: list[int]
    """R values (FC1 neurons)."""
    objective: Literal["val_loss", "val_accuracy", "val_auc"]
    strategy: Literal["grid", "hyperband"]
    """'grid' trains every combination for train.epochs (the paper); 'hyperband' is Keras
    Tuner's Hyperband over the same values: many combinations briefly, the best to the end."""
    factor: int
    """Hyperband's reduction factor: each round keeps 1/factor of the trials, for factor x the epochs."""
    directory: Path
    """Keras Tuner's working folder: trial state that lets an interrupted search resume."""

    def check(self, key: KeyName) -> None:
        _positive(self.factor, key("factor"), low=2)
        for name in ("filters", "units", "neurons"):
            values = getattr(self, name)
            if not values:
                raise ConfigError(f"{key(name)} is empty; the grid needs at least one value.")
            _count(values, key(name), MAX_GRID_VALUES)
            _each(values, key(name), 1, MAX_WIDTH)
            if len(set(values)) != len(values):
                raise ConfigError(f"{key(name)} repeats a value; list each once.")


@dataclass(frozen=True)
class AttributeParams(Section):
    steps: int
    """m, the number of points on the path from baseline to input."""
    method: Literal["riemann_right", "trapezoid", "gauss_legendre"]
    """'riemann_right' is the paper's equation 2."""
    typical: Literal["medoid", "confident"]
    """How each emotion's typical video (the baselines) is chosen: the training video nearest
    its emotion's mean motion, or the one its own T-EMO model is surest of."""
    samples: Literal["all", "positives"]
    """IG over every training video (the paper), or only the emotion's own."""
    models: int | Literal["all"]
    """Average over the T-EMO models of every seed ('all'), or of the first N seeds'."""
    mask: Literal["group_abs", "abs_sum"]
    """Per-landmark value of a sample's IG: 'abs_sum' is the paper's (|IG| summed over frames
    and x/y); 'group_abs' is |IG summed over the landmark's trajectory| (ours: it ignores
    where two faces sit, as a model of motion does)."""
    budget_mb: int
    """Memory for one batched gradient call; larger is faster, the numbers do not change."""

    def check(self, key: KeyName) -> None:
        _within(self.steps, key("steps"), 2 if self.method == "trapezoid" else 1, MAX_STEPS)
        _within(self.budget_mb, key("budget_mb"), 1, MAX_BUDGET_MB)
        if self.models != "all":
            _positive(self.models, key("models"))


@dataclass(frozen=True)
class RetrainParams(Section):
    ks: list[int]
    """Landmark counts to retrain on (the paper: 234, 128, 64, 32, 16); 468 is train_full."""
    controls: list[Literal["random", "bottom"]]
    """T-EMO on K random landmarks (fresh per seed) and on the bottom K, same hyperparameters."""
    search: bool
    """Grid-search F, Q, R again for every K and emotion (the paper), or reuse tune's."""
    random_draws: int
    """Random landmark sets per seed and K; the comparison uses each seed's mean over them."""
    rankings: list[Literal["ig", "ig_neutral", "gradient_input", "occlusion", "permutation", "effect_size",
                           "svm_weights"]]
    """Keep-and-retrain: T-EMO on each listed method's top K (ig: the paper's, always first),
    same hyperparameters as IG's top K; the rivals must be in rivals.methods."""

    def check(self, key: KeyName) -> None:
        _within(self.random_draws, key("random_draws"), 1, MAX_REPEATS)
        if not self.ks:
            raise ConfigError(f"{key('ks')} is empty; give at least one landmark count, e.g. [128, 32].")
        _each(self.ks, key("ks"), 1, N_LANDMARKS)
        if len(set(self.ks)) != len(self.ks) or len(set(self.controls)) != len(self.controls):
            raise ConfigError(f"{key('ks')} or controls repeats a value; list each once.")
        if not self.rankings or self.rankings[0] != "ig" or len(set(self.rankings)) != len(self.rankings):
            raise ConfigError(f"{key('rankings')} is {self.rankings}; start it with ig (the paper's ranking, "
                              "which the others are compared with) and list each method once.")


@dataclass(frozen=True)
class RivalParams(Section):
    methods: list[Literal["ig_neutral", "gradient_input", "occlusion", "permutation", "effect_size", "svm_weights"]]
    """Rival rankings computed beside the paper's IG (emo.explanation.rivals): seconds next to training."""
    repeats: int
    """Permutation importance: shuffles of each landmark's trajectory over the validation videos."""
    sanity: list[Literal["randomised", "shuffled"]]
    """Sanity checks (Adebayo et al. 2018): every method again on a model with its initial,
    untrained weights, and on one trained on shuffled labels (one per emotion, the first seed)."""

    def check(self, key: KeyName) -> None:
        _within(self.repeats, key("repeats"), 1, MAX_REPEATS)
        for name, values in (("methods", self.methods), ("sanity", self.sanity)):
            if len(set(values)) != len(values):
                raise ConfigError(f"{key(name)} repeats a value; list each once.")


@dataclass(frozen=True)
class BaselineParams(Section):
    C: float
    """SVM regularisation."""
    gamma: Literal["scale", "auto"]
    """RBF kernel width, as scikit-learn names it."""

    def check(self, key: KeyName) -> None:
        if not 0 < self.C <= MAX_C:
            raise ConfigError(f"{key('C')} is {self.C}; it must be above 0 and at most {MAX_C:g}.")


@dataclass(frozen=True)
class EvaluationDataset(Section):
    root: Path
    """The dataset's folder, in any layout extract reads."""
    layout: Literal["ckplus", "folder"]


@dataclass(frozen=True)
class EvaluateParams(Section):
    datasets: dict[str, EvaluationDataset]
    """Other datasets to run the trained models on, by name ({} = none)."""

    def check(self, key: KeyName) -> None:
        import re

        for name in self.datasets:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise ConfigError(f"{key('datasets')} names a dataset '{name}'; use letters, digits, - and _ only "
                                  "(the name becomes a folder).")


@dataclass(frozen=True)
class Recordings(Section):
    root: Path
    """A folder of recordings: video files and frame folders; `<name>.truth.csv` beside a
    recording (columns frame, emotion) scores its timeline."""


@dataclass(frozen=True)
class TimelineParams(Section):
    recordings: dict[str, Recordings]
    """Folders of continuous recordings for the timeline stage, by name ({} = none)."""
    window_s: float
    """The models read the last window_s seconds before each frame (resampled to extract.frames)."""
    reference: Literal["first", "rolling", "neutral"]
    """The frame the motion is read from: 'first' of each window (as in training), 'rolling'
    (the median face of the last history_s seconds), 'neutral' (the first neutral_s seconds)."""
    history_s: float
    neutral_s: float
    align: Literal["none", "similarity"]
    """'similarity': each frame's landmarks are rotated, scaled and shifted onto the reference
    (Procrustes on the rigid landmarks), so that head motion does not read as expression."""
    threshold: float
    """A frame's emotion is the most probable one when its probability reaches this, else 'none'."""
    stride: int
    """The models run every stride-th frame; the frames between repeat the last answer."""
    frame_rate: float
    """Frames per second of frame folders (videos carry their own timestamps)."""
    workers: int
    """Processes reading landmarks; 0 = every core."""

    def check(self, key: KeyName) -> None:
        import re

        for name in self.recordings:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise ConfigError(f"{key('recordings')} names '{name}'; use letters, digits, - and _ only "
                                  "(the name becomes a folder).")
        for name, value, low, high in (("window_s", self.window_s, 0.1, 30.0), ("history_s", self.history_s, 1.0, 600.0),
                                       ("neutral_s", self.neutral_s, 0.1, 600.0), ("frame_rate", self.frame_rate, 1.0, 1000.0)):
            _within(value, key(name), low, high)
        _fraction(self.threshold, key("threshold"))
        _within(self.stride, key("stride"), 1, MAX_STRIDE)
        _workers(self.workers, key("workers"))


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
        read = {_from_project(self.data.root)} | {_from_project(d.root) for d in self.evaluate.datasets.values()}
        if self.extract.min_frames > self.demo.frames[0] and read & {_from_project(self.demo.out),
                                                                      _from_project(self.demo.heldout.out)}:
            raise ConfigError(f"{key('extract.min_frames')} is {self.extract.min_frames}, above the shortest demo "
                              f"sequence (demo.frames: {list(self.demo.frames)}), so extract would skip demo "
                              "sequences; lower it or raise demo.frames.")
        self._check_replaced_folders(key)

    def _check_replaced_folders(self, key: KeyName) -> None:
        """The folders emo deletes and writes anew stay inside the project, apart from its own
        folders, from each other and from the dataset (the demo may write the dataset itself)."""
        folders = replaced_folders(self.demo, self.tune)
        within = {name: _replaceable(folder, name, key) for name, folder in folders.items()}
        data_root = _from_project(self.data.root)
        for i, (name, folder) in enumerate(within.items()):
            if _overlap(folder, data_root) and not (name == "demo.out" and folder == data_root):
                raise ConfigError(f"{key(name)} is {folders[name]}, which overlaps data.root ({self.data.root}); "
                                  f"choose a folder of its own inside the project, such as {REPLACED_EXAMPLES[name]}.")
            for other in list(within)[:i]:
                if _overlap(folder, within[other]):
                    raise ConfigError(f"{key(name)} is {folders[name]}, which overlaps {other} ({folders[other]}); "
                                      "choose a folder of its own inside the project, such as "
                                      f"{REPLACED_EXAMPLES[name]}.")


# A section used as a dict key (e.g. the trainer cache's), compared or printed is not read for
# its values: dataclass' generated methods run with logging off.
for _section in Section.__subclasses__():
    for _method in ("__hash__", "__eq__", "__repr__"):
        setattr(_section, _method, _without_logging(getattr(_section, _method)))


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate a params file; raise ConfigError naming the first bad key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} not found; run from the project root or copy a profile from profiles/ to {path}.")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}; fix its syntax.") from None
    return parse_params(raw, str(path))


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    with reads_unlogged():  # validation reads every key; only a stage's own reads are logged
        return _build(Params, raw, source, "")


def _build(cls: type, raw: Any, source: str, prefix: str):
    where = f"'{prefix}'" if prefix else "the top level"
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where} must be a mapping of keys; see profiles/paper.yaml for its shape.")
    names = [f.name for f in fields(cls)]
    for k in raw:
        if k not in names:
            full = f"{prefix}.{k}" if prefix else str(k)
            raise ConfigError(
                f"{source}: unknown key '{full}'; remove it or use one of: {', '.join(names)}."
            )
    hints = typing.get_type_hints(cls)
    values = {}
    for name in names:
        full = f"{prefix}.{name}" if prefix else name
        if name not in raw:
            raise ConfigError(f"{source}: key '{full}' is missing; add it (profiles/paper.yaml lists every key).")
        values[name] = _convert(hints[name], raw[name], source, full)
    obj = cls(**values)
    if isinstance(obj, Section):
        object.__setattr__(obj, "_key", prefix)
    check = getattr(obj, "check", None)
    if check is not None:
        check(lambda k: f"{source}: {prefix}.{k}" if prefix else f"{source}: {k}")
    return obj


def _convert(hint: Any, value: Any, source: str, key: str):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)

    def fail(expected: str):
        raise ConfigError(f"{source}: '{key}' must be {expected}, not {value!r}; fix its value.")

    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, key)
    if origin is Literal:
        if value not in args:
            fail("one of " + ", ".join(repr(a) for a in args))
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _convert(arg, value, source, key)
            except ConfigError:
                continue
        fail(" or ".join(_describe(a) for a in args))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, list):
            fail(f"a list of {_plural(args[0])}")
        return tuple(_convert(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, list) or len(value) != len(args):
            fail(f"a list of {len(args)} values")
        return tuple(_convert(a, v, f"{source}", f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is list:
        if not isinstance(value, list):
            fail(f"a list of {_plural(args[0])}")
        return [_convert(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            fail("a mapping")
        return {_convert(args[0], k, source, key): _convert(args[1], v, source, f"{key}.{k}") for k, v in value.items()}
    if hint is type(None):
        if value is not None:
            fail("null")
        return None
    if hint is bool:
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail("a number")
        if not math.isfinite(value):  # .nan and .inf slip past one-sided checks such as C <= 0
            fail("a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            fail("a string")
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            fail("a path")
        return Path(value)
    raise TypeError(f"unsupported params type {hint!r} for {key}")


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false", type(None): "null"}.get(
        hint, str(hint)
    )


def _plural(hint: Any) -> str:
    """What a list holds, e.g. 'integers', "'random' or 'bottom' values"."""
    if typing.get_origin(hint) is Literal:
        return f"{_describe(hint)} values"
    return {int: "integers", float: "numbers", str: "strings", bool: "true or false values", Path: "paths"}.get(
        hint, str(hint))


# Upper bounds: far above any useful setting, low enough that a slip (an extra digit or two)
# stops here rather than exhausting memory, disk or days deep inside a stage.
# Seeds: numpy and scikit-learn take 0 to 2**32 - 1; the model seeds its layers with a split
# seed plus up to 4 (emo/models/model.py), which the jax backend needs below 2**32 too.
SEED_MAX = 2**31 - 1
# Demo data on disk: each subject is about seven sequences of PNG frames (CK+: 123 subjects,
# 10 to 60 frames); a recording's length grows with its episodes and stretches.
MAX_SUBJECTS, MAX_EPISODES, MAX_STRETCH_S = 500, 100, 60.0
# Frames per sequence (CK+: 10 to 71): the demo writes a PNG each, X holds [videos, frames, 2, 468]
# in memory, and training 8 batches of it per call.
MAX_FRAMES = 128
MAX_SEQUENCE_FRAMES = 10_000  # extract.min_frames: longer than any clip
MAX_INTENSITY = 3.0  # x the action units' nominal size (the profiles: 1.2 at most)
MAX_CROP = 2048  # pixels per side of the face crop: a larger one only costs memory (the paper: 300)
MAX_WORKERS = 256  # processes each load their own models: more than a machine's cores only cost memory
MAX_SEEDS = 100  # partitions: each trains every model again (the paper: 10)
MAX_BATCH = 512  # training holds 8 batches of [batch, frames, 2, 468] per compiled call
MAX_EPOCHS = 1000  # epochs and patience (the paper: 100 and 10)
MAX_GRID_VALUES = 32  # values per tune list: the grid's trials are their product (the paper: 10 at most)
MAX_WIDTH = 1024  # F, Q, R: the LSTM's weights grow with Q squared (the paper: 74 at most)
MAX_STEPS = 1000  # IG path points (the paper: 50); gauss_legendre builds a steps x steps matrix
MAX_BUDGET_MB = 16_384  # one gradient call's memory; 8 MB is already the fastest on CPU
MAX_REPEATS = 100  # retrain_k.random_draws (each retrains every K) and permutation shuffles
MAX_C = 1e6  # the SVM's training time grows with C
MAX_STRIDE = 1000  # timeline frames between model runs: far past a few seconds it is no timeline

# Top-level folders of the project: never a folder for emo to replace, and the source ones
# (whose content is the project's own) not a place for one either.
PROJECT_FOLDERS = frozenset({"data", "models", "reports"})
SOURCE_FOLDERS = frozenset({"emo", "stages", "tests", "profiles", ".git", ".dvc"})


def replaced_folders(demo: DemoParams, tune: TuneParams) -> dict[str, Path]:
    """The folders emo deletes and writes anew whole, by their params keys."""
    return {"demo.out": demo.out, "demo.heldout.out": demo.heldout.out, "demo.recordings.out": demo.recordings.out,
            "tune.directory": tune.directory}


# What each folder emo replaces is in the committed profiles: the example its messages give.
REPLACED_EXAMPLES = {"demo.out": "data/raw/demo", "demo.heldout.out": "data/raw/demo_heldout",
                     "demo.recordings.out": "data/raw/demo_recordings", "tune.directory": ".tuner"}


def _from_project(path: Path) -> Path:
    """`path` relative to the project (the current directory), normalised (it may start with ..)."""
    return Path(os.path.relpath(os.path.normpath(Path.cwd() / path), Path.cwd()))


def _replaceable(folder: Path, name: str, key: KeyName) -> Path:
    """The folder params key `name` gives, relative to the project; refused where replacing it
    would delete something that is not emo's output."""
    parts = _from_project(folder).parts  # () for the project itself
    if not parts or parts[0] == ".." or parts[0] in SOURCE_FOLDERS or (len(parts) == 1 and parts[0] in PROJECT_FOLDERS):
        raise ConfigError(f"{key(name)} is {folder}; emo deletes and rewrites this folder, so choose one of its "
                          f"own inside the project, such as {REPLACED_EXAMPLES[name]}.")
    return Path(*parts)


def _overlap(a: Path, b: Path) -> bool:
    """a and b are the same folder, or one holds the other."""
    return a == b or a in b.parents or b in a.parents


def _within(value: int | float, key: str, low: int | float, high: int | float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key} is {value}; it must lie between {low} and {high}.")


def _each(values: list[int], key: str, low: int, high: int) -> None:
    for value in values:
        if not low <= value <= high:
            raise ConfigError(f"{key} holds {value}; each value must lie between {low} and {high}.")


def _count(values: list, key: str, high: int) -> None:
    if len(values) > high:
        raise ConfigError(f"{key} lists {len(values)} values; give at most {high}.")


def _seed(value: int, key: str) -> None:
    if not 0 <= value <= SEED_MAX:
        raise ConfigError(f"{key}: seed {value} is out of range; a seed must lie between 0 and {SEED_MAX} "
                          "(2**31 - 1), which numpy, scikit-learn and Keras all take.")


def _workers(value: int, key: str) -> None:
    _within(value, key, 0, MAX_WORKERS)


def _positive(value: int | float, key: str, low: int | float = 1) -> None:
    if value < low:
        raise ConfigError(f"{key} is {value}; it must be at least {low}.")


def _non_negative(value: int | float, key: str) -> None:
    if value < 0:
        raise ConfigError(f"{key} is {value}; it must not be negative.")


def _fraction(value: float, key: str, upper: float = 1.0) -> None:
    _within(value, key, 0, upper)


def _ordered_range(pair: tuple, key: str, low: int | float, high: int | float) -> None:
    if not low <= pair[0] <= pair[1] <= high:
        raise ConfigError(f"{key} is {list(pair)}; give [lowest, highest] with {low} <= lowest <= highest <= {high}.")
