"""Evaluation and statistics: a binary model's test metrics, paired comparisons over seeds,
the SVM baselines, the merged six-emotion classifier and other datasets."""
