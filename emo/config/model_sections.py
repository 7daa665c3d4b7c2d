"""The params sections that say how emo trains, tunes and explains its models: model, train,
tune, attribute, retrain_k, rivals and baselines. Each section checks its own values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from emo import N_LANDMARKS
from emo.config.bounds import (MAX_BATCH, MAX_BUDGET_MB, MAX_C, MAX_EPOCHS, MAX_GRID_VALUES, MAX_REPEATS, MAX_STEPS,
                               MAX_WIDTH, KeyName, check_count, check_each, check_fraction, check_positive,
                               check_within, check_workers)
from emo.config.reads import Section, section
from emo.errors import ConfigError


@section
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
        check_fraction(self.dropout, key("dropout"), upper=0.95)


@section
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
    budget_mb: int
    """Memory for one batched training call: models of one shape train together, as many as
    it holds (emo.models.batches). Speed only: a model's numbers stay within floating-point
    noise of the same model trained alone."""

    def check(self, key: KeyName) -> None:
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"{key('learning_rate')} is {self.learning_rate}; it must lie between 0 and 1 (the paper: 0.0001).")
        check_within(self.batch_size, key("batch_size"), 1, MAX_BATCH)
        check_within(self.epochs, key("epochs"), 1, MAX_EPOCHS)
        check_within(self.patience, key("patience"), 1, MAX_EPOCHS)
        check_workers(self.workers, key("workers"))
        check_within(self.budget_mb, key("budget_mb"), 1, MAX_BUDGET_MB)


@section
class TuneParams(Section):
    filters: list[int]
    """F values of the grid (conv filters)."""
    lstm_units: list[int]
    """Q values (LSTM units)."""
    dense_units: list[int]
    """R values (FC1 neurons: the dense layer's units)."""
    objective: Literal["val_loss", "val_accuracy", "val_auc"]
    strategy: Literal["grid", "hyperband"]
    """'grid' trains every combination for train.epochs (the paper); 'hyperband' is Keras
    Tuner's Hyperband over the same values: many combinations briefly, the best to the end."""
    factor: int
    """Hyperband's reduction factor: each round keeps 1/factor of the trials, for factor x the epochs."""
    directory: Path
    """Keras Tuner's working folder: trial state that lets an interrupted search resume."""

    def check(self, key: KeyName) -> None:
        check_positive(self.factor, key("factor"), low=2)
        for name in ("filters", "lstm_units", "dense_units"):
            values = getattr(self, name)
            if not values:
                raise ConfigError(f"{key(name)} is empty; the grid needs at least one value.")
            check_count(values, key(name), MAX_GRID_VALUES)
            check_each(values, key(name), 1, MAX_WIDTH)
            if len(set(values)) != len(values):
                raise ConfigError(f"{key(name)} repeats a value; list each once.")


@section
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
    aggregate: Literal["group_abs", "abs_sum"]
    """Per-landmark value of a sample's IG: 'abs_sum' is the paper's (|IG| summed over frames
    and x/y); 'group_abs' is |IG summed over the landmark's trajectory| (ours: it ignores
    where two faces sit, as a model of motion does)."""
    budget_mb: int
    """Memory for one batched gradient call; larger is faster, the numbers do not change."""

    def check(self, key: KeyName) -> None:
        check_within(self.steps, key("steps"), 2 if self.method == "trapezoid" else 1, MAX_STEPS)
        check_within(self.budget_mb, key("budget_mb"), 1, MAX_BUDGET_MB)
        if self.models != "all":
            check_positive(self.models, key("models"))


@section
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
        check_within(self.random_draws, key("random_draws"), 1, MAX_REPEATS)
        if not self.ks:
            raise ConfigError(f"{key('ks')} is empty; give at least one landmark count, e.g. [128, 32].")
        check_each(self.ks, key("ks"), 1, N_LANDMARKS)
        if len(set(self.ks)) != len(self.ks) or len(set(self.controls)) != len(self.controls):
            raise ConfigError(f"{key('ks')} or controls repeats a value; list each once.")
        if not self.rankings or self.rankings[0] != "ig" or len(set(self.rankings)) != len(self.rankings):
            raise ConfigError(f"{key('rankings')} is {self.rankings}; start it with ig (the paper's ranking, "
                              "which the others are compared with) and list each method once.")


@section
class RivalParams(Section):
    methods: list[Literal["ig_neutral", "gradient_input", "occlusion", "permutation", "effect_size", "svm_weights"]]
    """Rival rankings computed beside the paper's IG (emo.explanation.rivals): seconds next to training."""
    repeats: int
    """Permutation importance: shuffles of each landmark's trajectory over the validation videos."""
    sanity: list[Literal["randomised", "shuffled"]]
    """Sanity checks (Adebayo et al. 2018): every method again on a model with its initial,
    untrained weights, and on one trained on shuffled labels (one per emotion, the first seed)."""

    def check(self, key: KeyName) -> None:
        check_within(self.repeats, key("repeats"), 1, MAX_REPEATS)
        for name, values in (("methods", self.methods), ("sanity", self.sanity)):
            if len(set(values)) != len(values):
                raise ConfigError(f"{key(name)} repeats a value; list each once.")


@section
class BaselineParams(Section):
    C: float
    """SVM regularisation."""
    gamma: Literal["scale", "auto"]
    """RBF kernel width, as scikit-learn names it."""

    def check(self, key: KeyName) -> None:
        if not 0 < self.C <= MAX_C:
            raise ConfigError(f"{key('C')} is {self.C}; it must be above 0 and at most {MAX_C:g}.")


@section
class TrainTimelineParams(Section):
    """The timeline's own models (the train_timeline stage): T-EMO at L = 468 with the tuned F, Q, R,
    trained on each clip and on windows like those the timeline reads (emo.models.windows)."""

    windows: list[Literal["held", "rest", "offset", "middle"]]
    """Windows each training and validation clip adds: its apex 'held', its neutral face at 'rest'
    (negative for every emotion), an 'offset' (the expression fading, named while over half of it
    is left) and one starting in the 'middle' of its onset."""
    jitter: float
    """Landmark noise (face-box units) on the frames a window holds still: measured on the demo
    recordings' quiet neutral stretches (0.0012; emo.models.windows)."""

    def check(self, key: KeyName) -> None:
        if len(set(self.windows)) != len(self.windows):
            raise ConfigError(f"{key('windows')} repeats a value; list each once.")
        check_within(self.jitter, key("jitter"), 0.0, 0.05)
