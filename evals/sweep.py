"""One summary across a multirun sweep: every job's headline metrics side by side, with CIs and n.

`chatbot-evals run --multirun variant=rules,retrieval seed=0,1` runs one job per combination, each its
own MLflow run. When the sweep ends, the `SweepSummary` Hydra callback reads each job's results
folder (or, when the jobs ran on other machines, each job's `results/` artifact from the tracking store),
writes `sweep_summary.csv` and `sweep_summary.md` into the sweep folder, prints the table and
logs it as one MLflow run named `sweep summary` (tag `evals.sweep`), beside the jobs' runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback

from evals.masking import flatten

if TYPE_CHECKING:  # Hydra makes the callback at every start: pandas only when a sweep ends
    import pandas as pd

    from evals.results import EvalResult

SUMMARY_RUN = "sweep summary"


def jobs_of(sweep_dir: Path) -> list[tuple[str, EvalResult]]:
    """(job number, results) of every job of a sweep that finished and wrote its results, in job order."""
    from evals.results import EvalResult

    found = [(p.parent.parent.name, p.parent) for p in sweep_dir.glob("*/results/manifest.json")]
    return [(job, EvalResult.load(folder)) for job, folder in sorted(found, key=lambda f: _number(f[0]))]


def jobs_in_store(uri: str, experiment: str, sweep_dir: Path) -> list[tuple[str, EvalResult]]:
    """(job number, results) of every finished job of a sweep, read from the tracking store (each job's
    `results/` artifact): for sweeps whose jobs ran on other machines, without a shared filesystem."""
    from evals import tracking

    found = tracking.sweep_runs(uri, experiment, str(sweep_dir))
    return [(job, tracking.load_results(uri, run_id)[1]) for job, run_id in sorted(found, key=lambda f: _number(f[0]))]


def _number(job: str) -> tuple[int, str]:
    return (int(job), job) if job.isdigit() else (sys.maxsize, job)


def varying(configs: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """What the sweep swept: the config keys whose values differ between the jobs, each job's value.

    The variant and scorer selections show as their names; a key inside one variant's or scorer's
    settings shows only when every job has that variant or scorer (else the selection says it)."""
    flat = [_flat(c) for c in configs]
    keys = dict.fromkeys(k for f in flat for k in f)
    return {k: [f.get(k, "") for f in flat] for k in keys
            if len({f.get(k) for f in flat}) > 1 and all(k in f for f in flat) and k != "output_dir"}


def _flat(config: Mapping[str, Any]) -> dict[str, str]:
    selections = {g: ",".join(config.get(g) or {}) for g in ("variant", "scorer")}
    return {**selections, **flatten(config)}


def summary(jobs: Sequence[tuple[str, EvalResult]]) -> pd.DataFrame:
    """One row per (job, variant, headline metric): the swept settings, value, CI, n, too_few, direction."""
    import pandas as pd

    swept = varying([result.manifest.get("config", {}) for _, result in jobs])
    rows = []
    for i, (job, result) in enumerate(jobs):
        settings = {k: values[i] for k, values in swept.items()}
        table = result.summary
        headline = table[table["label"].fillna("") != ""] if "label" in table else table
        for row in headline.itertuples():
            rows.append({"job": job, **settings, "variant": row.variant, "metric": row.metric,
                         "label": row.label, "value": row.value, "ci_low": row.ci_low, "ci_high": row.ci_high,
                         "n": row.n, "too_few": row.too_few, "direction": row.direction,
                         "problems": "; ".join(result.problems)})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """Jobs x variants as rows, headline metrics as columns: `value [low, high] (n)`."""
    if table.empty:
        return "No job of this sweep wrote results."
    keys = [c for c in table.columns if c not in ("metric", "label", "value", "ci_low", "ci_high", "n", "too_few",
                                                  "direction", "problems")]
    cell = table.apply(_cell, axis=1)
    wide = table.assign(cell=cell).set_index([*keys, "label"])["cell"].unstack("label")
    wide = wide[list(dict.fromkeys(table["label"]))]
    lines = ["| " + " | ".join([*keys, *wide.columns]) + " |", "|" + "---|" * (len(keys) + len(wide.columns))]
    for index, row in wide.iterrows():
        index = index if isinstance(index, tuple) else (index,)
        lines.append("| " + " | ".join([*map(str, index), *(str(v) for v in row.fillna("n/a"))]) + " |")
    notes = table.drop_duplicates("job").query("problems != ''")
    lines += [f"\nJob {r.job}: {r.problems}" for r in notes.itertuples()]
    return "\n".join(lines)


def _cell(row: pd.Series) -> str:
    import pandas as pd

    if pd.isna(row["value"]):
        return f"n/a (n={row['n']})"
    if row["too_few"] or pd.isna(row["ci_low"]):
        return f"{row['value']:.2f} too few (n={row['n']})"
    return f"{row['value']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}] (n={row['n']})"


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, one summary of the sweep (see the module docstring)."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Make the MLflow store and experiment once, before the jobs start.

        Parallel launchers (joblib, Ray) start the jobs together: each would find no experiment and make it, and
        two processes making a new sqlite store at once fail on its schema migration (duplicate column)."""
        from evals import tracking

        try:
            tracking.Tracker(str(config.tracking.uri), str(config.experiment), config.tracking.get("artifact_root"))
        except Exception:  # noqa: BLE001  a bad tracking setting: every job reports it as a one-line error
            return

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        """A job runs in the folder the sweep was launched from, whichever process runs it.

        A Ray worker starts in the folder `ray start` ran in; relative paths (the default sqlite store under
        runs/, the reply cache, a dataset path) must mean the launching folder, as they do without Ray. On a
        machine without that folder (a remote worker) the job stays where the worker started."""
        launched_from = str(config.hydra.runtime.cwd)
        if os.getcwd() != launched_from and os.path.isdir(launched_from):
            os.chdir(launched_from)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        from omegaconf import OmegaConf

        sweep_dir = Path(OmegaConf.select(config, "hydra.sweep.dir"))
        jobs = jobs_of(sweep_dir)
        if not jobs:  # jobs on workers of other machines wrote their folders there: read their runs instead
            jobs = jobs_in_store(str(config.tracking.uri), str(config.experiment), sweep_dir)
        if not jobs:
            print(f"\nNo sweep summary: no job's results under {sweep_dir}, nor a finished run of one in "
                  f"{config.tracking.uri}", file=sys.stderr)
            return
        table = summary(jobs)
        text = markdown(table)
        files = [sweep_dir / "sweep_summary.csv", sweep_dir / "sweep_summary.md"]
        table.to_csv(files[0], index=False)
        files[1].write_text(f"# Sweep summary ({len(jobs)} jobs)\n\n{text}\n", encoding="utf-8")
        print(f"\nSweep summary ({len(jobs)} jobs; value [95% CI] (n)):\n{text}\n\nwritten to {files[1]}",
              file=sys.stderr)
        from evals import tracking

        tracking.log_summary_run(str(config.tracking.uri), str(config.experiment), SUMMARY_RUN,
                                 {"evals.sweep": str(sweep_dir), "mlflow.note.content": text}, files)
