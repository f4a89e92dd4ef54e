"""`chatbot-evals review stats`: alpha per question with CI and n, a verdict, and a side run in MLflow."""

from __future__ import annotations

import mlflow
import pytest

from evals.commands.review import main
from evals.errors import UserError
from evals.review.store import NewItem, QueueMeta, Store


def queue(path, agree: bool) -> str:
    items = [NewItem(f"c{i}#0", f"c{i}", 0, "en", [{"role": "customer", "text": "hi"}], [("bot", "hello", False)])
             for i in range(12)]
    with Store.create(path, QueueMeta("q", "runs/x", "random", 0, ("empathy", "should_escalate"), 2), items) as s:
        for i in range(12):
            s.answer(i + 1, 0, "empathy", "ana", str(1 + i % 5))
            s.answer(i + 1, 0, "empathy", "ben", str(1 + i % 5) if agree else str(5 - (i * 3) % 5))
            s.answer(i + 1, None, "should_escalate", "ana", "yes" if i % 3 else "no")
    return str(path)


def test_stats_print_alpha_with_ci_and_say_whether_reviewers_agree(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path}/none.db"  # no store: printed, not logged
    assert main(["stats", queue(tmp_path / "a.db", agree=True), "--tracking-uri", uri, "--bootstrap", "200"]) == 0
    captured = capsys.readouterr()
    empathy = next(line for line in captured.out.splitlines() if line.strip().startswith("empathy"))
    assert "1.000" in empathy and "[1.00, 1.00]" in empathy and "agree enough" in empathy
    assert " 12 " in empathy  # units with two reviewers
    escalate = next(line for line in captured.out.splitlines() if line.strip().startswith("should_escalate"))
    assert "no unit answered by two reviewers yet" in escalate
    assert "not logged to MLflow (no store" in captured.err
    main(["stats", queue(tmp_path / "b.db", agree=False), "--tracking-uri", uri, "--bootstrap", "200"])
    assert "do NOT agree enough" in capsys.readouterr().out


def test_stats_are_logged_as_a_side_run(tmp_path, capsys, monkeypatch, new_store):
    monkeypatch.chdir(tmp_path)  # a new experiment keeps its artifacts under ./mlruns
    uri = new_store(tmp_path)
    assert main(["stats", queue(tmp_path / "a.db", agree=True), "--tracking-uri", uri, "--experiment", "rev",
                 "--bootstrap", "100"]) == 0
    assert "review-stats run" in capsys.readouterr().out
    client = mlflow.MlflowClient(tracking_uri=uri)
    [run] = client.search_runs([client.get_experiment_by_name("rev").experiment_id])
    assert run.info.run_name == "review-stats" and run.data.tags["review.queue"] == "q"
    assert run.data.metrics["review.empathy.alpha"] == 1.0 and run.data.metrics["review.empathy.units"] == 12
    assert run.data.metrics["review.empathy.agrees_enough"] == 1.0
    assert "review.should_escalate.alpha" not in run.data.metrics  # NaN is not logged


def test_a_min_alpha_out_of_range_is_refused(tmp_path):
    with pytest.raises(UserError, match="--min-alpha 2.0"):
        main(["stats", queue(tmp_path / "a.db", agree=True), "--min-alpha", "2"])
