"""Which decision points of a run go into a labelling queue, and what the reviewer sees for each.

A queue item is one decision point (`<conversation_id>#<turn>`, first trial only) with one or two candidate
replies from the chosen variants, in an order shuffled per item with the seed (blind review). Strategies,
all seeded and deterministic:

    random        a uniform sample of decision points
    stratified    equal shares per slice of `by` (language, intent or channel); a slice with too few points
                  gives its unused share to the others
    disagreement  where the chosen variants' values of one scorer are furthest apart, or an offline scorer
                  and the judge of the same criterion disagree most on one reply
    uncertain     where a scorer is least sure: a judge whose repeats disagreed (`<judge>_agreement` 0),
                  else a value nearest the middle of the scorer's scale (1-5 labels: 3; values in [0, 1]:
                  0.5; other ranges: the middle of the run's range); pass/fail scorers (values 0 and 1
                  only, such as `escalation`) or one value throughout carry no such signal: not used
    contested     where a scorer and an earlier human label (evals/labels.py format) disagree most

Every item's `reason` says in words why it was picked. A decision point with no usable candidate (every
chosen variant errored or had no reply there) is never sampled; `Sample.without_candidate` counts them.

The conversation so far comes from the run's dataset (the manifest's `dataset.source`, else its
`config.dataset.path`), shown as the variants read it (`replay.view`); when the run stored redacted texts
the history is redacted with the same redactor, so the page shows no more than the results folder does.
Without a readable dataset the history is the customer's last message alone, and the reason says so.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evals.errors import UserError
from evals.results import EvalResult
from evals.review.store import NewItem

STRATEGIES: tuple[str, ...] = ("random", "stratified", "disagreement", "uncertain", "contested")
SLICE_BY: tuple[str, ...] = ("language", "intent", "channel")
MISSING = "(missing)"
MAX_CANDIDATES = 2


@dataclass(frozen=True)
class Point:
    """A decision point that can be reviewed: its replies table row (first variant's) and its candidates."""

    case_id: str
    conversation_id: str
    turn: int
    language: str
    inquiry: str
    row: Mapping[str, Any]
    candidates: tuple[tuple[str, str, bool], ...]  # (variant, text, escalated), in the chosen variants' order


@dataclass(frozen=True)
class Sample:
    items: list[NewItem]
    eligible: int  # decision points with at least one candidate
    without_candidate: int  # decision points left out: no chosen variant has a usable reply there
    notes: list[str] = field(default_factory=list)  # how the strategy read the scorers, what was not found


def sample_items(result: EvalResult, strategy: str, size: int, seed: int, by: str | None = None,
                 variants: Sequence[str] | None = None, earlier_labels: Any = None) -> list[NewItem]:
    """The queue's items (see `draw` for the counts and notes that go with them)."""
    return draw(result, strategy, size, seed, by, variants, earlier_labels).items


def draw(result: EvalResult, strategy: str, size: int, seed: int, by: str | None = None,
         variants: Sequence[str] | None = None, earlier_labels: Any = None,
         history: Callable[[Point], tuple[list[dict[str, str]], str]] | None = None) -> Sample:
    """Sample `size` decision points by `strategy`; `earlier_labels` (evals.labels.Labels) for `contested`."""
    if strategy not in STRATEGIES:
        raise UserError(f"--strategy {strategy}: unknown (allowed: {', '.join(STRATEGIES)})")
    if size < 1:
        raise UserError(f"--size {size}: give at least 1")
    chosen = choose_variants(result, variants)
    points, without = decision_points(result, chosen)
    notes: list[str] = []
    if not points:
        raise UserError(f"no decision point has a usable reply from {', '.join(chosen)} "
                        f"({without} left out: the replies errored or are missing)")
    picked: list[tuple[Point, str, str]]  # (point, slice, reason)
    if strategy == "random":
        picked = [(p, "", "random sample") for p in _shuffled(points, seed)[:size]]
    elif strategy == "stratified":
        picked = _stratified(points, by or "language", size, seed)
    else:
        if strategy == "disagreement":
            priority = disagreement(result, chosen, notes)
        elif strategy == "uncertain":
            priority = uncertainty(result, chosen, notes)
        else:
            if earlier_labels is None:
                raise UserError("--strategy contested needs --labels FILE (earlier human labels, "
                                "the format of `chatbot-evals agree --help`)")
            priority = contest(result, earlier_labels, chosen, notes)
        picked = _by_priority(points, priority, size, seed, notes, strategy)
        if not picked:
            raise UserError(f"--strategy {strategy}: no decision point qualifies ({'; '.join(notes)}); "
                            "try another strategy")
    rows = history or dataset_history(result)
    items = []
    for point, slice_name, reason in picked:
        turns, why = rows(point)
        items.append(NewItem(point.case_id, point.conversation_id, point.turn, point.language, turns,
                             _blind(point, seed), slice_name, reason + (f"; {why}" if why else "")))
    return Sample(items, len(points), without, notes)


# --- the candidates --------------------------------------------------------------------------------


def choose_variants(result: EvalResult, variants: Sequence[str] | None) -> list[str]:
    """The variants whose replies are candidates: as given (1-2 of the run's), else the run's first two."""
    known = result.variants
    chosen = list(dict.fromkeys(v.strip() for v in variants if v.strip())) if variants else known[:MAX_CANDIDATES]
    if not chosen or len(chosen) > MAX_CANDIDATES:
        raise UserError(f"--variants: name one or two variants (the run's: {', '.join(known)})")
    for name in chosen:
        if name not in known:
            raise UserError(f"--variants {name}: the run has no such variant (its variants: {', '.join(known)})")
    return chosen


def decision_points(result: EvalResult, chosen: Sequence[str]) -> tuple[list[Point], int]:
    """Decision points in the run's order with their usable candidates; and how many have none."""
    replies = result.replies
    first = replies[replies["repeat"] == 0] if "repeat" in replies.columns else replies
    usable: dict[str, dict[str, tuple[str, str, bool]]] = {}
    rows: dict[str, Mapping[str, Any]] = {}
    for row in first.to_dict("records"):
        rows.setdefault(row["case_id"], row)
        if row["variant"] in chosen and _usable(row):
            usable.setdefault(row["case_id"], {})[row["variant"]] = (row["variant"], str(row["reply"]),
                                                                     bool(row["escalated"]))
    points, without = [], 0
    for case_id, row in rows.items():
        found = usable.get(case_id, {})
        if not found:
            without += 1
            continue
        points.append(Point(case_id, str(row["conversation_id"]), int(row["turn"]), str(row.get("language") or ""),
                            str(row.get("inquiry") or ""), row, tuple(found[v] for v in chosen if v in found)))
    return points, without


def _usable(row: Mapping[str, Any]) -> bool:
    """A reply a reviewer can judge: it came (no error), the data has it, and it holds text."""
    error, reply = row.get("error"), row.get("reply")
    return (not isinstance(error, str) or not error) and not bool(row.get("missing", False)) \
        and isinstance(reply, str) and bool(reply.strip())


def _blind(point: Point, seed: int) -> list[tuple[str, str, bool]]:
    """The candidates in an order fixed by the seed and the decision point, not by the variants' order."""
    order = list(point.candidates)
    random.Random(f"{seed}:{point.case_id}").shuffle(order)
    return order


def _shuffled(points: Sequence[Point], seed: int) -> list[Point]:
    out = list(points)
    random.Random(seed).shuffle(out)
    return out


# --- strategies ------------------------------------------------------------------------------------


def _stratified(points: Sequence[Point], by: str, size: int, seed: int) -> list[tuple[Point, str, str]]:
    if by not in SLICE_BY:
        raise UserError(f"--by {by}: unknown (allowed: {', '.join(SLICE_BY)})")
    if by not in points[0].row:
        raise UserError(f"--by {by}: the run's replies have no '{by}' column (made before it was recorded)")
    groups: dict[str, list[Point]] = {}
    for point in _shuffled(points, seed):
        value = point.row.get(by)
        groups.setdefault(MISSING if value is None or (isinstance(value, float) and math.isnan(value))
                          else str(value), []).append(point)
    shares = _equal_shares({k: len(v) for k, v in sorted(groups.items())}, size)
    picked = []
    for name, share in shares.items():
        for point in groups[name][:share]:
            picked.append((point, f"{by}={name}",
                           f"stratified by {by}: {share} of {len(groups[name])} in {by}={name}"))
    return picked


def _equal_shares(available: Mapping[str, int], size: int) -> dict[str, int]:
    """Split `size` as evenly as the slices allow: a slice short of its share passes the rest on."""
    shares = {name: 0 for name in available}
    left = min(size, sum(available.values()))
    while left > 0:
        open_ = [n for n in available if shares[n] < available[n]]
        each = max(1, left // len(open_))
        for name in open_:
            give = min(each, available[name] - shares[name], left)
            shares[name] += give
            left -= give
            if left == 0:
                break
    return shares


Priority = dict[str, tuple[float, str]]  # case_id -> (how strongly it qualifies, in [0, 1]; why, in words)


def _by_priority(points: Sequence[Point], priority: Priority, size: int, seed: int, notes: list[str],
                 strategy: str) -> list[tuple[Point, str, str]]:
    """The highest-priority points; ties in a seeded order. Points with no signal are not picked."""
    ranked = [p for p in _shuffled(points, seed) if p.case_id in priority and priority[p.case_id][0] > 0]
    ranked.sort(key=lambda p: -priority[p.case_id][0])  # stable: equal priorities keep the seeded order
    if len(ranked) < size:
        notes.append(f"{strategy}: only {len(ranked)} decision points qualify (asked for {size})")
    return [(p, "", priority[p.case_id][1]) for p in ranked[:size]]


def _keep_best(out: Priority, case_id: str, strength: float, reason: str) -> None:
    if strength > out.get(case_id, (0.0, ""))[0]:
        out[case_id] = (strength, reason)


def _headline_scorers(result: EvalResult) -> list[str]:
    """The run's scorers (not their companion scores), in the manifest's order."""
    present = set(result.scores["scorer"])
    named = [s for s in result.scorer_versions if s in present]
    return named or list(dict.fromkeys(result.scores["scorer"]))


def _decision_point(case_id: str) -> str:
    return case_id.split("~", 1)[0]


def _shown(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _as_said(row: Mapping[str, Any]) -> str:
    """A score as people read it: a judge's 1-5 label, else the value."""
    label = row.get("label")
    return label if isinstance(label, str) and label.strip() in ("1", "2", "3", "4", "5") else _shown(row["value"])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _shown(float(value))


def _on_scale(scores: pd.DataFrame, criterion: str) -> pd.Series:
    """A scorer's verdicts on the human scale: 1-5 (its own 1-5 labels, else 1 + 4 * value) or a class."""
    from evals.labels import LEVEL, as_scale

    if LEVEL[criterion] == "nominal":
        return scores["label"].astype(object)
    labels = scores["label"].map(lambda x: as_scale(x) if isinstance(x, (str, int)) else None)
    if labels.notna().all() and len(labels):
        return labels.astype(float)
    return 1 + 4 * pd.to_numeric(scores["value"], errors="coerce").astype(float)


def disagreement(result: EvalResult, chosen: Sequence[str], notes: list[str]) -> Priority:
    """Per decision point: the widest spread of one scorer across the chosen variants (as a share of that
    scorer's range in the run), or the widest gap between an offline scorer and the judge of the same
    criterion on one reply (as a share of the 1-5 scale; a different escalation class counts fully)."""
    from evals.agreement import DEFAULT_MAP

    out: Priority = {}
    scores = result.scores[result.scores["variant"].isin(chosen)].copy()
    scores["point"] = scores["case_id"].map(_decision_point)
    scores = scores[scores["case_id"] == scores["point"]]  # first trials only, like the items
    for scorer in _headline_scorers(result):
        mine = scores[(scores["scorer"] == scorer) & scores["value"].notna()]
        span = float(mine["value"].max() - mine["value"].min()) if len(mine) else 0.0
        if len(chosen) < 2 or span <= 0:
            continue
        ordered = mine.sort_values("value", kind="stable")
        low = ordered.groupby("point", sort=False).head(1).set_index("point")
        high = ordered.groupby("point", sort=False).tail(1).set_index("point")
        spread = (high["value"] - low["value"]).dropna()
        # variants are named: the reason is for the owner; a reviewer's page must never show it (docs)
        wide = spread[spread > 0]
        tops, bottoms = high.loc[wide.index].to_dict("records"), low.loc[wide.index].to_dict("records")
        for point, gap, h, lo in zip(wide.index, wide, tops, bottoms):
            _keep_best(out, str(point), float(gap) / span,
                       f"{scorer} {_as_said(h)} ({h['variant']}) vs {_as_said(lo)} ({lo['variant']})")
    by_criterion: dict[str, list[str]] = {}
    for scorer in _headline_scorers(result):
        if scorer in DEFAULT_MAP:
            by_criterion.setdefault(DEFAULT_MAP[scorer], []).append(scorer)
    pairs = [(c, s) for c, s in by_criterion.items() if len(s) == 2]
    for criterion, (offline, judge) in [(c, sorted(s, key=lambda n: n.startswith("judge_"))) for c, s in pairs]:
        a = scores[scores["scorer"] == offline].set_index(["case_id", "variant"])
        b = scores[scores["scorer"] == judge].set_index(["case_id", "variant"])
        both = a.index.intersection(b.index)
        va, vb = _on_scale(a.loc[both].reset_index(), criterion), _on_scale(b.loc[both].reset_index(), criterion)
        for (case_id, _), x, y in zip(both, va, vb):
            if pd.isna(x) or pd.isna(y):
                continue
            gap = (1.0 if x != y else 0.0) if isinstance(x, str) or isinstance(y, str) else abs(x - y) / 4
            if gap > 0:
                _keep_best(out, _decision_point(case_id), gap, f"{judge} {_text(y)} vs {offline} {_text(x)}")
    if not pairs:
        notes.append("disagreement: no offline scorer and judge of the same criterion in the run; "
                     "only the spread across variants is used")
    return out


def uncertainty(result: EvalResult, chosen: Sequence[str], notes: list[str]) -> Priority:
    """Per decision point: how near a scorer's verdict on a candidate reply is to the scorer's midpoint
    (1 at the midpoint, 0 at either end), or 1 when a judge's repeats disagreed."""
    out: Priority = {}
    scores = result.scores[result.scores["variant"].isin(chosen) & result.scores["value"].notna()]
    scores = scores[scores["case_id"].map(_decision_point) == scores["case_id"]]
    present = set(scores["scorer"])
    for scorer in _headline_scorers(result):
        mine = scores[scores["scorer"] == scorer]
        if f"{scorer}_agreement" in present:
            split = scores[(scores["scorer"] == f"{scorer}_agreement") & (scores["value"] == 0)]
            for row in split.itertuples():
                _keep_best(out, str(row.case_id), 1.0, f"{scorer}'s repeats disagree ({row.variant})")
            notes.append(f"uncertain: {scorer}: its repeats disagreeing (`{scorer}_agreement` 0)")
        values = mine["value"].astype(float)
        labels = mine["label"].map(lambda x: str(x).strip() if x is not None else "")
        if len(labels) and labels.isin(["1", "2", "3", "4", "5"]).all():
            on_scale, low, high, what = labels.astype(float), 1.0, 5.0, "its 1-5 labels, middle 3"
        elif set(values.unique()) <= {0.0, 1.0} or values.min() == values.max():
            if not any(n.startswith(f"uncertain: {scorer}:") for n in notes):
                notes.append(f"uncertain: {scorer}: not used (pass/fail values or one value only: no degree "
                             "of certainty)")
            continue
        elif values.min() >= 0 and values.max() <= 1:
            on_scale, low, high, what = values, 0.0, 1.0, "values in [0, 1], middle 0.5"
        else:
            on_scale, low, high = values, float(values.min()), float(values.max())
            what = f"the run's range {_shown(low)}-{_shown(high)}, middle {_shown((low + high) / 2)}"
        notes.append(f"uncertain: {scorer}: nearness to the middle ({what})")
        middle, half = (low + high) / 2, (high - low) / 2
        for case_id, variant, value in zip(mine["case_id"], mine["variant"], on_scale):
            _keep_best(out, str(case_id), 1 - abs(value - middle) / half,
                       f"{scorer} {_shown(value)}, near the middle ({_shown(middle)}) of its scale ({variant})")
    return out


def contest(result: EvalResult, labels: Any, chosen: Sequence[str], notes: list[str]) -> Priority:
    """Per decision point: the widest gap between a scorer's verdict and the reviewers' consensus on a reply
    of the chosen variants (a share of the 1-5 scale; a different escalation class counts fully)."""
    from evals.agreement import consensus_nominal, consensus_ordinal, resolve_map, scorer_names, scorer_verdicts
    from evals.labels import DOMAIN, LEVEL

    frame = labels.frame[labels.frame["variant"].isin(chosen)]
    if frame.empty:
        raise UserError(f"{labels.path}: no label for a reply of {', '.join(chosen)} (the candidates' variants)")
    order = {r: i for i, r in enumerate(labels.reviewers)}
    pairs = resolve_map(scorer_names(result.scores), {})
    out: Priority = {}
    for scorer, criterion in pairs.items():
        verdicts = scorer_verdicts(result.scores, scorer, criterion).codes
        domain = DOMAIN[criterion]
        mine = frame[frame["criterion"] == criterion]
        for (case_id, variant), rows in mine.groupby(["case_id", "variant"], sort=False):
            code = verdicts.get((case_id, variant))
            if code is None or pd.isna(code):
                continue
            ranked = rows.assign(o=rows["reviewer"].map(order)).sort_values("o")
            given = list(ranked["label"])
            human = consensus_ordinal(given) if LEVEL[criterion] == "ordinal" else consensus_nominal(given)
            said = domain[int(code)]
            gap = abs(int(said) - int(human)) / 4 if LEVEL[criterion] == "ordinal" else float(said != human)
            if gap > 0:
                who = ", ".join(ranked["reviewer"])
                _keep_best(out, _decision_point(str(case_id)), gap,
                           f"{scorer} {said} vs people's {criterion} {human} ({who}; {variant})")
    if not out:
        notes.append(f"contested: no scorer of the run disagrees with a label in {labels.path}")
    return out


# --- the conversation so far -----------------------------------------------------------------------


def dataset_history(result: EvalResult) -> Callable[[Point], tuple[list[dict[str, str]], str]]:
    """point -> (the conversation up to the customer's turn, a note when it is only the last message)."""
    from evals.history import history_from_dataset

    lookup = history_from_dataset(result)
    return lambda point: lookup(point.conversation_id, point.turn, point.inquiry)
