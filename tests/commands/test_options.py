"""What the commands share: the folder a command writes to is made before its work, or named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.commands.options import made_folder
from evals.errors import UserError


def test_an_output_folder_is_made_with_its_parents_or_named_in_one_line(tmp_path: Path) -> None:
    assert made_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()
    assert made_folder(tmp_path / "a" / "b").is_dir()  # already there: fine
    blocker = tmp_path / "report.md"
    blocker.write_text("a file", encoding="utf-8")
    with pytest.raises(UserError) as raised:
        made_folder(blocker)
    assert str(raised.value) == f"--out: cannot make the folder {blocker} (a file is in the way)"
    with pytest.raises(UserError, match=r"^--out: cannot make the folder .*report.md/cmp \(Not a directory\)$"):
        made_folder(blocker / "cmp")
