"""What every command's parser shares: one-line usage errors, 100-column help, the MLflow store options."""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.errors import UserError, folder_problem

DEFAULT_STORE = "sqlite:///runs/mlflow.db"
DEFAULT_EXPERIMENT = "chatbot-evals"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, like every other user mistake (evals/cli.py prints it)
        raise UserError(f"{message} (see {self.prog} --help)")


def command_parser(command: str, description: str, epilog: str) -> argparse.ArgumentParser:
    """A parser for `chatbot-evals COMMAND` whose mistakes raise a one-line `UserError`."""
    def formatter(prog: str) -> argparse.HelpFormatter:
        return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30, width=100)

    return _Parser(prog=f"chatbot-evals {command}", formatter_class=formatter, description=description,
                   epilog=epilog)


def add_store_options(parser: argparse.ArgumentParser, searched: str) -> None:
    """--tracking-uri and --experiment: where run ids, names, tags and `released` are looked up."""
    parser.add_argument("--tracking-uri", default=DEFAULT_STORE, metavar="URI",
                        help="MLflow store holding the runs (default: %(default)s)")
    parser.add_argument("--experiment", default=DEFAULT_EXPERIMENT, metavar="NAME",
                        help=f"experiment searched for {searched} (default: %(default)s)")


def made_folder(folder: str | Path, flag: str = "--out") -> Path:
    """The folder a command writes to, made before any work: one that cannot be made is one line."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{flag}: cannot make the folder {path} ({folder_problem(exc)})") from None
    return path


def parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace | None:
    """The options; None when help was asked for (it is printed), so the command returns 0."""
    if any(a in ("-h", "--help") for a in args):
        parser.print_help()
        return None
    return parser.parse_args(args)
