"""Agreement between scorers and human labels (evals.labels): how far each scorer can be trusted.

Per (scorer, criterion), over the replies that have both a scorer verdict and at least one human
label: the reviewers' consensus (lower median / majority), Cohen's kappa between scorer and
consensus (quadratic-weighted for 1-5, unweighted for escalation), Krippendorff's alpha with the
scorer as one more coder and among the reviewers alone, Spearman's rho, exact and within-one
agreement, each with a percentile-bootstrap CI over replies, and a confusion table. See
docs/agreement.md. Pure pandas/numpy: MLflow is reached only through evals.tracking.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evals.errors import UserError
from evals.labels import CRITERIA, DOMAIN, ESCALATION_CLASSES, LEVEL, Labels, Level, as_scale
from evals.results import EvalResult

# A scorer of one of these names is compared with that criterion unless --map says otherwise.
DEFAULT_MAP: dict[str, str] = {
    "empathy": "empathy", "judge_empathy": "empathy",
    "accuracy": "accuracy", "judge_accuracy": "accuracy",
    "escalation": "escalation", "judge_escalation": "escalation",
}
# Statistics in report order; which apply depends on the level and the number of reviewers.
STATISTICS: tuple[str, ...] = ("kappa", "alpha", "alpha_humans", "spearman", "exact", "within_one")
_ORDINAL_ONLY = {"spearman", "within_one"}


# ---------------------------------------------------------------------------------------------
# Consensus and statistics (pure functions on arrays of codes: index into DOMAIN[criterion])


def consensus_ordinal(labels: Sequence[int]) -> int:
    """The reviewers' median; for an even count the lower of the two middle labels."""
    ordered = sorted(labels)
    return ordered[(len(ordered) - 1) // 2]


def consensus_nominal(labels: Sequence[str]) -> str:
    """The majority label; a tie goes to the tied label given first in reviewer order.

    `labels` must be in reviewer order (reviewers by first appearance in the label file).
    """
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    top = max(counts.values())
    return next(label for label in labels if counts[label] == top)


def cohen_kappa(scorer: np.ndarray, consensus: np.ndarray, level: Level, n_values: int) -> float:
    """Quadratic-weighted (ordinal) or unweighted (nominal) kappa; NaN when undefined."""
    from sklearn.metrics import cohen_kappa_score

    if len(scorer) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(scorer, consensus, labels=list(range(n_values)),
                                       weights="quadratic" if level == "ordinal" else None))


def krippendorff_alpha(value_counts: np.ndarray, level: Level) -> float:
    """Alpha from units x values counts of coders; NaN without a pairable unit or variation."""
    import krippendorff

    counts = np.asarray(value_counts)
    if counts.size == 0 or (counts.sum(axis=1) < 2).all():
        return float("nan")
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        try:
            return float(krippendorff.alpha(value_counts=counts, level_of_measurement=level,
                                            value_domain=np.arange(counts.shape[1])))
        except (ValueError, ZeroDivisionError):
            return float("nan")


def spearman(scorer: np.ndarray, consensus: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(scorer) < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant input: rho is undefined (NaN)
        return float(spearmanr(scorer, consensus).statistic)


def exact_agreement(scorer: np.ndarray, consensus: np.ndarray) -> float:
    return float(np.mean(scorer == consensus)) if len(scorer) else float("nan")


def within_one_agreement(scorer: np.ndarray, consensus: np.ndarray) -> float:
    return float(np.mean(np.abs(scorer - consensus) <= 1)) if len(scorer) else float("nan")


@dataclass(frozen=True)
class Compared:
    """One (scorer, criterion) over the replies it can be compared on, as codes 0..V-1."""

    scorer: np.ndarray  # (n,) the scorer's label per reply
    consensus: np.ndarray  # (n,) the reviewers' consensus per reply
    humans: np.ndarray  # (n, V) how many reviewers gave each label per reply
    level: Level
    n_reviewers: int  # distinct reviewers over these replies

    @property
    def statistics(self) -> tuple[str, ...]:
        names = [s for s in STATISTICS if self.level == "ordinal" or s not in _ORDINAL_ONLY]
        if self.n_reviewers < 2:
            names = [s for s in names if not s.startswith("alpha")]
        elif not (self.humans.sum(axis=1) >= 2).any():
            names.remove("alpha_humans")  # no reply was labelled by two reviewers
        return tuple(names)


def statistics(data: Compared, index: np.ndarray | None = None) -> dict[str, tuple[float, int]]:
    """Each applicable statistic as (value, n), on all replies or on a resample `index`."""
    s, c, h = data.scorer, data.consensus, data.humans
    if index is not None:
        s, c, h = s[index], c[index], h[index]
    n_values = h.shape[1]
    out: dict[str, tuple[float, int]] = {}
    for name in data.statistics:
        if name == "kappa":
            out[name] = (cohen_kappa(s, c, data.level, n_values), len(s))
        elif name == "alpha":
            coders = h + np.eye(n_values, dtype=h.dtype)[s]  # the scorer as one more coder
            out[name] = (krippendorff_alpha(coders, data.level), len(s))
        elif name == "alpha_humans":
            out[name] = (krippendorff_alpha(h, data.level), int((h.sum(axis=1) >= 2).sum()))
        elif name == "spearman":
            out[name] = (spearman(s, c), len(s))
        elif name == "exact":
            out[name] = (exact_agreement(s, c), len(s))
        elif name == "within_one":
            out[name] = (within_one_agreement(s, c), len(s))
    return out


def bootstrap(
    data: Compared, n_boot: int, seed: int, confidence: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile CIs per statistic, resampling replies with replacement (seeded)."""
    names = data.statistics
    n = len(data.scorer)
    if n_boot <= 0 or n == 0:
        return {name: (float("nan"), float("nan")) for name in names}
    rng = np.random.default_rng(seed)
    draws = {name: np.empty(n_boot) for name in names}
    for b in range(n_boot):
        stats = statistics(data, rng.integers(0, n, n))
        for name in names:
            draws[name][b] = stats[name][0]
    tail = (1 - confidence) / 2 * 100
    out = {}
    for name, values in draws.items():
        finite = values[np.isfinite(values)]
        # resamples where a statistic is undefined (e.g. no variation) are left out
        out[name] = ((float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail)))
                     if len(finite) else (float("nan"), float("nan")))
    return out


def confusion_table(data: Compared, criterion: str, scorer: str) -> pd.DataFrame:
    """Counts of scorer label (rows) x human consensus label (columns), every label shown."""
    domain = [str(v) for v in DOMAIN[criterion]]
    counts = np.zeros((len(domain), len(domain)), dtype=int)
    np.add.at(counts, (data.scorer, data.consensus), 1)
    table = pd.DataFrame(counts, index=pd.Index(domain, name=f"{scorer} \\ consensus"),
                         columns=pd.Index(domain, name="consensus"))
    return table


# ---------------------------------------------------------------------------------------------
# Scorer verdicts -> labels on the human scale


@dataclass(frozen=True)
class Verdicts:
    codes: pd.Series  # index (case_id, variant) -> code, or <NA> where not comparable
    reason: pd.Series  # same index -> "" or why there is no code
    source: str  # "label" (the scorer's own 1-5 or class labels) or "value" (round(1 + 4 * value))


def value_to_scale(value: float) -> int | None:
    """A value in [0, 1] -> 1..5 as round(1 + 4 * value), halves rounded up; else None."""
    if value is None or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        return None
    return int(math.floor(1 + 4 * value + 0.5))


def scorer_verdicts(scores: pd.DataFrame, scorer: str, criterion: str) -> Verdicts:
    """Per reply, the scorer's verdict as a code into DOMAIN[criterion], with its source.

    `scores`: the results' long scores table (evals.results), or one scorer's rows of it."""
    replies = scores[scores["scorer"] == scorer].reset_index(drop=True)
    values = pd.to_numeric(replies["value"], errors="coerce").astype(float)
    labels = replies["label"]
    present = labels[labels.notna() & (labels.astype(str).str.strip() != "")]
    unscored = values.isna()
    if LEVEL[criterion] == "ordinal":
        on_scale = present.map(as_scale)
        if len(present) and on_scale.notna().all():
            source = "label"
            mapped = labels.map(lambda x: as_scale(x) if x is not None and not _isnan(x) else None)
        else:
            source = "value"
            mapped = values.map(value_to_scale)
        codes = mapped.map(lambda v: None if v is None or _isnan(v) else int(v) - 1)
    else:
        index = {c: i for i, c in enumerate(ESCALATION_CLASSES)}
        classes = present.astype(str).str.strip()
        if len(present) and not classes.isin(ESCALATION_CLASSES).any():
            raise UserError(
                f"scorer '{scorer}' cannot be compared on escalation: its labels are not escalation "
                f"classes (e.g. '{classes.iloc[0]}'); map it to another criterion with --map")
        source = "label"
        codes = labels.map(lambda x: index.get(str(x).strip()) if x is not None else None)
    codes = codes.where(~unscored, None)
    reason = pd.Series("", index=replies.index, dtype=object)
    reason[unscored] = "unscored"
    reason[~unscored & codes.isna()] = "unmappable"
    keys = pd.MultiIndex.from_frame(replies[["case_id", "variant"]])
    return Verdicts(pd.Series(codes.to_numpy(dtype=object), index=keys),
                    pd.Series(reason.to_numpy(), index=keys), source)


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


# ---------------------------------------------------------------------------------------------
# The whole comparison


LEFT_OUT_REASONS = {
    "not_in_run": "labelled reply not in the evaluated run (no such case_id and variant)",
    "unscored": "the scorer gave no verdict (NaN: see its explanation in the run)",
    "unmappable": "the scorer's verdict has no place on the human scale",
}


@dataclass(frozen=True)
class AgreementResult:
    table: pd.DataFrame  # scorer, criterion, statistic, value, ci_low, ci_high, n
    confusion: dict[tuple[str, str], pd.DataFrame]
    left_out: pd.DataFrame  # scorer, criterion, reason, replies
    pairs: dict[str, str]  # scorer -> criterion, as compared
    sources: dict[str, str]  # scorer -> "label" | "value"
    versions: dict[str, str]  # scorer -> its version, as the results manifest records it
    reviewers: dict[tuple[str, str], int]  # (scorer, criterion) -> reviewers over compared replies
    labelled: dict[tuple[str, str], int]  # (scorer, criterion) -> labelled replies
    notes: list[str] = field(default_factory=list)
    n_boot: int = 0
    seed: int = 0

    def kappa(self, scorer: str) -> float:
        rows = self.table[(self.table.scorer == scorer) & (self.table.statistic == "kappa")]
        return float(rows.value.iloc[0]) if len(rows) else float("nan")


def scorer_names(scores: pd.DataFrame) -> list[str]:
    """The scorers of a results scores table, in their order."""
    return list(dict.fromkeys(scores["scorer"]))


def resolve_map(scorers: Sequence[str], overrides: Mapping[str, str]) -> dict[str, str]:
    """scorer -> criterion: the default names, then `--map scorer=criterion` on top."""
    for scorer, criterion in overrides.items():
        if criterion not in CRITERIA:
            raise UserError(
                f"--map {scorer}={criterion}: the criterion is one of {', '.join(CRITERIA)}")
        if scorer not in scorers:
            raise UserError(f"--map {scorer}={criterion}: the run has no scorer '{scorer}' "
                            f"(its scorers: {', '.join(scorers) or 'none'})")
    mapping = {s: DEFAULT_MAP[s] for s in scorers if s in DEFAULT_MAP}
    mapping.update(overrides)
    return mapping


def run_agreement(
    labels: Labels,
    result: EvalResult,
    mapping: Mapping[str, str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Compare every mapped scorer of an evaluation's results (all variants) with the human labels."""
    replies = result.replies
    if replies.duplicated(["case_id", "variant"]).any():
        raise UserError("the results hold a (case_id, variant) twice; give one evaluated run")
    scorers = scorer_names(result.scores)
    pairs = resolve_map(scorers, mapping or {})
    frame = labels.frame
    order = {r: i for i, r in enumerate(labels.reviewers)}
    run_keys = set(zip(replies["case_id"], replies["variant"]))
    rows: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    confusion: dict[tuple[str, str], pd.DataFrame] = {}
    sources: dict[str, str] = {}
    reviewers: dict[tuple[str, str], int] = {}
    labelled_counts: dict[tuple[str, str], int] = {}
    notes: list[str] = []
    for criterion in CRITERIA:
        if (frame.criterion == criterion).any() and criterion not in pairs.values():
            notes.append(f"{criterion} has human labels but no scorer is compared with it "
                         f"(scorers: {', '.join(scorers)}; use --map scorer={criterion})")
    for scorer, criterion in pairs.items():
        mine = frame[frame.criterion == criterion]
        if mine.empty:
            notes.append(f"{scorer} not compared: no human {criterion} labels")
            continue
        verdicts = scorer_verdicts(result.scores, scorer, criterion)
        sources[scorer] = verdicts.source
        grouped = _by_reply(mine, order)
        labelled_counts[(scorer, criterion)] = len(grouped)
        kept: list[tuple[tuple[str, str], int, list[Any], list[str]]] = []
        reasons = {reason: 0 for reason in LEFT_OUT_REASONS}
        for key, (values, who) in grouped.items():
            if key not in run_keys:
                reasons["not_in_run"] += 1
            elif verdicts.reason[key]:
                reasons[verdicts.reason[key]] += 1
            else:
                kept.append((key, int(verdicts.codes[key]), values, who))
        left.extend({"scorer": scorer, "criterion": criterion, "reason": r, "replies": n}
                    for r, n in reasons.items())
        if not kept:
            notes.append(f"{scorer}: none of the {len(grouped)} replies labelled for {criterion} "
                         "can be compared (see the left-out counts)")
            continue
        data = _compared(criterion, kept)
        reviewers[(scorer, criterion)] = data.n_reviewers
        point = statistics(data)
        cis = bootstrap(data, n_boot, seed, confidence)
        for name, (value, n) in point.items():
            low, high = cis[name]
            rows.append({"scorer": scorer, "criterion": criterion, "statistic": name, "value": value,
                         "ci_low": low, "ci_high": high, "n": n})
        confusion[(scorer, criterion)] = confusion_table(data, criterion, scorer)
    table = pd.DataFrame(rows, columns=["scorer", "criterion", "statistic", "value", "ci_low",
                                        "ci_high", "n"])
    if table.empty:
        in_run = sum(k in run_keys for k in zip(frame.case_id, frame.variant))
        raise UserError(
            f"no overlapping replies: {in_run} of {len(frame)} labels match a (case_id, variant) of "
            f"the run, and none has a verdict from a compared scorer "
            f"(compared: {', '.join(f'{s}={c}' for s, c in pairs.items()) or 'none'})")
    versions = {s: result.version_of(s) for s in pairs}
    return AgreementResult(table, confusion,
                           pd.DataFrame(left, columns=["scorer", "criterion", "reason", "replies"]),
                           dict(pairs), sources, versions, reviewers, labelled_counts, notes,
                           n_boot, seed)


def _by_reply(
    labels: pd.DataFrame, order: Mapping[str, int]
) -> dict[tuple[str, str], tuple[list[Any], list[str]]]:
    """(case_id, variant) -> (labels, reviewers), both in reviewer order; replies in file order."""
    out: dict[tuple[str, str], list[tuple[int, Any, str]]] = {}
    for case_id, variant, reviewer, label in zip(labels.case_id, labels.variant, labels.reviewer,
                                                 labels.label):
        out.setdefault((case_id, variant), []).append((order[reviewer], label, reviewer))
    return {k: ([lab for _, lab, _ in sorted(v, key=lambda t: t[0])],
                [who for _, _, who in sorted(v, key=lambda t: t[0])]) for k, v in out.items()}


def _compared(
    criterion: str, kept: Sequence[tuple[tuple[str, str], int, list[Any], list[str]]]
) -> Compared:
    domain = DOMAIN[criterion]
    index = {v: i for i, v in enumerate(domain)}
    level = LEVEL[criterion]
    humans = np.zeros((len(kept), len(domain)), dtype=int)
    consensus = np.empty(len(kept), dtype=int)
    for i, (_, _, values, _) in enumerate(kept):
        for v in values:
            humans[i, index[v]] += 1
        agreed = consensus_ordinal(values) if level == "ordinal" else consensus_nominal(values)
        consensus[i] = index[agreed]
    scorer = np.array([code for _, code, _, _ in kept], dtype=int)
    n_reviewers = len({who for *_, whos in kept for who in whos})
    return Compared(scorer, consensus, humans, level, n_reviewers)


# ---------------------------------------------------------------------------------------------
# Gate: --require scorer=MIN_KAPPA


@dataclass(frozen=True)
class Requirement:
    scorer: str
    minimum: float
    kappa: float

    @property
    def trusted(self) -> bool:
        return math.isfinite(self.kappa) and self.kappa >= self.minimum

    def __str__(self) -> str:
        if not math.isfinite(self.kappa):
            return f"{self.scorer}: kappa undefined (no variation or no compared replies), " \
                   f"required {self.minimum:.2f}"
        if self.trusted:
            return f"{self.scorer}: kappa {self.kappa:.3f} >= required {self.minimum:.2f}"
        return (f"{self.scorer}: kappa {self.kappa:.3f} < required {self.minimum:.2f} "
                f"(short by {self.minimum - self.kappa:.3f})")


def check_requirements(result: AgreementResult, required: Mapping[str, float]) -> list[Requirement]:
    out = []
    for scorer, minimum in required.items():
        if scorer not in result.pairs:
            raise UserError(f"--require {scorer}={minimum:g}: '{scorer}' is not a compared scorer "
                            f"(compared: {', '.join(result.pairs) or 'none'}; see --map)")
        out.append(Requirement(scorer, minimum, result.kappa(scorer)))
    return out


def parse_pairs(items: Iterable[str], option: str) -> dict[str, str]:
    """`name=value` command-line items -> a dict; a malformed one is a UserError."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UserError(f"{option} {item}: expected scorer=value, e.g. {option} judge_empathy="
                            + ("empathy" if option == "--map" else "0.6"))
        out[name.strip()] = value.strip()
    return out


def parse_requirements(items: Iterable[str]) -> dict[str, float]:
    out = {}
    for scorer, text in parse_pairs(items, "--require").items():
        try:
            minimum = float(text)
        except ValueError:
            minimum = float("nan")
        if not -1.0 <= minimum <= 1.0:
            raise UserError(f"--require {scorer}={text}: the minimum kappa is a number in [-1, 1]")
        out[scorer] = minimum
    return out
