"""Every path a stage reads or writes, named once.

The stage runners (emo/pipeline), `emo predict`/`emo explain`, the report and the tests take
their paths from here; dvc.yaml spells the same paths, and a test (tests/test_dvc_yaml.py)
keeps each stage's deps and outs equal to what its runner declares from this module. Paths
that come from params.yaml (the dataset, the face model, the demo's folders) are `ParamPath`s:
dvc.yaml names them as `${key}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ParamPath:
    """A path given by a params key (dvc.yaml: `${key}`); `item` keys belong to a foreach stage."""

    key: str

    @property
    def dvc(self) -> str:
        return "${" + self.key + "}"


DATA_ROOT = ParamPath("data.root")
FACE_MODEL_PARAM = ParamPath("extract.face_model")
DEMO = ParamPath("demo.out")
DEMO_HELDOUT = ParamPath("demo.heldout.out")
DEMO_RECORDINGS = ParamPath("demo.recordings.out")
DEMO_RECORDINGS_HELDOUT = ParamPath("demo.recordings.heldout_out")
EVALUATED_ROOT = ParamPath("item.root")  # evaluate.datasets.NAME.root in the foreach stages
RECORDINGS_ROOT = ParamPath("item.root")  # timeline.recordings.NAME.root in the timeline stage

# check_params' output: every other stage depends on it, so that an invalid params.yaml stops
# `dvc repro` before DVC deletes any stage's outputs. Its content never changes.
PARAMS_CHECK = Path("data/params_check.json")

FACE_MODEL = Path("models/face_landmarker.task")  # where the face_model stage puts the official model

LANDMARKS_DIR = Path("data/landmarks")
LANDMARKS = LANDMARKS_DIR / "landmarks.npz"
MANIFEST = LANDMARKS_DIR / "manifest.csv"
END_BLENDSHAPES = LANDMARKS_DIR / "blendshapes.npz"  # each kept video's first and last face's blendshape scores
SPLITS = Path("data/splits.json")

TUNE = Path("models/tune")
TUNED_HPARAMS = TUNE / "hparams.json"
TUNE_TRIALS = TUNE / "trials.csv"

ATTRIBUTIONS = Path("data/attributions.npz")
ATTRIBUTION_SUMMARY = Path("data/attribution_summary.json")
RANKINGS = Path("data/rankings.json")  # the rankings alone: what retrain_k reads
RIVALS = Path("data/rivals.npz")  # every rival method's attributions, per model and averaged
RIVAL_RANKINGS = Path("data/rival_rankings.json")  # their rankings alone

CHECKS = Path("models/check_rankings")  # is each ranking right: against the truth, sanity checks, agreement
CHECK_METRICS = CHECKS / "metrics.json"
LOCALISATION = CHECKS / "localisation.csv"
SANITY = CHECKS / "sanity.csv"
AGREEMENT = CHECKS / "agreement.csv"
ACTION_UNIT_SHARES = CHECKS / "action_units.csv"
CHECK_MODELS = CHECKS / "models"  # the randomised and shuffled-label models the sanity checks explain

BASELINES = Path("models/baselines")
BASELINE_RUNS = BASELINES / "runs.csv"
BASELINE_METRICS = BASELINES / "metrics.json"

REPORT = Path("reports")
REPORT_MD = REPORT / "report.md"
REPORT_HTML = REPORT / "report.html"
REPORT_FIGURES = REPORT / "figures"
REPORT_PLOTS = REPORT / "plots"
REPORT_TABLES = REPORT / "tables"
REPORT_METRICS = REPORT / "metrics.json"
HEADLINE = REPORT / "headline.json"  # the few numbers `dvc exp show` compares (dvc.yaml's only metrics file)
PLOTS_PAGE = REPORT / "plots_page.html"  # the page `dvc plots show` fills (.dvc/config), its libraries inlined


@dataclass(frozen=True)
class RunSet:
    """A set of training runs (train_full at L = 468, retrain_k at each K): its tables and models.

    Model files are `<models>/[K<k>/]<emotion>/<variant>/partition<p>.keras`; the K level
    exists only where a run set holds several K (retrain_k)."""

    root: Path
    per_k: bool

    @property
    def runs(self) -> Path:
        return self.root / "runs.csv"

    @property
    def timings(self) -> Path:
        return self.root / "timings.csv"

    @property
    def predictions(self) -> Path:
        return self.root / "test_probabilities.csv"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def hparams(self) -> Path:
        return self.root / "hparams.json"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def model_folder(self, emotion: str, variant: str, k: int, models: Path | None = None) -> Path:
        """The folder of one emotion's, variant's and K's models (one per partition), under
        `models` (a stage's temporary folder while it writes) or the run set's own."""
        base = self.models if models is None else Path(models)
        return (base / f"K{k}" if self.per_k else base) / emotion / variant

    def model_file(self, emotion: str, variant: str, k: int, partition: int, models: Path | None = None) -> Path:
        return self.model_folder(emotion, variant, k, models) / f"partition{partition}.keras"


FULL = RunSet(Path("models/full"), per_k=False)
RETRAIN = RunSet(Path("models/retrain_k"), per_k=True)
TIMELINE_SET = RunSet(Path("models/timeline_set"), per_k=False)  # the timeline's own models (train_timeline)


REGISTERED = Path("models/registered_model.json")  # the register stage's MLflow model: name, version, URI
SERVED_MODEL_CODE = Path("emo/served_model.py")  # the registered model's code (MLflow's models from code)


@dataclass(frozen=True)
class ModelPackage:
    """The registered model's artifact folder: the register stage writes it, emo.served_model reads it."""

    root: Path

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"

    @property
    def full(self) -> RunSet:
        return RunSet(self.root / "full", per_k=False)

    @property
    def retrain(self) -> RunSet:
        return RunSet(self.root / "retrain_k", per_k=True)

    @property
    def landmarks(self) -> Path:
        return self.root / "landmarks.npz"

    @property
    def face_model(self) -> Path:
        return self.root / "face_landmarker.task"


def run_set(k: int, n_landmarks: int) -> RunSet:
    """Where the models of K landmarks are: train_full's at all of them, retrain_k's below."""
    return FULL if k == n_landmarks else RETRAIN


@dataclass(frozen=True)
class Evaluation:
    """One dataset of evaluate.datasets: its landmarks (the evaluate_landmarks stage) and the
    models' predictions and scores on it (evaluate)."""

    name: str

    @property
    def landmarks_dir(self) -> Path:
        return Path("data/evaluate") / self.name

    @property
    def landmarks(self) -> Path:
        return self.landmarks_dir / "landmarks.npz"

    @property
    def manifest(self) -> Path:
        return self.landmarks_dir / "manifest.csv"

    @property
    def folder(self) -> Path:
        return Path("models/evaluate") / self.name

    @property
    def predictions(self) -> Path:
        return self.folder / "predictions.csv"

    @property
    def metrics(self) -> Path:
        return self.folder / "metrics.json"

    @property
    def confusion(self) -> Path:
        return self.folder / "confusion.csv"


EVALUATIONS = Path("models/evaluate")
# The foreach stages' paths as dvc.yaml writes them (the dataset's name is ${key}).
EVALUATION_TEMPLATE = Evaluation("${key}")


@dataclass(frozen=True)
class Timeline:
    """One folder of timeline.recordings: each recording's per-frame table and plot, and the
    scores against truth (the timeline stage)."""

    name: str

    @property
    def folder(self) -> Path:
        return Path("models/timeline") / self.name

    @property
    def metrics(self) -> Path:
        return self.folder / "metrics.json"

    def table(self, recording: str) -> Path:
        return self.folder / f"{recording}.csv"

    def plot(self, recording: str) -> Path:
        return self.folder / f"{recording}.png"


TIMELINES = Path("models/timeline")
TIMELINE_TEMPLATE = Timeline("${key}")
