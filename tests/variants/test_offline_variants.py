import asyncio
import json
from pathlib import Path

import pytest
from builders import case, conversation
from omegaconf import OmegaConf

from evals.errors import UserError
from evals.load import build_cases
from evals.variants.human import HumanVariant, NoHumanReply
from evals.variants.retrieval import RetrievalBot
from evals.variants.rules import RulesBot

ROOT = Path(__file__).resolve().parents[2]


def ask(variant, c):
    return asyncio.run(variant.respond(c.inquiry()))


def test_human_replays_the_agent_reply_and_reads_its_handoff() -> None:
    conv = conversation(turns=[("customer", "I was charged twice!"),
                               ("agent", "I will escalate your case to our billing team.")], should_escalate=True)
    human = HumanVariant()
    c = case(conv)
    human.prepare([c])
    answer = ask(human, c)
    assert answer.text == "I will escalate your case to our billing team." and answer.escalated
    assert "escalate" in answer.note


def test_human_without_a_reference_reply_is_an_error_not_a_blank() -> None:
    c = case()
    c = type(c)(c.conversation, 0, c.reference.model_copy(update={"reply": None}))
    human = HumanVariant()
    human.prepare([c])
    with pytest.raises(NoHumanReply):
        ask(human, c)


def shipped_rules() -> RulesBot:
    node = OmegaConf.to_container(OmegaConf.load(ROOT / "conf/variant/rules.yaml"))["rules"]
    node.pop("_target_")
    return RulesBot(name="rules", **node)


@pytest.mark.parametrize(
    ("message", "escalated", "note"),
    [("Can I speak to a real person please?", True, "asked for a person"),
     ("Ich möchte mit einem Mitarbeiter sprechen", True, "asked for a person"),
     ("My account was hacked yesterday", True, "risky topic account_security"),
     ("Where is my order?", False, "topic order"),
     ("Hello", False, "no rule matched")],
)
def test_rules_bot_from_the_shipped_config(message: str, escalated: bool, note: str) -> None:
    c = case(conversation(turns=[("customer", message), ("agent", "...")]))
    answer = ask(shipped_rules(), c)
    assert answer.escalated is escalated and answer.note.startswith(note)


def test_retrieval_answers_from_other_conversations_only(tmp_path: Path) -> None:
    past = [
        conversation("p1", turns=[("customer", "my ebook will not download to the reader"),
                                  ("agent", "Please sync your eReader and try again.")]),
        conversation("p2", turns=[("customer", "I want a refund for a double charge"),
                                  ("agent", "I will escalate your refund request.")], should_escalate=True),
    ]
    history = tmp_path / "history.jsonl"
    history.write_text("".join(json.dumps(c.model_dump(exclude_none=True)) + "\n" for c in past))
    bot = RetrievalBot("retrieval", handoff_reply="Passing you on.", history_path=str(history), min_similarity=0.1)
    now = build_cases([conversation("n1", turns=[("customer", "the ebook does not download"), ("agent", "x")]),
                       conversation("n2", turns=[("customer", "zzzz qqqq"), ("agent", "x")])])
    bot.prepare(now)
    first = ask(bot, now[0])
    assert first.text == "Please sync your eReader and try again." and not first.escalated
    assert "retrieved p1#0" in first.note
    assert ask(bot, now[1]).text == "Passing you on."  # nothing similar: hand off

    # Without a history file it learns from the evaluated data, never from the same conversation.
    loo = RetrievalBot("retrieval", handoff_reply="Passing you on.", min_similarity=0.0)
    same = build_cases(past)
    loo.prepare(same)
    assert "retrieved p2#0" in ask(loo, same[0]).note


def test_retrieval_with_nothing_to_learn_from_is_a_user_error() -> None:
    c = case()
    c = type(c)(c.conversation, 0, c.reference.model_copy(update={"reply": None}))
    with pytest.raises(UserError, match="no past inquiry"):
        RetrievalBot("retrieval", handoff_reply="x").prepare([c])
