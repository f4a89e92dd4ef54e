"""Build the shipped datasets (`datasets/<name>/*.jsonl` and their cards) from the public data.

    .venv/bin/python datasets/build.py [--source ../shared/data] [--out datasets]

Deterministic: the same source gives byte-identical files (tests/test_build_datasets.py checks
that the committed files are reproducible). Every record is validated as `evals.types.Conversation`
before it is written; a conversation that cannot be valid is printed with its reason and left out,
and every such decision is counted in the card. The cards (README.md) are rendered here, so the
numbers in them are the numbers this script printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:  # run as a script from a checkout without an installed package
    sys.path.insert(0, str(PROJECT))

from evals.handoff import DEFAULT_PATTERNS, HandoffDetector  # noqa: E402
from evals.types import Conversation  # noqa: E402

DEFAULT_SOURCE = PROJECT.parent / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent
SEED = 20240
HISTORY_MAX_BYTES = 8_000_000  # cap on wmt24_chat/history.jsonl; above it a seeded sample is taken

WMT_DIR = "wmt24_chat"
WMT_PAIRS = ("de", "fr", "ko", "nl", "pt")  # file en-<xx>.csv; customers write <xx>
WMT_SOURCE = "WMT-Chat-task/chat-task-2024-data @ 12a34149"
WMT_LICENCE = "LICENSE.md"

# The agent's opening line ("Thank you for contacting PRS-ORG Help, my name is ...") that the
# source often labels as a customer segment; counted for the card, the data is left as it is.
_GREETING = re.compile(
    r"^\W*thanks?(?: you)? for (?:contacting|reaching out|getting in touch)", re.IGNORECASE
)

BITEXT_DIR = "bitext"
BITEXT_FILE = "Bitext_Sample_Customer_Support_Training_Dataset__commit337b968.csv"
BITEXT_SOURCE = "bitext/customer-support-llm-chatbot-training-dataset @ 337b9686"
BITEXT_LICENCE = "LICENSE_CDLA-Sharing-1.0.txt"
BITEXT_ESCALATE = frozenset({"contact_human_agent", "contact_customer_service"})
BITEXT_TEST_SIZE = 600
BITEXT_MIN_PER_INTENT = 20


# --------------------------------------------------------------------------------------------
# shared helpers


@dataclass
class Split:
    """Validated records of one output file and what happened on the way."""

    records: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (conversation id, reason)

    def add(self, record: dict[str, Any]) -> None:
        try:
            conv = Conversation.model_validate(record)
        except ValidationError as exc:
            reason = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()
            )
            print(f"  excluded {record.get('conversation_id')!r}: {reason}")
            self.excluded.append((str(record.get("conversation_id")), reason))
            return
        # schema order, no None values, no empty defaults (references / required_facts)
        self.records.append(conv.model_dump(mode="json", exclude_none=True, exclude_defaults=True))


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(dumps(r) + "\n" for r in records).encode("utf-8")
    path.write_bytes(data)
    return len(data)


def stats(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts for the card: overall and per customer language."""

    def count(rs: Sequence[dict[str, Any]]) -> dict[str, int]:
        refs = [ref for r in rs for ref in r.get("references", [])]
        return {
            "conversations": len(rs),
            "turns": sum(len(r["turns"]) for r in rs),
            "customer_turns": sum(t["role"] == "customer" for r in rs for t in r["turns"]),
            "agent_turns": sum(t["role"] == "agent" for r in rs for t in r["turns"]),
            "decision_points": len(refs),
            "should_escalate": sum(ref.get("should_escalate") is True for ref in refs),
            "conversations_with_handoff": sum(
                any(ref.get("should_escalate") is True for ref in r.get("references", []))
                for r in rs
            ),
            "conversations_without_reference": sum(not r.get("references") for r in rs),
        }

    langs = sorted({r["language"] for r in records})
    return {
        "all": count(records),
        "by_language": {
            lang: count([r for r in records if r["language"] == lang]) for lang in langs
        },
    }


def table(st: dict[str, Any], key_name: str, keys: Sequence[str]) -> str:
    cols = [
        ("conversations", "conversations"),
        ("turns", "turns"),
        ("customer_turns", "customer turns"),
        ("agent_turns", "agent turns"),
        ("decision_points", "decision points (references)"),
        ("should_escalate", "should_escalate = true"),
        ("conversations_with_handoff", "conversations with a positive"),
        ("conversations_without_reference", "conversations without reference"),
    ]
    head = f"| {key_name} | " + " | ".join(label for _, label in cols) + " |"
    rule = "|---|" + "---:|" * len(cols)
    rows = [f"| {k} | " + " | ".join(str(st[k][c]) for c, _ in cols) + " |" for k in keys]
    return "\n".join([head, rule, *rows])


def split_table(per_split: dict[str, dict[str, Any]]) -> str:
    """One table: a row per file and a row per (file, language)."""
    flat: dict[str, dict[str, int]] = {}
    for name, st in per_split.items():
        flat[f"**{name}**"] = st["all"]
        for lang, c in st["by_language"].items():
            if len(st["by_language"]) > 1:
                flat[f"{name} / {lang}"] = c
    return table(flat, "file / language", list(flat))


def print_stats(name: str, st: dict[str, Any], size: int) -> None:
    a = st["all"]
    print(
        f"  {name}: {a['conversations']} conversations, {a['turns']} turns, "
        f"{a['decision_points']} decision points, {a['should_escalate']} should_escalate, "
        f"{a['conversations_without_reference']} without reference, {size:,} bytes"
    )
    if len(st["by_language"]) > 1:
        for lang, c in st["by_language"].items():
            print(
                f"    {lang}: {c['conversations']} conversations, {c['decision_points']} decision "
                f"points, {c['should_escalate']} should_escalate"
            )


# --------------------------------------------------------------------------------------------
# WMT24 chat


@dataclass
class WmtReport:
    repeated_blocks: list[str] = field(default_factory=list)  # doc ids seen in two row blocks
    multi_client: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    empty_source: int = 0
    empty_reference: int = 0
    english_customer_rows: int = 0
    greeting_first: int = 0  # first customer turn opens with the agent's greeting
    converted: int = 0


def read_wmt(folder: Path, report: WmtReport) -> list[tuple[str, list[dict[str, str]]]]:
    """(customer language, rows) per conversation, in file order then row order."""
    conversations: list[tuple[str, list[dict[str, str]]]] = []
    for lang in WMT_PAIRS:
        path = folder / f"en-{lang}.csv"
        blocks: dict[str, list[dict[str, str]]] = {}
        previous, skipping = None, False
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                doc = row["doc_id"]
                if doc != previous:
                    # the same doc id again after other conversations: a later copy, dropped
                    skipping = doc in blocks
                    if skipping:
                        report.repeated_blocks.append(doc)
                    else:
                        blocks[doc] = []
                    previous = doc
                if not skipping:
                    blocks[doc].append(row)
        conversations.extend((lang, rows) for rows in blocks.values())
    return conversations


def wmt_record(
    lang: str, rows: list[dict[str, str]], detector: HandoffDetector, report: WmtReport
) -> dict[str, Any]:
    report.converted += 1
    turns: list[dict[str, Any]] = []
    groups: list[tuple[str, list[dict[str, str]]]] = []
    for row in rows:
        if not row["source"].strip():
            report.empty_source += 1
            continue
        if row["sender"] == "customer" and row["source_language"] == "en":
            report.english_customer_rows += 1
        if groups and groups[-1][0] == row["sender"]:
            groups[-1][1].append(row)
        else:
            groups.append((row["sender"], [row]))
    for sender, segs in groups:
        text = " ".join(s["source"].strip() for s in segs)
        refs = [s["reference"].strip() for s in segs if s["reference"].strip()]
        report.empty_reference += len(segs) - len(refs)
        turn: dict[str, Any] = {"role": sender, "text": text}
        if refs:
            turn["translation"] = " ".join(refs)
        turns.append(turn)
    references = []
    for i in range(len(turns) - 1):
        if turns[i]["role"] == "customer" and turns[i + 1]["role"] == "agent":
            reply = turns[i + 1]
            references.append(
                {
                    "turn": i,
                    "reply": reply["text"],
                    "reply_translation": reply.get("translation"),
                    "should_escalate": detector.classify(reply["text"], "en").kind == "handoff",
                    "escalation_source": "agent_phrase",
                }
            )
    first_customer = next((t for t in turns if t["role"] == "customer"), None)
    if first_customer and _GREETING.search(first_customer.get("translation") or ""):
        report.greeting_first += 1
    clients = list(dict.fromkeys(r["client_id"] for r in rows))
    if len(clients) > 1:
        report.multi_client.append(rows[0]["doc_id"])
    handoff = any(detector.classify(t["text"], "en").kind == "handoff" for t in turns if t["role"] == "agent")
    return {
        "conversation_id": rows[0]["doc_id"],
        "language": lang,
        "agent_language": "en",
        "channel": "chat",
        "outcome": {"client_id": clients[0], "handoff_in_conversation": handoff},
        "turns": turns,
        "references": references,
    }


def convert_wmt(
    folder: Path,
    detector: HandoffDetector,
    report: WmtReport,
    skip_docs: frozenset[str] = frozenset(),
) -> tuple[Split, list[str], frozenset[str]]:
    """Convert one folder; returns the split, the doc ids skipped and every doc id read."""
    split = Split()
    skipped: list[str] = []
    seen: set[str] = set()
    conversations = read_wmt(folder, report)
    for lang, rows in conversations:
        doc = rows[0]["doc_id"]
        if doc in skip_docs:
            skipped.append(doc)
            continue
        record = wmt_record(lang, rows, detector, report)
        if record["conversation_id"] in seen:  # unique across files: prefix the language pair
            record["conversation_id"] = f"en-{lang}:{doc}"
            report.renamed.append(doc)
        seen.add(record["conversation_id"])
        split.add(record)
    return split, skipped, frozenset(rows[0]["doc_id"] for _, rows in conversations)


def sample_history(records: list[dict[str, Any]], max_bytes: int) -> list[dict[str, Any]]:
    """Seeded sample, stratified by language: each language keeps its share of the bytes."""
    sizes = [len(dumps(r).encode("utf-8")) + 1 for r in records]
    total = sum(sizes)
    if total <= max_bytes:
        return records
    keep: set[int] = set()
    for lang in sorted({r["language"] for r in records}):
        idx = [i for i, r in enumerate(records) if r["language"] == lang]
        budget = max_bytes * sum(sizes[i] for i in idx) / total
        random.Random(f"{SEED}-{lang}").shuffle(idx)
        used = 0
        for i in idx:
            if used + sizes[i] > budget:
                break
            keep.add(i)
            used += sizes[i]
    return [r for i, r in enumerate(records) if i in keep]


def build_wmt(source: Path, out: Path, detector: HandoffDetector) -> None:
    src = source / WMT_DIR
    dest = out / WMT_DIR
    print(f"{WMT_DIR}: test from {src / 'valid'}")
    test_report = WmtReport()
    test, _, test_docs = convert_wmt(src / "valid", detector, test_report)
    print(f"{WMT_DIR}: history from {src / 'train'}")
    hist_report = WmtReport()
    hist, leaked, _ = convert_wmt(src / "train", detector, hist_report, skip_docs=test_docs)
    print(f"  left out of history: {len(leaked)} conversations that are also in the test set")
    full = hist.records
    history = sample_history(full, HISTORY_MAX_BYTES)
    full_bytes = sum(len(dumps(r).encode("utf-8")) + 1 for r in full)
    if len(history) < len(full):
        print(
            f"  history sampled: {len(history)} of {len(full)} conversations "
            f"(full conversion {full_bytes:,} bytes > {HISTORY_MAX_BYTES:,})"
        )
    for rep, name in ((test_report, "test"), (hist_report, "history")):
        for doc in rep.repeated_blocks:
            print(f"  {name}: doc_id {doc} appears again in a later block of rows; kept the first")
        for doc in rep.multi_client:
            print(f"  {name}: doc_id {doc} has rows with more than one client_id; used the first")
    sizes = {
        "test.jsonl": write_jsonl(dest / "test.jsonl", test.records),
        "history.jsonl": write_jsonl(dest / "history.jsonl", history),
    }
    shutil.copyfile(src / WMT_LICENCE, dest / WMT_LICENCE)
    st = {"test.jsonl": stats(test.records), "history.jsonl": stats(history)}
    for name, s in st.items():
        print_stats(name, s, sizes[name])
    full_st = stats(full)
    card = wmt_card(
        st=st,
        sizes=sizes,
        test_report=test_report,
        hist_report=hist_report,
        excluded={"test.jsonl": test.excluded, "history.jsonl": hist.excluded},
        leaked=len(leaked),
        full_count=len(full),
        full_bytes=full_bytes,
        full_positives=full_st["all"]["should_escalate"],
    )
    (dest / "README.md").write_text(card, encoding="utf-8", newline="\n")


def wmt_card(
    *,
    st: dict[str, dict[str, Any]],
    sizes: dict[str, int],
    test_report: WmtReport,
    hist_report: WmtReport,
    excluded: dict[str, list[tuple[str, str]]],
    leaked: int,
    full_count: int,
    full_bytes: int,
    full_positives: int,
) -> str:
    patterns = "\n".join(f"{i + 1}. `{p}`" for i, p in enumerate(DEFAULT_PATTERNS))
    sampled = st["history.jsonl"]["all"]["conversations"] < full_count
    excluded_lines = (
        "\n".join(f"- `{n}`: `{cid}`: {why}" for n, rows in excluded.items() for cid, why in rows)
        or "- none"
    )
    if sampled:
        sample_note = (
            f"`history.jsonl` is a **sample**: the full conversion of `train/` has {full_count} "
            f"conversations ({full_bytes:,} bytes, {full_positives} should_escalate positives), "
            f"more than the {HISTORY_MAX_BYTES:,}-byte cap for shipped data, so a seeded random "
            f"sample (seed {SEED}, stratified by language: each language keeps its share of the "
            f"bytes) of {st['history.jsonl']['all']['conversations']} conversations is shipped."
        )
    else:
        sample_note = "`history.jsonl` holds every conversation of `train/` (no sampling)."
    repeated = test_report.repeated_blocks + hist_report.repeated_blocks
    multi = test_report.multi_client + hist_report.multi_client
    renamed = test_report.renamed + hist_report.renamed
    return f"""# wmt24_chat: multilingual customer-support chats with human agent replies

> **Licence: CC-BY-NC-4.0 — non-commercial use only.** These conversations are derived from the
> WMT24 Chat Shared Task data (Unbabel), licensed under Creative Commons
> Attribution-NonCommercial 4.0 International (full text in [`{WMT_LICENCE}`]({WMT_LICENCE})).
> You may not use this dataset for commercial purposes. Keep this notice and the attribution when
> you share it or anything derived from it.

## Source

- Repository: {WMT_SOURCE} (GitHub), files
  `valid/en-{{{",".join(WMT_PAIRS)}}}.csv` → `test.jsonl` and
  `train/en-{{{",".join(WMT_PAIRS)}}}.csv` → `history.jsonl`
  (as copied to `../shared/data/wmt24_chat/`, see its `SOURCES.md`).
- Attribution: WMT 2024 Chat Shared Task organisers / Unbabel; real, anonymised customer-support
  chats (names, e-mails, numbers and organisations replaced by placeholders such as `NAME-F`,
  `#PRS_ORG#`, `EMAIL`).

## What the rows are

One JSON line per conversation (`evals.types.Conversation`). Customers wrote German (`de`),
French (`fr`), Korean (`ko`), Dutch (`nl`) or Brazilian Portuguese (`pt`; `pt-br` in the source);
human agents wrote English (`agent_language: "en"`). Every turn's `text` is what its author wrote;
`translation` is the reference translation the task provides (what the other side read).

- Rows of the CSV are segments; `doc_id` groups a conversation (`conversation_id` = `doc_id`);
  consecutive segments of the same `sender` are merged into one turn (texts joined with a single
  space; `translation` = the joined `reference` column).
- `channel: "chat"`; no `intent` (the source has none);
  `outcome = {{"client_id": <the source's client_id>, "handoff_in_conversation": <any agent turn
  contains a hand-off phrase>}}`.
- `references`: one per customer turn that is immediately followed by an agent turn (a decision
  point): `turn` = index of that customer turn, `reply` = the agent turn in English,
  `reply_translation` = its translation into the customer's language, `should_escalate`,
  `escalation_source: "agent_phrase"`; no `required_facts`.
- `test.jsonl` is the evaluation set; `history.jsonl` holds past conversations, meant only as the
  memory of retrieval-based bots, never for scoring.

## How the escalation labels were made — derived, NOT human judgements

`should_escalate` is **derived from the human agents' own words**: it is true when the agent's
reply at that decision point reads as kind `handoff` by `evals.handoff.HandoffDetector.classify`
(`evals/handoff/`, `docs/handoff.md`), i.e. the agent escalated, forwarded or transferred the case
to another team or colleague, raised a ban dispute/appeal with the Terms of Service team, arranged
a call-back, or said a colleague/team will contact the customer (done or under way). An *offer*
("Would you like me to escalate this?", "I can raise a dispute for you"), a redirect to another
channel ("please contact the retailer") and a refusal ("we cannot escalate it again") are not
positives. Nobody judged
whether a hand-off *should* have happened: the label records what the human agent did, which is
not necessarily what was right. Known limits: on a
phrase suite labelled by reading (`tests/data/handoff_phrases.jsonl`, not human review of this
dataset; figures in `docs/handoff.md` and `bench/results/handoff.json`) some replies are still
misread; known misses are agents consulting a manager while keeping the case, and wording the
patterns do not cover. Matches are
case-insensitive; a match negated anywhere earlier in its clause is a refusal, one that is asked or
conditional ("shall I", "if you want", "I can") is an offer, and matches are dropped when the
customer is told to act ("you can report this to the game team") or when only feedback is passed on.

The English hand-off patterns (Python regular expressions, `re.IGNORECASE`; the offer, refusal and
redirect cues are in `evals/handoff/en.py`):

{patterns}

## Counts

{split_table(st)}

File sizes: `test.jsonl` {sizes["test.jsonl"]:,} bytes,
`history.jsonl` {sizes["history.jsonl"]:,} bytes.

{sample_note}

Decisions taken while converting (all printed by the build script):

- Left out of `history.jsonl`: {leaked} conversations of `train/` whose `doc_id` is also in
  `valid/` (identical conversations; keeping them would let a retrieval bot look up the answers).
- Excluded as invalid: {sum(len(v) for v in excluded.values())}
{excluded_lines}
- A `doc_id` whose rows appear again in a later, separate block (a near-duplicate copy with
  different translations): {len(repeated)} ({", ".join(f"`{d}`" for d in repeated) or "none"}); the
  first block is kept, the later one dropped.
- Conversations whose rows carry more than one `client_id`: {len(multi)}
  ({", ".join(f"`{d}`" for d in multi) or "none"}); `outcome.client_id` is the first.
- Ids prefixed with the language pair to stay unique: {len(renamed)}.
- Segments with an empty `reference` (their turn's `translation` joins the others, or is absent):
  test {test_report.empty_reference}, history {hist_report.empty_reference}; empty segments
  dropped: {test_report.empty_source + hist_report.empty_source}.
- Customer segments whose source language is English in the source data (kept as they are):
  test {test_report.english_customer_rows}, history {hist_report.english_customer_rows}.

Quirks of the source worth knowing (left as they are):

- Many chats open with the agent's greeting ("Thank you for contacting PRS-ORG Help, my name is
  ... What is your first name?") in the customer's language but labelled `sender = customer`, so
  the first customer turn starts with the agent's words and the customer's answer follows in the
  same turn: test {test_report.greeting_first} of {st["test.jsonl"]["all"]["conversations"]}
  conversations, history (before sampling) {hist_report.greeting_first} of
  {hist_report.converted} (first customer turn
  whose English translation starts "Thank you for contacting / reaching out / getting in
  touch").
- Agents reuse macros, so similar agent sentences recur across conversations (and between
  `test.jsonl` and `history.jsonl`, although no conversation is in both).

## Rebuild

```
.venv/bin/python datasets/build.py          # reads ../shared/data, writes datasets/
```

`tests/test_build_datasets.py` checks that a rebuild is byte-identical to these files.
"""


# --------------------------------------------------------------------------------------------
# Bitext


def bitext_split(intents: list[str]) -> set[int]:
    """Row indexes of the test split: seeded, stratified by intent, at least 20 per intent."""
    by_intent: dict[str, list[int]] = {}
    for i, intent in enumerate(intents):
        by_intent.setdefault(intent, []).append(i)
    test: set[int] = set()
    for intent in sorted(by_intent):
        idx = by_intent[intent]
        n = max(BITEXT_MIN_PER_INTENT, round(BITEXT_TEST_SIZE * len(idx) / len(intents)))
        shuffled = idx[:]
        random.Random(f"{SEED}-{intent}").shuffle(shuffled)
        test.update(shuffled[:n])
    return test


def build_bitext(source: Path, out: Path) -> None:
    src = source / BITEXT_DIR
    dest = out / BITEXT_DIR
    print(f"{BITEXT_DIR}: from {src / BITEXT_FILE}")
    with (src / BITEXT_FILE).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    test_idx = bitext_split([r["intent"] for r in rows])
    splits = {"test.jsonl": Split(), "history.jsonl": Split()}
    for i, row in enumerate(rows):
        record = {
            "conversation_id": f"bitext-{i}",
            "language": "en",
            "intent": row["intent"],
            "turns": [{"role": "customer", "text": row["instruction"]}],
            "references": [
                {
                    "turn": 0,
                    "reply": row["response"],
                    "should_escalate": row["intent"] in BITEXT_ESCALATE,
                    "escalation_source": "intent_policy",
                }
            ],
        }
        splits["test.jsonl" if i in test_idx else "history.jsonl"].add(record)
    sizes = {name: write_jsonl(dest / name, s.records) for name, s in splits.items()}
    shutil.copyfile(src / BITEXT_LICENCE, dest / BITEXT_LICENCE)
    st = {name: stats(s.records) for name, s in splits.items()}
    for name, s in st.items():
        print_stats(name, s, sizes[name])
    per_intent = {
        name: Counter(r["intent"] for r in s.records) for name, s in splits.items()
    }
    for name, c in per_intent.items():
        print(f"  {name}: {len(c)} intents, {min(c.values())}..{max(c.values())} per intent")
    excluded = [(n, cid, why) for n, s in splits.items() for cid, why in s.excluded]
    card = bitext_card(st=st, sizes=sizes, rows=len(rows), per_intent=per_intent, excluded=excluded)
    (dest / "README.md").write_text(card, encoding="utf-8", newline="\n")


def bitext_card(
    *,
    st: dict[str, dict[str, Any]],
    sizes: dict[str, int],
    rows: int,
    per_intent: dict[str, Counter[str]],
    excluded: list[tuple[str, str, str]],
) -> str:
    intents = sorted(set(per_intent["test.jsonl"]) | set(per_intent["history.jsonl"]))
    intent_rows = "\n".join(
        f"| {it}{' (escalate)' if it in BITEXT_ESCALATE else ''} | "
        f"{per_intent['test.jsonl'][it]} | {per_intent['history.jsonl'][it]} |"
        for it in intents
    )
    excluded_lines = "\n".join(f"- `{n}`: `{cid}`: {why}" for n, cid, why in excluded) or "- none"
    policy = ", ".join(f"`{i}`" for i in sorted(BITEXT_ESCALATE))
    return f"""# bitext: single-turn customer requests with curated reference replies

> **Licence: CDLA-Sharing-1.0** (Community Data License Agreement – Sharing, version 1.0; full
> text in [`{BITEXT_LICENCE}`]({BITEXT_LICENCE})). You may use, modify and share the data; if you
> share it, or data you changed from it, do so under the same agreement.

## Source

- Repository: {BITEXT_SOURCE} (GitHub), file
  `{BITEXT_FILE}` ({rows:,} rows; as copied to `../shared/data/bitext/`, see its `SOURCES.md`).
- Attribution: Bitext Innovations, "Bitext Sample Customer Service Training Dataset".

## What the rows are

Each CSV row becomes a single-turn conversation (`evals.types.Conversation`):
`conversation_id = "bitext-<row index>"` (0-based data row of the CSV), `language: "en"`,
`intent` = the row's intent (27 intents), one customer turn (`instruction`), and one reference at
turn 0 whose `reply` is the curated `response` (it contains `{{{{placeholders}}}}` such as
`{{{{Customer Support Phone Number}}}}`). The texts are unchanged. The requests and replies are
curated examples written for chatbot training, not logs of real customers and agents.

Split (seeded, seed {SEED}, stratified by intent): `test.jsonl` takes
max({BITEXT_MIN_PER_INTENT}, round({BITEXT_TEST_SIZE} × intent's share)) rows of every intent;
`history.jsonl` has the rest (meant as a retrieval bot's memory, never for scoring).

## How the escalation labels were made — derived from the intent, NOT human judgements

`should_escalate` is **derived from the intent label by a policy**: true exactly when the intent
is one of {policy}; `escalation_source: "intent_policy"`. Nobody judged individual
requests. The curated replies to these intents mostly point to contact channels (phone, live
chat) rather than hand the conversation over, so the label means "by policy, a request of this
intent should reach a human", not "the reference reply hands off".

## Counts

{split_table(st)}

File sizes: `test.jsonl` {sizes["test.jsonl"]:,} bytes,
`history.jsonl` {sizes["history.jsonl"]:,} bytes.

Excluded as invalid: {len(excluded)}
{excluded_lines}

| intent | test | history |
|---|---:|---:|
{intent_rows}

## Rebuild

```
.venv/bin/python datasets/build.py          # reads ../shared/data, writes datasets/
```

`tests/test_build_datasets.py` checks that a rebuild is byte-identical to these files.
"""


# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="public data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"--source {args.source} is not a folder")
    detector = HandoffDetector()
    build_wmt(args.source, args.out, detector)
    build_bitext(args.source, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
