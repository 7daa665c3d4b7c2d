"""What tune and retrain_k share: one MLflow child per search (emotion x K)."""

from __future__ import annotations

import pandas as pd

from emo.data.emotions import EMOTIONS
from emo.models.search_results import SearchResult, best_trial, trials_table
from emo.tracking.runs import StageRun


def log_search(run: StageRun, result: SearchResult, frames: int) -> None:
    """One MLflow child per search: every trial's scores as steps (step = trial number) of
    `trial.*` metrics, the chosen trial's as metrics, the trials (and their epochs) as tables."""
    job = result.job
    best = best_trial(result.trials, job)
    scores = ("val_loss", "val_accuracy", "val_auc", "epochs")  # Trial fields
    histories = pd.DataFrame([{"trial": i, **t.arch.as_dict(), "epoch": e,
                               **{key: values[e] for key, values in t.history.items()}}
                              for i, t in enumerate(result.trials) for e in range(len(t.history.get("loss", [])))])
    run.child(
        f"{EMOTIONS[job.emotion]}/K{job.k}/search",
        params={"emotion": EMOTIONS[job.emotion], "variant": "temo", "L": job.k, "P": frames,
                "objective": job.objective, "strategy": job.strategy, "trials": len(result.trials),
                **{f"chosen_{k}": v for k, v in result.best.as_dict().items()}},
        metrics={f"best_{k}": getattr(best, k) for k in scores},
        series={f"trial.{k}": {i: getattr(t, k) for i, t in enumerate(result.trials)} for k in scores},
        tags={"kind": "search"},
        tables={"trials": trials_table([result]), "histories": histories},
    )
