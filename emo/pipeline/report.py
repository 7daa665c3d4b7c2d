"""Stage report: reports/report.md and .html with their figures, metrics.json and the headline
numbers, the plot data and its offline page, and the long tables, from the other stages'
artifacts alone. Its MLflow run carries the report and figures as artifacts and the headline
numbers as metrics, and the experiment's runs view shows them as columns."""

from __future__ import annotations

import pandas as pd

from emo import artifacts
from emo.config import (AttributeParams, DataParams, DemoParams, EvaluateParams, ExtractParams, ModelParams,
                        SplitParams, TimelineParams, TrainParams)
from emo.files import atomic_dir, atomic_file, write_json
from emo.report.comparisons import POOLED
from emo.report.csv_files import write_plot_data, write_tables
from emo.report.headline import headline
from emo.report.inputs import ReportInputs, Setup, load_inputs
from emo.report.metrics_document import metrics_document
from emo.report.plots_page import plots_page
from emo.report.sections import environment_line, report_document
from emo.tracking.provenance import environment, pipeline_tags
from emo.tracking.runs import metric_name, stage_run
from emo.tracking.ui import save_runs_view

INPUTS = (artifacts.DATA_ROOT, artifacts.FACE_MODEL_PARAM, artifacts.LANDMARKS, artifacts.MANIFEST,
          artifacts.ATTRIBUTIONS, artifacts.ATTRIBUTION_SUMMARY, artifacts.TUNED_HPARAMS, artifacts.FULL.runs,
          artifacts.FULL.timings, artifacts.FULL.predictions, artifacts.RETRAIN.runs, artifacts.RETRAIN.timings,
          artifacts.RETRAIN.predictions, artifacts.RETRAIN.hparams, artifacts.BASELINE_RUNS, artifacts.EVALUATIONS,
          artifacts.TIMELINES, artifacts.TIMELINE_SET.runs, artifacts.CHECKS, artifacts.RIVALS)
OUTPUTS = (artifacts.REPORT_MD, artifacts.REPORT_HTML, artifacts.REPORT_FIGURES, artifacts.REPORT_PLOTS,
           artifacts.PLOTS_PAGE, artifacts.REPORT_TABLES, artifacts.REPORT_METRICS, artifacts.HEADLINE)


def report_inputs(data: DataParams, extract: ExtractParams, split: SplitParams, model: ModelParams,
                  train: TrainParams, attribute: AttributeParams, demo: DemoParams, evaluate: EvaluateParams,
                  timeline: TimelineParams) -> ReportInputs:
    """Everything the report reads, from the emo.artifacts paths."""
    setup = Setup(
        data_root=data.root, layout=data.layout, demo=data.root.resolve() == demo.out.resolve(),
        split_mode=split.mode, model_input=model.input, flip=train.flip, learning_rate=train.learning_rate,
        epochs=train.epochs, frames=extract.frames, ig_steps=attribute.steps,
        evaluated_roots={name: dataset.root for name, dataset in evaluate.datasets.items()},
        timeline=(f"the {timeline.models} models, a window of {timeline.window_s} s, the reference {timeline.reference}, head motion "
                  f"{'removed' if timeline.align == 'similarity' else 'kept'}, {timeline.absolute_weight:g} of each answer "
                  f"from the frame's blendshapes alone, threshold {timeline.threshold}"),
        face_model=extract.face_model, crop_size=extract.crop_size, box=extract.box, box_margin=extract.box_margin,
    )
    return load_inputs(
        setup, landmarks=artifacts.LANDMARKS, manifest=artifacts.MANIFEST, attributions=artifacts.ATTRIBUTIONS,
        attribution_summary=artifacts.ATTRIBUTION_SUMMARY, tuned_hparams=artifacts.TUNED_HPARAMS,
        full_runs=artifacts.FULL.runs, full_timings=artifacts.FULL.timings,
        full_predictions=artifacts.FULL.predictions, retrain_runs=artifacts.RETRAIN.runs,
        retrain_timings=artifacts.RETRAIN.timings, retrain_predictions=artifacts.RETRAIN.predictions,
        retrain_hparams=artifacts.RETRAIN.hparams, baseline_runs=artifacts.BASELINE_RUNS,
        evaluations={name: artifacts.Evaluation(name).metrics for name in evaluate.datasets},
        timelines={name: artifacts.Timeline(name).metrics for name in timeline.recordings},
        timeline_set_runs=artifacts.TIMELINE_SET.runs,
        check_metrics=artifacts.CHECK_METRICS, localisation=artifacts.LOCALISATION, sanity=artifacts.SANITY,
        agreement=artifacts.AGREEMENT, action_unit_shares=artifacts.ACTION_UNIT_SHARES, rivals=artifacts.RIVALS,
    )


def run(data: DataParams, extract: ExtractParams, split: SplitParams, model: ModelParams, train: TrainParams,
        attribute: AttributeParams, demo: DemoParams, evaluate: EvaluateParams, timeline: TimelineParams) -> dict:
    """Write the report and its data; returns metrics.json's content."""
    r = report_inputs(data, extract, split, model, train, attribute, demo, evaluate, timeline)
    with stage_run("report", data=data, evaluate=evaluate) as run:
        computed_on = environment_line(environment(), pipeline_tags()["pipeline"])
        with atomic_dir(artifacts.REPORT_FIGURES) as fig_dir:
            doc = report_document(r, fig_dir, computed_on)
            markdown = doc.markdown(artifacts.REPORT_FIGURES.relative_to(artifacts.REPORT_MD.parent).as_posix())
            page = doc.html()  # embeds the figures while they are still in the temporary folder
        with atomic_file(artifacts.REPORT_MD) as tmp:
            tmp.write_text(markdown, encoding="utf-8")
        with atomic_file(artifacts.REPORT_HTML) as tmp:
            tmp.write_text(page, encoding="utf-8")
        metrics = metrics_document(r)
        numbers = headline(metrics, r.best_k)
        run.log_metrics(_logged_metrics(metrics, r.comparisons) | numbers)
        write_json(artifacts.REPORT_METRICS, metrics)
        write_json(artifacts.HEADLINE, numbers)
        write_plot_data(artifacts.REPORT_PLOTS, r)
        with atomic_file(artifacts.PLOTS_PAGE) as tmp:
            tmp.write_text(plots_page())
        write_tables(artifacts.REPORT_TABLES, r)
        for path in (artifacts.REPORT_MD, artifacts.REPORT_HTML):
            run.log_file(path)
        run.log_folder(artifacts.REPORT_FIGURES)
        save_runs_view(run.client, run.experiment_id, list(numbers))
    print(f"wrote {artifacts.REPORT_MD} and {artifacts.REPORT_HTML}")
    for config, accuracy in metrics["six_class_accuracy"].items():
        print(f"six-class accuracy, {config}: {accuracy:.3f}")
    return metrics


def _logged_metrics(metrics: dict, comparisons: pd.DataFrame) -> dict[str, float]:
    """The report's metrics in MLflow: six-class accuracies, the evaluated datasets' scores and
    every pooled comparison's difference and Holm-adjusted p."""
    pooled = comparisons[comparisons.emotion == POOLED] if len(comparisons) else comparisons
    return {
        **{metric_name(f"six_class.{config}"): v for config, v in metrics["six_class_accuracy"].items()},
        **{metric_name(f"evaluate.{name}.{config}.{k}"): v for name, result in metrics["evaluation"].items()
           for config, m in result.items() for k, v in m.items()},
        **{f"{row.comparison}.{row.metric}.K{row.K}.{stat}": getattr(row, stat) for row in pooled.itertuples()
           for stat in ("difference", "p_holm")},
    }
