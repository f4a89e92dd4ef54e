"""The durable reply cache: what it keeps across processes, and a file it cannot use named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cache import ReplyCache
from evals.errors import UserError


def test_a_reply_put_by_one_cache_is_read_by_the_next(tmp_path: Path) -> None:
    first = ReplyCache(tmp_path / "deep" / "replies.sqlite")  # its folder is made
    first.put("k1", "bot", {"text": "hello", "escalated": False})
    first.close()
    again = ReplyCache(tmp_path / "deep" / "replies.sqlite")
    assert again.get_many(["k1", "k2"]) == {"k1": {"text": "hello", "escalated": False}} and len(again) == 1


def test_a_cache_file_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database, just notes\n" * 100, encoding="utf-8")
    with pytest.raises(UserError) as raised:
        ReplyCache(text)
    assert str(raised.value) == (f"replay.cache {text}: cannot use it (file is not a database); point "
                                 "replay.cache at a writable file, or set it to null")
    with pytest.raises(UserError, match=r"cannot use it \(.*notes.sqlite is a file, not a folder\)"):
        ReplyCache(text / "replies.sqlite")
    with pytest.raises(UserError, match=r"cannot use it \(Not a directory\)"):  # deeper under the file
        ReplyCache(text / "more" / "replies.sqlite")
