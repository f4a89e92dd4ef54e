"""Judges that learn from reviewers: worked cases where a judge and people disagreed, added to its rubric.

1. The labelled replies of the judge's criterion get one final label each: a row of the reviewer
   `adjudicated` (what `review export` writes for the owner's decision) is final, otherwise the
   reviewers' consensus as `agree` takes it (lower median of 1-5, majority of escalation classes).
2. They are split by conversation, seeded, into a training and a held-out part, so no conversation
   teaches the judge and then tests it.
3. From training, up to k replies where the run's judge and people disagree most (|judge - people| on
   1-5, any mismatch for escalation), spread over the label values, become worked cases in a copy of
   the rubric (`Rubric.examples`; its version is its content hash, like any rubric's).
4. The held-out replies are judged again with the old and the new rubric by the same judge code; each is
   compared with people by Cohen's kappa (evals.agreement) with a bootstrap CI, and the new rubric is
   kept only when the paired bootstrap CI of the kappa difference lies above 0.

MLflow is reached only by the command (evals/commands/review/align.py, through evals.tracking).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from evals.agreement import cohen_kappa, consensus_nominal, consensus_ordinal, scorer_verdicts
from evals.calls.redaction import PiiRedactor, redact_json
from evals.errors import UserError
from evals.labels import CRITERIA, DOMAIN, LEVEL, Labels
from evals.masking import REDACTED
from evals.results import EvalResult, scores_frame
from evals.review.store import ADJUDICATED
from evals.scorers.judge import Judge, JudgeScorer, Rubric
from evals.types import Case, Conversation, Reply

MIN_HELDOUT = 10  # fewer held-out replies cannot show a gain beyond noise
MAX_TURNS = 4  # a worked case shows the conversation's last turns up to the customer's
MAX_CHARS = 500  # per text in a worked case: enough to grade, short enough to keep the prompt small
KeyT = tuple[str, str]  # (case_id, variant)


# ---------------------------------------------------------------------------------------------
# Labels -> one final label per reply, split by conversation


@dataclass(frozen=True)
class Labelled:
    """One labelled reply with people's final label on the criterion."""

    case_id: str
    variant: str
    label: Any  # 1-5 or an escalation class
    note: str  # the adjudicator's or an agreeing reviewer's note; "" if none
    adjudicated: bool

    @property
    def key(self) -> KeyT:
        return self.case_id, self.variant

    @property
    def conversation_id(self) -> str:
        return self.case_id.rsplit("#", 1)[0]


def final_labels(labels: Labels, criterion: str, variants: Sequence[str] | None = None) -> list[Labelled]:
    """People's final label per reply of `criterion` (adjudicated beats the reviewers' consensus)."""
    frame = labels.frame[labels.frame["criterion"] == criterion]
    if variants:
        frame = frame[frame["variant"].isin(list(variants))]
    order = {r: i for i, r in enumerate(labels.reviewers)}
    grouped: dict[KeyT, list[tuple[str, Any, Any]]] = {}
    for case_id, variant, reviewer, label, note in zip(frame["case_id"], frame["variant"], frame["reviewer"],
                                                       frame["label"], frame["note"]):
        grouped.setdefault((case_id, variant), []).append((reviewer, label, note))
    out = []
    ordinal = LEVEL[criterion] == "ordinal"
    for (case_id, variant), rows in grouped.items():
        final = [r for r in rows if r[0] == ADJUDICATED]
        if final:
            label, notes = final[0][1], [final[0][2]]
        else:
            rows = sorted(rows, key=lambda r: order[r[0]])
            values = [r[1] for r in rows]
            label = consensus_ordinal(values) if ordinal else consensus_nominal(values)
            notes = [r[2] for r in rows if r[1] == label]
        note = next((n.strip() for n in notes if isinstance(n, str) and n.strip()), "")
        out.append(Labelled(case_id, variant, int(label) if ordinal else str(label), note, bool(final)))
    return out


def split_by_conversation(items: Sequence[Labelled], holdout: float, seed: int
                          ) -> tuple[list[Labelled], list[Labelled]]:
    """(training, held-out): whole conversations, a seeded `holdout` share of them held out."""
    conversations = sorted({i.conversation_id for i in items})
    random.Random(seed).shuffle(conversations)
    n_held = round(len(conversations) * holdout)
    if len(conversations) >= 2:  # both parts get at least one conversation
        n_held = min(max(n_held, 1), len(conversations) - 1)
    held = set(conversations[:n_held])
    return ([i for i in items if i.conversation_id not in held], [i for i in items if i.conversation_id in held])


# ---------------------------------------------------------------------------------------------
# Worked cases: where the run's judge and people disagree most


@dataclass(frozen=True)
class Picked:
    item: Labelled
    judge_label: Any  # what the run's judge said, on the human scale
    gap: int  # |judge - people| on 1-5; 1 for any escalation mismatch


def pick_examples(train: Sequence[Labelled], judged: Mapping[KeyT, int], criterion: str, k: int,
                  seed: int = 0) -> list[Picked]:
    """Up to k disagreements, largest first, taking turns over people's label values so that the
    worked cases show the whole scale rather than k copies of one mistake; ties in a seeded order."""
    domain = DOMAIN[criterion]
    index = {v: i for i, v in enumerate(domain)}
    ordinal = LEVEL[criterion] == "ordinal"
    found = []
    for item in train:
        code = judged.get(item.key)
        if code is None:
            continue
        gap = abs(code - index[item.label]) if ordinal else int(code != index[item.label])
        if gap:
            found.append(Picked(item, domain[code], gap))
    random.Random(seed).shuffle(found)
    found.sort(key=lambda p: -p.gap)  # stable: the seeded order breaks ties
    queues: dict[Any, list[Picked]] = {}
    for p in found:
        queues.setdefault(p.item.label, []).append(p)
    turn_order = list(queues)  # label values by their largest disagreement
    picked: list[Picked] = []
    while len(picked) < k and any(queues.values()):
        for label in turn_order:
            if queues[label] and len(picked) < k:
                picked.append(queues[label].pop(0))
    return picked


def _short(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def worked_case(case: Case, reply: Reply, picked: Picked) -> dict[str, Any]:
    """A rubric example: the conversation's last turns, the reply, people's label and why.

    Always PII-redacted: the rubric file is kept, shared and logged, and a system prompt is not
    redacted by the judge's call layer (only the DATA payload is)."""
    item = picked.item
    why = item.note or f"people labelled it {item.label}; the judge had said {picked.judge_label}"
    example = {
        "conversation": [{"role": t.role, "text": _short(t.text)} for t in case.history()[-MAX_TURNS:]],
        "reply": {"text": _short(reply.text), "handed_off": bool(reply.escalated)},
        "label": item.label,
        "why": _short(why, 300),
    }
    return redact_json(PiiRedactor(), example)[0]


def write_rubric(rubric: Rubric, examples: Sequence[Mapping[str, Any]], path: Path, provenance: str) -> Rubric:
    """The rubric's file plus the worked cases (after any it had), as a new rubric file."""
    data = yaml.safe_load(Path(rubric.path).read_text(encoding="utf-8"))
    had = [dict(e) for e in rubric.examples]
    seen = {json.dumps([e["conversation"], e["reply"]], sort_keys=True) for e in had}
    new = [dict(e) for e in examples if json.dumps([e["conversation"], e["reply"]], sort_keys=True) not in seen]
    data["examples"] = had + new
    header = "".join(f"# {line}\n" for line in provenance.splitlines())
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + text, encoding="utf-8")
    return Rubric.load(path)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line texts (the instructions) as `|` blocks, so the aligned rubric reads like the original."""


_BlockDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


# ---------------------------------------------------------------------------------------------
# The judge as the run configured it


JUDGE_KEYS = tuple(inspect.signature(Judge).parameters)  # what a judge endpoint setting may be called


@dataclass(frozen=True)
class JudgeSetup:
    """How to build the run's judge scorer again, with another rubric."""

    factory: type[JudgeScorer]
    rubric: str
    settings: dict[str, Any]  # keyword arguments of evals.scorers.judge.Judge (the endpoint)
    repeats: int = 1
    languages: list[str] | None = None
    policy_path: str | None = None
    masked: tuple[str, ...] = ()  # settings the manifest hid as secrets; the judge's defaults stand in

    @property
    def criterion(self) -> str:
        return self.factory.criterion

    def scorer(self, name: str, rubric: str | Path) -> JudgeScorer:
        return self.factory(name, rubric=str(rubric), judge=self.settings, repeats=self.repeats,
                            languages=self.languages, policy_path=self.policy_path)


def run_judges(result: EvalResult) -> list[str]:
    """The judge scorers of a run: by their class in the manifest's config, else by name."""
    configured = (result.manifest.get("config") or {}).get("scorer") or {}
    names = [n for n, entry in configured.items()
             if isinstance(entry, Mapping) and _judge_class(entry.get("_target_")) is not None]
    scored = dict.fromkeys(result.scores["scorer"]) if len(result.scores) else {}
    return names or [n for n in scored if n.startswith("judge_") and not n.endswith("_agreement")]


def _judge_class(target: Any) -> type[JudgeScorer] | None:
    if not isinstance(target, str) or "." not in target or not target.startswith("evals.scorers."):
        return None  # only the harness's own judge classes are built from a manifest
    import importlib

    module, _, name = target.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) and issubclass(found, JudgeScorer) else None


def check_settings(settings: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Judge endpoint settings with a one-line error naming an unknown key or a wrong shape."""
    for key, value in settings.items():
        if key not in JUDGE_KEYS:
            raise UserError(f"{where}: unknown key '{key}' (keys: {', '.join(JUDGE_KEYS)})")
        if key in ("limits", "prices") and value is not None and not isinstance(value, Mapping):
            raise UserError(f"{where}: '{key}' must be a mapping or null, got {value!r}")
    if not isinstance(settings.get("model"), str):
        raise UserError(f"{where}: 'model' is missing (the judge model's name)")
    return dict(settings)


def _unmasked(settings: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The settings without values the manifest replaced by '***' (e.g. max_tokens), and their names."""
    hidden = [k for k, v in settings.items() if v == REDACTED]
    return {k: v for k, v in settings.items() if v != REDACTED}, hidden


def judge_setup(result: EvalResult, name: str, judge_config: Mapping[str, Any] | None = None,
                config_source: str = "--judge-config") -> JudgeSetup:
    """The run's judge `name` (class, rubric, policy, repeats) with the run's or the given endpoint."""
    judges = run_judges(result)
    if name not in judges:
        raise UserError(f"--judge {name}: the run has no judge of that name "
                        f"(its judges: {', '.join(judges) or 'none'})")
    entry = ((result.manifest.get("config") or {}).get("scorer") or {}).get(name)
    if not isinstance(entry, Mapping):
        raise UserError(f"--judge {name}: the run's manifest records no config for it (runs made from Python do not); "
                        "align a judge of a run made with `chatbot-evals run`")
    factory = _judge_class(entry.get("_target_"))
    assert factory is not None  # run_judges listed it by its class
    if factory.criterion not in CRITERIA:
        raise UserError(f"--judge {name}: it judges '{factory.criterion or 'pairs'}', and alignment needs a judge of "
                        f"one reply on {', '.join(CRITERIA)}")
    rubric = str(entry.get("rubric") or "")
    if not Path(rubric).is_file():
        raise UserError(f"--judge {name}: its rubric {rubric or '(none recorded)'} is not on this machine")
    policy = entry.get("policy_path")
    if policy and not Path(policy).is_file():
        raise UserError(f"--judge {name}: its hand-off policy {policy} is not on this machine")
    if judge_config is not None:
        settings, masked = check_settings(judge_config, config_source), []
    else:
        settings, masked = _unmasked(entry.get("judge") or {})
        settings = check_settings(settings, f"the run's config of {name}.judge (or give --judge-config)")
    return JudgeSetup(factory, rubric, settings, int(entry.get("repeats") or 1), entry.get("languages"),
                      policy or None, tuple(masked))


# ---------------------------------------------------------------------------------------------
# Agreement on the held-out part


@dataclass(frozen=True)
class Side:
    """One rubric's agreement with people on the held-out replies."""

    version: str  # the rubric's content hash
    scorer_version: str  # rubric, model and endpoint settings, as a run records it
    kappa: float
    ci: tuple[float, float]
    n: int


def _kappas(scorer: np.ndarray, human: np.ndarray, index: np.ndarray, level: str, n_values: int) -> np.ndarray:
    """Cohen's kappa on every resample (rows of `index`) at once; the formula of agreement.cohen_kappa
    (sklearn's), vectorised because a paired bootstrap needs two kappas per resample."""
    n_boot, n = index.shape
    cells = scorer[index] * n_values + human[index] + (np.arange(n_boot) * n_values * n_values)[:, None]
    confusion = np.bincount(cells.ravel(), minlength=n_boot * n_values * n_values).reshape(n_boot, n_values, n_values)
    grid = np.arange(n_values)
    weights = ((grid[:, None] - grid[None, :]) ** 2 if level == "ordinal" else 1 - np.eye(n_values)).astype(float)
    expected = confusion.sum(axis=2)[:, :, None] * confusion.sum(axis=1)[:, None, :] / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - (weights * confusion).sum(axis=(1, 2)) / (weights * expected).sum(axis=(1, 2))


def resamples(n: int, n_boot: int, seed: int) -> np.ndarray:
    """The resampled reply indices, drawn as agreement.bootstrap draws them (same seed, same draws)."""
    rng = np.random.default_rng(seed)
    return np.array([rng.integers(0, n, n) for _ in range(n_boot)]).reshape(n_boot, n)


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]  # resamples without variation leave kappa undefined
    if not len(finite):
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))


@dataclass(frozen=True)
class Comparison:
    old: tuple[float, tuple[float, float]]  # kappa, CI
    new: tuple[float, tuple[float, float]]
    difference: float  # new - old
    difference_ci: tuple[float, float]  # paired bootstrap over held-out replies
    n: int


def compare(human: np.ndarray, old: np.ndarray, new: np.ndarray, criterion: str, n_boot: int = 1000,
            seed: int = 0, confidence: float = 0.95) -> Comparison:
    """Old and new verdicts (codes into DOMAIN[criterion]) against people's, paired by reply."""
    level, n_values = LEVEL[criterion], len(DOMAIN[criterion])
    points = [cohen_kappa(v, human, level, n_values) for v in (old, new)]
    if n_boot <= 0 or len(human) == 0:
        nan = (float("nan"), float("nan"))
        return Comparison((points[0], nan), (points[1], nan), points[1] - points[0], nan, len(human))
    index = resamples(len(human), n_boot, seed)
    old_draws, new_draws = (_kappas(v, human, index, level, n_values) for v in (old, new))
    return Comparison((points[0], _interval(old_draws, confidence)), (points[1], _interval(new_draws, confidence)),
                      points[1] - points[0], _interval(new_draws - old_draws, confidence), len(human))


# ---------------------------------------------------------------------------------------------
# The whole alignment


@dataclass
class Alignment:
    judge: str
    criterion: str
    kept: bool
    decision: str  # one line: "kept: ..." or "not kept: ..."
    rubric_file: Path | None  # the new rubric (aligned when kept, not_kept otherwise); None: nothing to add
    examples: list[dict[str, Any]]
    train: tuple[int, int]  # (replies, conversations)
    heldout: tuple[int, int]
    old: Side | None = None
    new: Side | None = None
    difference: float = float("nan")
    difference_ci: tuple[float, float] = (float("nan"), float("nan"))
    rows: list[dict[str, Any]] = field(default_factory=list)  # per held-out reply: people, old, new
    notes: list[str] = field(default_factory=list)
    n_boot: int = 0
    seed: int = 0

    def summary(self) -> dict[str, Any]:
        """Everything but the per-reply rows, as JSON data (alignment.json)."""
        def side(s: Side | None) -> dict[str, Any] | None:
            return None if s is None else {"version": s.version, "scorer_version": s.scorer_version,
                                           "kappa": _num(s.kappa), "ci": [_num(v) for v in s.ci], "n": s.n}

        return {"judge": self.judge, "criterion": self.criterion, "kept": self.kept, "decision": self.decision,
                "rubric_file": str(self.rubric_file) if self.rubric_file else None,
                "train": {"replies": self.train[0], "conversations": self.train[1]},
                "heldout": {"replies": self.heldout[0], "conversations": self.heldout[1]},
                "old": side(self.old), "new": side(self.new), "difference": _num(self.difference),
                "difference_ci": [_num(v) for v in self.difference_ci], "bootstrap": self.n_boot, "seed": self.seed,
                "examples": self.examples, "notes": self.notes, "heldout_replies": self.rows}


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def decide(difference: float, ci: tuple[float, float], n: int) -> tuple[bool, str]:
    """Keep the new rubric only when the whole CI of its kappa gain lies above 0."""
    low, high = ci
    if not all(math.isfinite(v) for v in (difference, low, high)):
        return False, (f"not kept: kappa is undefined on the {n} held-out replies (no variation in the labels or "
                       "verdicts), so no gain can be shown")
    shown = f"({difference:+.2f}, CI {low:+.2f}..{high:+.2f}, n={n})"
    if low > 0:
        return True, f"kept: the gain {shown} lies above 0"
    if high < 0:
        return False, f"not kept: agreement fell {shown}"
    return False, f"not kept: the {'gain' if difference >= 0 else 'change'} {shown} is within noise"


def run_dataset(result: EvalResult, given: str | None = None) -> tuple[str, str]:
    """(the dataset file, the replay view) of a run: `given`, else the one its config names."""
    config = result.manifest.get("config") or {}
    view = str((config.get("replay") or {}).get("view") or "agent")
    if given:
        if not Path(given).exists():
            raise UserError(f"--dataset {given}: no such file")
        return given, view
    candidates = [(config.get("dataset") or {}).get("path"), (result.manifest.get("dataset") or {}).get("source")]
    found = next((str(c) for c in candidates if isinstance(c, str) and c and Path(c).exists()), None)
    if found is None:
        named = next((c for c in candidates if isinstance(c, str) and c), "none recorded")
        raise UserError(f"the run's dataset ({named}) is not on this machine: give it with --dataset FILE "
                        "(the judge reads each reply with the conversation before it)")
    return found, view


def decision_points(conversations: Sequence[Conversation], view: str = "agent") -> dict[str, Case]:
    """case_id -> Case for every reference of the conversations (the run's first trial ids)."""
    return {case.case_id: case for conv in conversations
            for case in (Case(conv, ref.turn, ref, view) for ref in conv.references)}  # type: ignore[arg-type]


def run_replies(result: EvalResult) -> dict[KeyT, Reply]:
    """The run's replies, as the judge reads them (texts as stored: redacted when the run redacted them)."""
    out = {}
    table = result.replies
    errors = table["error"] if "error" in table else [None] * len(table)
    for case_id, variant, text, escalated, error in zip(table["case_id"], table["variant"], table["reply"],
                                                        table["escalated"], errors):
        failed = error if isinstance(error, str) and error else None
        out[(case_id, variant)] = Reply(case_id, variant, text if isinstance(text, str) else "",
                                        bool(escalated), 0.0, error=failed)
    return out


def judge_all(scorer: JudgeScorer, cases: Sequence[Case], replies: Sequence[Reply], criterion: str
              ) -> dict[KeyT, int | None]:
    """Each reply's verdict as a code into DOMAIN[criterion]; None where the judge gave none."""
    scorer.prepare(None)
    scores = asyncio.run(scorer.score_many(list(cases), list(replies)))
    frame = scores_frame(scores, {c.case_id: c.conversation.conversation_id for c in cases})
    codes = scorer_verdicts(frame, scorer.name, criterion).codes
    return {key: (None if code is None or (isinstance(code, float) and math.isnan(code)) else int(code))
            for key, code in codes.items()}


def align(result: EvalResult, labels: Labels, judge: str, setup: JudgeSetup, conversations: Sequence[Conversation],
          out: Path, *, view: str = "agent", examples: int = 6, holdout: float = 0.5, seed: int = 0,
          n_boot: int = 1000, variants: Sequence[str] | None = None) -> Alignment:
    """Pick worked cases on the training part, judge the held-out part with both rubrics, decide."""
    criterion = setup.criterion
    items = final_labels(labels, criterion, variants)
    if not items:
        present = sorted(set(labels.frame["criterion"]))
        of = f" of variant {', '.join(variants)}" if variants else ""
        raise UserError(f"{labels.path}: no {criterion} labels{of} to align {judge} with "
                        f"(criteria in the file: {', '.join(present)})")
    replies = run_replies(result)
    cases = decision_points(conversations, view)
    notes = []
    usable = [i for i in items if i.key in replies and i.case_id in cases and not replies[i.key].error]
    if len(usable) < len(items):
        notes.append(f"{len(items) - len(usable)} of {len(items)} labelled replies left out: not in the run, not in "
                     "its dataset, or the reply failed")
    train, held = split_by_conversation(usable, holdout, seed)
    counts = {"train": (len(train), len({i.conversation_id for i in train})),
              "heldout": (len(held), len({i.conversation_id for i in held}))}
    if len(held) < MIN_HELDOUT or not train:
        raise UserError(f"{labels.path}: too few labelled replies to align {judge}: {len(held)} held out and "
                        f"{len(train)} for training of {len(usable)} usable {criterion} labels (at least "
                        f"{MIN_HELDOUT} held out and 1 for training; label more, or change --holdout {holdout:g})")
    run_codes = scorer_verdicts(result.scores, judge, criterion).codes
    judged = {k: int(c) for k, c in run_codes.items() if c is not None and not (isinstance(c, float) and math.isnan(c))}
    picked = pick_examples(train, judged, criterion, examples, seed)
    old_rubric = Rubric.load(setup.rubric)
    recorded = result.version_of(judge)
    if old_rubric.version not in recorded:
        notes.append(f"the rubric file {setup.rubric} changed since the run ({recorded}); both rubrics are "
                     f"judged now, so the comparison stays fair, but the worked cases were picked from the older "
                     "rubric's verdicts")
    base = Alignment(judge, criterion, False, "", None, [], counts["train"], counts["heldout"], notes=notes,
                     n_boot=n_boot, seed=seed)
    if not picked:
        base.decision = (f"not kept: nothing to add, the judge agrees with people on all "
                         f"{sum(i.key in judged for i in train)} judged training replies")
        return base
    cases_of = [cases[p.item.case_id] for p in picked]
    worked = [worked_case(c, replies[p.item.key], p) for c, p in zip(cases_of, picked)]
    candidate = out / f"{judge}.candidate.yaml"
    provenance = (f"{judge} rubric aligned by `chatbot-evals review align` from {Path(setup.rubric).name} "
                  f"(version {old_rubric.version})\nwith {len(worked)} worked cases from the labels {labels.path} "
                  f"(sha256 {labels.sha256[:12]}), seed {seed}.\nIts version is this file's content hash: "
                  "any edit makes a new version.")
    new_rubric = write_rubric(old_rubric, worked, candidate, provenance)

    held_cases = [cases[i.case_id] for i in held]
    held_replies = [replies[i.key] for i in held]
    old_scorer, new_scorer = setup.scorer(judge, setup.rubric), setup.scorer(judge, candidate)
    old_codes = judge_all(old_scorer, held_cases, held_replies, criterion)
    new_codes = judge_all(new_scorer, held_cases, held_replies, criterion)
    index = {v: i for i, v in enumerate(DOMAIN[criterion])}
    both = [i for i in held if old_codes.get(i.key) is not None and new_codes.get(i.key) is not None]
    if len(both) < len(held):
        notes.append(f"{len(held) - len(both)} of {len(held)} held-out replies left out: a judge gave no verdict")
    if len(both) < MIN_HELDOUT:
        raise UserError(f"only {len(both)} held-out replies were judged by both rubrics (need {MIN_HELDOUT}); "
                        "see the judges' explanations (languages, empty replies, endpoint failures)")
    human = np.array([index[i.label] for i in both], dtype=int)
    old = np.array([old_codes[i.key] for i in both], dtype=int)
    new = np.array([new_codes[i.key] for i in both], dtype=int)
    result_of = compare(human, old, new, criterion, n_boot, seed)
    kept, decision = decide(result_of.difference, result_of.difference_ci, result_of.n)
    final = out / f"{judge}.{'aligned' if kept else 'not_kept'}.yaml"
    candidate.replace(final)
    domain = DOMAIN[criterion]
    base.kept, base.decision, base.rubric_file, base.examples = kept, decision, final, worked
    base.old = Side(old_rubric.version, old_scorer.version, result_of.old[0], result_of.old[1], result_of.n)
    base.new = Side(new_rubric.version, new_scorer.version, result_of.new[0], result_of.new[1], result_of.n)
    base.difference, base.difference_ci = result_of.difference, result_of.difference_ci
    base.rows = [{"case_id": i.case_id, "variant": i.variant, "people": i.label, "adjudicated": i.adjudicated,
                  "old": domain[o], "new": domain[n]} for i, o, n in zip(both, old, new)]
    return base
