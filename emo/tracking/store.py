"""The tracking store: which one (`tracking_uri`), whether a tracking server answers, its
refusals as one sentence, and the experiment every run goes to.

A tracking server is checked to answer before a stage's run opens, and MLflow's later HTTP
calls are bounded (HTTP_BOUNDS): its own retries would leave a stage silent for minutes on a
server that is down.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from emo.environment import MLFLOW_TRACKING_URI
from emo.errors import EmoError

DEFAULT_URI = "sqlite:///mlflow.db"
EXPERIMENT = "emo"
# MLflow 3's UI opens an experiment of this kind on its training runs, not its GenAI overview.
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"
# MLflow's HTTP retries, unless the user set them: a server that stops answering mid-stage fails
# it within about a minute, where MLflow's defaults (7 retries, backoff factor 2, 120 s a request)
# take minutes per call.
HTTP_BOUNDS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "5", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
               "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}
PROBE_TIMEOUT_S = 5


def tracking_uri() -> str:
    return os.environ.get(MLFLOW_TRACKING_URI, DEFAULT_URI)


def checked_tracking_uri() -> str:
    """tracking_uri(); a tracking server must answer within PROBE_TIMEOUT_S, and MLflow's later
    calls to it are bounded by HTTP_BOUNDS (set in the environment where the user has not)."""
    uri = tracking_uri()
    if not uri.startswith(("http://", "https://")):
        return uri
    for name, value in HTTP_BOUNDS.items():
        os.environ.setdefault(name, value)
    from mlflow.exceptions import MlflowException
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    try:  # any answer will do: a refusal is explained by the calls that follow (refusals_explained)
        http_request(get_default_host_creds(uri), "/health", "GET", max_retries=0, timeout=PROBE_TIMEOUT_S)
    except MlflowException:
        raise EmoError(f"the MLflow tracking server {uri} (MLFLOW_TRACKING_URI) did not answer within "
                       f"{PROBE_TIMEOUT_S} s: start it, correct MLFLOW_TRACKING_URI, or unset it to log to the "
                       f"local store {DEFAULT_URI}.") from None
    return uri


@contextlib.contextmanager
def refusals_explained(uri: str) -> Iterator[None]:
    """A tracking server's 401 or 403 as one sentence (MLflow's basic-auth app answers so)."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as e:
        what = {401: "refused emo's requests without valid credentials: set MLFLOW_TRACKING_USERNAME and "
                     "MLFLOW_TRACKING_PASSWORD",
                403: f"does not let these credentials log runs to experiment '{EXPERIMENT}': ask its "
                     "administrator for EDIT permission on it"}.get(e.get_http_status_code())
        if what is None:
            raise
        raise EmoError(f"the MLflow tracking server {uri} {what}, or unset MLFLOW_TRACKING_URI to log to the "
                       f"local store {DEFAULT_URI}.") from None


def experiment_id(client) -> str:
    """The experiment's id, created (or tagged, if an older version created it) as a
    model-training experiment."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return client.create_experiment(EXPERIMENT, tags={KIND_TAG: KIND})
    if experiment.tags.get(KIND_TAG) != KIND:
        client.set_experiment_tag(experiment.experiment_id, KIND_TAG, KIND)
    return experiment.experiment_id
