"""The whole-process benchmark's own pieces: its dataset is valid and varied, its phases add up."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from evals.load import build_cases, load_conversations

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and `from whole_process import ...` look it up
    spec.loader.exec_module(module)
    return module


def test_dataset_is_valid_for_the_cli_and_varied(tmp_path: Path) -> None:
    whole_process = _load("whole_process")
    path = tmp_path / "dataset.jsonl"
    whole_process.write_dataset(path, 300)
    loaded = load_conversations(str(path), on_error="fail")
    cases = build_cases(loaded.conversations)
    assert len(loaded.conversations) == 300 and len(cases) == 300 and not loaded.skipped
    texts = [c.inquiry().last_message for c in cases]
    assert len(set(texts)) > 250  # varied, not one text 300 times
    escalate = [c.reference.should_escalate for c in cases]
    assert 0 < sum(escalate) < len(escalate)
    assert whole_process.dataset_rows(5) == whole_process.dataset_rows(5)  # the same inquiries every run


def test_phases_cover_the_whole_process_without_overlap() -> None:
    phases_module = _load("whole_process_phases")
    marks = {"spawned": 0.0, "first line": 0.1, "imported evals.cli": 0.2, "imported hydra": 0.5,
             "imported evals.experiment": 3.0, "main returned": 12.0}
    events = [("run", 3.5, 11.9, 0), ("Tracker.__init__", 4.0, 5.0, 0), ("evaluate", 5.5, 9.5, 0),
              ("replay", 6.0, 9.0, 0), ("Tracker.experiment_run (exit)", 11.0, 11.5, 0)]
    table = dict(phases_module.phases({"marks": marks, "events": events}, ended=13.0))
    top = {name: s for name, s in table.items() if not name.startswith(" ")}
    assert abs(sum(top.values()) - 13.0) < 1e-9  # the top-level phases tile spawn .. process end
    assert table["replay (first request to last reply)"] == 3.0
    assert table["set-up before the first request"] == 2.5
    assert table["  Tracker.__init__"] == 1.0
    assert table["process exit (after main returned)"] == 1.0
