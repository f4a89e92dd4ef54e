"""`chatbot-evals review reviewer QUEUE NAME [--owner | --revoke]`: who may label; the token is printed once."""

from __future__ import annotations

import argparse

from evals.commands.options import command_parser, parse

DESCRIPTION = """\
Add a reviewer (or, with --owner, the queue's owner, who also sees agreement, disputes and the scorers
against people) to a labelling queue and print their login token ONCE: the queue keeps only its SHA-256
digest. Give each person their own token; --revoke ends a reviewer's access (their labels are kept).
"""

EPILOG = """\
examples:
  chatbot-evals review reviewer review.db olga --owner
  chatbot-evals review reviewer review.db ana
  chatbot-evals review reviewer review.db ana --revoke
"""


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("review reviewer", DESCRIPTION, EPILOG)
    parser.add_argument("queue", metavar="QUEUE", help="the queue file (review queue --out)")
    parser.add_argument("name", metavar="NAME", help="the reviewer's name: letters, digits, '-', '_', '.'")
    role = parser.add_mutually_exclusive_group()
    role.add_argument("--owner", action="store_true", help="the queue's owner (agreement, adjudication pages)")
    role.add_argument("--revoke", action="store_true", help="remove this reviewer's access")
    return parser


def main(args: list[str]) -> int:
    options = parse(_parser(), args)
    if options is None:
        return 0

    from evals.review.store import Store

    with Store(options.queue) as store:
        if options.revoke:
            store.revoke(options.name)
            print(f"{options.name}: access revoked in {options.queue} (their labels are kept)")
            return 0
        role = "owner" if options.owner else "reviewer"
        token = store.add_reviewer(options.name, role)
    print(f"{options.name} ({role}) added to {options.queue}. Their login token, shown only this once:")
    print(token)
    return 0
