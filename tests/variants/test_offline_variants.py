import asyncio
import json
from pathlib import Path

import pytest
from builders import case, conversation
from omegaconf import OmegaConf

from evals.errors import UserError
from evals.load import build_cases, load_conversations
from evals.memory import Memory
from evals.types import Conversation
from evals.variants.human import HumanVariant, NoHumanReply
from evals.variants.recorded import RecordedBot
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
    human.prepare(Memory.from_cases([c]))
    answer = ask(human, c)
    assert answer.text == "I will escalate your case to our billing team." and answer.escalated
    assert "escalate" in answer.note


def test_human_without_a_reference_reply_is_an_error_not_a_blank() -> None:
    c = case()
    silent = c.reference.model_copy(update={"reply": None})
    c = type(c)(c.conversation.model_copy(update={"references": [silent]}), 0, silent)
    human = HumanVariant()
    human.prepare(Memory.from_cases([c]))
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
    bot.prepare(Memory.from_cases(now))
    first = ask(bot, now[0])
    assert first.text == "Please sync your eReader and try again." and not first.escalated
    assert "retrieved p1#0" in first.note
    assert ask(bot, now[1]).text == "Passing you on."  # nothing similar: hand off

    # Without a history file it learns from the evaluated data, never from the same conversation.
    loo = RetrievalBot("retrieval", handoff_reply="Passing you on.", min_similarity=0.0)
    same = build_cases(past)
    loo.prepare(Memory.from_cases(same))
    assert "retrieved p2#0" in ask(loo, same[0]).note


def test_retrieval_with_nothing_to_learn_from_is_a_user_error() -> None:
    c = case()
    silent = c.reference.model_copy(update={"reply": None})
    c = type(c)(c.conversation.model_copy(update={"references": [silent]}), 0, silent)
    with pytest.raises(UserError, match="no past inquiry"):
        RetrievalBot("retrieval", handoff_reply="x").prepare(Memory.from_cases([c]))


# --- no variant reads the answer key ---------------------------------------------------------


def flipped(conv: Conversation) -> Conversation:
    refs = [r.model_copy(update={"should_escalate": not r.should_escalate,
                                 "escalation_source": r.escalation_source or "human_review"})
            for r in conv.references]
    return conv.model_copy(update={"references": refs})


def bot_log() -> Conversation:
    """A production bot's log, so the recorded variant has replies: words, tools, offers, flags."""
    return Conversation.model_validate({
        "conversation_id": "bot-log", "language": "en", "turns": [
            {"role": "customer", "text": "My card was stolen"},
            {"role": "bot", "tool_calls": [{"name": "transfer_to_human", "arguments": "{}"}]},
            {"role": "agent", "text": "I will escalate your case to our fraud team."},
            {"role": "customer", "text": "Can I speak to a person?"},
            {"role": "bot", "text": "I will escalate your case to our support team."},
            {"role": "agent", "text": "Sure."},
            {"role": "customer", "text": "Where is my order?"},
            {"role": "bot", "text": "It ships today.", "handoff": False},
            {"role": "agent", "text": "It ships today."}],
        "references": [{"turn": 0, "reply": "I will escalate your case to our fraud team.", "should_escalate": True,
                        "escalation_source": "gold_action"},
                       {"turn": 3, "reply": "Sure.", "should_escalate": True, "escalation_source": "human_review"},
                       {"turn": 6, "reply": "It ships today.", "should_escalate": False,
                        "escalation_source": "human_review"}]})


def decisions(variant, conversations: list[Conversation]) -> list[tuple]:
    cases = build_cases(conversations)
    variant.prepare(Memory.from_cases(cases))
    answers = [asyncio.run(variant.respond(c.inquiry())) for c in cases
               if not isinstance(variant, RecordedBot) or c.conversation.conversation_id == "bot-log"]
    return [(a.text, a.escalated, a.handoff_kind, a.note) for a in answers]


def test_flipping_every_label_changes_no_offline_variant_decision(tmp_path: Path) -> None:
    shipped = load_conversations(ROOT / "datasets/wmt24_chat/test.jsonl").conversations[:25]
    data = [*shipped, bot_log(), conversation("tiny", turns=[("customer", "I was charged twice!"),
                                                             ("agent", "I will escalate your case to billing.")],
                                              should_escalate=False)]
    assert {r.should_escalate for c in data for r in c.references} >= {True, False}
    history = [*load_conversations(ROOT / "datasets/wmt24_chat/history.jsonl").conversations[:60], bot_log()]
    paths = {}
    for name, convs in (("history", history), ("flipped_history", [flipped(c) for c in history])):
        paths[name] = tmp_path / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(c.model_dump(exclude_none=True)) + "\n" for c in convs))

    def variants(history_path: Path) -> list:
        return [HumanVariant(), shipped_rules(), RecordedBot("recorded"),
                RetrievalBot("retrieval", handoff_reply="Passing you on.", history_path=str(history_path)),
                RetrievalBot("loo", handoff_reply="Passing you on.")]  # learns from the evaluated data itself

    original = [decisions(v, data) for v in variants(paths["history"])]
    after = [decisions(v, [flipped(c) for c in data]) for v in variants(paths["flipped_history"])]
    for before, now in zip(original, after):
        assert before == now
    assert any(e for _, e, _, _ in original[0]) and any(e for _, e, _, _ in original[3])


def test_human_hands_off_by_tool_call_and_offers_count_when_accepted() -> None:
    from fake_reader import FakeReader

    conv = Conversation.model_validate({
        "conversation_id": "c", "language": "en", "turns": [
            {"role": "customer", "text": "stolen card"},
            {"role": "agent", "text": "One moment.", "tool_calls": [{"name": "transfer_to_human_agents"}]},
            {"role": "customer", "text": "fee?"}, {"role": "agent", "text": "[offer] Want a specialist?"},
            {"role": "customer", "text": "[no] thanks"}],
        "references": [{"turn": 0, "reply": "One moment."}, {"turn": 2, "reply": "[offer] Want a specialist?"}]})
    human = HumanVariant(reader=FakeReader())
    cases = build_cases([conv])
    human.prepare(Memory.from_cases(cases))
    tool, offer = (ask(human, c) for c in cases)
    assert (tool.escalated, tool.handoff_kind, tool.note) == (True, "handoff", "tool call: transfer_to_human_agents")
    assert (offer.escalated, offer.handoff_kind) == (False, "offer") and "declined" in offer.note


def test_retrieval_hands_off_when_the_retrieved_reply_does() -> None:
    from fake_reader import FakeReader

    past = [conversation("p1", turns=[("customer", "my card was stolen yesterday"), ("agent", "I [transfer] you")]),
            conversation("p2", turns=[("customer", "where is my parcel today"), ("agent", "[offer] a colleague?")])]
    bot = RetrievalBot("retrieval", handoff_reply="x", min_similarity=0.0, reader=FakeReader(), offer="never")
    now = build_cases([conversation("n1", turns=[("customer", "card stolen"), ("agent", "x")]),
                       conversation("n2", turns=[("customer", "parcel where"), ("agent", "x")]), *past])
    bot.prepare(Memory.from_cases(now))
    stolen, parcel = ask(bot, now[0]), ask(bot, now[1])
    assert (stolen.escalated, stolen.handoff_kind) == (True, "handoff") and "hand-off phrase" in stolen.note
    assert (parcel.escalated, parcel.handoff_kind) == (False, "offer") and "offer: never" in parcel.note


def test_a_bot_memory_holds_the_transcripts_but_no_label() -> None:
    conv = conversation(turns=[("customer", "Please get me a person"), ("agent", "Transferring you now.")],
                        should_escalate=True)
    memory = Memory.from_cases([case(conv)])
    remembered = memory.cases()[0].reference
    assert remembered.reply == conv.references[0].reply  # the human's words stay: baselines replay them
    assert (remembered.should_escalate, remembered.escalation_source, remembered.required_facts) == (None, None, [])
    assert conv.references[0].should_escalate is True  # the evaluated data keeps its answer key
