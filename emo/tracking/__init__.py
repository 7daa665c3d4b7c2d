"""MLflow: one parent run per stage execution, with the stage's headline numbers as metrics.

DVC owns the files; MLflow owns the comparisons. The store is the local
`sqlite:///mlflow.db` (what a plain `mlflow ui` opens in the repository root) unless
MLFLOW_TRACKING_URI names another, e.g. a shared server.

- `store`: which store, whether a server answers, its refusals, the experiment;
- `runs`: a stage's parent run and its children (`stage_run`, `StageRun`);
- `provenance`: the tags that trace a run to its commit, params and machine;
- `recovery`: runs left RUNNING by a stage process that is gone, marked KILLED;
- `ui`: the address of the runs view, and the UI that `emo ui` serves;
- `processes`: the `mlflow` processes emo starts, and their bounded shutdown.

Callers import from these modules, not from the package: a stage then depends on the modules it
uses (its dvc.yaml deps). The report stage uses `ui` (it saves the runs view the UI opens), so
an edit there reruns the report.
"""
