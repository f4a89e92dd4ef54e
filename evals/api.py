"""The Python API: `evaluate(cases, variants, scorers) -> EvalResult`, with no Hydra, MLflow or terminal.

One event loop per evaluation. Each variant's replies are scored as they arrive: per-reply scorers
and LLM judges at once (judging overlaps the replay); conversation scorers and batch scorers (the
embedding scorers, which embed each distinct text once and take run-wide statistics) when the
variant's replay is complete, the batch ones in a worker thread while the next variant replays.
Hydra, MLflow, the terminal and the report are adapters around this function (evals.experiment).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.metadata
import inspect
import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from evals.aggregate import DEFAULT_MAX_UNDEFINED, DEFAULT_MIN_N, definitions, paired_differences, summarise
from evals.cache import ReplyCache
from evals.consistency import consistency
from evals.error_budget import ErrorBudget
from evals.errors import UserError
from evals.load import build_cases, load_conversations
from evals.memory import Memory
from evals.replay import replay
from evals.results import EvalResult, scores_frame
from evals.tables import redact_columns, replies_table
from evals.types import Case, Conversation, Reply, Score, Scorer, Variant

# (task, done, total): "replay: bot", "empathy: bot", ...; total None when not yet known.
OnProgress = Callable[[str, int, int | None], None]

DEFAULT_MAX_ERROR_RATE = 0.05


@dataclass(frozen=True)
class Settings:
    """How an evaluation runs and how sure its numbers must be (see docs/metrics.md)."""

    concurrency: int = 8  # inquiries at once, for variants that set none of their own
    bootstrap: int = 1000  # resamples of whole conversations for the intervals; 0 = none
    confidence: float = 0.95
    seed: int = 0
    min_n: int = DEFAULT_MIN_N
    max_undefined: float = DEFAULT_MAX_UNDEFINED
    baseline: str | None = None  # the variant every other is compared with; None = the first
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE  # share of failed replies a variant may have
    time_budget_s: float | None = None  # no new inquiry is asked after this long
    redact_text: bool = True  # store inquiry, reference and reply texts with PII replaced
    repeats: int = 1  # trials per decision point; above 1, consistency (pass@k, pass^k) is reported
    pass_threshold: float = 0.5  # a trial passes a score at or above this (escalation: 1 correct, 0 not)
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in the manifest as is (e.g. config)


def evaluate(
    data: Sequence[Case] | Sequence[Conversation] | str | Path,
    variants: Sequence[Variant],
    scorers: Sequence[Scorer],
    settings: Settings | None = None,
    *,
    memory: Memory | None = None,
    cache: ReplyCache | None = None,
    dataset_name: str | None = None,
    on_progress: OnProgress | None = None,
) -> EvalResult:
    """Replay `data` through every variant, score every reply, aggregate with confidence intervals.

    data: decision points (`Case`), whole conversations (every human-answered customer turn becomes
        one), or the path of a dataset file (.jsonl, .json, .parquet; see docs/dataset.md).
    variants: chatbots (see evals.types.Variant), e.g. `evals.variants.rules.RulesBot`.
    scorers: criteria (see evals.types.Scorer), e.g. `evals.scorers.escalation.EscalationScorer()`.
    settings: concurrency, bootstrap, baseline, error budget, redaction (see `Settings`).
    memory: what the bots may know beforehand; default: the evaluated conversations without labels.
    cache: a reply cache for variants with a fingerprint (remote bots): re-runs reuse their replies.

    Returns an `EvalResult` (save it with `.save(folder)`). Raises `UserError` for bad input and
    `evals.errors.EndpointUnusable` when a bot or judge endpoint refuses every call.
    """
    settings = settings or Settings()
    cases, source = _cases(data)
    if not cases:
        raise UserError(f"{source}: no decision point to evaluate (no customer turn with a human reference)")
    if not variants:
        raise UserError("no variant to evaluate: give at least one")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise UserError(f"variant names must differ: {', '.join(names)}")
    if settings.baseline is not None and settings.baseline not in names:
        raise UserError(f"baseline '{settings.baseline}' is not one of the variants ({', '.join(names)})")
    memory = memory or Memory.from_cases(cases)
    points, digest = len(cases), dataset_digest(cases)
    if settings.repeats < 1:
        raise UserError(f"repeats must be at least 1, got {settings.repeats}")
    cases = [dataclasses.replace(c, repeat=r) for c in cases for r in range(settings.repeats)]
    for scorer in scorers:
        if hasattr(scorer, "prepare"):  # judges: check their key, share the reply cache
            scorer.prepare(cache)
    started = time.time()
    replies, scores = asyncio.run(_run(cases, variants, scorers, settings, memory, cache, on_progress))
    table, score_table = result_tables(cases, replies, scores, names, scorers, settings.redact_text)
    stats = dict(n_boot=settings.bootstrap, confidence=settings.confidence, seed=settings.seed,
                 min_n=settings.min_n, max_undefined=settings.max_undefined)
    summary = summarise(score_table, scorers, **stats)
    if settings.repeats > 1:
        trials = {c.case_id: c.decision_point for c in cases}
        headline = {s.name: getattr(s, "label", "") or s.name for s in scorers}  # not companion scores
        summary = pd.concat([summary, consistency(score_table, trials, settings.repeats, settings.pass_threshold,
                                                  headline, **stats)], ignore_index=True)
    baseline = settings.baseline or names[0]
    differences = paired_differences(score_table, scorers, baseline, **stats)
    manifest = {
        "harness": _harness_version(),
        "created": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 3),
        "dataset": {"name": dataset_name or source, "source": source, "digest": digest,
                    "conversations": len({c.conversation.conversation_id for c in cases}),
                    "decision_points": points},
        "repeats": settings.repeats,
        "pass_threshold": settings.pass_threshold,
        "variants": names,
        "baseline": baseline,
        "scorers": {s.name: scorer_version(s, scores) for s in scorers},
        "metrics": definitions(scorers),
        "aggregate": dict(stats),
        "error_budget": {"max_error_rate": settings.max_error_rate},
        "redacted_text": settings.redact_text,
        "problems": error_budget_problems(replies, settings.max_error_rate),
        **settings.extra,
    }
    return EvalResult(table, score_table, summary, differences, manifest)


def result_tables(cases: Sequence[Case], replies: Sequence[Reply], scores: Sequence[Score], variants: Sequence[str],
                  scorers: Sequence[Scorer], redact: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The replies and scores tables of the results, from what a replay and its scorers returned (a whole run
    here, one chunk in a sharded run); texts redacted when `redact` is on."""
    conversation_of = {c.case_id: c.conversation.conversation_id for c in cases}
    score_table = scores_frame(_in_order(scores, cases, variants, scorers), conversation_of)
    if redact:  # explanations quote the replies they judge
        redact_columns(score_table, ["explanation"])
    return replies_table(cases, replies, redact=redact), score_table


def _in_order(scores: Sequence[Score], cases: Sequence[Case], variants: Sequence[str],
              scorers: Sequence[Scorer]) -> list[Score]:
    """Scores arrive as replies do; the table is in variant, case, scorer order whatever the timing."""
    case_at = {c.case_id: i for i, c in enumerate(cases)}
    variant_at = {v: i for i, v in enumerate(variants)}
    declared = [n for s in scorers for n in getattr(s, "names", [s.name])]
    scorer_at = {name: i for i, name in enumerate(dict.fromkeys([*declared, *(s.scorer for s in scores)]))}
    return sorted(scores, key=lambda s: (variant_at[s.variant], case_at[s.case_id], scorer_at[s.scorer]))


def _cases(data: Sequence[Case] | Sequence[Conversation] | str | Path) -> tuple[list[Case], str]:
    if isinstance(data, (str, Path)):
        return build_cases(load_conversations(data).conversations), str(data)
    items = list(data)
    if all(isinstance(x, Case) for x in items):
        return items, "cases"  # type: ignore[return-value]
    if all(isinstance(x, Conversation) for x in items):
        return build_cases(items), "conversations"  # type: ignore[arg-type]
    raise UserError("data: give decision points (evals.Case), conversations (evals.Conversation) or a file path")


async def _run(cases: Sequence[Case], variants: Sequence[Variant], scorers: Sequence[Scorer], settings: Settings,
               memory: Memory, cache: ReplyCache | None, on_progress: OnProgress | None, prepare: bool = True
               ) -> tuple[list[Reply], list[Score]]:
    progress = on_progress or (lambda _task, _done, _total: None)
    deadline = time.monotonic() + settings.time_budget_s if settings.time_budget_s else None
    judges = [s for s in scorers if hasattr(s, "score_reply")]
    batched = [s for s in scorers if hasattr(s, "score_batch") and s not in judges]
    # whole conversations at once (e.g. did the customer ever reach a person): after the variant's replay
    whole = [s for s in scorers if hasattr(s, "score_many") and s not in judges and s not in batched]
    per_reply = [s for s in scorers if s not in judges and s not in batched and s not in whole]
    by_case = {c.case_id: c for c in cases}
    all_replies: list[Reply] = []
    scores: list[Score] = []
    pending: list[asyncio.Future[Any]] = []
    loop = asyncio.get_running_loop()
    # One thread for the batch scorers: they share one embedding model and its cache.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evals-score") as worker:
        try:
            if prepare:  # a sharded run prepares its bots once per shard, not per chunk
                # every bot before the first reply: one that cannot start fails the run before any paid
                # call, and no bot's set-up competes for the cores with the scoring of earlier replies
                for done, variant in enumerate(variants):
                    progress("prepare: bots", done, len(variants))  # a retrieval bot indexes its memory for seconds
                    variant.prepare(memory)
                progress("prepare: bots", len(variants), len(variants))
            for variant in variants:
                judged = {j.name: 0 for j in judges}

                def arrived(reply: Reply, variant: str = variant.name, judged: dict[str, int] = judged) -> None:
                    case = by_case[reply.case_id]
                    scores.extend(s.score(case, reply) for s in per_reply)
                    for judge in judges:
                        pending.append(asyncio.ensure_future(
                            _judge(judge, case, reply, judged, f"{judge.name}: {variant}", len(cases), progress)))

                done = 0

                def count(reply: Reply, name: str = variant.name) -> None:
                    nonlocal done
                    done += 1
                    arrived(reply)
                    progress(f"replay: {name}", done, len(cases))

                progress(f"replay: {variant.name}", 0, len(cases))
                replies = await replay(variant, cases, settings.concurrency, on_reply=count, cache=cache,
                                       deadline=deadline)
                all_replies.extend(replies)
                for scorer in whole:  # each trial of a repeated replay is a conversation of its own
                    for trial in range(settings.repeats):
                        mine = {c.case_id for c in cases if c.repeat == trial}
                        scores.extend(await scorer.score_many([c for c in cases if c.case_id in mine],
                                                              [r for r in replies if r.case_id in mine]))
                if batched:
                    pending.append(loop.run_in_executor(worker, _score_batches, batched, cases, replies,
                                                        variant.name, progress))
            for outcome in await asyncio.gather(*pending):
                scores.extend(outcome)
        except BaseException:
            for task in pending:
                task.cancel()
            raise
        finally:
            for judge in judges:
                close = getattr(judge, "aclose", None)
                if close is not None:
                    await close()
    return all_replies, scores


async def _judge(judge: Any, case: Case, reply: Reply, judged: dict[str, int], task: str, total: int,
                 progress: OnProgress) -> list[Score]:
    found = await judge.score_reply(case, reply)
    judged[judge.name] += 1
    progress(task, judged[judge.name], total)
    return found


def _score_batches(scorers: Sequence[Any], cases: Sequence[Case], replies: Sequence[Reply], variant: str,
                   progress: OnProgress) -> list[Score]:
    by_case = {r.case_id: r for r in replies}
    answered = [c for c in cases if c.case_id in by_case]
    ordered = [by_case[c.case_id] for c in answered]
    out: list[Score] = []
    for scorer in scorers:
        task = f"{scorer.name}: {variant}"
        out.extend(scorer.score_batch(answered, ordered,
                                      on_progress=lambda done, total, task=task: progress(task, done, total)))
    return out


def error_budget_problems(replies: Sequence[Reply], max_error_rate: float) -> list[str]:
    """One line per variant whose failed replies exceed the budget, with the commonest errors."""
    budget = ErrorBudget()
    for r in replies:
        budget.add(r.variant, r.error, r.missing)
    return budget.problems(max_error_rate)


def dataset_digest(cases: Sequence[Case]) -> str:
    """sha256 of the evaluated conversations (canonical JSON, in order) and decision points."""
    digest = hashlib.sha256()
    seen: set[str] = set()
    for case in cases:
        conv = case.conversation
        if conv.conversation_id not in seen:
            seen.add(conv.conversation_id)
            digest.update(json.dumps(conv.model_dump(mode="json"), sort_keys=True).encode())
        digest.update(f"|{case.case_id}|{case.view}".encode())
    return digest.hexdigest()


def scorer_version(scorer: Scorer, scores: Sequence[Score] = ()) -> str:
    """The scorer's version: its own (a judge's rubric and model, the empathy model's weights), else
    `offline:` and a hash of its module's source and settings, so a changed rule is a new version."""
    own = getattr(scorer, "version", None)
    if isinstance(own, str) and own:
        return own
    found = next((s.version for s in scores if s.scorer == scorer.name and s.version), None)
    if found:
        return found
    try:
        source = inspect.getsource(inspect.getmodule(type(scorer)) or type(scorer))
    except (OSError, TypeError):
        source = type(scorer).__qualname__
    state = {k: repr(v) for k, v in sorted(vars(scorer).items()) if not k.startswith("_")}
    blob = json.dumps([source, state], sort_keys=True).encode()
    return f"offline:{hashlib.sha256(blob).hexdigest()[:12]}"


def _harness_version() -> str:
    try:
        return importlib.metadata.version("chatbot-evals")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def manifest_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config for the manifest, secrets redacted (values under key-, token-, secret-like keys)."""
    from evals.masking import masked

    return {"config": masked(config)}
