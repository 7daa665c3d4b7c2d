"""The search over F, Q, R per emotion and landmark count: Keras Tuner, exhaustive grid or Hyperband.

One function, `search`, serves the tune stage (all 468 landmarks) and retrain_k (each
emotion's top K). It trains T-EMO on partition 0's training part and scores it on its
validation part; the test part is never touched. `tune.strategy: grid` trains every
combination of the F, Q, R lists for train.epochs (the paper); `hyperband` is Keras Tuner's
Hyperband oracle over the same lists with train.epochs as its largest budget: it trains
many combinations for a few epochs and continues the best ones from their weights (the
oracles are in emo.models.oracles). Keras Tuner keeps each search's state under
`tune.directory`, in a project named after everything that shapes its numbers, so an
interrupted search resumes where it stopped and a changed setting starts afresh. Its state
files are written atomically (emo.models.oracles.save_json); one that is unreadable all the
same (cut short by an older version, edited) makes that search start afresh, said once.

Here: running the searches, in this machine's processes or Keras Tuner's distributed mode.
A search's job is in emo.models.search_jobs, its tuner in emo.models.tuner, what it keeps
to resume in emo.models.search_state, what it returns and writes in emo.models.search_results.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from tqdm import tqdm

from emo.data.dataset import LandmarkData, Partition
from emo.data.emotions import EMOTIONS
from emo.models.runs import TrainingContext, run_many
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


def _run_search(jobs: list[SearchJob], project: str, directory: str, data: LandmarkData,
                partitions: list[Partition], context: TrainingContext) -> list[SearchResult] | None:
    """One Keras Tuner search over every job (each with its own grid or Hyperband oracle), run
    or resumed; every job's trials and winner.

    In Keras Tuner's distributed mode this process is the chief (it serves the trials to the
    workers and returns the results; EmoError when a worker has not finished a trial within
    EMO_TRIAL_TIMEOUT_S) or a worker (it trains the trials it is given and returns None);
    otherwise it trains every trial itself."""
    # Here, not at the top: emo.models.tuner imports Keras Tuner and Keras (seconds).
    from emo.models.oracles import trial_timeout
    from emo.models.tuner import LandmarkTuner, search_oracle

    role = distributed_role()
    timeout = trial_timeout() if role == "chief" else None  # checked before anything starts
    if role != "worker":  # a worker reads only its own tuner file; the chief owns the project
        discard_unreadable_state(Path(directory, project))
    tuner = LandmarkTuner(jobs, data, partitions, context, role, timeout,
                          oracle=search_oracle(jobs, context.train.epochs),
                          directory=directory, project_name=project, overwrite=False)
    tuner.search(verbose=0)
    remove_trial_states(Path(directory, project))
    if role == "worker":
        return None
    return tuner.results()


def search(job: SearchJob, data: LandmarkData, partitions: list[Partition], context: TrainingContext) -> SearchResult:
    """Run (or resume) one emotion's search and return every trial's scores."""
    return _run_search([job], job.project, job.directory, data, partitions, context)[0]


def search_all(jobs: list[SearchJob], data: LandmarkData, partitions: list[Partition], context: TrainingContext,
               workers: int, stage: str, progress: bool, on_result=None) -> list[SearchResult] | None:
    """Every job's search: one per job in this machine's processes, or, in Keras Tuner's
    distributed mode, all jobs as one search served by the chief to its workers (None on a worker)."""
    if distributed_role():
        digest = hashlib.sha256("".join(j.project for j in jobs).encode()).hexdigest()[:12]
        project = f"{stage}-search-{digest}"
        results = _run_search(jobs, project, jobs[0].directory, data, partitions, context)
        if results is None:
            return None
        # Name the shared project on each job, so that its state is removed once the stage is done.
        results = [SearchResult(dataclasses.replace(r.job, project=project), r.best, r.trials) for r in results]
        for result in results:
            if on_result:
                on_result(result)
        return results
    results = []
    with tqdm(total=len(jobs), desc=f"{stage} {jobs[0].strategy} search", unit="search",
              disable=not progress) as bar:
        for result in run_many(jobs, context, workers, task=search):
            results.append(result)
            if on_result:
                on_result(result)
            bar.set_postfix_str(f"{EMOTIONS[result.job.emotion]} K{result.job.k} done")
            bar.update()
    return sorted(results, key=lambda r: jobs.index(r.job))
