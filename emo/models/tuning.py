"""The search over F, Q, R per emotion and landmark count: Keras Tuner, exhaustive grid or Hyperband.

One function, `search_all`, serves the tune stage (all 468 landmarks) and retrain_k (each
emotion's top K): every emotion's (and K's) search in one Keras Tuner search, whose trials
of one shape train together in one call (emo.models.trials). It trains T-EMO on partition
0's training part and scores it on its validation part; the test part is never touched.
`tune.strategy: grid` trains every combination of the F, Q, R lists for train.epochs (the
paper); `hyperband` is Keras Tuner's Hyperband oracle over the same lists with train.epochs
as its largest budget: it trains many combinations for a few epochs and continues the best
ones from their weights (the oracles are in emo.models.oracles). Keras Tuner keeps each
search's state under `tune.directory`, in a project named after everything that shapes its
numbers, so an interrupted search resumes where it stopped and a changed setting starts
afresh. Its state files are written atomically (emo.models.search_state.save_json); one that
is unreadable all the same (cut short by an older version, edited) makes that search start
afresh, said once.

Here: running the searches, in this machine's processes or Keras Tuner's distributed mode.
A search's job is in emo.models.search_jobs, its tuner in emo.models.tuner, the training of
its trials in emo.models.trials, what it keeps to resume in emo.models.search_state, what it
returns and writes in emo.models.search_results.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from tqdm import tqdm

from emo.data.dataset import LandmarkData, Partition
from emo.models.runs import TrainingContext
from emo.models.search_jobs import SearchJob
from emo.models.search_results import SearchResult
from emo.models.search_state import discard_unreadable_state, remove_trial_states


def distributed_role() -> str | None:
    """'chief' or 'worker' when Keras Tuner's distributed variables are set, else None."""
    # Private (keras_tuner.src): Keras Tuner exports no test of its distributed mode. These are
    # the ones its tuners use: KERASTUNER_ORACLE_IP set, and 'chief' in KERASTUNER_TUNER_ID.
    from keras_tuner.src.distribute import utils

    if not utils.has_chief_oracle():
        return None
    return "chief" if utils.is_chief_oracle() else "worker"


def search_all(jobs: list[SearchJob], data: LandmarkData, partitions: list[Partition], context: TrainingContext,
               workers: int, stage: str, progress: bool, on_result=None) -> list[SearchResult] | None:
    """Every job's search, run or resumed as one Keras Tuner search (each job with its own grid
    or Hyperband oracle): every job's trials and winner, in job order.

    In Keras Tuner's distributed mode this process is the chief (it serves the trials to the
    workers and returns the results; EmoError when a worker has not finished a trial within
    EMO_TRIAL_TIMEOUT_S) or a worker (it trains the trials it is given and returns None);
    otherwise it trains every trial itself, in `workers` processes."""
    # Here, not at the top: emo.models.tuner imports Keras Tuner and Keras (seconds).
    from emo.models.oracles import trial_timeout
    from emo.models.tuner import LandmarkTuner, search_oracle

    role = distributed_role()
    timeout = trial_timeout() if role == "chief" else None  # checked before anything starts
    project = jobs[0].project
    if len(jobs) > 1:
        project = f"{stage}-search-{hashlib.sha256(''.join(j.project for j in jobs).encode()).hexdigest()[:12]}"
    directory = jobs[0].directory
    if role != "worker":  # a worker reads only its own tuner file; the chief owns the project
        discard_unreadable_state(Path(directory, project))
    grid = sum(job.size for job in jobs) if jobs[0].strategy == "grid" else None
    with tqdm(total=grid, desc=f"{stage} {jobs[0].strategy} search", unit="trial",
              disable=not progress or role == "chief") as bar:
        tuner = LandmarkTuner(jobs, data, partitions, context, role, timeout, workers, bar,
                              oracle=search_oracle(jobs, context.train.epochs),
                              directory=directory, project_name=project, overwrite=False)
        tuner.search(verbose=0)
    remove_trial_states(Path(directory, project))
    if role == "worker":
        return None
    # Name the shared project on each job, so that its state is removed once the stage is done.
    results = [SearchResult(dataclasses.replace(r.job, project=project), r.best, r.trials) for r in tuner.results()]
    for result in results:
        if on_result:
            on_result(result)
    return results


def search(job: SearchJob, data: LandmarkData, partitions: list[Partition], context: TrainingContext) -> SearchResult:
    """Run (or resume) one emotion's search, in this process, and return every trial's scores."""
    return search_all([job], data, partitions, context, workers=1, stage="search", progress=False)[0]
