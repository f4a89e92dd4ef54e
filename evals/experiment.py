"""One experiment: load -> replay every variant -> score -> aggregate -> track -> report."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from evals import report, settings, trust
from evals.aggregate import DEFAULT_MAX_UNDEFINED, DEFAULT_MIN_N, paired_differences, reply_stats, summarise
from evals.cache import ReplyCache
from evals.config import PROJECT_ROOT
from evals.errors import UserError
from evals.language import detect_language, scoring_language
from evals.load import build_cases, load_conversations, sample_conversations
from evals.replay import replay_sync
from evals.tracking import Tracker, git_commit
from evals.types import Case, Reply, Score, Scorer, Variant


@dataclass(frozen=True)
class ExperimentResult:
    parent_run_id: str
    variant_run_ids: dict[str, str]
    summary: pd.DataFrame  # variant x metric with CIs
    replies: pd.DataFrame  # one row per (case, variant) with every score
    report_dir: Path


def build(group: Mapping[str, Any], kind: str) -> list[Any]:
    """Instantiate each named entry of a config group (`variant` or `scorer`), name from its key."""
    if not group:
        raise UserError(f"no {kind} selected: choose at least one, e.g. {kind}=[...]")
    return [instantiate(node, name=key) for key, node in group.items()]


def run(cfg: DictConfig, console: Console | None = None) -> ExperimentResult:
    settings.check(cfg)  # a bad override fails here, before any data is read or MLflow run made
    console = console or Console(stderr=True)
    data_cfg = cfg.dataset
    loaded = load_conversations(data_cfg.path, on_error=data_cfg.on_error)
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
    )
    if not cases:
        raise UserError(f"{data_cfg.path}: no decision point to replay (no references in the chosen rows)")

    variants: list[Variant] = build(cfg.variant, "variant")
    scorers: list[Scorer] = build(cfg.scorer, "scorer")
    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    commit = git_commit(PROJECT_ROOT)
    tags = {"dataset": data_cfg.name, **({"mlflow.source.git.commit": commit} if commit else {})}
    tracker = Tracker(cfg.tracking.uri, cfg.experiment, cfg.tracking.artifact_root)
    dataset_table = cases_table(cases)
    cache = ReplyCache(cfg.replay.cache) if cfg.replay.cache else None
    for scorer in scorers:
        if hasattr(scorer, "prepare"):  # judges: check their key, share the cache
            scorer.prepare(cache)

    minimums = dict(cfg.get("trust") or {})
    names = {n for s in scorers for n in getattr(s, "names", [s.name])}
    if unknown := sorted(set(minimums) - names):
        raise UserError(f"trust.{unknown[0]}: no scorer '{unknown[0]}' in this run "
                        f"(scorers: {', '.join(sorted(names))})")
    all_scores: list[Score] = []
    frames: list[pd.DataFrame] = []
    all_replies: list[pd.DataFrame] = []
    summaries: list[pd.DataFrame] = []
    run_ids: dict[str, str] = {}
    with tracker.experiment_run(cfg.run_name or data_cfg.name, config, tags) as parent_id:
        with _progress(console) as progress:
            for variant in variants:
                variant.prepare(cases)
                task = progress.add_task(variant.name, total=len(cases))
                replies = replay_sync(variant, cases, cfg.replay.concurrency,
                                      on_reply=lambda _r, t=task: progress.advance(t), cache=cache)
                scores = score_all(scorers, cases, replies, progress, variant.name)
                all_scores.extend(scores)
                table = reply_table(dataset_table, cases, replies, scores)
                frame = score_frame(cases, scores)
                frames.append(frame)
                summary = summarise(frame, scorers, cfg.aggregate.bootstrap, cfg.aggregate.confidence, cfg.seed,
                                    **_limits(cfg))
                stats = reply_stats(table)
                run_ids[variant.name] = tracker.log_variant(
                    variant.name,
                    config={**config, "variant": {variant.name: config["variant"][variant.name]}},
                    metrics={**metrics_of(summary), **stats.iloc[0].to_dict()},
                    table=table,
                    dataset=dataset_table,
                    dataset_name=data_cfg.name,
                    dataset_source=str(data_cfg.path),
                    tags=tags,
                )
                all_replies.append(table)
                summaries.append(summary)
        summary = pd.concat(summaries, ignore_index=True)
        replies = pd.concat(all_replies, ignore_index=True)
        diffs = differences(pd.concat(frames, ignore_index=True), scorers, [v.name for v in variants], cfg)
        tracker.log_metrics(diff_metrics(diffs))
        out = Path(cfg.output_dir)
        files = report.write(summary, replies, out, title=f"{cfg.experiment}: {data_cfg.name}",
                             skipped=[str(s) for s in loaded.skipped], diffs=diffs)
        tracker.log_files("report", files)
        tracker.log_metrics({"dataset.conversations": len(conversations), "dataset.decision_points": len(cases),
                             "dataset.rows_skipped": len(loaded.skipped)})
        verdicts = trust.assess(tracker.experiment_id, minimums, all_scores)
        tracker.set_tags({f"trust.{t.scorer}": t.status for t in verdicts})
    report.print_comparison(summary, replies, console)
    report.print_differences(diffs, console)
    for verdict in verdicts:
        console.print(f"[{'green' if verdict.status == 'trusted' else 'yellow'}]trust[/] {verdict}", highlight=False)
    return ExperimentResult(parent_id, run_ids, summary, replies, out)


def score_all(scorers: Sequence[Scorer], cases: Sequence[Case], replies: Sequence[Reply],
              progress: Progress, variant: str) -> list[Score]:
    """Offline scorers score each reply in turn (or all at once, with `score_batch`: the embedding
    scorers embed each distinct text once); judges score all replies concurrently."""
    scores: list[Score] = []
    for scorer in scorers:
        batch = getattr(scorer, "score_batch", None)
        if batch is not None:
            task = progress.add_task(f"{scorer.name}: {variant}", total=None)

            def advance(done: int, total: int, task: TaskID = task) -> None:
                progress.update(task, completed=done, total=total)

            scores.extend(batch(cases, replies, on_progress=advance))
            continue
        judge_all = getattr(scorer, "score_many", None)
        if judge_all is None:
            scores.extend(scorer.score(c, r) for c, r in zip(cases, replies))
            continue
        task = progress.add_task(f"{scorer.name}: {variant}", total=len(cases))
        scores.extend(asyncio.run(judge_all(cases, replies, on_score=lambda t=task: progress.advance(t))))
    return scores


def differences(scores: pd.DataFrame, scorers: Sequence[Scorer], names: Sequence[str],
                cfg: DictConfig) -> pd.DataFrame:
    """Every variant against the baseline variant (`aggregate.baseline`, else the first one)."""
    baseline = cfg.aggregate.get("baseline")
    baseline = baseline if baseline in names else names[0]
    return paired_differences(scores, scorers, baseline, cfg.aggregate.bootstrap, cfg.aggregate.confidence,
                              cfg.seed, **_limits(cfg))


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
        metrics[f"{scorer}.unscored"] = row.unscored
    return metrics


def _unsure(row: Any) -> float:
    """1.0 when an estimate exists but no interval can be trusted: n < min_n, or the CI was withheld."""
    withheld = pd.notna(getattr(row, "value", getattr(row, "diff", None))) and pd.isna(row.ci_low)
    return float(bool(row.too_few) or withheld)


def cases_table(cases: Sequence[Case]) -> pd.DataFrame:
    """The evaluated decision points, as logged for dataset lineage."""
    return pd.DataFrame({
        "case_id": [c.case_id for c in cases],
        "conversation_id": [c.conversation.conversation_id for c in cases],
        "language": [c.conversation.language for c in cases],
        "intent": [c.conversation.intent for c in cases],
        "inquiry": [c.inquiry().last_message for c in cases],
        "reference_reply": [c.reference_reply for c in cases],
        "should_escalate": [c.reference.should_escalate for c in cases],
        "escalation_source": [c.reference.escalation_source for c in cases],
    })


def score_frame(cases: Sequence[Case], scores: Sequence[Score]) -> pd.DataFrame:
    conversation = {c.case_id: c.conversation.conversation_id for c in cases}
    return pd.DataFrame({
        "case_id": [s.case_id for s in scores],
        "conversation_id": [conversation[s.case_id] for s in scores],
        "variant": [s.variant for s in scores],
        "scorer": [s.scorer for s in scores],
        "value": [s.value for s in scores],
        "label": [s.label for s in scores],
    })


def reply_table(dataset: pd.DataFrame, cases: Sequence[Case], replies: Sequence[Reply],
                scores: Sequence[Score]) -> pd.DataFrame:
    """One row per reply: the case's row of `dataset` (see `cases_table`), the reply, every verdict."""
    base = dataset.copy()
    base.insert(2, "turn", [c.turn_index for c in cases])
    base.insert(0, "variant", [r.variant for r in replies])
    base["reply"] = [r.text for r in replies]
    base["escalated"] = [r.escalated for r in replies]
    base["handoff_kind"] = [r.handoff_kind for r in replies]  # what the reply did about a person
    base["latency_s"] = [r.latency_s for r in replies]
    base["note"] = [r.note for r in replies]
    base["error"] = [r.error for r in replies]
    base["cached"] = [r.cached for r in replies]
    base["reply_language"] = [detect_language(r.text) for r in replies]  # None: too short or uncertain
    base["language_mismatch"] = [scoring_language(r.text, c.reply_language)[1] for c, r in zip(cases, replies)]
    base["prompt_tokens"] = pd.array([r.prompt_tokens for r in replies], dtype="Int64")
    base["completion_tokens"] = pd.array([r.completion_tokens for r in replies], dtype="Int64")
    base["cost_usd"] = pd.array([r.cost_usd for r in replies], dtype="Float64")
    for kind in sorted({k for r in replies for k in r.redacted}):
        base[f"pii_{kind}"] = [r.redacted.get(kind, 0) for r in replies]
    by_case = {c: i for i, c in enumerate(base["case_id"])}
    for scorer in dict.fromkeys(s.scorer for s in scores):
        mine = [s for s in scores if s.scorer == scorer]
        order = [by_case[s.case_id] for s in mine]
        base.loc[order, scorer] = [s.value for s in mine]
        base.loc[order, f"{scorer}_label"] = [s.label for s in mine]
        base.loc[order, f"{scorer}_explanation"] = [s.explanation for s in mine]
        if any(s.version for s in mine):
            base.loc[order, f"{scorer}_version"] = [s.version for s in mine]
    return base


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description:>12}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)
