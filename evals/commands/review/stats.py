"""`chatbot-evals review stats QUEUE`: do reviewers agree with each other? Krippendorff's alpha per question."""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

from evals.commands.options import add_store_options, command_parser, parse

DESCRIPTION = """\
Agreement among a queue's reviewers, per question: Krippendorff's alpha (ordinal for empathy and accuracy,
nominal for handoff and should_escalate) with a bootstrap CI over units (replies, or items for per-item
questions) answered by at least two reviewers, and n. Reviewers agree enough when the CI's low end reaches
--min-alpha (0.667: Krippendorff's lowest acceptable bound, for tentative conclusions). Logged to MLflow as
a run named `review-stats` when the store exists. Details: docs/review.md.
"""

EPILOG = """\
examples:
  chatbot-evals review stats review.db
  chatbot-evals review stats review.db --min-alpha 0.8 --tracking-uri sqlite:///runs/mlflow.db
"""


def _parser() -> argparse.ArgumentParser:
    from evals.review.reliability import ACCEPTABLE_ALPHA

    parser = command_parser("review stats", DESCRIPTION, EPILOG)
    parser.add_argument("queue", metavar="QUEUE", help="the queue file")
    parser.add_argument("--min-alpha", type=float, default=ACCEPTABLE_ALPHA, metavar="A",
                        help="the CI low end reviewers must reach (default: %(default)s)")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="resamples (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: %(default)s)")
    add_store_options(parser, "the `review-stats` run")
    return parser


def main(args: list[str]) -> int:
    options = parse(_parser(), args)
    if options is None:
        return 0

    from evals.errors import UserError
    from evals.review.reliability import agrees_enough, alpha_table
    from evals.review.store import Store

    if not -1 <= options.min_alpha <= 1:
        raise UserError(f"--min-alpha {options.min_alpha}: alpha is at most 1; give a number in [-1, 1]")
    with Store(options.queue) as store:
        rows = alpha_table(store, options.bootstrap, options.seed)
        meta = store.meta
    print(f"{options.queue}: agreement among reviewers ({meta.name}, {meta.strategy} sample of {meta.source})")
    print(f"  {'question':<16}{'level':<9}{'alpha':>7}  {'95% CI':<15}{'units':>6}{'reviewers':>10}  verdict")
    metrics: dict[str, float] = {}
    for rel in rows:
        enough = agrees_enough(rel, options.min_alpha)
        ci = f"[{rel.ci_low:.2f}, {rel.ci_high:.2f}]" if math.isfinite(rel.ci_low) else "–"
        alpha = f"{rel.alpha:.3f}" if math.isfinite(rel.alpha) else "–"
        verdict = "agree enough" if enough else _short(rel, options.min_alpha) if math.isfinite(rel.alpha) \
            else rel.verdict
        print(f"  {rel.question:<16}{rel.level:<9}{alpha:>7}  {ci:<15}{rel.units:>6}{rel.reviewers:>10}  {verdict}")
        metrics.update({f"review.{rel.question}.alpha": rel.alpha, f"review.{rel.question}.alpha_ci_low": rel.ci_low,
                        f"review.{rel.question}.alpha_ci_high": rel.ci_high,
                        f"review.{rel.question}.units": float(rel.units),
                        f"review.{rel.question}.reviewers": float(rel.reviewers),
                        f"review.{rel.question}.agrees_enough": float(enough)})
    _log(options, meta, rows, metrics)
    return 0


def _short(rel, minimum: float) -> str:
    if rel.alpha >= minimum:  # the point estimate is there, the interval is not yet
        low = f"{rel.ci_low:.2f}" if math.isfinite(rel.ci_low) else "undefined"
        return f"tentative: CI low {low} < {minimum}; label more items"
    return f"do NOT agree enough (< {minimum}): do not judge scorers by these labels yet"


def _log(options: argparse.Namespace, meta, rows, metrics: dict[str, float]) -> None:
    from evals import tracking

    if not tracking.store_exists(options.tracking_uri):
        print(f"note: not logged to MLflow (no store at {options.tracking_uri})", file=sys.stderr)
        return
    experiment_id = str(tracking.experiment_id_named(options.tracking_uri, options.experiment, create=True))
    tags = {"review.queue": meta.name, "review.source": meta.source, "review.strategy": meta.strategy,
            "review.min_alpha": str(options.min_alpha)}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "review-stats.json")
        path.write_text(json.dumps({"queue": options.queue, "min_alpha": options.min_alpha,
                                    "questions": [vars(r) | {"verdict": r.verdict} for r in rows]},
                                   indent=2, default=str) + "\n", encoding="utf-8")
        run_id = tracking.log_side_run(options.tracking_uri, experiment_id, "review-stats", tags, metrics, [path])
    print(f"review-stats run {run_id} in MLflow ({options.tracking_uri})")
