"""Agreement between scorers and human labels: how far each scorer can be trusted.

Human labels are one row per (reply, criterion, reviewer), JSONL or CSV:

    {"case_id": "<conversation_id>#<turn>", "variant": "<variant name>",
     "criterion": "empathy" | "accuracy" | "escalation", "reviewer": "<id>", "label": ...,
     "note": "<optional>", "labelled_at": "<optional ISO time>"}

`empathy` and `accuracy` labels are integers 1..5 (ordinal, 1 worst, 5 best); `escalation` labels
are one of `correct_handoff`, `missed`, `premature`, `correct_containment` (nominal: what the reply
did against what should have happened).

Per (scorer, criterion), over the replies that have both a scorer verdict and at least one human
label: the reviewers' consensus (lower median / majority), Cohen's kappa between scorer and
consensus (quadratic-weighted for 1-5, unweighted for escalation), Krippendorff's alpha with the
scorer as one more coder and among the reviewers alone, Spearman's rho, exact and within-one
agreement, each with a percentile-bootstrap CI over replies, and a confusion table. See
docs/agreement.md. Pure pandas/numpy: MLflow is reached only through evals.tracking.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from evals.errors import UserError
from evals.load import DatasetError, RowError

Level = Literal["ordinal", "nominal"]

CRITERIA: tuple[str, ...] = ("empathy", "accuracy", "escalation")
LEVEL: dict[str, Level] = {"empathy": "ordinal", "accuracy": "ordinal", "escalation": "nominal"}
SCALE: tuple[int, ...] = (1, 2, 3, 4, 5)
ESCALATION_CLASSES: tuple[str, ...] = ("correct_handoff", "missed", "premature",
                                       "correct_containment")
DOMAIN: dict[str, tuple[Any, ...]] = {"empathy": SCALE, "accuracy": SCALE,
                                      "escalation": ESCALATION_CLASSES}
# A scorer of one of these names is compared with that criterion unless --map says otherwise.
DEFAULT_MAP: dict[str, str] = {
    "empathy": "empathy", "judge_empathy": "empathy",
    "accuracy": "accuracy", "judge_accuracy": "accuracy",
    "escalation": "escalation", "judge_escalation": "escalation",
}
REQUIRED_FIELDS = ("case_id", "variant", "criterion", "reviewer", "label")
OPTIONAL_FIELDS = ("note", "labelled_at")
# Statistics in report order; which apply depends on the level and the number of reviewers.
STATISTICS: tuple[str, ...] = ("kappa", "alpha", "alpha_humans", "spearman", "exact", "within_one")
_ORDINAL_ONLY = {"spearman", "within_one"}
_CASE_ID = re.compile(r"^.+#\d+$")
_MAX_LISTED = 5

LABEL_FORMAT = """\
one row per (reply, criterion, reviewer), JSONL or CSV (same field names as columns):
  {"case_id": "<conversation_id>#<turn>", "variant": "<variant name>",
   "criterion": "empathy" | "accuracy" | "escalation", "reviewer": "<id>", "label": <label>,
   "note": "<optional>", "labelled_at": "<optional ISO time>"}
  label for empathy, accuracy: integer 1..5 (1 worst, 5 best)
  label for escalation: correct_handoff | missed | premature | correct_containment
  (what the reply did against what should have happened); a duplicate
  (case_id, variant, criterion, reviewer) is an error"""


# ---------------------------------------------------------------------------------------------
# Human labels: loading and validation


@dataclass(frozen=True)
class Labels:
    """Validated human labels, in file order, and the file's identity."""

    path: str
    frame: pd.DataFrame  # case_id, variant, criterion, reviewer, label, note, labelled_at, row
    sha256: str

    @property
    def reviewers(self) -> list[str]:
        """Reviewers in order of first appearance in the file (the tie-break order)."""
        return list(dict.fromkeys(self.frame["reviewer"]))


def load_labels(path: str | Path) -> Labels:
    """Read and validate a label file; every malformed row raises one DatasetError naming it."""
    source = str(path)
    file = Path(source)
    if not file.is_file():
        raise DatasetError(f"{source}: no such label file")
    data = file.read_bytes()
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str, str, str], str] = {}
    for row, record in _label_records(source, data, file.suffix.lower()):
        if isinstance(record, RowError):
            errors.append(record)
            continue
        clean, problem = _validate_label(source, row, record)
        if problem is not None:
            errors.append(problem)
            continue
        key = (clean["case_id"], clean["variant"], clean["criterion"], clean["reviewer"])
        if key in seen:
            errors.append(RowError(source, row, "reviewer",
                                   f"duplicate label: reviewer '{key[3]}' already labelled "
                                   f"{key[2]} of {key[0]} ({key[1]}) at {seen[key]}"))
            continue
        seen[key] = row
        rows.append({**clean, "row": row})
    if errors:
        raise DatasetError(_one_line(errors))
    if not rows:
        raise DatasetError(f"{source}: no labels in the file")
    frame = pd.DataFrame(rows, columns=[*REQUIRED_FIELDS, *OPTIONAL_FIELDS, "row"])
    return Labels(source, frame, hashlib.sha256(data).hexdigest())


def _one_line(errors: Sequence[RowError]) -> str:
    """The first problem in full, and where the others are, on one line."""
    message = str(errors[0])
    if len(errors) > 1:
        where = ", ".join(e.row for e in errors[1:1 + _MAX_LISTED])
        more = "" if len(errors) <= 1 + _MAX_LISTED else ", ..."
        message += f" (and {len(errors) - 1} more malformed rows: {where}{more})"
    return message


def _label_records(
    source: str, data: bytes, suffix: str
) -> Iterator[tuple[str, dict[str, Any] | RowError]]:
    if suffix in (".jsonl", ".json"):
        for number, raw in enumerate(data.splitlines(), start=1):
            row = f"line {number}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield row, RowError(source, row, "",
                                    f"not valid UTF-8 (byte {exc.start} of the line)")
                continue
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield row, RowError(source, row, "",
                                    f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(record, dict):
                yield row, RowError(source, row, "", "expected a JSON object for the label")
                continue
            yield row, record
    elif suffix == ".csv":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DatasetError(
                f"{source}: line {line}: not valid UTF-8 (save the file as UTF-8)") from None
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DatasetError(f"{source}: not a readable CSV file: {exc}") from None
        for index, record in enumerate(frame.to_dict("records"), start=1):
            # an empty cell is an absent optional value
            yield f"row {index}", {k: v for k, v in record.items() if v != ""}
    else:
        raise DatasetError(f"{source}: unsupported label file type '{suffix}' (use .jsonl or .csv)")


def _validate_label(
    source: str, row: str, record: Mapping[str, Any]
) -> tuple[dict[str, Any], RowError | None]:
    def bad(name: str, message: str) -> tuple[dict[str, Any], RowError]:
        return {}, RowError(source, row, name, message)

    unknown = [k for k in record if k not in REQUIRED_FIELDS and k not in OPTIONAL_FIELDS]
    if unknown:
        return bad(unknown[0],
                   f"unknown field (fields are {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})")
    for name in REQUIRED_FIELDS:
        if record.get(name) is None:
            return bad(name, "required field is missing")
    clean: dict[str, Any] = {}
    for name in ("case_id", "variant", "criterion", "reviewer"):
        value = record[name]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return bad(name, f"expected a string, got {json.dumps(value)}")
        clean[name] = str(value).strip()
        if not clean[name]:
            return bad(name, "must not be empty")
    if not _CASE_ID.match(clean["case_id"]):
        return bad("case_id", f"expected '<conversation_id>#<turn>', got '{clean['case_id']}'")
    criterion = clean["criterion"]
    if criterion not in CRITERIA:
        return bad("criterion", f"expected one of {', '.join(CRITERIA)}, got '{criterion}'")
    label = record["label"]
    if LEVEL[criterion] == "ordinal":
        score = _as_scale(label)
        if score is None:
            return bad("label", f"{criterion} labels are integers 1-5, got {_shown(label)}")
        clean["label"] = score
    else:
        if not isinstance(label, str) or label.strip() not in ESCALATION_CLASSES:
            return bad("label", f"escalation labels are one of {', '.join(ESCALATION_CLASSES)}, "
                                f"got {_shown(label)}")
        clean["label"] = label.strip()
    note = record.get("note")
    if note is not None and not isinstance(note, str):
        return bad("note", f"expected a string, got {_shown(note)}")
    clean["note"] = note
    when = record.get("labelled_at")
    if when is not None:
        try:
            datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            return bad("labelled_at", f"expected an ISO 8601 time such as 2025-03-01T14:05:00Z, "
                                      f"got {_shown(when)}")
    clean["labelled_at"] = when
    return clean, None


def _as_scale(value: Any) -> int | None:
    """1..5 from an int, an integral float or a string of one (CSV cells are text); else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d+(\.0*)?", text):
            return None
        value = float(text)
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        number = int(value)
    else:
        return None
    return number if number in SCALE else None


def _shown(value: Any) -> str:
    """A bad value as the user wrote it: numbers bare, other text quoted."""
    if isinstance(value, str):
        text = value.strip()
        return text if re.fullmatch(r"[+-]?\d+(\.\d*)?", text) else json.dumps(value)
    return json.dumps(value)


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


def scorer_verdicts(replies: pd.DataFrame, scorer: str, criterion: str) -> Verdicts:
    """Per reply, the scorer's verdict as a code into DOMAIN[criterion], with its source."""
    values = pd.to_numeric(replies[scorer], errors="coerce").astype(float)
    labels = replies[f"{scorer}_label"]
    present = labels[labels.notna() & (labels.astype(str).str.strip() != "")]
    unscored = values.isna()
    if LEVEL[criterion] == "ordinal":
        as_scale = present.map(_as_scale)
        if len(present) and as_scale.notna().all():
            source = "label"
            mapped = labels.map(lambda x: _as_scale(x) if x is not None and not _isnan(x) else None)
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
    versions: dict[str, str]  # scorer -> its version, "offline" without a `<scorer>_version` column
    reviewers: dict[tuple[str, str], int]  # (scorer, criterion) -> reviewers over compared replies
    labelled: dict[tuple[str, str], int]  # (scorer, criterion) -> labelled replies
    notes: list[str] = field(default_factory=list)
    n_boot: int = 0
    seed: int = 0

    def kappa(self, scorer: str) -> float:
        rows = self.table[(self.table.scorer == scorer) & (self.table.statistic == "kappa")]
        return float(rows.value.iloc[0]) if len(rows) else float("nan")


def scorer_names(replies: pd.DataFrame) -> list[str]:
    """Scorers in a per-reply table: NAME columns with NAME_label and NAME_explanation beside."""
    cols = set(replies.columns)
    return [c for c in replies.columns if f"{c}_label" in cols and f"{c}_explanation" in cols]


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
    replies: pd.DataFrame,
    mapping: Mapping[str, str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Compare every mapped scorer of a per-reply table (all variants) with the human labels."""
    if replies.duplicated(["case_id", "variant"]).any():
        raise UserError("the per-reply tables hold a (case_id, variant) twice; give one evaluated run")
    replies = replies.reset_index(drop=True)
    scorers = scorer_names(replies)
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
        verdicts = scorer_verdicts(replies, scorer, criterion)
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
    versions = {s: _version(replies, s) for s in pairs}
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


def _version(replies: pd.DataFrame, scorer: str) -> str:
    column = f"{scorer}_version"
    if column not in replies.columns:
        return "offline"
    found = sorted({str(v) for v in replies[column].dropna()})
    return ",".join(found) if found else "offline"


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


# ---------------------------------------------------------------------------------------------
# What gets logged: metric names, tags, files


def metrics_of(result: AgreementResult) -> dict[str, float]:
    """`<scorer>.<criterion>.<statistic>` with `_ci_low`/`_ci_high`, `.n` and `.left_out`."""
    metrics: dict[str, float] = {}
    for row in result.table.itertuples():
        name = f"{row.scorer}.{row.criterion}.{row.statistic}"
        metrics[name] = row.value
        metrics[f"{name}_ci_low"] = row.ci_low
        metrics[f"{name}_ci_high"] = row.ci_high
    for (scorer, criterion), table in result.confusion.items():
        metrics[f"{scorer}.{criterion}.n"] = float(table.to_numpy().sum())
    for (scorer, criterion), group in result.left_out.groupby(["scorer", "criterion"], sort=False):
        metrics[f"{scorer}.{criterion}.left_out"] = float(group.replies.sum())
    return {k: float(v) for k, v in metrics.items() if pd.notna(v)}


def tags_of(result: AgreementResult, labels: Labels, evaluated_run_id: str,
            requirements: Sequence[Requirement] = ()) -> dict[str, str]:
    tags = {"evaluated_run_id": evaluated_run_id, "labels.file": Path(labels.path).name,
            "labels.sha256": labels.sha256, "labels.rows": str(len(labels.frame)),
            "labels.reviewers": str(len(labels.reviewers)), "bootstrap": str(result.n_boot),
            "seed": str(result.seed)}
    for scorer, criterion in result.pairs.items():
        tags[f"map.{scorer}"] = criterion
        tags[f"scorer_version.{scorer}"] = result.versions[scorer]
        if scorer in result.sources:
            tags[f"scorer_source.{scorer}"] = result.sources[scorer]
    for req in requirements:
        tags[f"trusted.{req.scorer}"] = "true" if req.trusted else "false"
        tags[f"required_kappa.{req.scorer}"] = f"{req.minimum:g}"
    return tags


def write_files(result: AgreementResult, folder: Path, labels: Labels, evaluated_run_id: str,
                requirements: Sequence[Requirement] = ()) -> Path:
    """agreement.csv, confusion/<scorer>_<criterion>.csv and agreement.md under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(folder / "agreement.csv", index=False)
    (folder / "confusion").mkdir(exist_ok=True)
    for (scorer, criterion), table in result.confusion.items():
        table.to_csv(folder / "confusion" / f"{scorer}_{criterion}.csv")
    (folder / "agreement.md").write_text(markdown(result, labels, evaluated_run_id, requirements),
                                         encoding="utf-8")
    return folder


def _fmt(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.3f}"


STAT_TITLES = {
    "kappa": "Cohen's kappa vs consensus",
    "alpha": "Krippendorff's alpha, reviewers + scorer",
    "alpha_humans": "Krippendorff's alpha, reviewers alone",
    "spearman": "Spearman's rho vs consensus",
    "exact": "exact agreement with consensus",
    "within_one": "agreement within one point",
}


def markdown(result: AgreementResult, labels: Labels, evaluated_run_id: str,
             requirements: Sequence[Requirement] = ()) -> str:
    lines = [
        "# Agreement of scorers with human labels", "",
        f"Evaluated run `{evaluated_run_id}`; labels `{Path(labels.path).name}` "
        f"(sha256 `{labels.sha256[:16]}…`, {len(labels.frame)} rows, "
        f"{len(labels.reviewers)} reviewers). 95% percentile-bootstrap CIs from {result.n_boot} "
        f"resamples of replies (seed {result.seed}). "
        "Kappa is quadratic-weighted on the 1-5 criteria and unweighted on escalation; "
        "consensus is the reviewers' lower median (1-5) or majority (escalation). "
        "See docs/agreement.md for how to read these numbers.", "",
    ]
    for (scorer, criterion), table in result.confusion.items():
        source = result.sources.get(scorer, "")
        how = ("its own labels" if source == "label" else
               "value mapped to 1-5 as round(1 + 4 × value)") if LEVEL[criterion] == "ordinal" \
            else "its escalation labels"
        lines += [f"## {scorer} vs human {criterion}", "",
                  f"Scorer version: {result.versions[scorer]}; verdicts from {how}; "
                  f"{result.reviewers.get((scorer, criterion), 0)} reviewers on the compared "
                  "replies.", "",
                  "| statistic | value | 95% CI | n |", "|---|---|---|---|"]
        mine = result.table[(result.table.scorer == scorer) & (result.table.criterion == criterion)]
        for row in mine.itertuples():
            lines.append(f"| {STAT_TITLES[row.statistic]} | {_fmt(row.value)} | "
                         f"[{_fmt(row.ci_low)}, {_fmt(row.ci_high)}] | {row.n} |")
        gone = result.left_out[(result.left_out.scorer == scorer)
                               & (result.left_out.criterion == criterion)]
        labelled = result.labelled.get((scorer, criterion), 0)
        lines += ["", f"{labelled} replies have a human {criterion} label; left out: "
                  + ("; ".join(f"{r.replies} — {LEFT_OUT_REASONS[r.reason]}"
                               for r in gone.itertuples() if r.replies) or "none") + ".", "",
                  "Confusion (rows: scorer, columns: human consensus):", "",
                  "| scorer \\ consensus | " + " | ".join(table.columns) + " |",
                  "|---" * (len(table.columns) + 1) + "|"]
        for label, counts in table.iterrows():
            lines.append(f"| {label} | " + " | ".join(str(int(v)) for v in counts) + " |")
        lines.append("")
    if requirements:
        lines += ["## Required agreement", ""]
        lines += [f"- {'trusted' if r.trusted else 'NOT trusted'}: {r}" for r in requirements]
        lines.append("")
    if result.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in result.notes] + [""]
    return "\n".join(lines)
