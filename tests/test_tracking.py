from evals.tracking import REDACTED, flatten, redact


def test_secret_looking_keys_never_reach_params_or_the_logged_config() -> None:
    config = {"variant": {"bot": {"api_key": "sk-live-123", "api_key_env": "MY_BOT_KEY", "base_url": "http://x",
                                  "headers": {"Authorization": "Bearer abc"}}},
              "tracking": {"token": None}, "seed": 0}
    flat = flatten(config)
    assert flat["variant.bot.api_key"] == REDACTED
    assert flat["variant.bot.headers.Authorization"] == REDACTED
    assert flat["variant.bot.base_url"] == "http://x" and flat["seed"] == "0"
    assert flat["tracking.token"] == "None"  # nothing to hide
    assert flat["variant.bot.api_key_env"] == "MY_BOT_KEY"  # names the variable, holds no secret
    assert "sk-live-123" not in str(flat) and "Bearer abc" not in str(redact(config))


def test_long_values_are_cut_to_mlflow_limit() -> None:
    assert len(flatten({"prompt": "x" * 10_000})["prompt"]) == 6000
