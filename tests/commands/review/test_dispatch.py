"""`chatbot-evals review`: help lists every sub-command; an unknown one is a one-line error."""

from __future__ import annotations

import pytest

from evals.commands.review import SUBCOMMANDS, main
from evals.errors import UserError


def test_help_lists_every_sub_command(capsys):
    assert main(["--help"]) == 0
    shown = capsys.readouterr().out
    assert all(f"  {name} " in shown for name in SUBCOMMANDS)


def test_an_unknown_sub_command_names_the_allowed_ones():
    with pytest.raises(UserError, match="unknown review sub-command 'lable' \\(allowed: queue, reviewer"):
        main(["lable"])
