"""The `chatbot-evals` command: thin wiring of the stages, and errors a user can act on."""

from __future__ import annotations

import sys
from rich.console import Console

from evals.config import CONFIG_DIR, register_resolvers

USAGE = """\
usage: chatbot-evals COMMAND [ARGS]

Offline evaluation of customer-service chatbots: replays historic customer conversations
through chatbot variants and scores empathy, accuracy and escalation appropriateness
(did the bot hand off to a human exactly when it should). Results go to MLflow.

commands:
  run [OVERRIDES]     run an experiment (Hydra config in conf/; `run --help` lists every option)
  validate FILE       check a dataset file and report every malformed row (file, row, field)

examples:
  chatbot-evals run                                  # WMT24 chats, human/retrieval/rules bots
  chatbot-evals run dataset=bitext variant=[rules] sample.conversations=100
  chatbot-evals run dataset=file dataset.path=my_chats.jsonl
  chatbot-evals run --multirun variant=retrieval,rules
  chatbot-evals validate my_chats.jsonl

results: mlflow ui --backend-store-uri sqlite:///runs/mlflow.db   (then open http://127.0.0.1:5000)
"""

_err = Console(stderr=True)


def _fail(message: object) -> None:
    """A user's mistake: the message alone, unwrapped, so it can be read and grepped."""
    print(f"error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "run":
        return _run(rest)
    if command == "validate":
        return _validate(rest)
    _fail(f"unknown command '{command}' (use run or validate; see chatbot-evals --help)")
    return 2


def _validate(rest: list[str]) -> int:
    from evals.load import DatasetError, build_cases, load_conversations

    if len(rest) != 1 or rest[0].startswith("-"):
        print("usage: chatbot-evals validate FILE\n\nReports every malformed row of a dataset file.")
        return 0 if rest and rest[0] in ("-h", "--help") else 2
    try:
        loaded = load_conversations(rest[0], on_error="skip")
    except DatasetError as exc:
        _fail(exc)
        return 2
    for problem in loaded.skipped:
        _fail(problem)
    cases = build_cases(loaded.conversations)
    positives = sum(bool(c.reference.should_escalate) for c in cases)
    print(f"{rest[0]}: {len(loaded.conversations)} valid conversations, {len(cases)} decision points "
          f"({positives} should escalate), {len(loaded.skipped)} malformed rows")
    return 1 if loaded.skipped else 0


def _run(rest: list[str]) -> int:
    import hydra
    from omegaconf import DictConfig

    from hydra.errors import InstantiationException

    from evals import experiment
    from evals.errors import UserError

    register_resolvers()

    @hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
    def job(cfg: DictConfig) -> None:
        try:
            result = experiment.run(cfg, _err)
        except (UserError, InstantiationException) as exc:
            _fail(exc)
            sys.exit(2)
        _err.print(
            f"\nMLflow run {result.parent_run_id} ({len(result.variant_run_ids)} variant runs); "
            f"report in {result.report_dir}\n"
            f"open the results: mlflow ui --backend-store-uri {cfg.tracking.uri}"
        )

    sys.argv = ["chatbot-evals run", *rest]
    job()
    return 0


if __name__ == "__main__":
    sys.exit(main())
