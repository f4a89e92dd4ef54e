"""A small evaluated run and its dataset for the review tests (importable as `review.review_runs`).

Eight conversations, two decision points each (customer turns 0 and 2), two variants (`human`, `rules`),
and the scores a run would hold: `empathy` in [0, 1], the judge `judge_empathy` (1-5 labels, with a
`_agreement` companion), `escalation` classes. Values are chosen per test through `values`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from evals.pii import PiiRedactor
from evals.results import EvalResult

LANGUAGES = ("en", "de", "fr", "en", "de", "fr", "en", "de")
EMAIL = "anna.smith@example.com"


def conversations(n: int = 8) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        turns = [{"role": "customer", "text": f"Hello, order {i} is late. Write to {EMAIL}" if i == 0
                  else f"Hello, order {i} is late."},
                 {"role": "agent", "text": f"Sorry about order {i}, let me look."},
                 {"role": "customer", "text": f"It has been two weeks for order {i}!"},
                 {"role": "agent", "text": f"I will pass you to a colleague for order {i}."}]
        out.append({"conversation_id": f"c{i}", "language": LANGUAGES[i % len(LANGUAGES)],
                    "intent": "delivery" if i % 2 else "refund", "channel": "chat",
                    "turns": turns,
                    "references": [{"turn": 0, "reply": turns[1]["text"], "should_escalate": False,
                                    "escalation_source": "agent_phrase"},
                                   {"turn": 2, "reply": turns[3]["text"], "should_escalate": True,
                                    "escalation_source": "agent_phrase"}]})
    return out


def write_dataset(path: Path, convs: list[dict[str, Any]] | None = None) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in convs or conversations()), encoding="utf-8")
    return path


Values = Callable[[str, str], Mapping[str, tuple[float, Any]]]  # (case_id, variant) -> scorer -> (value, label)


def default_values(case_id: str, variant: str) -> dict[str, tuple[float, Any]]:
    i, turn = int(case_id[1:].split("#")[0]), int(case_id.split("#")[1])
    judge = 1 + (i + turn + (variant == "rules")) % 5
    empathy = 0.9 if variant == "human" else 0.3
    escalated = variant == "human" and turn == 2
    should = turn == 2
    label = {(True, True): "correct_handoff", (True, False): "missed", (False, True): "premature",
             (False, False): "correct_containment"}[(should, escalated)]
    return {"empathy": (empathy, "neutral/warm"), "judge_empathy": ((judge - 1) / 4, str(judge)),
            "judge_empathy_agreement": (1.0, "same"),
            "escalation": (float(label.startswith("correct")), label)}


def run(dataset: Path | None, values: Values = default_values, redacted: bool = True,
        errored: tuple[tuple[str, str], ...] = (("c7#0", "rules"), ("c7#0", "human")),
        missing: tuple[tuple[str, str], ...] = (("c6#2", "human"),), n: int = 8) -> EvalResult:
    """The results `chatbot-evals run` would leave for this data (replies, scores, manifest)."""
    redactor = PiiRedactor()
    replies, scores = [], []
    for variant in ("human", "rules"):
        for conv in conversations(n):
            for ref in conv["references"]:
                case_id = f"{conv['conversation_id']}#{ref['turn']}"
                inquiry = conv["turns"][ref["turn"]]["text"]
                if redacted:
                    inquiry = redactor.redact(inquiry).text
                error = "HTTP 500" if (case_id, variant) in errored else None
                gone = (case_id, variant) in missing
                escalated = variant == "human" and ref["turn"] == 2
                text = None if error or gone else (ref["reply"] if variant == "human"
                                                   else f"Rules reply to {case_id}")
                replies.append({"variant": variant, "case_id": case_id, "conversation_id": conv["conversation_id"],
                                "turn": ref["turn"], "repeat": 0, "language": conv["language"],
                                "intent": conv["intent"], "channel": conv["channel"], "inquiry": inquiry,
                                "reference_reply": ref["reply"], "should_escalate": ref["should_escalate"],
                                "escalation_source": ref["escalation_source"], "reply": text,
                                "escalated": escalated, "error": error, "missing": gone})
                if error or gone:
                    continue
                for scorer, (value, label) in values(case_id, variant).items():
                    scores.append({"variant": variant, "case_id": case_id, "conversation_id": conv["conversation_id"],
                                   "scorer": scorer, "value": float(value), "label": label, "explanation": "",
                                   "version": "v1"})
    manifest = {"dataset": {"name": "chats", "source": str(dataset) if dataset else "cases"},
                "variants": ["human", "rules"], "baseline": "human", "redacted_text": redacted,
                "scorers": {"empathy": "offline:1", "judge_empathy": "judge:1", "escalation": "offline:2"},
                "config": {"replay": {"view": "agent"}}}
    return EvalResult(pd.DataFrame(replies), pd.DataFrame(scores), pd.DataFrame(), pd.DataFrame(), manifest)
