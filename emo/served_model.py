"""The six-emotion classifier as an MLflow model (`mlflow.pyfunc`), which the register stage
logs and registers. MLflow stores this file as the model's code ("models from code": no
pickle) beside its artifacts, the folder `pipeline`: the params file the pipeline ran with,
each emotion's T-EMO models at its best K (with the runs tables that chose them), the
training landmarks (the neutral faces that the starts-at-its-peak check compares with) and
MediaPipe's face model. It answers as `emo predict` does (emo.predict.Predictor):

- a DataFrame with a `path` column (video files, folders of frames, CK+ sequence folders on
  the machine that serves the model), as a request's `dataframe_split` or `dataframe_records`;
- or landmark videos [N, P, 2, 468] as the extract stage writes them: a numpy array, or a
  request's `inputs` (nested lists);

and returns one row per video: path, emotion, the six probabilities, warning, error.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd



class SixEmotionClassifier(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from emo.artifacts import ModelPackage  # after MLflow has put the model's code on the path
        from emo.predict import Predictor

        package = ModelPackage(Path(context.artifacts["pipeline"]))
        self.predictor = Predictor.from_folders(package.full.root, package.retrain.root, package.params,
                                                landmarks=package.landmarks, face_model=package.face_model)

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame) and "path" in model_input.columns:
            return self.predictor.predict(model_input["path"].astype(str).tolist())
        return self.predictor.predict_landmarks(np.asarray(model_input, dtype=np.float32))


mlflow.models.set_model(SixEmotionClassifier())
