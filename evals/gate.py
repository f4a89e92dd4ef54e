"""The release gate: may this candidate ship? Rules of a policy file, judged on results folders alone.

A policy (conf/gate/default.yaml; docs/gate.md) holds four kinds of rule:

    floors          metric: value, or {min: v} / {max: v}; judged on the confidence interval, so a
                    "higher is better" floor passes only when the CI's low end reaches it
    margins         non-inferiority against a baseline: metric: the largest loss allowed, judged on
                    the paired difference's CI bound in the bad direction (`evals.compare.pair`)
    zero_tolerance  name: {scorer, labels, among, intents, max, min_n}: at most `max` decision points
                    with one of `labels` (e.g. a missed hand-off on an intent marked risky)
    agreement       {min_kappa, scorers}: judges must have reached this agreement with people
                    (`chatbot-evals agree`) at the version this run used

Each rule ends `pass`, `fail` or `cannot decide`, with its reason. The verdict: `cannot decide` when
a precondition does not hold (the error budget of either side exceeded; a baseline needed and not
found), else `fail` when any rule failed, else `cannot decide` when any rule could not be decided
(too few samples, an uncalibrated judge), else `pass`. Exit codes 0, 1, 2 follow (`Verdict.exit_code`).

No MLflow here: the command finds the results (evals.locate) and supplies the agreement lookup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from evals.errors import UserError, yaml_problem
from evals.results import EvalResult
from evals.trust import KappaLookup

Outcome = Literal["pass", "fail", "cannot decide"]
PASS: Outcome = "pass"
FAIL: Outcome = "fail"
UNDECIDED: Outcome = "cannot decide"
EXIT_CODES: dict[str, int] = {PASS: 0, FAIL: 1, UNDECIDED: 2}

# A judge's version is `<criterion>@<rubric version>/<model>/<hash of its settings>` (evals/scorers/judge.py);
# offline rules are `offline:<hash>` and the empathy model `heads-...+...`, neither of which a person rated.
JUDGE_VERSION = re.compile(r"[^@/\s]+@[^/\s]+/.+/[0-9a-f]{8}")


# --- the policy -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Floor:
    metric: str
    value: float
    bound: Literal["min", "max"] | None = None  # None: from the metric's direction


@dataclass(frozen=True)
class Margin:
    metric: str
    margin: float  # the largest loss against the baseline allowed, in the metric's units


@dataclass(frozen=True)
class ZeroTolerance:
    name: str
    scorer: str
    labels: tuple[str, ...]  # the labels not tolerated
    among: tuple[str, ...] | None = None  # the labels that make a decision point count towards n; None: any
    intents: tuple[str, ...] | None = None  # only decision points of conversations with these intents
    max_count: int = 0
    min_n: int = 1  # fewer decision points in scope: cannot decide
    description: str = ""


@dataclass(frozen=True)
class Agreement:
    min_kappa: float
    scorers: tuple[str, ...] | None = None  # None: every judge the candidate used


@dataclass(frozen=True)
class Policy:
    source: str
    floors: tuple[Floor, ...] = ()
    margins: tuple[Margin, ...] = ()
    zero_tolerance: tuple[ZeroTolerance, ...] = ()
    agreement: Agreement | None = None

    @property
    def needs_baseline(self) -> bool:
        return bool(self.margins)


POLICY_KEYS = ("floors", "margins", "zero_tolerance", "agreement")
ZERO_TOLERANCE_KEYS = ("scorer", "labels", "among", "intents", "max", "min_n", "description")


def load_policy(path: str | Path) -> Policy:
    """Read a policy file; a mistake is a one-line UserError naming the file and the key."""
    import yaml

    where = Path(path)
    try:
        data = yaml.safe_load(where.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise UserError(f"{where}: cannot read the gate policy ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{where}: not valid YAML ({yaml_problem(exc)})") from None
    return parse_policy(data, str(where))


def parse_policy(data: Any, source: str = "policy") -> Policy:
    def bad(key: str, why: str) -> UserError:
        return UserError(f"{source}: {key}: {why}")

    if not isinstance(data, Mapping):
        raise bad("(top)", f"a mapping of {', '.join(POLICY_KEYS)}")
    if unknown := [k for k in data if k not in POLICY_KEYS]:
        raise bad(str(unknown[0]), f"unknown key (allowed: {', '.join(POLICY_KEYS)})")
    floors = []
    for metric, spec in _mapping(data.get("floors"), "floors", bad).items():
        key = f"floors.{metric}"
        if isinstance(spec, Mapping):
            if len(spec) != 1 or next(iter(spec)) not in ("min", "max"):
                raise bad(key, "a number, or {min: NUMBER} or {max: NUMBER}")
            bound, value = next(iter(spec.items()))
            floors.append(Floor(str(metric), _number(value, key + f".{bound}", bad), bound))
        else:
            floors.append(Floor(str(metric), _number(spec, key, bad)))
    margins = []
    for metric, value in _mapping(data.get("margins"), "margins", bad).items():
        margin = _number(value, f"margins.{metric}", bad)
        if margin < 0:
            raise bad(f"margins.{metric}", f"{margin:g}: a margin is the loss allowed, 0 or more")
        margins.append(Margin(str(metric), margin))
    rules = [_zero_tolerance(str(name), spec, bad)
             for name, spec in _mapping(data.get("zero_tolerance"), "zero_tolerance", bad).items()]
    agreement = None
    if data.get("agreement") is not None:
        spec = _mapping(data["agreement"], "agreement", bad)
        if unknown := [k for k in spec if k not in ("min_kappa", "scorers")]:
            raise bad(f"agreement.{unknown[0]}", "unknown key (allowed: min_kappa, scorers)")
        if "min_kappa" not in spec:
            raise bad("agreement.min_kappa", "required: the minimum Cohen's kappa, e.g. 0.6")
        scorers = spec.get("scorers", "judges")
        if scorers != "judges" and not _strings(scorers):
            raise bad("agreement.scorers", "'judges' (every LLM judge the run used) or a list of scorer names")
        agreement = Agreement(_number(spec["min_kappa"], "agreement.min_kappa", bad),
                              None if scorers == "judges" else tuple(scorers))
    return Policy(source, tuple(floors), tuple(margins), tuple(rules), agreement)


def _zero_tolerance(name: str, spec: Any, bad: Any) -> ZeroTolerance:
    key = f"zero_tolerance.{name}"
    spec = _mapping(spec, key, bad)
    if unknown := [k for k in spec if k not in ZERO_TOLERANCE_KEYS]:
        raise bad(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(ZERO_TOLERANCE_KEYS)})")
    if not isinstance(spec.get("scorer"), str):
        raise bad(f"{key}.scorer", "required: the scorer whose labels are read, e.g. escalation")
    for list_key in ("labels", "among", "intents"):
        if list_key in spec and not _strings(spec[list_key]):
            raise bad(f"{key}.{list_key}", "a list of strings")
    if not spec.get("labels"):
        raise bad(f"{key}.labels", "required: the labels not tolerated, e.g. [missed]")
    counts = {}
    for count_key, default in (("max", 0), ("min_n", 1)):
        value = spec.get(count_key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bad(f"{key}.{count_key}", f"{value!r}: a whole number, 0 or more")
        counts[count_key] = value
    among = tuple(spec["among"]) if spec.get("among") else None
    intents = tuple(spec["intents"]) if spec.get("intents") else None
    return ZeroTolerance(name, spec["scorer"], tuple(spec["labels"]), among, intents, counts["max"],
                         counts["min_n"], str(spec.get("description", "")))


def _mapping(value: Any, key: str, bad: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise bad(key, "a mapping (key: value)")
    return value


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _number(value: Any, key: str, bad: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad(key, f"{value!r}: a number")
    return float(value)


# --- what the gate compares -------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """One evaluated variant: the candidate or the baseline."""

    result: EvalResult
    variant: str
    reference: str  # as the user named it, for the summary
    run_id: str | None = None


@dataclass(frozen=True)
class RuleResult:
    rule: str  # an id: floor.escalation.recall, margin.empathy.mean, zero_tolerance.refused_human, ...
    kind: str  # precondition, agreement, floor, margin, zero_tolerance
    outcome: Outcome
    reason: str
    threshold: str = ""
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    metric: str | None = None


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    rules: list[RuleResult]
    candidate: Side
    baseline: Side | None
    policy: str
    confidence: float = 0.95
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]

    def headline(self) -> str:
        """One line: the verdict and which rules decided it."""
        counts = {o: [r.rule for r in self.rules if r.outcome == o] for o in (PASS, FAIL, UNDECIDED)}
        against = f" against {self.baseline.reference}" if self.baseline else ""
        line = f"{self.outcome.upper()}: {self.candidate.reference}{against}; {len(counts[PASS])} of " \
               f"{len(self.rules)} rules passed"
        if counts[FAIL]:
            line += f", {len(counts[FAIL])} failed ({', '.join(counts[FAIL])})"
        if counts[UNDECIDED]:
            line += f", {len(counts[UNDECIDED])} could not be decided ({', '.join(counts[UNDECIDED])})"
        return line


def decide(policy: Policy, candidate: Side, baseline: Side | None = None, *, baseline_problem: str | None = None,
           kappa_lookup: KappaLookup | None = None) -> Verdict:
    """Every rule of `policy` on the candidate (and the baseline), and the verdict.

    `baseline_problem`: why no baseline could be found (the command's message), when the policy needs one.
    `kappa_lookup`: (scorer, version) -> (kappa, agreement run) or None, from where agreement runs are
    kept; None when there is no such store (then no judge is calibrated)."""
    aggregate = dict(candidate.result.manifest.get("aggregate") or {})
    rules = [_error_budget(candidate, baseline if policy.needs_baseline else None)]
    if policy.needs_baseline:
        rules.append(_baseline_rule(candidate, baseline, baseline_problem))
    agreement = _agreement(policy.agreement, candidate, kappa_lookup)
    rules.extend(agreement)
    uncalibrated = {r.rule.removeprefix("agreement."): r.reason for r in agreement if r.outcome != PASS}
    owners = _metric_owners(candidate.result)
    rules.extend(_floor(f, candidate, owners, uncalibrated) for f in policy.floors)
    rules.extend(_margins(policy.margins, candidate, baseline, aggregate, owners, uncalibrated))
    rules.extend(_zero(z, candidate, baseline) for z in policy.zero_tolerance)
    preconditions = [r for r in rules if r.kind == "precondition"]
    if any(r.outcome != PASS for r in preconditions):
        outcome: Outcome = UNDECIDED
    elif any(r.outcome == FAIL for r in rules):
        outcome = FAIL
    elif any(r.outcome == UNDECIDED for r in rules):
        outcome = UNDECIDED
    else:
        outcome = PASS
    return Verdict(outcome, rules, candidate, baseline if baseline_problem is None else None, policy.source,
                   float(aggregate.get("confidence", 0.95)))


def _error_budget(candidate: Side, baseline: Side | None) -> RuleResult:
    sides = [candidate] + ([baseline] if baseline else [])
    problems = [p for side in sides for p in side.result.problems if p.startswith(f"{side.variant}: ")]
    if problems:
        return RuleResult("error_budget", "precondition", UNDECIDED,
                          "too many failed replies to decide on: " + "; ".join(problems), "within the error budget")
    return RuleResult("error_budget", "precondition", PASS,
                      "failed replies within replay.max_error_rate on " + " and ".join(s.reference for s in sides),
                      "within the error budget")


def _baseline_rule(candidate: Side, baseline: Side | None, problem: str | None) -> RuleResult:
    if problem is not None or baseline is None:
        return RuleResult("baseline", "precondition", UNDECIDED,
                          f"no baseline to compare with: {problem or 'none given'}", "a baseline, for the margins")
    digest = (candidate.result.manifest.get("dataset") or {}).get("digest")
    same = digest is not None and digest == (baseline.result.manifest.get("dataset") or {}).get("digest")
    data = "the same data" if same else "different data (paired on the decision points both answered)"
    return RuleResult("baseline", "precondition", PASS,
                      f"{baseline.reference} (variant {baseline.variant}), evaluated on {data}",
                      "a baseline, for the margins")


def judges_of(result: EvalResult) -> list[str]:
    """The candidate's LLM judges, by the version a judge records (see JUDGE_VERSION)."""
    return [name for name, version in result.scorer_versions.items() if JUDGE_VERSION.fullmatch(str(version))]


def _agreement(rule: Agreement | None, candidate: Side, lookup: KappaLookup | None) -> list[RuleResult]:
    if rule is None:
        return []
    versions = candidate.result.scorer_versions
    names = list(rule.scorers) if rule.scorers is not None else judges_of(candidate.result)
    out = []
    threshold = f"kappa >= {rule.min_kappa:g}"
    for name in names:
        rid = f"agreement.{name}"
        if name not in versions:
            out.append(RuleResult(rid, "agreement", UNDECIDED, f"the run has no scorer {name!r} "
                                  f"(scorers: {', '.join(versions) or 'none'})", threshold))
            continue
        found = lookup(name, versions[name]) if lookup is not None else None
        if found is None:
            where = "" if lookup is not None else " (no MLflow store to look agreement runs up in)"
            out.append(RuleResult(rid, "agreement", UNDECIDED,
                                  f"judge not calibrated: no agreement run for version {versions[name]}{where}; "
                                  "run chatbot-evals agree on this version", threshold))
            continue
        kappa, run = found
        ok = kappa >= rule.min_kappa
        reason = (f"kappa {kappa:.2f} with human labels (agreement run {run})"
                  + ("" if ok else f" is below {rule.min_kappa:g}: its scores cannot be relied on"))
        out.append(RuleResult(rid, "agreement", PASS if ok else UNDECIDED, reason, threshold, value=kappa))
    return out


def _metric_owners(result: EvalResult) -> dict[str, str]:
    """metric -> the scorer whose version it carries (a companion score `judge_x_agreement` is judge_x's)."""
    versions = result.scorer_versions
    owners = {}
    for m in result.metrics:
        scorer = m["scorer"]
        owners[m["name"]] = scorer if scorer in versions else max(
            (s for s in versions if scorer.startswith(f"{s}_")), key=len, default=scorer)
    return owners


def _metric_names(result: EvalResult) -> str:
    return ", ".join(m["name"] for m in result.metrics)


def _finite(x: Any) -> bool:
    return x is not None and not pd.isna(x) and math.isfinite(float(x))


def _floor(floor: Floor, side: Side, owners: Mapping[str, str], uncalibrated: Mapping[str, str]) -> RuleResult:
    rid = f"floor.{floor.metric}"
    definition = next((m for m in side.result.metrics if m["name"] == floor.metric), None)
    if definition is None:
        return RuleResult(rid, "floor", UNDECIDED, f"the run has no metric {floor.metric!r} "
                          f"(metrics: {_metric_names(side.result)})", f"{floor.value:g}", metric=floor.metric)
    bound = floor.bound or {"higher": "min", "lower": "max"}.get(definition["direction"])
    if bound is None:
        raise UserError(f"floors.{floor.metric}: this metric has no better direction; write "
                        f"{{min: {floor.value:g}}} or {{max: {floor.value:g}}}")
    threshold = f"CI low >= {floor.value:g}" if bound == "min" else f"CI high <= {floor.value:g}"
    rows = side.result.summary
    row = rows[(rows["variant"] == side.variant) & (rows["metric"] == floor.metric)]
    if row.empty:
        return RuleResult(rid, "floor", UNDECIDED, f"no summary of {floor.metric} for {side.variant}", threshold,
                          metric=floor.metric)
    r = row.iloc[0]
    found = dict(value=float(r["value"]), ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), n=int(r["n"]),
                 metric=floor.metric)
    if owners.get(floor.metric) in uncalibrated:
        return RuleResult(rid, "floor", UNDECIDED, f"scored by {owners[floor.metric]}, which is not calibrated",
                          threshold, **found)
    if bool(r["too_few"]) or not (_finite(r["ci_low"]) and _finite(r["ci_high"])):
        why = f"too few samples (n={int(r['n'])}, {definition.get('counts', 'rows')})" if bool(r["too_few"]) \
            else "no confidence interval (withheld: the ratio was often undefined in resamples)"
        return RuleResult(rid, "floor", UNDECIDED, why, threshold, **found)
    low, high = float(r["ci_low"]), float(r["ci_high"])
    interval = f"CI [{low:.3g}, {high:.3g}]"
    if bound == "min":
        if low >= floor.value:
            return RuleResult(rid, "floor", PASS, f"{interval} is at or above {floor.value:g}", threshold, **found)
        why = "wholly below" if high < floor.value else "reaches below"
        return RuleResult(rid, "floor", FAIL, f"{interval} {why} {floor.value:g}: not shown to reach the floor",
                          threshold, **found)
    if high <= floor.value:
        return RuleResult(rid, "floor", PASS, f"{interval} is at or below {floor.value:g}", threshold, **found)
    why = "wholly above" if low > floor.value else "reaches above"
    return RuleResult(rid, "floor", FAIL, f"{interval} {why} {floor.value:g}: not shown to stay under the ceiling",
                      threshold, **found)


def _margins(margins: Sequence[Margin], candidate: Side, baseline: Side | None, aggregate: Mapping[str, Any],
             owners: Mapping[str, str], uncalibrated: Mapping[str, str]) -> list[RuleResult]:
    if not margins:
        return []
    if baseline is None:
        return [RuleResult(f"margin.{m.metric}", "margin", UNDECIDED, "no baseline to compare with",
                           f"loss <= {m.margin:g}", metric=m.metric) for m in margins]
    from evals.compare import pair

    settings = {k: aggregate[k] for k in ("n_boot", "confidence", "seed", "min_n", "max_undefined") if k in aggregate}
    try:
        diffs = pair(baseline.result, baseline.variant, candidate.result, candidate.variant,
                     baseline_label="baseline", candidate_label="candidate", **settings)
    except UserError as exc:
        return [RuleResult(f"margin.{m.metric}", "margin", UNDECIDED, str(exc), f"loss <= {m.margin:g}",
                           metric=m.metric) for m in margins]
    mine = diffs[diffs["variant"] == "candidate"].set_index("metric")
    return [_margin(m, mine, candidate, owners, uncalibrated) for m in margins]


def _margin(margin: Margin, diffs: pd.DataFrame, candidate: Side, owners: Mapping[str, str],
            uncalibrated: Mapping[str, str]) -> RuleResult:
    rid, metric = f"margin.{margin.metric}", margin.metric
    definition = next((m for m in candidate.result.metrics if m["name"] == metric), None)
    if definition is None:
        return RuleResult(rid, "margin", UNDECIDED, f"the run has no metric {metric!r} "
                          f"(metrics: {_metric_names(candidate.result)})", f"loss <= {margin.margin:g}", metric=metric)
    direction = definition["direction"]
    if direction not in ("higher", "lower"):
        raise UserError(f"margins.{metric}: this metric has no better direction, so no loss to bound; "
                        "give it a floor with {min: ...} or {max: ...} instead")
    threshold = f"diff CI low >= {-margin.margin:g}" if direction == "higher" else f"diff CI high <= {margin.margin:g}"
    if metric not in diffs.index:
        return RuleResult(rid, "margin", UNDECIDED, f"the baseline does not define {metric} as the candidate does",
                          threshold, metric=metric)
    r = diffs.loc[metric]
    found = dict(value=float(r["diff"]), ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), n=int(r["n"]),
                 metric=metric)
    if owners.get(metric) in uncalibrated:
        return RuleResult(rid, "margin", UNDECIDED, f"scored by {owners[metric]}, which is not calibrated",
                          threshold, **found)
    if r["fallback_from"] is not None and not pd.isna(r["fallback_from"]):
        return RuleResult(rid, "margin", UNDECIDED, f"nothing to compare on: {r['fallback_reason']}", threshold,
                          **found)
    if bool(r["too_few"]) or not (_finite(r["ci_low"]) and _finite(r["ci_high"])):
        why = f"too few paired samples (n={int(r['n'])}, {definition.get('counts', 'rows')})" if bool(r["too_few"]) \
            else "no confidence interval for the difference (withheld)"
        return RuleResult(rid, "margin", UNDECIDED, why, threshold, **found)
    low, high = float(r["ci_low"]), float(r["ci_high"])
    worse = -low if direction == "higher" else high  # the largest loss the interval allows
    interval = f"candidate - baseline {float(r['diff']):+.3g}, CI [{low:+.3g}, {high:+.3g}]"
    if worse <= margin.margin:
        return RuleResult(rid, "margin", PASS, f"{interval}: any loss is within {margin.margin:g}", threshold, **found)
    surely = (high < -margin.margin) if direction == "higher" else (low > margin.margin)
    why = "worse by more than" if surely else "may be worse by more than"
    return RuleResult(rid, "margin", FAIL, f"{interval}: {why} {margin.margin:g}", threshold, **found)


def _zero(rule: ZeroTolerance, candidate: Side, baseline: Side | None) -> RuleResult:
    rid = f"zero_tolerance.{rule.name}"
    what = rule.description or f"{' / '.join(rule.labels)} from {rule.scorer}"
    threshold = f"at most {rule.max_count}"
    scores = candidate.result.scores
    rows = scores[(scores["variant"] == candidate.variant) & (scores["scorer"] == rule.scorer)]
    if rows.empty:
        return RuleResult(rid, "zero_tolerance", UNDECIDED, f"the run has no {rule.scorer!r} scores for "
                          f"{candidate.variant} (scorers: {', '.join(dict.fromkeys(scores['scorer']))})", threshold)
    scope, note = _in_scope(rule, rows, candidate)
    n = len(scope)
    bad = scope[scope["label"].isin(rule.labels)]
    if n < rule.min_n:
        labelled = f" labelled {' / '.join(dict.fromkeys(rule.among + rule.labels))}" if rule.among else ""
        on = f" on intents {', '.join(rule.intents)}" if rule.intents else ""
        return RuleResult(rid, "zero_tolerance", UNDECIDED, f"too few samples: {n} decision points{labelled}{on}, "
                          f"the rule needs {rule.min_n}{note}", threshold, value=float(len(bad)), n=n)
    if len(bad) <= rule.max_count:
        return RuleResult(rid, "zero_tolerance", PASS, f"{what}: {len(bad)} of {n}{note}", threshold,
                          value=float(len(bad)), n=n)
    cases = list(bad["case_id"])
    shown = ", ".join(cases[:5]) + (f" and {len(cases) - 5} more" if len(cases) > 5 else "")
    reason = f"{what}: {len(bad)} of {n} ({shown})"
    if baseline is not None:
        theirs = baseline.result.scores
        theirs = theirs[(theirs["variant"] == baseline.variant) & (theirs["scorer"] == rule.scorer)
                        & theirs["case_id"].isin(cases)]
        caught = int((theirs["label"].notna() & ~theirs["label"].isin(rule.labels)).sum())
        reason += f"; the baseline got {caught} of them right"
    return RuleResult(rid, "zero_tolerance", FAIL, reason, threshold, value=float(len(bad)), n=n)


def _in_scope(rule: ZeroTolerance, rows: pd.DataFrame, side: Side) -> tuple[pd.DataFrame, str]:
    """The labelled rows the rule counts, and a note on what the scope left out when it is empty."""
    rows = rows[rows["label"].notna()]
    if rule.among is not None:
        rows = rows[rows["label"].isin(rule.among + rule.labels)]
    if rule.intents is None:
        return rows, ""
    replies = side.result.replies
    mine = replies[replies["variant"] == side.variant]
    intents = mine.set_index("case_id")["intent"] if "intent" in mine else pd.Series(dtype=object)
    rows = rows[rows["case_id"].map(intents).isin(rule.intents)]
    if not rows.empty:
        return rows, ""
    known = sorted({str(i) for i in intents.dropna()})
    return rows, f" (intents in the data: {', '.join(known) if known else 'none'})"
