"""The shipped datasets: valid records, reproducible from the public data by datasets/build.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.types import Conversation

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
SHARED = ROOT.parent / "shared" / "data"
SHIPPED = sorted(DATASETS.glob("*/*.jsonl"))


def _read(path: Path) -> list[Conversation]:
    with path.open(encoding="utf-8") as fh:
        return [Conversation.model_validate(json.loads(line)) for line in fh]


# Written by hand, not by the build: the policies escalation judges read.
HAND_WRITTEN = {"bitext/handoff_policy.md", "wmt24_chat/handoff_policy.md"}


def _shipped_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.parent != folder and "__pycache__" not in p.parts
        and p.relative_to(folder).as_posix() not in HAND_WRITTEN
    }


def test_datasets_are_shipped_with_card_and_licence() -> None:
    assert {p.relative_to(DATASETS).as_posix() for p in SHIPPED} == {
        "bitext/history.jsonl",
        "bitext/test.jsonl",
        "wmt24_chat/history.jsonl",
        "wmt24_chat/test.jsonl",
    }
    assert not (DATASETS / "__init__.py").exists()  # would shadow the `datasets` package
    for folder in {p.parent for p in SHIPPED}:
        assert (folder / "README.md").is_file()
        assert list(folder.glob("LICENSE*")), folder
    assert "non-commercial" in (DATASETS / "wmt24_chat" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(DATASETS).as_posix())
def test_every_shipped_line_is_a_valid_conversation(path: Path) -> None:
    conversations = _read(path)  # raises on the first invalid line
    assert conversations
    ids = [c.conversation_id for c in conversations]
    assert len(ids) == len(set(ids)), "duplicate conversation_id"


def test_wmt_test_set_has_references_and_both_escalation_classes() -> None:
    test = _read(DATASETS / "wmt24_chat" / "test.jsonl")
    assert len(test) >= 300
    labels = [r.should_escalate for c in test for r in c.references]
    assert len(labels) >= len(test)
    assert True in labels and False in labels
    assert all(
        r.escalation_source == "agent_phrase" and r.reply for c in test for r in c.references
    )
    assert {c.language for c in test} == {"de", "fr", "ko", "nl", "pt"}


@pytest.mark.parametrize("name", ["wmt24_chat", "bitext"])
def test_no_test_conversation_is_in_the_history(name: str) -> None:
    test = {c.conversation_id for c in _read(DATASETS / name / "test.jsonl")}
    history = {c.conversation_id for c in _read(DATASETS / name / "history.jsonl")}
    assert not test & history


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"public source data not present at {SHARED}")
def test_build_reproduces_the_shipped_files(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(DATASETS / "build.py"), "--source", str(SHARED),
         "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    built = _shipped_files(tmp_path)
    shipped = _shipped_files(DATASETS)
    assert sorted(built) == sorted(shipped)
    for name, data in built.items():
        assert data == shipped[name], f"{name} differs from the shipped file: rerun the build"


def test_data_folders_never_shadow_packages() -> None:
    """An __init__.py in datasets/ or runs/ would shadow the `datasets` package on import."""
    root = Path(__file__).resolve().parents[1]
    assert not (root / "datasets" / "__init__.py").exists()
    assert not (root / "runs" / "__init__.py").exists()
