"""What a search returns and writes: its trials, its winner, the trials table, hparams.json and
the parent-run metrics; and hparams.json read back by the stages that train the winners."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from emo.data.emotions import EMOTIONS
from emo.errors import EmoError
from emo.models.model import Architecture
from emo.models.search_jobs import DIRECTION, SearchJob


@dataclass(frozen=True)
class HyperbandRound:
    """Where a trial of a Hyperband search stands."""

    round: int
    bracket: int
    epoch_budget: int  # the epochs it trains to, counting those of the trial it continues
    continues: str  # the id of the previous round's trial it trains on from; "" in a first round


@dataclass(frozen=True)
class Trial:
    """One completed trial of a search: its point of the grid and how it scored on validation."""

    arch: Architecture
    val_loss: float
    val_accuracy: float
    val_auc: float
    epochs: float  # as Keras Tuner keeps every reported number (trials.csv writes 2.0)
    seconds: float
    trial: str  # Keras Tuner's trial id
    history: dict[str, list[float]]  # per epoch: loss, accuracy, val_loss, val_accuracy
    hyperband: HyperbandRound | None = None  # None in a grid search

    def row(self) -> dict:
        """Its columns in trials.csv and hparams.json, in their order."""
        return {**self.arch.as_dict(), "val_loss": self.val_loss, "val_accuracy": self.val_accuracy,
                "val_auc": self.val_auc, "epochs": self.epochs, "seconds": self.seconds,
                **(asdict(self.hyperband) if self.hyperband else {})}


@dataclass
class SearchResult:
    job: SearchJob
    best: Architecture
    trials: list[Trial]  # in trial id order


def best_trial(trials: list[Trial], job: SearchJob) -> Trial:
    """The best trial by the objective; ties go to the earlier point of the grid (then the
    earlier trial), so that every way of running the search picks the same one."""
    sign = 1 if DIRECTION[job.objective] == "min" else -1

    def key(t: Trial):
        score = getattr(t, job.objective)
        return (score != score, sign * score if score == score else 0.0, job.filters.index(t.arch.filters),
                job.units.index(t.arch.units), job.neurons.index(t.arch.neurons))

    return min(trials, key=key)


def trials_table(results: list[SearchResult], timings: bool = True) -> pd.DataFrame:
    """Every trial of every search; without its wall-clock seconds when `timings` is False
    (hparams.json, which later stages depend on, must not change when only the clock does)."""
    rows = []
    for r in results:
        best = best_trial(r.trials, r.job)
        for t in r.trials:
            row = t.row()
            if not timings:
                del row["seconds"]
            rows.append({"emotion": EMOTIONS[r.job.emotion], "K": r.job.k, **row, "chosen": t is best})
    return pd.DataFrame(rows)


def best_scores(results: list[SearchResult]) -> dict[str, float]:
    """Each search's chosen trial's objective, as parent-run metrics, e.g. anger.K468.best_val_loss."""
    return {f"{EMOTIONS[r.job.emotion]}.K{r.job.k}.best_{r.job.objective}":
            getattr(best_trial(r.trials, r.job), r.job.objective) for r in results}


def hparams_document(results: list[SearchResult]) -> dict:
    return {
        "objective": results[0].job.objective,
        "K": results[0].job.k,
        "best": {EMOTIONS[r.job.emotion]: r.best.as_dict() for r in results},
        "trials": trials_table(results, timings=False).to_dict(orient="records"),
    }


def load_hparams(path: Path) -> dict[str, Architecture]:
    if not path.is_file():
        raise EmoError(f"{path} is missing; run `dvc repro tune` first.")
    best = json.loads(path.read_text())["best"]
    missing = [e for e in EMOTIONS if e not in best]
    if missing:
        raise EmoError(f"{path} has no hyperparameters for {', '.join(missing)}; rerun `dvc repro tune`.")
    return {e: Architecture(**best[e]) for e in EMOTIONS}
