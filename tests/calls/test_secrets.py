"""Secrets: a key echoed by a server is scrubbed from every stored error; a key pasted where a
variable NAME belongs is refused without being echoed."""

import json
from pathlib import Path

import pytest
from builders import case, conversation
from call_helpers import KEY, http_bot, judge, openai_bot
from hydra import compose, initialize_config_dir
from tests_paths import PROMPT

from evals import experiment
from evals.calls.secrets import Secrets, check_http_url, env_name_problem, safe_url
from evals.config import CONFIG_DIR, register_resolvers
from evals.errors import EndpointUnusable, UserError
from evals.memory import Memory
from evals.replay import replay_sync
from evals.settings import check
from evals.variants.http_bot import HttpBot
from evals.variants.openai_chat import OpenAIChatBot
from loopback.server import LoopbackServer, ServerConfig

register_resolvers()
PASTED = "sk-proj-Abc123Def456Ghi789Jkl012"  # what a user pastes by mistake


def chats(n: int) -> list:
    return [conversation(f"s{i}", turns=[("customer", f"Where is order {i}?"), ("agent", "Checking.")])
            for i in range(n)]


def test_a_401_that_echoes_the_key_leaves_it_out_of_the_reply_error() -> None:
    cases = [case(c) for c in chats(3)]
    with LoopbackServer(ServerConfig(reject_status=401, reject_after=1)) as server:  # revoked after one call
        bot = openai_bot(server.openai_url, limits={"concurrency": 1})
        bot.prepare(Memory.from_cases(cases))
        replies = replay_sync(bot, cases, concurrency=1)
        assert KEY in server.tokens_seen  # the key was sent, and the server echoed it back
    assert replies[0].error is None and all(r.error.startswith("Refused: HTTP 401") for r in replies[1:])
    assert all(KEY not in r.error and "[secret]" in r.error for r in replies[1:]), replies[1].error


def test_a_401_on_the_first_call_stops_with_a_clean_message() -> None:
    with LoopbackServer(ServerConfig(reject_status=401)) as server:
        bot = openai_bot(server.openai_url)
        bot.prepare(Memory.from_cases([case()]))
        with pytest.raises(EndpointUnusable) as caught:
            replay_sync(bot, [case()])
    assert server.openai_url in str(caught.value) and KEY not in str(caught.value)


def test_a_key_cut_by_shortening_leaves_no_head_behind() -> None:
    from evals.calls.failures import shorten

    cut = shorten("x" * 180 + KEY + " and more")
    assert KEY[:10] in cut and KEY[:10] not in Secrets([KEY]).scrub(cut)


def test_an_echoed_bearer_token_of_the_http_bot_is_scrubbed_too(monkeypatch) -> None:
    monkeypatch.setenv("CALLS_BEARER", "Bearer team-token-123456")
    with LoopbackServer(ServerConfig(reject_status=403, reject_after=1)) as server:
        bot = http_bot(server.bot_url, limits={"concurrency": 1})
        bot.prepare(Memory())
        replies = replay_sync(bot, [case(c) for c in chats(2)], concurrency=1)
    assert "HTTP 403" in replies[1].error and "team-token-123456" not in replies[1].error


def write_dataset(path: Path) -> Path:
    convs = chats(3)
    path.write_text("".join(json.dumps(c.model_dump(exclude_none=True)) + "\n" for c in convs), encoding="utf-8")
    return path


def test_a_full_run_against_a_key_echoing_server_stores_the_key_nowhere(tmp_path: Path, monkeypatch,
                                                                        new_store) -> None:
    monkeypatch.chdir(tmp_path)
    uri = new_store(tmp_path)
    data = write_dataset(tmp_path / "chats.jsonl")
    with LoopbackServer(ServerConfig(reject_status=401, reject_after=1)) as server:  # errors get stored
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=[
                "dataset=file", f"dataset.path={data}", "variant=[openai]", "scorer=[escalation]",
                f"variant.openai.base_url={server.openai_url}", "variant.openai.model=m",
                "variant.openai.api_key_env=CALLS_KEY", "variant.openai.limits.concurrency=1",
                f"replay.cache={tmp_path}/cache.sqlite",
                f"tracking.uri={uri}", f"tracking.artifact_root={tmp_path}/artifacts",
                f"output_dir={tmp_path}/out", "aggregate.bootstrap=10"])
        try:
            experiment.run(cfg)
        except UserError as exc:  # the run may stop on its error budget (after logging): cleanly too
            assert KEY not in str(exc)
        assert KEY in server.tokens_seen
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)  # the store was written ...
    assert [p for p in files if KEY.encode() in p.read_bytes()] == []  # ... and holds no key


@pytest.mark.parametrize("value", [PASTED, "sk-abc", "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                                   "Bearer abc", "my key!", "aB3dE5fG7hJ9kL1mN3pQ5rS7", "Zm9vYmFyYmF6cXV4cXV1eA"])
def test_values_that_look_like_keys_are_not_variable_names(value: str) -> None:
    assert env_name_problem(value)


@pytest.mark.parametrize("value", ["OPENAI_API_KEY", "BOT_TOKEN", "MY_COMPANY_PROD_OPENAI_API_KEY_2024", "judge_key"])
def test_ordinary_variable_names_pass(value: str) -> None:
    assert env_name_problem(value) is None


@pytest.mark.parametrize("override", [
    f"variant.openai.api_key_env={PASTED}",
    f"judge.api_key_env={PASTED}",
    f"+variant.http.header_env.Authorization={PASTED}",
    f"scorer.judge_empathy.judge={{model: m, api_key_env: {PASTED}}}",
])
def test_the_run_check_refuses_a_pasted_key_without_echoing_it(override: str) -> None:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "output_dir=out", "variant=[openai,http]", "scorer=[judge_empathy]", override])
    with pytest.raises(UserError) as caught:
        check(cfg)
    message = str(caught.value)
    assert PASTED not in message and "looks like a key" in message
    field = override.lstrip("+").split("=")[0]
    assert (field if "{" not in override else f"{field}.api_key_env") in message  # names the field


def test_components_refuse_a_pasted_key_too() -> None:
    with pytest.raises(UserError, match="variant bot: api_key_env") as caught:
        OpenAIChatBot("bot", model="m", system_prompt=str(PROMPT), base_url="http://x", api_key_env=PASTED)
    assert PASTED not in str(caught.value)
    with pytest.raises(UserError, match="header_env.Authorization") as caught:
        HttpBot("team", url="http://127.0.0.1:9/bot", header_env={"Authorization": PASTED})
    assert PASTED not in str(caught.value)
    with pytest.raises(UserError, match="judge: api_key_env") as caught:
        judge("judge_empathy", "http://127.0.0.1:9/v1", api_key_env=PASTED)
    assert PASTED not in str(caught.value)


def test_scrubbing_covers_escaped_forms_and_urls_lose_their_credentials() -> None:
    secrets = Secrets(["Bearer tok/en+value", "abc"])
    text = 'sent "Bearer tok/en+value", token tok%2Fen%2Bvalue; abc stays (too short to be a key)'
    assert secrets.scrub(text) == 'sent "[secret]", token [secret]; abc stays (too short to be a key)'
    assert safe_url("https://user:pw@host.example:8443/v1?key=zzz") == "https://host.example:8443/v1"


@pytest.mark.parametrize(("url", "says"), [
    ("htp://x/v1", "'htp://x/v1' is not an http(s) URL with a host"),
    ("localhost:8000/chat", "'localhost:8000/chat' is not an http(s) URL with a host"),
    ("http:///v1", "'http:///v1' is not an http(s) URL with a host"),
    ("https://user:pw@host:abc/v1", "not a URL (Port could not be cast to integer value as 'abc')"),
])
def test_an_endpoint_url_that_cannot_work_is_refused_before_any_call(url: str, says: str) -> None:
    with pytest.raises(UserError) as raised:
        check_http_url("variant team: url", url)
    assert str(raised.value).startswith(f"variant team: url: {says}") and "pw" not in str(raised.value)
    check_http_url("variant team: url", "http://127.0.0.1:8000/chat")  # these pass
    check_http_url("judge: base_url", "https://api.example.com/v1")


def test_bots_and_judges_check_their_url_when_they_are_built() -> None:
    from evals.calls.openai_client import ChatClient
    from evals.variants.http_bot import HttpBot

    with pytest.raises(UserError, match="^variant team: url: 'htp://x' is not an http"):
        HttpBot("team", url="htp://x")
    with pytest.raises(UserError, match="^judge: base_url: 'ftp://x/v1' is not an http"):
        ChatClient("ftp://x/v1", None, None, "judge")

