"""Through the command line: tool-call transfers count, declined offers do not, refused requests are counted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

ROOT = Path(__file__).resolve().parents[2]
READER = "fake_reader:FakeReader"  # tests/fake_reader.py: fixed cues, independent of evals.handoff's patterns


def chat(cid: str, bot_turn: dict, after: str, should_escalate: bool, first: str) -> dict:
    return {"conversation_id": cid, "language": "en",
            "turns": [{"role": "customer", "text": first}, {"role": "bot", **bot_turn},
                      {"role": "customer", "text": after}, {"role": "agent", "text": "Hello, Sam here."}],
            "references": [{"turn": 0, "reply": "Hello, Sam here.", "should_escalate": should_escalate,
                            "escalation_source": "human_review"}]}


@pytest.mark.slow
def test_recorded_handoffs_and_refused_requests_through_the_cli(tmp_path: Path, new_store) -> None:
    data = tmp_path / "chats.jsonl"
    rows = [chat("tool", {"tool_calls": [{"id": "call_1", "type": "function", "function": {
                 "name": "transfer_to_human", "arguments": "{\"reason\": \"stolen card\"}"}}]},
                 "ok", True, "My card was stolen"),
            chat("declined", {"text": "[offer] Shall I connect you with a colleague?"}, "[no] just tell me the fee",
                 False, "What is the fee?"),
            chat("refused", {"text": "Our opening hours are 9 to 5."}, "...", True, "[human please] now")]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "evals.cli", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    checked = cli("validate", str(data))
    assert checked.returncode == 0 and "3 valid conversations" in checked.stdout, checked.stderr
    uri = new_store(tmp_path)
    out = cli("run", "dataset=file", f"dataset.path={data}", "variant=[recorded]",
              "scorer=[escalation,human_access,human_access_conversation]", f"variant.recorded.reader={READER}",
              f"scorer.human_access.reader={READER}", f"scorer.human_access_conversation.reader={READER}",
              "replay.cache=null", "aggregate.bootstrap=20", f"tracking.uri={uri}",
              f"tracking.artifact_root={tmp_path}/artifacts", f"hydra.run.dir={tmp_path}/out")
    assert out.returncode == 0, out.stderr[-3000:]

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("chatbot-evals").experiment_id])
    recorded = next(r for r in runs if r.info.run_name == "recorded")
    table = pd.read_parquet(client.download_artifacts(recorded.info.run_id, "replies.parquet", str(tmp_path)))
    table = table.set_index("conversation_id")
    assert table.loc["tool", ["reply", "escalated", "handoff_kind", "escalation_label"]].tolist() == [
        "", True, "handoff", "correct_handoff"]
    assert table.loc["declined", ["escalated", "handoff_kind", "escalation_label"]].tolist() == [
        False, "offer", "correct_containment"]
    assert "the customer declined; not a hand-off" in table.loc["declined", "escalation_explanation"]
    assert table.loc["refused", "human_access_label"] == "refused_human_request"
    assert table["human_access_label"].value_counts().to_dict() == {"no_request": 2, "refused_human_request": 1}
    metrics = recorded.data.metrics
    assert metrics["human_access.refused_rate"] == 1.0 and metrics["human_access.request_rate"] == pytest.approx(1 / 3)
    assert metrics["escalation.recall"] == 0.5 and metrics["escalation.premature_rate"] == 0.0
    assert metrics["human_access_conversation.reached_rate"] == pytest.approx(1 / 3)
    assert metrics["human_access_conversation.unmet_request_rate"] == 1.0
