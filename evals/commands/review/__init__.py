"""`chatbot-evals review SUB`: reviewers label samples in a local web page (docs/review.md).

Each sub-command is a module here with `main(args) -> exit code`, imported only when asked for.
"""

from __future__ import annotations

import importlib

from evals.errors import UserError

SUBCOMMANDS: dict[str, str] = {
    "queue": "make a labelling queue (a SQLite file) from a run: sample, strategy, questions",
    "reviewer": "add a reviewer (or the owner) to a queue and print their login token once",
    "serve": "start the labelling page on this machine (http://127.0.0.1:8765)",
    "stats": "agreement among reviewers per question (Krippendorff's alpha, CI, n), logged to MLflow",
    "export": "write the labels (JSONL for `agree`, Parquet) and the reviewed references, versioned",
    "align": "refine a judge's rubric with reviewers' examples; keep it only if agreement rises",
}

USAGE = "usage: chatbot-evals review SUB [ARGS]\n\nsub-commands:\n" + "".join(
    f"  {name:<10}{what}\n" for name, what in SUBCOMMANDS.items()) + """
a typical round:
  chatbot-evals review queue runs/hydra/2026-12-01/10-00-00/results --size 60 --strategy disagreement \\
      --out review.db
  chatbot-evals review reviewer review.db olga --owner      # prints olga's token once
  chatbot-evals review reviewer review.db ana
  chatbot-evals review serve review.db                      # reviewers log in with their token
  chatbot-evals review stats review.db                      # do reviewers agree with each other?
  chatbot-evals review export review.db --out labels/       # then: chatbot-evals agree --labels ...
`chatbot-evals review SUB --help` explains each one.
"""


def main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    sub, rest = args[0], args[1:]
    if sub not in SUBCOMMANDS:
        raise UserError(f"unknown review sub-command '{sub}' (allowed: {', '.join(SUBCOMMANDS)}; "
                        "see chatbot-evals review --help)")
    return int(importlib.import_module(f"evals.commands.review.{sub}").main(rest))
