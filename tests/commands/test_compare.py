"""`chatbot-evals compare` end to end, in process: results folders and MLflow runs in, tables and files out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_compare import KeywordBot, QualityBot, QualityScorer, chats
from test_locate import run_job

from evals.api import Settings, evaluate
from evals.cli import main
from evals.scorers.escalation import EscalationScorer
from evals.types import Answer, Inquiry


class NeverBot(KeywordBot):
    """Never hands off: misses every request for a person the KeywordBot catches."""

    async def respond(self, inquiry: Inquiry) -> Answer:
        return Answer(text="0.5", escalated=False)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A released-like run (never hands off, quality 0.5 + noise) and a candidate that hands off and is better."""
    tmp = tmp_path_factory.mktemp("cmp")
    scorers = [QualityScorer(), EscalationScorer()]
    old = evaluate(chats(90), [QualityBot("bot", 0.0, 1)], scorers, Settings(bootstrap=0))
    new = evaluate(chats(90), [QualityBot("bot", 0.1, 2), NeverBot("never")], [*scorers], Settings(bootstrap=0))
    old.save(tmp / "old" / "results")
    new.save(tmp / "new")
    return tmp / "old", tmp / "new"


def test_two_folders_compare_every_variant_with_the_first_and_write_the_files(folders, tmp_path, capsys) -> None:
    old, new = folders
    assert main(["compare", str(old), str(new), "--bootstrap", "1000", "--by", "language", "--top", "2",
                 "--out", str(tmp_path / "cmp")]) == 0
    shown = capsys.readouterr().out
    assert max(len(line) for line in shown.splitlines()) <= 100
    assert "bot@1: variant bot of" in shown and "(baseline)" in shown and "never: variant never" in shown
    assert "better, significant" in shown  # quality +0.1 on 90 cases
    assert "McNemar exact" in shown and "Replies most changed" in shown and "by language" in shown
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert set(table["candidate"]) == {"bot@2", "never"} and set(table["baseline"]) == {"bot@1"}
    quality = table[(table["candidate"] == "bot@2") & (table["metric"] == "quality.mean")].iloc[0]
    assert quality["verdict"] == "better" and quality["ci_low"] > 0 and quality["n"] == 90
    assert pd.read_parquet(tmp_path / "cmp" / "comparison.parquet").shape == table.shape
    handoff = pd.read_csv(tmp_path / "cmp" / "handoff.csv").set_index("candidate")
    assert handoff.loc["never", "b"] == 30 and handoff.loc["never", "c"] == 0  # every request missed
    changes = pd.read_csv(tmp_path / "cmp" / "changes.csv")
    assert changes.groupby(["candidate", "scorer", "outcome"]).size().max() <= 2
    report = (tmp_path / "cmp" / "comparison.md").read_text(encoding="utf-8")
    assert "no difference larger than ±" in report  # never vs bot@1 on quality: the same 0.5 on average
    assert "## bot@2 vs bot@1" in report and "## By language" in report and "| quality.mean ↑ |" in report
    assert set(pd.read_csv(tmp_path / "cmp" / "slices.csv")["variant"]) == {"bot@1", "bot@2", "never"}
    page = (tmp_path / "cmp" / "comparison.html").read_text(encoding="utf-8")  # the HTML report of a comparison
    assert "Comparison: bot@2 vs bot@1, never vs bot@1" in page and 'id="comparison"' in page and "<svg" in page


def test_one_variant_each_and_a_metric_chosen(folders, capsys) -> None:
    old, new = folders
    assert main(["compare", f"{old}#bot", f"{new}#bot", "--metric", "quality.mean", "--bootstrap", "500",
                 "--by", "language"]) == 0
    shown = capsys.readouterr().out
    assert "quality.mean ↑ by language" in shown and "bot@2 − bot@1" in shown
    assert "escalation" not in shown  # neither in the comparison nor in the slices


class LongNamedScorer(QualityScorer):
    name = label = "human_access_conversation_quality"  # as long as the harness's own longest metric names


def test_long_metric_names_leave_the_reading_its_words(tmp_path, capsys) -> None:
    # At 100 columns the reading of such rows used to be cut to three characters ("wo…").
    base = evaluate(chats(90), [QualityBot("bot", 0.0, 1)], [LongNamedScorer()], Settings(bootstrap=0))
    better = evaluate(chats(90), [QualityBot("bot", 0.1, 2)], [LongNamedScorer()], Settings(bootstrap=0))
    base.save(tmp_path / "old")
    better.save(tmp_path / "new")
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new"), "--bootstrap", "500"]) == 0
    shown = capsys.readouterr().out
    assert max(len(line) for line in shown.splitlines()) <= 100
    row = next(line for line in shown.splitlines() if "human_access_conversatio" in line)
    assert "better, significant" in row and "…" not in row


def test_an_out_folder_that_cannot_be_made_stops_before_the_comparison(folders, tmp_path, capsys) -> None:
    old, new = folders
    (tmp_path / "taken").write_text("a file", encoding="utf-8")
    assert main(["compare", str(old), str(new), "--out", str(tmp_path / "taken" / "cmp")]) == 2
    shown = capsys.readouterr()
    assert shown.err == f"error: --out: cannot make the folder {tmp_path / 'taken' / 'cmp'} (Not a directory)\n"
    assert "paired difference" not in shown.out  # nothing computed for a result with nowhere to go


def test_mlflow_references_resolve_through_the_store(tmp_path, capsys, new_store) -> None:
    uri = new_store(tmp_path)  # where run_job logs
    logged = run_job(tmp_path, "out", "run_name=nightly")
    capsys.readouterr()
    assert main(["compare", logged.parent_run_id, "--tracking-uri", uri, "--bootstrap", "200"]) == 0
    shown = capsys.readouterr().out
    assert f"human: variant human of run {logged.parent_run_id} (baseline)" in shown
    assert "rules − human (baseline)" in shown
    assert main(["compare", "nightly#rules", "nightly#human", "--tracking-uri", uri, "--bootstrap", "200"]) == 0
    assert "human − rules (baseline)" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    ([], "the following arguments are required: REF"),
    (["X", "--confidence", "2"], "--confidence 2.0: give a number strictly between 0 and 1"),
    (["X", "--bootstrap", "-1"], "--bootstrap -1: the number of resamples is 0 or more"),
    (["X", "--top", "-3"], "--top -3: give a whole number >= 0"),
])
def test_a_usage_mistake_is_one_line_and_exit_2(args: list[str], message: str, capsys) -> None:
    assert main(["compare", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_one_result_with_one_variant_is_not_a_comparison(folders, capsys) -> None:
    assert main(["compare", str(folders[0])]) == 2
    assert "compare needs two or more variants" in capsys.readouterr().err


def test_a_metric_or_column_that_is_not_there_is_named(folders, capsys) -> None:
    old, new = folders
    assert main(["compare", str(old), f"{new}#bot", "--metric", "empathy.mean"]) == 2
    assert "--metric empathy.mean: not a metric both sides define (metrics: quality.mean" in capsys.readouterr().err
    assert main(["compare", str(old), f"{new}#bot", "--by", "region"]) == 2
    assert "--by region: no column 'region'" in capsys.readouterr().err


def test_help_teaches_with_examples(capsys) -> None:
    assert main(["compare", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "chatbot-evals compare released" in shown and "tag:dataset=wmt24_chat" in shown and "--by COLUMN" in shown
