"""With redaction on, no card, email, phone or IBAN reaches any endpoint: not the bots', not the judges'.

The loopback server records every body it receives; the PII sits in the customer turns, in the reply
under review and in the human reference, so each judge's whole payload is covered."""

import json

import pytest
from builders import case, conversation, reply
from call_helpers import JUDGES, ask, http_bot, judge, judge_pairs, openai_bot
from tests_paths import PROMPT

from evals.calls.redaction import redact_json, redactor_for
from evals.memory import Memory
from evals.variants.openai_chat import OpenAIChatBot
from loopback.server import LoopbackServer, ServerConfig

PII = {"card": "4111 1111 1111 1111", "email": "maria.silva@example.com", "phone": "+44 20 7946 0958",
       "iban": "DE89 3704 0044 0532 0130 00"}
PLACEHOLDERS = ["[CARD]", "[EMAIL]", "[PHONE]", "[IBAN]"]


def full_of_pii():
    """Customer turns, the human reference and the bot reply each hold all four kinds."""
    said = "; ".join(f"my {kind} is {value}" for kind, value in PII.items())
    c = case(conversation(turns=[("customer", f"Hello, {said}. I want a refund"),
                                 ("agent", f"Thanks, I have noted {said}.")], facts=[f"card {PII['card']}"]))
    return c, reply(c, f"I will refund the card {PII['card']} and mail {PII['email']}, "
                       f"or call {PII['phone']}; IBAN {PII['iban']}.")


def leaked(received: list) -> list[str]:
    sent = json.dumps(received, ensure_ascii=False)
    return [kind for kind, value in PII.items() if value in sent or value.replace(" ", "") in sent]


@pytest.fixture
def server():
    with LoopbackServer(ServerConfig()) as srv:
        yield srv


def test_the_openai_bot_sends_no_pii(server) -> None:
    c, _ = full_of_pii()
    bot = openai_bot(server.openai_url, redact_pii=True)
    bot.prepare(Memory.from_cases([c]))
    answer = ask(bot, c)
    assert leaked(server.received) == [] and answer.redacted == {"card": 1, "email": 1, "phone": 1, "iban": 1}
    assert all(p in json.dumps(server.received) for p in PLACEHOLDERS)


def test_the_http_bot_sends_no_pii(server, monkeypatch) -> None:
    monkeypatch.setenv("CALLS_BEARER", "Bearer team-token-123456")
    c, _ = full_of_pii()
    bot = http_bot(server.bot_url, redact_pii=True)
    bot.prepare(Memory.from_cases([c]))
    ask(bot, c)
    assert server.received and leaked(server.received) == []


@pytest.mark.parametrize("name", sorted(JUDGES))
def test_each_judge_sends_no_pii(server, name: str) -> None:
    scores = judge_pairs(judge(name, server.openai_url, redact_pii=True), [full_of_pii()])
    judged = [b for b in server.received if "response_format" in b]
    assert judged, scores[0].explanation  # the judge was really asked ...
    assert leaked(judged) == []  # ... and saw none of the four
    assert "[CARD]" in json.dumps(judged)


@pytest.mark.parametrize("name", sorted(JUDGES))
def test_judges_follow_the_bots_auto_rule(server, name: str) -> None:
    """auto: off on loopback (the data stays on this machine), on for any other host."""
    assert judge(name, server.openai_url).judge.redactor is None
    assert judge(name, "https://judge.example.com/v1").judge.redactor is not None
    assert judge(name, server.openai_url, redact_pii=True).judge.redactor is not None
    remote = OpenAIChatBot("x", model="m", system_prompt=str(PROMPT),
                           base_url="https://judge.example.com/v1")
    assert remote.redactor is not None  # the same rule as the bots'


def test_redaction_changes_the_judge_version_so_old_verdicts_are_not_reused(server) -> None:
    plain = judge("judge_empathy", server.openai_url)
    redacted = judge("judge_empathy", server.openai_url, redact_pii=True)
    assert plain.version != redacted.version


def test_redact_json_walks_every_string_and_counts() -> None:
    payload = {"a": [f"mail {PII['email']}", {"b": f"card {PII['card']}"}], "n": 3, "ok": True}
    out, counts = redact_json(redactor_for(True, "http://127.0.0.1"), payload)
    assert out == {"a": ["mail [EMAIL]", {"b": "card [CARD]"}], "n": 3, "ok": True}
    assert counts == {"email": 1, "card": 1}
    assert redact_json(None, payload) == (payload, {})


def test_without_redaction_the_same_check_sees_every_kind(server) -> None:
    """The control: the check above would catch a leak of each kind."""
    judge_pairs(judge("judge_accuracy", server.openai_url, redact_pii=False), [full_of_pii()])
    assert sorted(leaked([b for b in server.received if "response_format" in b])) == sorted(PII)
