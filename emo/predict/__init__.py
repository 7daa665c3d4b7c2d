"""`emo predict` and `emo explain`, and their Python API: the pipeline's models on new videos,
and why they decide.

Landmarks come from the extract stage's own code path (same face box, crop, landmarker, gap
filling and resampling to P); each emotion's models (one per seed, averaged) gather their own
landmarks; the highest probability names the emotion. A clip that seems to start at its peak
rather than at a neutral face gets a warning (emo.video.onset).

- emo.predict.predictor: the Predictor, the checked choice of models, predict_videos;
- emo.predict.tables: one result per video and its table (CSV, JSON, DataFrame);
- emo.predict.explain: `emo explain`'s Integrated Gradients and the files that show them.

From Python (py-feat's convention: a DataFrame, one row per video, the columns of COLUMNS):

    import emo
    table = emo.predict_videos(["clip.mp4", "frames/"])   # in the repository, as `emo predict`
    with emo.Predictor.from_folders("models/full", "models/retrain_k", "params.yaml",
                                    landmarks="data/landmarks/landmarks.npz") as predictor:
        table = predictor.predict(["clip.mp4"])
        table = predictor.predict_landmarks(X)            # [N, P, 2, 468], as the extract stage writes
"""

from emo.predict.predictor import ClipWarning, LongRecordingWarning, Predictor, StartsAtPeakWarning, predict_videos
from emo.predict.tables import COLUMNS

__all__ = ["COLUMNS", "ClipWarning", "LongRecordingWarning", "Predictor", "StartsAtPeakWarning", "predict_videos"]
