"""Stage evaluate@NAME: the trained models, unchanged, on the dataset evaluate.datasets.NAME.

Each binary model is applied as `emo predict` applies it (every seed's model of an emotion
averaged, the highest of the six probabilities names the emotion), at L = 468 and at each
emotion's best K; the SVM baselines are refit on all of the training dataset's videos.
"""

from __future__ import annotations

from emo import artifacts
from emo.config import BaselineParams, EvaluateParams, ModelParams
from emo.data.dataset import load_landmarks
from emo.evaluation.cross_dataset import configs, evaluated_dataset, predictions_table, scores, svm_probabilities
from emo.evaluation.runs import TEMO_BEST_K
from emo.files import write_csv, write_json
from emo.models.ensemble import choose_models, ensemble_probabilities, load_models
from emo.tracking.runs import metric_name, stage_run

INPUTS = (artifacts.EVALUATION_TEMPLATE.landmarks, artifacts.LANDMARKS, artifacts.FULL.runs, artifacts.FULL.models,
          artifacts.RETRAIN.runs, artifacts.RETRAIN.models, artifacts.RETRAIN.hparams)
OUTPUTS = (artifacts.EVALUATION_TEMPLATE.predictions, artifacts.EVALUATION_TEMPLATE.confusion,
           artifacts.EVALUATION_TEMPLATE.metrics)


def run(name: str, evaluate: EvaluateParams, model: ModelParams, baselines: BaselineParams) -> dict:
    """Predict and score one dataset: predictions.csv, confusion.csv (T-EMO at each emotion's
    best K, for `dvc plots`) and metrics.json (written last)."""
    where = artifacts.Evaluation(name)
    dataset = evaluated_dataset(evaluate.datasets, name)
    with stage_run(f"evaluate@{name}", dataset={"name": name, "root": dataset.root, "layout": dataset.layout},
                   baselines=baselines) as run:
        data = load_landmarks(where.landmarks)
        probabilities = {}
        for config, variant, k in configs(model.variants):
            models = choose_models(artifacts.FULL, artifacts.RETRAIN, variant, k)
            probabilities[config] = ensemble_probabilities(models, load_models(models), data.X)
        probabilities.update(svm_probabilities(load_landmarks(artifacts.LANDMARKS), data.X, baselines))
        metrics = {config: scores(data.y, p) for config, p in probabilities.items()}
        metrics["videos"] = len(data.y)
        table = predictions_table(data, probabilities)
        write_csv(where.predictions, table)
        # DVC's confusion plot: its (actual, predicted) rows at T-EMO's best K (model.variants holds temo)
        write_csv(where.confusion, table.loc[table.config == TEMO_BEST_K, ["actual", "predicted"]])
        write_json(where.metrics, metrics)
        run.log_metrics({metric_name(f"{config}.{k}"): m[k] for config, m in metrics.items() if config != "videos"
                         for k in ("six_class_accuracy", "balanced_accuracy")} | {"videos": len(data.y)})
    print(f"{name}: {metrics['videos']} videos")
    for config, m in metrics.items():
        if config != "videos":
            print(f"  {config}: six-class accuracy {m['six_class_accuracy']:.3f}, "
                  f"balanced accuracy {m['balanced_accuracy']:.3f}")
    return metrics
