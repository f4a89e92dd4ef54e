"""One experiment from a Hydra config: load -> `evals.evaluate` -> results folder -> MLflow -> report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from evals import api, business, html_report, report, schemas, settings, trust
from evals.aggregate import DEFAULT_MAX_UNDEFINED, DEFAULT_MIN_N, reply_stats
from evals.cache import ReplyCache
from evals.config import INSTALLED, PROJECT_ROOT
from evals.errors import UserError
from evals.history import history_of
from evals.html import business_section
from evals.load import build_cases, load_conversations, sample_conversations
from evals.memory import Memory
from evals.reply_traces import chosen_cases, reply_traces
from evals.results import EvalResult
from evals.sharding import Sharding, evaluate_sharded
from evals.sharding.examples import DEFAULT_EXAMPLES, examples_of, reply_stats_of
from evals.tracking import Tracker, git_commit, latest_kappa
from evals.types import Conversation, Scorer, Variant


@dataclass(frozen=True)
class ExperimentResult:
    parent_run_id: str
    variant_run_ids: dict[str, str]
    result: EvalResult
    report_dir: Path

    @property
    def summary(self) -> pd.DataFrame:  # variant x metric with CIs
        return self.result.summary

    @property
    def replies(self) -> pd.DataFrame:  # one row per (case, variant) with every score
        return self.result.wide()


def build(group: Mapping[str, Any], kind: str) -> list[Any]:
    """Instantiate each named entry of a config group (`variant` or `scorer`), name from its key."""
    if not group:
        raise UserError(f"no {kind} selected: choose at least one, e.g. {kind}=[...]")
    return [instantiate(node, name=key) for key, node in group.items()]


def run(cfg: DictConfig, console: Console | None = None) -> ExperimentResult:
    """The Hydra adapter: config -> `evals.evaluate` -> results folder, MLflow runs, report, terminal."""
    settings.check(cfg)  # a bad override fails here, before any data is read or MLflow run made
    schemas.check(cfg)  # and a bad key or value of a variant, scorer, dataset, judge or price
    business_settings = business.BusinessSettings.from_config(cfg.get("business"))
    console = console or Console(stderr=True)
    data_cfg = cfg.dataset
    loaded = load_conversations(data_cfg.path, on_error=data_cfg.on_error)
    if data_cfg.get("references_path"):  # reviewed should_escalate labels (evals/review/references.py)
        from evals.review.references import use_references
        loaded = use_references(loaded, data_cfg.references_path, console.print)
    for problem in loaded.skipped:
        console.print(f"[yellow]skipped[/] {problem}")
    conversations = sample_conversations(loaded.conversations, cfg.sample.conversations, cfg.seed)
    cases = build_cases(conversations, cfg.replay.decision_points, cfg.replay.view)
    without = sum(1 for c in conversations if not c.references)
    console.print(
        f"[bold]{data_cfg.name}[/]: {len(conversations)} conversations, {len(cases)} decision points "
        f"({cfg.replay.decision_points}, {cfg.replay.view} view)"
        + (f"; {without} conversations have no reference, so no decision point" if without else "")
        + (f"; {len(loaded.skipped)} malformed rows skipped" if loaded.skipped else "")
        + (f"; sample.conversations={cfg.sample.conversations} is more than the file holds, so all are used"
           if cfg.sample.conversations and cfg.sample.conversations > len(loaded.conversations) else "")
    )
    if not cases:
        raise UserError(f"{data_cfg.path}: no decision point to replay (no references in the chosen rows)")

    variants: list[Variant] = build(cfg.variant, "variant")
    scorers: list[Scorer] = build(cfg.scorer, "scorer")
    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    minimums = dict(cfg.get("trust") or {})
    names = {n for s in scorers for n in getattr(s, "names", [s.name])}
    if unknown := sorted(set(minimums) - names):
        raise UserError(f"trust.{unknown[0]}: no scorer '{unknown[0]}' in this run "
                        f"(scorers: {', '.join(sorted(names))})")
    commit = None if INSTALLED else git_commit(PROJECT_ROOT)  # an installed package is no checkout
    digest = config_digest(config)
    tags = {"dataset": data_cfg.name, "evals.config_digest": digest,
            **({"mlflow.source.git.commit": commit} if commit else {})}
    cache = ReplyCache(cfg.replay.cache) if cfg.replay.cache else None  # an unusable cache file: no store made
    tracker = Tracker(cfg.tracking.uri, cfg.experiment, cfg.tracking.artifact_root)
    options = api.Settings(
        concurrency=cfg.replay.concurrency, bootstrap=cfg.aggregate.bootstrap, confidence=cfg.aggregate.confidence,
        seed=cfg.seed, **_limits(cfg), baseline=cfg.aggregate.get("baseline"),
        max_error_rate=cfg.replay.get("max_error_rate", api.DEFAULT_MAX_ERROR_RATE),
        time_budget_s=cfg.replay.get("time_budget_s"), redact_text=cfg.get("results", {}).get("redact_text", True),
        repeats=cfg.replay.get("repeats", 1), pass_threshold=cfg.replay.get("pass_threshold", 0.5),
        extra={**api.manifest_config(config), "rows_skipped": [str(s) for s in loaded.skipped]})
    out = Path(cfg.output_dir)
    run_ids: dict[str, str] = {}
    sample = ""  # what the rows in memory are, when a large sharded run reads a sample of them
    run_name = cfg.run_name or f"{'+'.join(v.name for v in variants)} · {data_cfg.name} · {digest}"
    with tracker.experiment_run(run_name, config, tags) as parent_id:
        memory = Memory.of(conversations, cfg.replay.view)
        with _progress(console) as progress:
            if sharding := _sharding(cfg):
                files = _sharded(conversations, variants, scorers, options, sharding, cfg, memory, out / "results",
                                 _bars(progress))
                examples = examples_of(cases, cfg.shards.get("examples", DEFAULT_EXAMPLES), cfg.seed)
                result = EvalResult.load(out / "results", examples.conversations if examples else None)
                if examples:
                    sample = examples.describe()
                    console.print(f"[yellow]sampled[/] report examples, per-variant tables and business trade-off: "
                                  f"{sample}; metrics and intervals: every decision point")
            else:
                result = api.evaluate(cases, variants, scorers, options, memory=memory, cache=cache,
                                      dataset_name=data_cfg.name, on_progress=_bars(progress))
                files = result.save(out / "results")
        tracker.log_files("results", files)
        stats = reply_stats_of(out / "results") if sample else reply_stats(result.replies)  # of every reply
        wide = result.wide()
        dataset_table = dataset_of(result)
        traced = chosen_cases(result.replies, cfg.tracking.get("traces", 0), cfg.seed)
        for variant in variants:
            mine = result.summary[result.summary["variant"] == variant.name]
            table = wide[wide["variant"] == variant.name].reset_index(drop=True)
            run_ids[variant.name] = tracker.log_variant(
                variant.name,
                config={**config, "variant": {variant.name: config["variant"][variant.name]}},
                metrics={**metrics_of(mine), **stats.loc[variant.name].to_dict()},
                table=table, dataset=dataset_table, dataset_name=data_cfg.name,
                dataset_source=str(data_cfg.path), tags=tags,
                traces=reply_traces(result, variant.name, traced))
        tracker.log_metrics(diff_metrics(result.differences))
        report_files = report.write(result.summary, wide, out, title=f"{cfg.experiment}: {data_cfg.name}",
                                    skipped=[str(s) for s in loaded.skipped], diffs=result.differences,
                                    stats=stats, sample=sample)
        tracker.log_files("report", report_files)
        trade_off = business.analyse(result, business_settings, business.human_delays(conversations))
        business_files, frontier_svg = business.write(trade_off, out / "business")
        tracker.log_files("business", business_files)
        page = html_report.write(result, out / "report.html", title=f"{cfg.experiment}: {data_cfg.name}",
                                 extra_sections=business_section.sections(trade_off, frontier_svg),
                                 history=history_of(conversations, cfg.replay.view, options.redact_text,
                                                    str(data_cfg.path)),
                                 sample=sample)
        tracker.log_files("report", [page])
        tracker.log_metrics({"dataset.conversations": len(conversations), "dataset.decision_points": len(cases),
                             "dataset.rows_skipped": len(loaded.skipped)})
        verdicts = trust.assess(minimums, result.scorer_versions,
                                lambda scorer, version: latest_kappa(tracker.experiment_id, scorer, version))
        tracker.set_tags({f"trust.{t.scorer}": t.status for t in verdicts}
                         | {"mlflow.note.content": report.description(result.summary, wide, result.differences, stats)}
                         | {"evals.dataset_digest": result.manifest["dataset"]["digest"]}
                         | ({"evals.error_budget": "exceeded"} if result.problems else {})
                         | ({"evals.examples": sample} if sample else {}))
    report.print_comparison(result.summary, wide, console, stats)
    report.print_differences(result.differences, console)
    for verdict in verdicts:
        console.print(f"[{'green' if verdict.status == 'trusted' else 'yellow'}]trust[/] {verdict}", highlight=False)
    if result.problems:  # everything is logged; the run is still not one to decide on
        raise ErrorBudgetExceeded("; ".join(result.problems) + f" (all results logged in MLflow run {parent_id})")
    return ExperimentResult(parent_id, run_ids, result, out)


DATASET_COLUMNS = ("case_id", "conversation_id", "language", "intent", "inquiry", "reference_reply",
                   "should_escalate", "escalation_source")


class ErrorBudgetExceeded(UserError):
    """More replies failed than `replay.max_error_rate` allows; the results are logged, not to be trusted."""

    exit_code = 1  # the run itself worked; its bots did not


def _sharding(cfg: DictConfig) -> Sharding | None:
    """`shards.*` as settings; None for an unsharded run (count 1 on the local engine, the default)."""
    node = cfg.get("shards") or {}
    if node.get("count", 1) == 1 and node.get("engine", "local") == "local":
        return None
    return Sharding(shards=node.count, engine=node.get("engine", "local"), chunk=node.get("chunk", 2000),
                    ray_address=node.get("ray_address"))


def _sharded(conversations: list[Conversation], variants: list[Variant], scorers: list[Scorer],
             options: api.Settings, sharding: Sharding, cfg: DictConfig, memory: Memory, folder: Path,
             on_progress: api.OnProgress) -> list[Path]:
    """The run in shards (evals.sharding) into `folder`; the results files written."""
    evaluate_sharded(conversations, variants, scorers, folder, options, sharding,
                     decision_points=cfg.replay.decision_points, view=cfg.replay.view, memory=memory,
                     cache_path=cfg.replay.cache, dataset_name=cfg.dataset.name, on_progress=on_progress)
    return sorted(p for p in folder.iterdir() if p.is_file())


def _bars(progress: Progress) -> api.OnProgress:
    """The API's progress callbacks as rich progress bars, one per task."""
    tasks: dict[str, TaskID] = {}

    def update(task: str, done: int, total: int | None) -> None:
        if task not in tasks:
            tasks[task] = progress.add_task(task, total=total)
        progress.update(tasks[task], completed=done, **({"total": total} if total is not None else {}))

    return update


def _limits(cfg: DictConfig) -> dict[str, Any]:
    """`aggregate.min_n` and `aggregate.max_undefined`, checked (see docs/metrics.md)."""
    min_n = cfg.aggregate.get("min_n", DEFAULT_MIN_N)
    max_undefined = cfg.aggregate.get("max_undefined", DEFAULT_MAX_UNDEFINED)
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 0:
        raise UserError(f"aggregate.min_n: {min_n!r} is not a whole number >= 0 (default {DEFAULT_MIN_N})")
    if isinstance(max_undefined, bool) or not isinstance(max_undefined, (int, float)) or not 0 <= max_undefined <= 1:
        raise UserError(f"aggregate.max_undefined: {max_undefined!r} is not a share between 0 and 1 "
                        f"(default {DEFAULT_MAX_UNDEFINED})")
    return {"min_n": min_n, "max_undefined": float(max_undefined)}


def diff_metrics(diffs: pd.DataFrame) -> dict[str, float]:
    """`vs_<baseline>.<variant>.<metric>` with its paired CI, n and too-few flag, for the parent run.

    A metric compared with a fallback baseline is logged under that variant's name."""
    metrics: dict[str, float] = {}
    for row in diffs.itertuples():
        name = f"vs_{row.baseline}.{row.variant}.{row.metric}"
        metrics.update({name: row.diff, f"{name}_ci_low": row.ci_low, f"{name}_ci_high": row.ci_high,
                        f"{name}_n": row.n, f"{name}_too_few": _unsure(row)})
    return metrics


def metrics_of(summary: pd.DataFrame) -> dict[str, float]:
    """Flatten a variant's summary rows into MLflow metrics: value, CI bounds, n, flags, counts.

    `<metric>_too_few` is 1 when n is below aggregate.min_n or the CI was withheld (the value stays,
    no interval is to be trusted); `<metric>_undefined_share` is the share of resamples without a
    denominator."""
    metrics: dict[str, float] = {}
    for row in summary.itertuples():
        metrics[row.metric] = row.value
        metrics[f"{row.metric}_ci_low"] = row.ci_low
        metrics[f"{row.metric}_ci_high"] = row.ci_high
        metrics[f"{row.metric}_n"] = row.n
        metrics[f"{row.metric}_too_few"] = _unsure(row)
        metrics[f"{row.metric}_undefined_share"] = row.undefined_share
        scorer = row.metric.split(".")[0]
        metrics.setdefault(f"{scorer}.unscored", row.unscored)  # its own rows first, then pass_at_k ones
    return metrics


def _unsure(row: Any) -> float:
    """1.0 when an estimate exists but no interval can be trusted: n < min_n, or the CI was withheld."""
    withheld = pd.notna(getattr(row, "value", getattr(row, "diff", None))) and pd.isna(row.ci_low)
    return float(bool(row.too_few) or withheld)


def config_digest(config: Mapping[str, Any]) -> str:
    """Six hex digits naming what was evaluated and how: the same settings give the same digest, whatever
    the output folder, run name or tracking store."""
    import hashlib
    import json

    kept = {k: v for k, v in api.manifest_config(config)["config"].items()
            if k not in ("output_dir", "run_name", "experiment", "tracking")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:6]


def dataset_of(result: EvalResult) -> pd.DataFrame:
    """The evaluated decision points, as logged for dataset lineage: the results' own rows (already
    redacted when the texts are), once; every variant answers every decision point."""
    replies = result.replies
    first = replies[(replies["variant"] == result.variants[0]) & (replies["repeat"] == 0)]
    return first[list(DATASET_COLUMNS)].reset_index(drop=True)


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description:>12}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)
