"""What people read: digits that show an interval's width, n everywhere, too-few flags, fallbacks."""

import math
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from evals import report
from evals.aggregate import paired_differences, summarise
from evals.scorers.escalation import EscalationScorer

# A scorer whose only metric is the mean of its values.
MEAN = SimpleNamespace(name="accuracy", ratios={})


def test_digits_grow_until_a_narrow_interval_has_width() -> None:
    places = report.digits([(0.026, 0.032)])
    assert places == 3 and report.fmt(0.029, 0.026, 0.032, places) == "0.029 [0.026, 0.032]"
    assert report.fmt(0.029, 0.026, 0.032) == "0.03 [0.03, 0.03]"  # what two digits used to hide


def test_a_truly_degenerate_interval_keeps_two_digits() -> None:
    places = report.digits([(1.0, 1.0)])
    assert places == 2 and report.fmt(1.0, 1.0, 1.0, places) == "1.00 [1.00, 1.00]"


def test_digits_are_chosen_per_row_from_its_narrowest_interval() -> None:
    assert report.digits([(0.1, 0.5), (0.0261, 0.0264), (math.nan, math.nan)]) == 4


def scores(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(f"k{i}", f"c{i}", "accuracy", v, None, name) for name, vals in values.items() for i, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["case_id", "conversation_id", "scorer", "value", "label", "variant"])


def replies_for(frame: pd.DataFrame) -> pd.DataFrame:
    one = frame.drop_duplicates(["variant", "case_id"])
    return pd.DataFrame({"variant": one["variant"], "error": None, "escalated": False, "latency_s": 0.01,
                         "language": "en", "language_mismatch": one["case_id"] == "k0"})


def render(print_table, *args) -> str:
    console = Console(width=100, record=True, color_system=None)
    print_table(*args, console)
    return console.export_text()


def summary_row(variant: str, value: float, low: float, high: float, n: int, min_n: int = 10) -> dict:
    return {"variant": variant, "metric": "accuracy.mean", "value": value, "ci_low": low, "ci_high": high, "n": n,
            "unscored": 0, "too_few": n < min_n, "undefined_share": 0.0}


def test_terminal_shows_n_narrow_intervals_and_too_few_within_100_columns() -> None:
    summary = pd.DataFrame([summary_row("human", 0.029, 0.026, 0.032, 60),
                            summary_row("retrieval", 0.574, 0.4939, 0.6461, 58),
                            summary_row("rules", 0.7, 0.5, 0.9, 3)])
    frame = scores({"human": [0.5] * 3, "retrieval": [0.5] * 3, "rules": [0.5] * 3})
    text = render(report.print_comparison, summary, replies_for(frame))
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "0.029 [0.026, 0.032]" in text and "0.574 [0.494, 0.646]" in text  # 3 digits for the whole row
    assert "0.700 too few (n=3)" in text and "n=60" in text and "n=58" in text
    assert "language mismatch" in text and "unscored" in text


def test_shared_n_goes_beside_the_label() -> None:
    rng = np.random.default_rng(1)
    frame = scores({"human": list(rng.random(30)), "bot": list(rng.random(30))})
    text = render(report.print_comparison, summarise(frame, [MEAN], n_boot=100), replies_for(frame))
    assert "accuracy (n=30)" in text and "n=30 " not in text.replace("(n=30)", "")


def test_one_positive_prints_no_confident_interval_and_no_verdict() -> None:
    human = ["missed"] + ["correct_containment"] * 29
    bot = ["correct_handoff"] + ["correct_containment"] * 29
    rows = [(f"k{i}", f"c{i}", "escalation", float(lab.startswith("correct")), lab, v)
            for v, labs in (("human", human), ("bot", bot)) for i, lab in enumerate(labs)]
    frame = pd.DataFrame(rows, columns=["case_id", "conversation_id", "scorer", "value", "label", "variant"])
    summary = summarise(frame, [EscalationScorer()], n_boot=500)
    table = render(report.print_comparison, summary, replies_for(frame))
    assert "1.00 [1.00, 1.00]" not in table.split("missed")[1].splitlines()[0]
    assert "1.00 too few (n=1)" in table
    diffs = render(report.print_differences, paired_differences(frame, [EscalationScorer()], "human", n_boot=500))
    missed = next(line for line in diffs.splitlines() if "missed" in line)
    assert "-1.00 too few (n=1)" in missed and "[" not in missed and "noise" not in missed


def test_fallback_baseline_is_warned_about_and_named_in_the_title() -> None:
    rng = np.random.default_rng(2)
    frame = scores({"human": [math.nan] * 20, "retrieval": list(rng.random(20)), "rules": list(rng.random(20))})
    diffs = paired_differences(frame, [MEAN], "human", n_boot=100)
    text = render(report.print_differences, diffs)
    assert "warning baseline human: human has no scorable accuracy replies (20 unscored), so accuracy.mean is " \
           "compared with retrieval instead" in " ".join(text.split())
    assert "Difference from retrieval, standing in for baseline human" in " ".join(text.split())
    rules = next(line for line in text.splitlines() if line.startswith("│ accuracy"))
    assert "n/a (n=0)" in rules and rules.count("[") == 1  # human is shown empty; rules gets an interval
    md = report.markdown(summarise(frame, [MEAN], n_boot=100), replies_for(frame), "t", [], diffs)
    assert "> **Warning:** baseline human: human has no scorable accuracy replies" in md
    assert "## Difference from retrieval, standing in for baseline human" in md


def test_report_files_carry_n_and_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = scores({"human": [0.1, 0.5, 0.9], "bot": list(np.linspace(0, 1, 12))})
    summary = summarise(frame, [MEAN], n_boot=100)
    figures = []
    monkeypatch.setattr(matplotlib.pyplot, "close", figures.append)  # keep the figure to read its labels
    paths = report.write(summary, replies_for(frame), tmp_path, "t")
    csv = pd.read_csv(tmp_path / "metrics.csv").set_index("variant")
    assert csv.loc["human", "n"] == 3 and bool(csv.loc["human", "too_few"]) and not bool(csv.loc["bot", "too_few"])
    assert "0.50 too few (n=3)" in (tmp_path / "report.md").read_text(encoding="utf-8")
    labels = [t.get_text() for t in figures[0].axes[0].get_yticklabels()]
    assert labels == ["human\n(n=3, too few)", "bot\n(n=12)"]
    assert (tmp_path / "metrics.png").stat().st_size > 0 and len(paths) == 3


def test_a_withheld_interval_prints_as_no_ci() -> None:
    summary = pd.DataFrame([summary_row("human", 0.5, math.nan, math.nan, 12),
                            summary_row("bot", 0.4, 0.3, 0.5, 40)])
    text = render(report.print_comparison, summary, replies_for(scores({"human": [0.5], "bot": [0.5]})))
    assert "0.50 no CI" in text and "0.40 [0.30, 0.50]" in text
