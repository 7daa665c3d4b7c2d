"""Stage timeline@NAME: the trained models on the continuous recordings of the folder
timeline.recordings.NAME: per recording its per-frame table and plot, and, where a truth file
lies beside it, its scores against that truth (metrics.json, with the pooled scores and confusion,
those of the recordings that open on an expression, and the per-frame macro-F1 at other thresholds),
and the blendshape baseline's scores on the same frames (metrics.json's `baseline`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emo import artifacts
from emo.config import ExtractParams, TimelineParams
from emo.data.frames import VideoStream
from emo.errors import EmoError
from emo.files import atomic_dir, write_json
from emo.models.ensemble import choose_models, timeline_set_models
from emo.parallel import worker_count
from emo.report.timelines import save_timeline_figure
from emo.tracking.runs import metric_name, stage_run
from emo.video.blendshape_baseline import BlendshapeBaseline, BlendshapeFrames
from emo.video.recording import ClipFits, TimelineReader, read_table, table_writer
from emo.video.scoring import confusion, opens_on_expression, read_truth, scores_line, timeline_scores
from emo.video.streams import recordings_in
from emo.video.sliding_window import TimelineSettings

INPUTS = (artifacts.RECORDINGS_ROOT, artifacts.FACE_MODEL_PARAM, artifacts.FULL.runs, artifacts.FULL.models,
          artifacts.RETRAIN.runs, artifacts.RETRAIN.models, artifacts.RETRAIN.hparams, artifacts.TIMELINE_SET.models,
          artifacts.LANDMARKS, artifacts.END_BLENDSHAPES)
OUTPUTS = (artifacts.TIMELINE_TEMPLATE.folder,)
SCORE_GROUPS = ("pooled", "pooled_opening_on_expression")
THRESHOLDS = np.round(np.arange(0.1, 0.96, 0.05), 2)


def run(name: str, timeline: TimelineParams, extract: ExtractParams, progress: bool = True) -> dict:
    if name not in timeline.recordings:
        raise EmoError(f"timeline.recordings has no '{name}' ({', '.join(timeline.recordings) or 'none'}); "
                       "add it to params.yaml or run `dvc repro` for a listed one.")
    root = timeline.recordings[name].root
    if not root.is_dir():
        raise EmoError(f"timeline.recordings.{name}.root '{root}' is not a folder; put recordings there or fix the path.")
    sources = recordings_in(root, timeline.frame_rate)
    if not sources:
        raise EmoError(f"no recording in {root} (video files or folders of frames); check "
                       f"timeline.recordings.{name}.root.")
    settings = TimelineSettings.of(timeline, extract)
    where = artifacts.Timeline(name)
    workers = worker_count(timeline.workers, 1 << 16)
    metrics: dict = {"recordings": {}}
    scored, baseline_scored = [], []
    fits = ClipFits.of(settings, artifacts.LANDMARKS, artifacts.END_BLENDSHAPES)
    baseline = fits.baseline or BlendshapeBaseline.of_files(artifacts.LANDMARKS, artifacts.END_BLENDSHAPES)
    with stage_run(f"timeline@{name}", timeline=timeline, recordings={"name": name, "root": root}) as run, \
            atomic_dir(where.folder) as tmp:
        models = (timeline_set_models(artifacts.TIMELINE_SET) if timeline.models == "timeline"
                  else choose_models(artifacts.FULL, artifacts.RETRAIN))
        with TimelineReader(extract, models, workers=workers,
                            fits=fits) as reader:
            for source in sources:
                out = tmp / where.table(source.name).name
                blendshapes = BlendshapeFrames()
                with table_writer(out) as write:
                    _, summary = reader.read_offline(source, settings, write, progress=progress, tap=blendshapes.add)
                print(summary.line())
                if summary.warning:
                    print(f"warning: {source.name}: {summary.warning}")
                run.log_metrics({metric_name(f"{source.name}.frames_per_s"): summary.frames_per_s})
                plot = tmp / where.plot(source.name).name
                with_truth, scores = plot_and_score(out, source, plot, settings.threshold, f"{name}/{source.name}")
                entry = {"frames": summary.frames, "frames_with_face": summary.with_face,
                         "frames_answered": summary.answered, "frames_unreadable": summary.unreadable}
                if scores is not None:
                    entry.update(scores, opens_on_expression=opens_on_expression(with_truth[1]),
                                 confusion=confusion(*with_truth))
                    scored.append(with_truth)
                    baseline_scored.append((baseline.table(blendshapes), with_truth[1]))
                metrics["recordings"][source.name] = entry
        if scored:
            table, truth = pooled(scored)
            metrics.update(pooled_scores(scored))
            metrics["confusion"] = confusion(table, truth)
            metrics["macro_f1_by_threshold"] = {str(t): timeline_scores(table, truth, t)["macro_f1"] for t in THRESHOLDS}
            metrics["baseline"] = pooled_scores(baseline_scored)
            run.log_metrics({metric_name(f"{prefix}{group}.{k}"): v
                             for prefix, document in (("", metrics), ("baseline.", metrics["baseline"]))
                             for group in SCORE_GROUPS for k, v in document.get(group, {}).items() if v is not None})
        write_json(tmp / where.metrics.name, metrics)
    if scored:
        print(f"{name}: pooled over {len(scored)} recordings with truth: "
              + scores_line(metrics["pooled"]))
        print(f"{name}: blendshape baseline, pooled: " + scores_line(metrics["baseline"]["pooled"]))
    return metrics


def pooled_scores(scored: list[tuple[pd.DataFrame, pd.DataFrame]]) -> dict:
    """Recordings' scores pooled, and pooled over those that open on an expression (which a
    first-seconds reference gets wrong): SCORE_GROUPS."""
    scores = {"pooled": timeline_scores(*pooled(scored))}
    opening = [pair for pair in scored if opens_on_expression(pair[1])]
    if opening:
        scores["pooled_opening_on_expression"] = timeline_scores(*pooled(opening))
    return scores


def plot_and_score(table_path: Path, source: VideoStream, plot: Path, threshold: float, title: str
                   ) -> tuple[tuple[pd.DataFrame, pd.DataFrame] | None, dict | None]:
    """A recording's written table plotted, with the truth when a truth file lies beside the
    recording, and scored against it: ((table, truth), scores), or (None, None) without truth."""
    table = read_table(table_path)
    truth_path = source.truth_file()
    truth = read_truth(truth_path) if truth_path else None
    save_timeline_figure(plot, table, threshold, title, truth)
    if truth is None:
        return None, None
    return (table, truth), timeline_scores(table, truth)


def pooled(scored: list[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Several recordings' tables and truths as one, frames and times shifted so that no
    episode runs from one recording into the next."""
    tables, truths, frame0, time0 = [], [], 0, 0.0
    for table, truth in scored:
        tables.append(table.assign(frame=table.frame + frame0, time_s=table.time_s + time0))
        truths.append(truth.assign(frame=truth.frame + frame0))
        frame0 += int(max(table.frame.max(), truth.frame.max())) + 1
        time0 += float(table.time_s.max()) + 60.0
    return pd.concat(tables, ignore_index=True), pd.concat(truths, ignore_index=True)
