"""Each kind of live variant against a real loopback server (OpenAI-compatible and plain HTTP)."""

import asyncio

import pytest
from builders import case, conversation
from tests_paths import PROMPT

from evals.errors import UserError
from evals.memory import Memory
from evals.replay import replay_sync
from evals.types import Case, Reference
from evals.variants.http_bot import HttpBot
from evals.variants.openai_chat import OpenAIChatBot
from evals.variants.python_bot import PythonBot
from evals.variants.recorded import NoRecordedReply, RecordedBot
from loopback.server import LoopbackServer, ServerConfig

PRICES = {"test-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}


@pytest.fixture(scope="module")
def server():
    with LoopbackServer(ServerConfig()) as srv:
        yield srv


def ask(variant, c):
    variant.prepare(Memory.from_cases([c]))

    async def once():
        try:
            return await variant.respond(c.inquiry())
        finally:
            if hasattr(variant, "aclose"):
                await variant.aclose()

    return asyncio.run(once())


def openai_bot(server, monkeypatch, **kw) -> OpenAIChatBot:
    monkeypatch.setenv("TEST_BOT_KEY", "key-for-tests")
    return OpenAIChatBot("bot", model="test-model", system_prompt=str(PROMPT), base_url=server.openai_url,
                         api_key_env="TEST_BOT_KEY", prices=PRICES, limits={"timeout_s": 5}, **kw)


def test_openai_reply_with_usage_and_cost(server, monkeypatch) -> None:
    answer = ask(openai_bot(server, monkeypatch), case())
    assert answer.text.startswith("Thanks for your message.") and not answer.escalated
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0
    assert answer.cost_usd == pytest.approx((answer.prompt_tokens * 1.0 + answer.completion_tokens * 2.0) / 1e6)
    assert "key-for-tests" in server.tokens_seen


def test_openai_hands_off_through_the_tool(server, monkeypatch) -> None:
    c = case(conversation(turns=[("customer", "I want to talk to a human"), ("agent", "ok")]))
    answer = ask(openai_bot(server, monkeypatch), c)
    assert answer.escalated and answer.note == "transfer_to_human: customer asked for a person"
    sent = server.received[-1]
    assert sent["tools"][0]["function"]["name"] == "transfer_to_human"
    assert sent["messages"][0]["role"] == "system" and sent["messages"][-1] == {
        "role": "user", "content": "I want to talk to a human"}


def test_openai_phrase_fallback_without_tools(server, monkeypatch) -> None:
    c = case(conversation(turns=[("customer", "Get me a manager"), ("agent", "ok")]))
    answer = ask(openai_bot(server, monkeypatch, handoff="phrase"), c)
    assert "tools" not in server.received[-1]
    assert answer.escalated and answer.note.startswith("hand-off phrase")


def test_openai_unknown_price_is_not_zero_and_missing_key_is_explained(server, monkeypatch) -> None:
    bot = openai_bot(server, monkeypatch)
    bot.model = "unpriced-model"
    assert ask(bot, case()).cost_usd is None
    monkeypatch.delenv("TEST_BOT_KEY")
    with pytest.raises(UserError, match="set the environment variable TEST_BOT_KEY"):
        bot.prepare(Memory.from_cases([case()]))


def test_a_changed_prompt_changes_the_fingerprint(server, monkeypatch, tmp_path) -> None:
    bot = openai_bot(server, monkeypatch)
    other = tmp_path / "prompt.md"
    other.write_text(PROMPT.read_text() + "\nBe brief.")
    changed = openai_bot(server, monkeypatch)
    changed.prompt = other.read_text()
    assert bot.fingerprint() != changed.fingerprint()
    assert bot.fingerprint() == openai_bot(server, monkeypatch).fingerprint()


def test_http_bot_contract(server) -> None:
    c = case(conversation(turns=[("customer", "Where is my parcel?"), ("agent", "ok")]))
    answer = ask(HttpBot("team", url=server.bot_url), c)
    assert answer.text and not answer.escalated
    body = server.received[-1]
    assert body["case_id"] == c.case_id and body["messages"] == [{"role": "customer", "text": "Where is my parcel?"}]
    handoff = ask(HttpBot("team", url=server.bot_url),
                  case(conversation(turns=[("customer", "A person please, a human"), ("agent", "ok")])))
    assert handoff.escalated and handoff.note == "handoff: customer asked for a person"


def test_http_bot_contract_violation_becomes_an_error_reply(server) -> None:
    bot = HttpBot("team", url=server.base_url + "/stats")  # answers JSON, but not the contract
    bot.prepare(Memory.from_cases([case()]))
    reply = replay_sync(bot, [case()])[0]
    assert reply.error and "ContractError" in reply.error


def test_http_header_from_environment(server, monkeypatch) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    with pytest.raises(UserError, match="BOT_TOKEN"):
        HttpBot("team", url=server.bot_url, header_env={"X-Token": "BOT_TOKEN"}).prepare(Memory())


@pytest.mark.parametrize(
    ("target", "text", "escalated"),
    [("bots_for_tests:echo", "You said: My order never arrived.", False),
     ("bots_for_tests:async_handoff", "Passing you on.", True),
     ("bots_for_tests:typed", "typed", False)],
)
def test_python_callables(target: str, text: str, escalated: bool) -> None:
    answer = ask(PythonBot("py", target=target), case())
    assert (answer.text, answer.escalated) == (text, escalated)


def test_python_callable_errors() -> None:
    with pytest.raises(UserError, match="cannot import 'no_such_module'"):
        PythonBot("py", target="no_such_module:f").prepare(Memory())
    with pytest.raises(UserError, match="package.module:function"):
        PythonBot("py", target="bots_for_tests").prepare(Memory())
    bot = PythonBot("py", target="bots_for_tests:broken")
    bot.prepare(Memory.from_cases([case()]))
    assert "returned int" in replay_sync(bot, [case()])[0].error


def test_a_bot_module_that_fails_as_it_loads_is_one_line_naming_its_file_and_line(tmp_path, monkeypatch) -> None:
    (tmp_path / "crashing_bot.py").write_text("import os\nraise RuntimeError('no BOT_URL set')\n", encoding="utf-8")
    (tmp_path / "unclosed_bot.py").write_text("def answer(inquiry:\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError) as crashed:  # when the variant is built, before any run is made
        PythonBot("py", target="crashing_bot:answer")
    assert str(crashed.value) == ("importing 'crashing_bot' for target 'crashing_bot:answer' raised RuntimeError: "
                                  f"no BOT_URL set ({tmp_path / 'crashing_bot.py'}, line 2)")
    with pytest.raises(UserError) as unclosed:
        PythonBot("py", target="unclosed_bot:answer")
    assert str(unclosed.value) == ("importing 'unclosed_bot' for target 'unclosed_bot:answer' raised SyntaxError: "
                                   f"'(' was never closed ({tmp_path / 'unclosed_bot.py'}, line 1)")


def test_recorded_bot_replies_come_from_the_log() -> None:
    conv = conversation(turns=[("customer", "Hi, my card was stolen"),
                               ("bot", "I am transferring you to a colleague now."),
                               ("agent", "Hello, I'm here to help"), ("customer", "Thanks"), ("agent", "Bye")])
    first_turn = Case(conv, 0, Reference(turn=0, reply="Hello, I'm here to help"))
    cases = [first_turn, case(conv, 0)]  # the second: "Thanks", answered by an agent, not the bot
    bot = RecordedBot("prod")
    bot.prepare(Memory.from_cases(cases))
    first = asyncio.run(bot.respond(cases[0].inquiry()))
    assert first.text == "I am transferring you to a colleague now." and first.escalated
    with pytest.raises(NoRecordedReply):
        asyncio.run(bot.respond(cases[1].inquiry()))


def test_live_variants_record_what_the_reply_reads_as(server, monkeypatch) -> None:
    asked = case(conversation(turns=[("customer", "I want to talk to a human"), ("agent", "ok")]))
    assert ask(openai_bot(server, monkeypatch), asked).handoff_kind == "handoff"
    plain = ask(openai_bot(server, monkeypatch), case())
    assert (plain.escalated, plain.handoff_kind) == (False, "none")
    phrase = ask(openai_bot(server, monkeypatch, handoff="phrase"),
                 case(conversation(turns=[("customer", "Get me a manager"), ("agent", "ok")])))
    assert (phrase.escalated, phrase.handoff_kind) == (True, "handoff")
    http = ask(HttpBot("team", url=server.bot_url),
               case(conversation(turns=[("customer", "A person please, a human"), ("agent", "ok")])))
    assert (http.escalated, http.handoff_kind) == (True, "handoff")
    assert ask(HttpBot("team", url=server.bot_url), case()).handoff_kind == "none"


def test_a_live_offer_is_a_handoff_attempt_unless_configured_otherwise(monkeypatch) -> None:
    from fake_reader import FakeReader

    from evals.types import Answer
    from evals.variants.handoff_policy import DefaultReader

    fake = FakeReader()
    monkeypatch.setattr(DefaultReader, "classify", lambda self, text, language=None: fake.classify(text, language))
    bot = PythonBot("py", target="bots_for_tests:echo")
    offer = bot._answer("[offer] Shall I get a colleague?", "en")
    assert (offer.escalated, offer.handoff_kind) == (True, "offer") and "no customer answered" in offer.note
    assert not PythonBot("py", target="bots_for_tests:echo", offer="never")._answer("[offer] ?", "en").escalated
    assert not bot._answer("[hotline] call 0800", "en").escalated
    no_flag = bot._answer({"reply": "I [transfer] you"}, "en")  # no `handoff` given: the words decide
    assert (no_flag.escalated, no_flag.handoff_kind) == (True, "handoff")
    kept = bot._answer({"reply": "I [transfer] you", "handoff": False}, "en")  # the bot's own word wins
    assert (kept.escalated, kept.handoff_kind) == (False, "handoff")
    assert bot._answer(Answer("typed", False), "en").handoff_kind == "none"
    with pytest.raises(UserError, match="variant.py.offer: must be accepted, always, never"):
        PythonBot("py", target="x:y", offer="sometimes")
