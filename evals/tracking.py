"""Results -> MLflow: the only module that imports mlflow.

One parent run per experiment, one nested run per variant with params, metrics (and their
confidence intervals), the per-reply table, dataset lineage and the resolved config.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


def _telemetry_off_unless_chosen() -> None:
    """The harness promises no network: MLflow's usage telemetry stays off unless the user set it.

    MLflow builds its telemetry client when it is imported, so this runs before `import mlflow`.
    MLFLOW_DISABLE_TELEMETRY=false (or DO_NOT_TRACK=false) in the environment turns it back on.
    """
    if "MLFLOW_DISABLE_TELEMETRY" not in os.environ and "DO_NOT_TRACK" not in os.environ:
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"


_telemetry_off_unless_chosen()
# Traces are written synchronously: the async exporter's consumer polls its queue once a second, so each
# flush (one per variant, before its assessments) and the process exit waited up to a second for nothing.
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.entities import RunStatus  # noqa: E402

from evals import signals  # noqa: E402
from evals.masking import REDACTED, flatten, masked  # noqa: E402,F401  (re-exported)
from evals.reply_traces import ReplyTrace  # noqa: E402
from evals.results import EvalResult  # noqa: E402


def git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


# --- runs left RUNNING by a killed process ----------------------------------------------------
# Each run records which process owns it, so a later run can tell a crashed run from a live one.
PID_TAG, HOST_TAG, STARTED_TAG = "evals.pid", "evals.host", "evals.pid_started"


def _process_started(pid: int) -> str | None:
    """The kernel's start time of a process (Linux), which tells a reused pid from the original."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name before ")" may hold spaces


def _owner_tags() -> dict[str, str]:
    pid = os.getpid()
    started = _process_started(pid)
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), **({STARTED_TAG: started} if started else {})}


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return True  # no /proc: trust the pid
    if stat[0] == "Z":  # killed, not yet reaped
        return False
    return started is None or stat[19] == started


def _orphaned(tags: Mapping[str, str]) -> bool:
    """Started by a process of this host that is gone; runs of other hosts are never judged."""
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False
    return not _alive(int(tags[PID_TAG]), tags.get(STARTED_TAG))


def close_orphans(experiment_id: str) -> list[str]:
    """End as KILLED the runs of an experiment left RUNNING by a killed process (kill -9, power loss)."""
    client = mlflow.MlflowClient()
    running = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'")
    closed = []
    for run in running:
        if _orphaned(run.data.tags):
            client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
            closed.append(run.info.run_id)
    return closed


@contextmanager
def _run(**kwargs: Any) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run that ends KILLED on Ctrl-C or SIGTERM (evals.signals), not FAILED or RUNNING."""
    with mlflow.start_run(**kwargs) as run:
        try:
            yield run
        except KeyboardInterrupt as exc:
            with signals.uninterrupted():
                mlflow.end_run(RunStatus.to_string(RunStatus.KILLED))
            if not kwargs.get("nested"):
                exc.killed_run = run.info.run_id  # type: ignore[attr-defined]  # for the one-line message
            raise


def is_server(uri: str) -> bool:
    """A tracking server (http or https), as opposed to a store this process opens itself."""
    return uri.lower().startswith(("http://", "https://"))


def artifact_location(uri: str, artifact_root: str | None) -> str | None:
    """Where a new experiment keeps its artifacts; None leaves it to the store or server.

    A folder path is a local store's business only: with a tracking server it would send every
    artifact to this client's own disk, where nobody else can open it, so the server's default
    (`mlflow-artifacts:` with `--serve-artifacts`) wins. A URI (s3://, mlflow-artifacts:, file://
    on a shared mount) was chosen on purpose and is kept.
    """
    if not artifact_root:
        return None
    if len(urlparse(artifact_root).scheme) > 1:  # one letter is a Windows drive, not a scheme
        return artifact_root
    if is_server(uri):
        return None
    return Path(artifact_root).resolve().as_uri()


def check_server_answers(uri: str, timeout_s: float = 10) -> None:
    """One line now, instead of MLflow's minutes of retries and a traceback, when no server is there."""
    import urllib.error
    import urllib.request

    from evals.errors import UserError

    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout_s).close()
    except urllib.error.HTTPError:
        return  # something answers (a proxy asking for a login, say); MLflow's own errors say more
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"tracking.uri: no MLflow server answers at {uri} ({reason}); start one "
                        "(docs/tracking_server.md) or give its address") from None


def _make_store_folder(uri: str) -> None:
    """The folder of a local SQLite store, made here so that a path nobody can write is one line, not a
    traceback from inside MLflow's engine set-up."""
    from evals.errors import UserError, folder_problem

    if not uri.startswith("sqlite:///"):
        return
    folder = Path(uri.removeprefix("sqlite:///")).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"tracking.uri {uri}: cannot make the store's folder {folder} ({folder_problem(exc)}); "
                        "give a writable place, e.g. tracking.uri=sqlite:///runs/mlflow.db") from None


class Tracker:
    def __init__(self, uri: str, experiment: str, artifact_root: str | None = None) -> None:
        logging.getLogger("mlflow").setLevel(logging.WARNING)  # keep the terminal for results
        if is_server(uri):
            check_server_answers(uri)
        _make_store_folder(uri)
        mlflow.set_tracking_uri(uri)
        self.uri = uri
        found = mlflow.get_experiment_by_name(experiment)
        if found is None:
            self.experiment_id = _create_experiment(mlflow.MlflowClient(uri), experiment,
                                                    artifact_location(uri, artifact_root))
        else:
            self.experiment_id = found.experiment_id
            if is_server(uri) and found.artifact_location.startswith("file:"):
                # made before the server kept artifacts: each client writes them to its own disk
                print(f"note: experiment '{experiment}' on {uri} keeps its artifacts at {found.artifact_location}, "
                      "which each client writes to directly (its own disk unless that is a shared mount); "
                      "give a new `experiment=` name to have the server keep them", file=sys.stderr)

    @contextmanager
    def experiment_run(self, name: str, config: Mapping[str, Any], tags: Mapping[str, str]) -> Iterator[str]:
        closed = close_orphans(self.experiment_id)
        if closed:
            print(f"note: ended {len(closed)} MLflow run(s) left RUNNING by a killed process as KILLED: "
                  f"{', '.join(closed)}", file=sys.stderr)
        with _run(experiment_id=self.experiment_id, run_name=name, tags={**tags, **_owner_tags()}) as run:
            clean = masked(config)
            mlflow.log_params(flatten(clean))
            mlflow.log_dict(clean, "config.yaml")
            yield run.info.run_id

    def log_variant(
        self,
        variant: str,
        config: Mapping[str, Any],
        metrics: Mapping[str, float],
        table: pd.DataFrame,
        dataset: pd.DataFrame,
        dataset_name: str,
        dataset_source: str,
        tags: Mapping[str, str],
        traces: Sequence[ReplyTrace] = (),
    ) -> str:
        with _run(experiment_id=self.experiment_id, run_name=variant, nested=True,
                  tags={**tags, "variant": variant, **_owner_tags()}) as run:
            clean = masked(config)
            mlflow.log_params(flatten(clean))
            mlflow.log_dict(clean, "config.yaml")
            mlflow.log_metrics({k: v for k, v in metrics.items() if pd.notna(v)})
            with warnings.catch_warnings():
                # MLflow registers its local-file source twice and warns that it is ambiguous.
                warnings.filterwarnings("ignore", message="The specified dataset source")
                lineage = mlflow.data.from_pandas(dataset, source=dataset_source, name=dataset_name)
            _log_input_shared(lineage)
            mlflow.log_table(table, artifact_file="replies.json")
            _log_traces(traces)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "replies.parquet"
                table.to_parquet(path, index=False)
                mlflow.log_artifact(str(path))
            return run.info.run_id

    def log_files(self, folder: str, files: Sequence[Path]) -> None:
        """Attach files (report, plots) to the active parent run, in one artifact folder."""
        for path in files:
            mlflow.log_artifact(str(path), artifact_path=folder)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        mlflow.log_metrics({k: v for k, v in metrics.items() if pd.notna(v)})

    def set_tags(self, tags: Mapping[str, str]) -> None:
        mlflow.set_tags(dict(tags))


# How a duplicate key reads in MLflow's errors, local store or server: PostgreSQL, SQLite, MySQL.
_DUPLICATE = ("already exists", "UNIQUE constraint failed", "Duplicate entry")


def _log_input_shared(lineage: Any, attempts: int = 3) -> None:
    """Link the dataset to the active run, even when another process logs the same dataset at that moment.

    MLflow looks the dataset up, then inserts it if missing; two runs doing this at once (a sweep's jobs,
    teammates on one server) both insert, and the second fails on the unique key. Asked again, MLflow
    finds the dataset the other run wrote and links it.
    """
    for attempt in range(attempts):
        try:
            mlflow.log_input(lineage, context="evaluation")
            return
        except mlflow.exceptions.MlflowException as error:
            if attempt == attempts - 1 or not any(text in str(error) for text in _DUPLICATE):
                raise


def _log_traces(traces: Sequence[ReplyTrace]) -> None:
    """Each reply as a trace of the active run, its scores as feedback: MLflow's "Evaluations" tab lists them.

    The assessments are logged while their trace is active, so MLflow writes them with the trace in one
    transaction (about 10 ms each less than one store write per assessment after the trace is in)."""
    from mlflow.entities import AssessmentError, AssessmentSource, AssessmentSourceType

    for record in traces:
        with mlflow.start_span(name=record.variant) as span:
            span.set_inputs(record.inputs)
            span.set_outputs(record.outputs)
            span.set_attributes({"case_id": record.case_id})
            for expected in record.expectations:
                kind = AssessmentSourceType.HUMAN if expected.human else AssessmentSourceType.CODE
                mlflow.log_expectation(trace_id=span.trace_id, name=expected.name, value=expected.value,
                                       source=AssessmentSource(kind, expected.source_id))
            for feedback in record.feedback:
                source = AssessmentSource(AssessmentSourceType.LLM_JUDGE if feedback.judge
                                          else AssessmentSourceType.CODE, feedback.source_id)
                if feedback.value is None:
                    mlflow.log_feedback(trace_id=span.trace_id, name=feedback.name, source=source,
                                        error=AssessmentError("UNSCORED", feedback.error or "unscored"))
                else:
                    mlflow.log_feedback(trace_id=span.trace_id, name=feedback.name, value=feedback.value,
                                        rationale=feedback.rationale, source=source)
    if traces:
        mlflow.flush_trace_async_logging()  # every trace is in the store before the run ends


def log_summary_run(uri: str, experiment: str, name: str, tags: Mapping[str, str], files: Sequence[Path]) -> str:
    """A run beside an experiment's evaluation runs that holds a summary of them (a sweep's), as files."""
    return log_side_run(uri, str(experiment_id_named(uri, experiment, create=True)), name, tags, {}, files)


def log_side_run(uri: str, experiment_id: str, name: str, tags: Mapping[str, str], metrics: Mapping[str, float],
                 files: Sequence[Path]) -> str:
    """One run named `name` beside the evaluation runs (a sweep summary, a gate verdict): tags, metrics, files."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=dict(tags)) as run:
        mlflow.log_metrics({k: v for k, v in metrics.items() if pd.notna(v)})
        for path in files:
            mlflow.log_artifact(str(path))
        return run.info.run_id


def store_exists(uri: str) -> bool:
    """False for a local sqlite store that was never made (nothing to find or log in)."""
    return not uri.startswith("sqlite:///") or Path(uri.removeprefix("sqlite:///")).is_file()


# --- agreement with human labels (evals/agreement.py, `chatbot-evals agree`) -----------------


def load_results(uri: str, run_id: str) -> tuple[str, EvalResult]:
    """An evaluated (parent) run's experiment id, and its results folder (the `results/` artifact)."""
    from evals.errors import UserError

    if not store_exists(uri):
        raise UserError(f"no MLflow store at {uri} "
                        "(give the one `chatbot-evals run` used with --tracking-uri)")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    client = mlflow.MlflowClient(tracking_uri=uri)
    try:
        parent = client.get_run(run_id)
    except mlflow.exceptions.MlflowException:
        raise UserError(f"no MLflow run '{run_id}' in {uri}") from None
    if "mlflow.parentRunId" in parent.data.tags:
        raise UserError(f"run '{run_id}' is the variant run '{parent.info.run_name}'; give its parent "
                        f"run {parent.data.tags['mlflow.parentRunId']}")
    if "results" not in {a.path for a in client.list_artifacts(run_id)}:
        raise UserError(f"run '{run_id}' has no results folder (give the parent run id that "
                        "`chatbot-evals run` printed; runs made before the results format cannot be read)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = client.download_artifacts(run_id, "results", tmp)
        return parent.info.experiment_id, EvalResult.load(folder)


def sweep_runs(uri: str, experiment: str, sweep_dir: str) -> list[tuple[str, str]]:
    """(job folder name, parent run id) of every finished job of a sweep, found in the store by its output
    folder: the jobs of workers on other machines wrote their folders there, and their runs here."""
    if not store_exists(uri):
        return []
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    prefix = sweep_dir.rstrip("/") + "/"
    runs = client.search_runs([found.experiment_id], f"attributes.status = 'FINISHED' and "
                              f"params.output_dir LIKE '{_quoted(prefix)}%'", max_results=10_000)
    jobs = [(r.data.params["output_dir"], r) for r in runs if "mlflow.parentRunId" not in r.data.tags]
    # LIKE reads _ as any character: keep exactly the folders directly under the sweep's
    return [(folder[len(prefix):], r.info.run_id) for folder, r in jobs
            if folder.startswith(prefix) and "/" not in folder[len(prefix):]]


RELEASED_TAG = "evals.released"  # set to "true" on a parent run by `chatbot-evals release`


def find_run(uri: str, experiment: str, *, name: str | None = None, tag: tuple[str, str] | None = None) -> str | None:
    """The newest finished parent run of `experiment` with this run name or tag (key, value); None if none."""
    from evals.errors import UserError

    if not store_exists(uri):
        raise UserError(f"no MLflow store at {uri} (give the one `chatbot-evals run` used)")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise UserError(f"no MLflow experiment '{experiment}' in {uri}")
    filters = ["attributes.status = 'FINISHED'"]
    if name is not None:
        filters.append(f"attributes.run_name = '{_quoted(name)}'")
    if tag is not None:
        filters.append(f"tags.`{tag[0]}` = '{_quoted(tag[1])}'")
    token = None
    while True:  # page on: nested runs (a variant named like the parent) may fill a page
        runs = client.search_runs([found.experiment_id], " and ".join(filters),
                                  order_by=["attributes.start_time DESC"], max_results=50, page_token=token)
        parent = next((r.info.run_id for r in runs if "mlflow.parentRunId" not in r.data.tags), None)
        if parent is not None or not runs.token:
            return parent
        token = runs.token


def _quoted(text: str) -> str:
    from evals.errors import UserError

    if "'" in text or "`" in text:
        raise UserError(f"{text!r}: a run name or tag to search for cannot hold ' or `")
    return text


def set_run_tag(uri: str, run_id: str, key: str, value: str) -> None:
    mlflow.MlflowClient(tracking_uri=uri).set_tag(run_id, key, value)


def log_agreement(uri: str, experiment_id: str, tags: Mapping[str, str],
                  metrics: Mapping[str, float], folder: Path) -> str:
    """One run named `agreement` beside the evaluated run, with every file under `folder`."""
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=experiment_id, run_name="agreement",
                          tags=dict(tags)) as run:
        mlflow.log_metrics({k: v for k, v in metrics.items() if pd.notna(v)})
        mlflow.log_artifacts(str(folder))
        return run.info.run_id


def latest_kappa(experiment_id: str, scorer: str, version: str) -> tuple[float, str] | None:
    """The kappa of the newest `agreement` run that measured this scorer at this version."""
    runs = mlflow.search_runs(
        [experiment_id], output_format="list", order_by=["attributes.start_time DESC"],
        filter_string=f"attributes.run_name = 'agreement' and tags.`scorer_version.{scorer}` = '{version}'")
    for run in runs:
        kappa = next((v for k, v in run.data.metrics.items()
                      if k.startswith(f"{scorer}.") and k.endswith(".kappa")), None)
        if kappa is not None:
            return kappa, run.info.run_id
    return None


# --- gate -------------------------------------------------------------------------------------
# `chatbot-evals gate` and `release` (evals/commands/): the verdict is logged as a run named `gate`
# beside the candidate's run; the judgement itself (evals/gate.py) never touches MLflow.


def experiment_of(uri: str, run_id: str) -> tuple[str, str]:
    """A run's experiment: (id, name)."""
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment_id = client.get_run(run_id).info.experiment_id
    return experiment_id, client.get_experiment(experiment_id).name


def experiment_id_named(uri: str, name: str, create: bool = False) -> str | None:
    """The id of the experiment `name`, made when `create`; None when there is none."""
    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return _create_experiment(client, name) if create else None


def _create_experiment(client: mlflow.MlflowClient, name: str, location: str | None = None) -> str:
    try:
        return client.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        # another process made it between the lookup and here (teammates, a sweep's jobs on a server)
        return client.get_experiment_by_name(name).experiment_id


def kappa_lookup(uri: str, experiment_id: str):  # -> evals.trust.KappaLookup
    """(scorer, version) -> (kappa, agreement run) of the newest `agreement` run in this experiment."""
    def lookup(scorer: str, version: str) -> tuple[float, str] | None:
        mlflow.set_tracking_uri(uri)
        return latest_kappa(experiment_id, scorer, version)

    return lookup


def log_gate(uri: str, experiment_id: str, tags: Mapping[str, str], metrics: Mapping[str, float],
             files: Sequence[Path]) -> str:
    """One run named `gate` with the verdict files, its reasons as tags and its counts as metrics."""
    return log_side_run(uri, experiment_id, "gate", tags, metrics, files)
