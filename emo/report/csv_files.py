"""The report's CSV files: the plot data that `dvc plots` draws, and the long tables (every
comparison's statistics, six-class accuracy per test subject)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emo import paper
from emo.data.emotions import EMOTIONS
from emo.evaluation.runs import TEMO_468, TEMO_BEST_K
from emo.files import atomic_dir
from emo.models.model import VARIANTS
from emo.report.inputs import ReportInputs


def write_plot_data(folder: Path, r: ReportInputs) -> None:
    """CSVs for `dvc plots show` (atomically, as one folder): accuracy against K per emotion and
    variant, and the paper's at the paper's K (its own file, so that no line runs through a K
    it did not measure); six-class predictions (actual, predicted) for the confusion template.
    Each evaluated dataset's confusion plot is evaluate@NAME's own output."""
    s = r.summary
    top = s[(s.selection == "top") & s.variant.isin(VARIANTS)]
    wide = top.pivot_table(index="K", columns=["emotion", "variant"], values="accuracy_mean")
    wide.columns = [f"{e}_{v}" for e, v in wide.columns]
    paper_ks = sorted({k for variant in VARIANTS for emotion in EMOTIONS for k in paper.ACCURACY[variant][emotion]})
    published = pd.DataFrame(
        {f"{emotion}_{variant}_paper": [paper.ACCURACY[variant][emotion].get(k, (np.nan,))[0] for k in paper_ks]
         for variant in VARIANTS for emotion in EMOTIONS}, index=pd.Index(paper_ks, name="K"))
    names = np.array(EMOTIONS)
    with atomic_dir(folder) as tmp:
        wide.reset_index().to_csv(tmp / "accuracy_vs_k.csv", index=False)
        published.reset_index().to_csv(tmp / "accuracy_vs_k_paper.csv", index=False)
        for config, name in ((TEMO_468, "six_class_temo_468.csv"), (TEMO_BEST_K, "six_class_temo_best_k.csv")):
            part = r.merged[r.merged.config == config]
            pd.DataFrame({"actual": names[part.actual], "predicted": names[part.predicted]}
                         ).to_csv(tmp / name, index=False)


def write_tables(folder: Path, r: ReportInputs) -> None:
    """The report's long tables as CSV (atomically, as one folder): every comparison's
    statistics and the six-class accuracy per test subject."""
    with atomic_dir(folder) as tmp:
        r.comparisons.to_csv(tmp / "statistics.csv", index=False)
        r.per_subject.to_csv(tmp / "per_subject.csv", index=False)
