"""Do reviewers agree with each other, and do scorers agree with them? (docs/review.md)

Per question: Krippendorff's alpha across reviewers (the `krippendorff` package, through
`evals.agreement.krippendorff_alpha`), ordinal for empathy (1 < ... < 5) and accuracy (wrong < partly <
correct), nominal for handoff and should_escalate, with a percentile-bootstrap CI resampling units
(a unit: one reply for a per-reply question, one item for a per-item one). Only units with at least two
reviewers carry information about agreement; they are the `units` counted.

Acceptable agreement: Krippendorff (2004, Content Analysis, 2nd ed., sec. 11.4.4; 2011, "Computing
Krippendorff's Alpha-Reliability") advises relying on data with alpha >= .800 and considering data with
.667 <= alpha < .800 only for tentative conclusions; .667 is the lowest acceptable bound. Reviewers "agree
enough" here when the CI's LOW end reaches that bound (`agrees_enough`): the queue decides whether labels
are fit to judge a scorer, and the release gate judges floors on the CI the same way; a point estimate above
.667 with a CI reaching below says "tentative: label more items", not "agreed".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from evals.review.export import CRITERION_OF, label_rows, units
from evals.review.questions import QUESTIONS
from evals.review.store import Store

if TYPE_CHECKING:
    from evals.agreement import AgreementResult
    from evals.results import EvalResult

ACCEPTABLE_ALPHA = 0.667  # Krippendorff's lowest acceptable bound, for tentative conclusions only
LEVELS: dict[str, str] = {"empathy": "ordinal", "accuracy": "ordinal", "handoff": "nominal",
                          "should_escalate": "nominal"}
# Answers in scale order, lowest first (the questions list accuracy best first, as the page shows it).
ORDER: dict[str, tuple[str, ...]] = {"empathy": ("1", "2", "3", "4", "5"), "accuracy": ("wrong", "partly", "correct"),
                                     "handoff": ("yes", "no"), "should_escalate": ("yes", "no")}
WORST_SHOWN = 10


@dataclass(frozen=True)
class Reliability:
    question: str
    level: str  # ordinal | nominal
    alpha: float  # NaN: no unit with two reviewers, or no variation at all
    ci_low: float
    ci_high: float
    units: int  # units (replies or items) answered by at least two reviewers
    reviewers: int  # reviewers who answered this question at least once
    labels: int  # current answers to this question

    @property
    def verdict(self) -> str:
        """In words, for the terminal and the owner's page."""
        if not math.isfinite(self.alpha):
            return ("no agreement figure yet (needs units answered by two reviewers, with some variation)"
                    if self.units else "no unit answered by two reviewers yet")
        if agrees_enough(self):
            return f"reviewers agree enough (CI low {self.ci_low:.2f} >= {ACCEPTABLE_ALPHA})"
        if self.alpha >= ACCEPTABLE_ALPHA:
            return (f"tentative: alpha {self.alpha:.2f} >= {ACCEPTABLE_ALPHA} but the CI reaches "
                    f"{self.ci_low:.2f}; label more items before judging scorers by these labels")
        return (f"reviewers do NOT agree enough (alpha {self.alpha:.2f} < {ACCEPTABLE_ALPHA}); do not judge "
                "scorers by these labels: clarify the question, adjudicate, or retrain reviewers")


def agrees_enough(rel: Reliability, minimum: float = ACCEPTABLE_ALPHA) -> bool:
    """Whether the CI's low end reaches `minimum` (see the module docstring for why the low end)."""
    return math.isfinite(rel.ci_low) and rel.ci_low >= minimum


def unit_counts(store: Store, question: str) -> tuple[np.ndarray, int, int]:
    """(units x answers counts of reviewers, reviewers, labels) for one question; adjudications are not
    a reviewer's answer and are left out."""
    order = {v: i for i, v in enumerate(ORDER[question])}
    rows, who, n = [], set(), 0
    for unit in units(store):
        if unit.question != question or not unit.answers:
            continue
        counts = np.zeros(len(order), dtype=int)
        for reviewer, (value, _) in unit.answers.items():
            counts[order[value]] += 1
            who.add(reviewer)
            n += 1
        rows.append(counts)
    matrix = np.array(rows, dtype=int).reshape(len(rows), len(order))
    return matrix, len(who), n


def alpha_with_ci(counts: np.ndarray, level: str, n_boot: int = 1000, seed: int = 0,
                  confidence: float = 0.95) -> tuple[float, float, float, int]:
    """(alpha, CI low, CI high, pairable units): alpha on the units with >= 2 coders, units resampled."""
    from evals.agreement import krippendorff_alpha

    pairable = counts[counts.sum(axis=1) >= 2] if counts.size else counts
    alpha = krippendorff_alpha(pairable, level)  # type: ignore[arg-type]
    n = len(pairable)
    if n_boot <= 0 or n < 2 or not math.isfinite(alpha):
        return alpha, float("nan"), float("nan"), n
    rng = np.random.default_rng(seed)
    draws = np.array([krippendorff_alpha(pairable[rng.integers(0, n, n)], level)  # type: ignore[arg-type]
                      for _ in range(n_boot)])
    finite = draws[np.isfinite(draws)]  # a resample with no variation has no alpha
    if not len(finite):
        return alpha, float("nan"), float("nan"), n
    tail = (1 - confidence) / 2 * 100
    return alpha, float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail)), n


def alpha_table(store: Store, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95) -> list[Reliability]:
    """One row per question the queue asks, in the queue's order."""
    out = []
    for question in store.meta.asked:
        counts, reviewers, labels = unit_counts(store, question)
        alpha, low, high, n = alpha_with_ci(counts, LEVELS[question], n_boot, seed, confidence)
        out.append(Reliability(question, LEVELS[question], alpha, low, high, n, reviewers, labels))
    return out


@dataclass(frozen=True)
class Dispute:
    """A unit where reviewers' current answers differ and the owner has not adjudicated yet."""

    item_id: int
    case_id: str
    slot: int | None
    question: str
    answers: dict[str, str]  # reviewer -> value
    spread: int  # ordinal: steps between the lowest and highest answer; nominal: distinct answers - 1


def disputes(store: Store) -> list[Dispute]:
    """Open disputes, widest spread first, then in item order."""
    case_of = {item.item_id: item.case_id for item in store.items()}
    out = []
    for unit in units(store):
        if unit.final is not None or not unit.disputed or unit.question not in QUESTIONS:
            continue
        given = {who: v for who, (v, _) in unit.answers.items()}
        if LEVELS[unit.question] == "ordinal":
            positions = [ORDER[unit.question].index(v) for v in given.values()]
            spread = max(positions) - min(positions)
        else:
            spread = len(set(given.values())) - 1
        out.append(Dispute(unit.item_id, case_of[unit.item_id], unit.slot, unit.question, given, spread))
    out.sort(key=lambda d: (-d.spread, d.item_id, -1 if d.slot is None else d.slot, d.question))
    return out


@dataclass(frozen=True)
class Worst:
    """A reply where a scorer and the people's consensus (or the final label) differ."""

    item_id: int
    slot: int
    case_id: str
    variant: str  # for the owner; never on a reviewer's page
    scorer_label: str
    people_label: str
    gap: float  # ordinal: |scorer - people| on 1-5; nominal: 1


def memory_labels(store: Store) -> Any:
    """The queue's labels as `evals.labels.Labels`, as `export` would write them (not read back from disk)."""
    import hashlib
    import json

    import pandas as pd

    from evals.errors import UserError
    from evals.labels import OPTIONAL_FIELDS, REQUIRED_FIELDS, Labels

    rows = label_rows(store)
    if not rows:
        raise UserError(f"{store.path}: no per-reply answers yet (empathy, accuracy, handoff) to compare scorers with")
    frame = pd.DataFrame([{**r, "row": f"row {i}"} for i, r in enumerate(rows, start=1)],
                         columns=[*REQUIRED_FIELDS, *OPTIONAL_FIELDS, "row"])
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
    return Labels(f"{store.path} (labels so far)", frame, digest)


def queue_result(store: Store) -> EvalResult:
    """The results the queue was sampled from (its `source`; an MLflow run through the store it recorded)."""
    from evals.commands.options import DEFAULT_EXPERIMENT, DEFAULT_STORE
    from evals.locate import locate

    extra = store.meta.extra
    return locate(str(extra.get("results") or store.meta.source), str(extra.get("tracking_uri", DEFAULT_STORE)),
                  str(extra.get("experiment", DEFAULT_EXPERIMENT))).result


def scorers_vs_people(store: Store, result: EvalResult | None = None, n_boot: int = 200,
                      seed: int = 0) -> tuple[AgreementResult, dict[str, list[Worst]]]:
    """Each scorer's agreement with the labels so far (`evals.agreement.run_agreement`: kappa, alpha, CIs),
    and per scorer the replies where it and people differ most. A note says when reviewers do not yet
    agree enough on a criterion for its figures to be trusted.

    `result`: the run the queue was sampled from, found through the queue's source when None. 200
    resamples by default, not `agree`'s 1000: a page answers in seconds (about 5 s for 3 scorers on 80
    labelled replies on 2 cores, against about 21 s with 1000)."""
    from evals.agreement import consensus_nominal, consensus_ordinal, run_agreement, scorer_verdicts
    from evals.labels import DOMAIN, LEVEL

    result = result if result is not None else queue_result(store)
    labels = memory_labels(store)
    agreement = run_agreement(labels, result, n_boot=n_boot, seed=seed)
    reliable = {CRITERION_OF[r.question]: r for r in alpha_table(store, n_boot, seed) if r.question in CRITERION_OF}
    for criterion in sorted(set(agreement.pairs.values())):
        rel = reliable.get(criterion)
        if rel is not None and not agrees_enough(rel):
            agreement.notes.append(f"{criterion} ({rel.question}): {rel.verdict}")
    slot_of = {(item.case_id, c.variant): (item.item_id, c.slot) for item in store.items() for c in item.candidates}
    order = {r: i for i, r in enumerate(labels.reviewers)}
    frame = labels.frame
    worst: dict[str, list[Worst]] = {}
    for scorer, criterion in agreement.pairs.items():
        codes = scorer_verdicts(result.scores, scorer, criterion).codes
        domain = DOMAIN[criterion]
        found = []
        for (case_id, variant), rows in frame[frame.criterion == criterion].groupby(["case_id", "variant"],
                                                                                    sort=False):
            code = codes.get((case_id, variant))
            if code is None or (isinstance(code, float) and math.isnan(code)) or (case_id, variant) not in slot_of:
                continue
            given = list(rows.assign(o=rows.reviewer.map(order)).sort_values("o").label)
            people = (consensus_ordinal(given) if LEVEL[criterion] == "ordinal" else consensus_nominal(given))
            said = domain[int(code)]
            gap = abs(int(said) - int(people)) if LEVEL[criterion] == "ordinal" else float(said != people)
            if gap > 0:
                item_id, slot = slot_of[(case_id, variant)]
                found.append(Worst(item_id, slot, case_id, variant, str(said), str(people), float(gap)))
        found.sort(key=lambda w: (-w.gap, w.item_id, w.slot))
        worst[scorer] = found[:WORST_SHOWN]
    return agreement, worst

