"""Agreement of scorers with human labels: statistics checked against independent formulas,
label validation, and `chatbot-evals agree` end to end into a real MLflow store."""

import hashlib
import io
import json
import math
import subprocess
import sys
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import results_of
from mlflow.tracking import MlflowClient
from rich.console import Console
from shared_embeddings import share_embeddings
from stores import copy_store
from test_config import composed

from evals import experiment
from evals.agreement import consensus_nominal, consensus_ordinal, run_agreement, value_to_scale
from evals.cli import main
from evals.errors import UserError
from evals.labels import ESCALATION_CLASSES, load_labels
from evals.load import DatasetError

ROOT = Path(__file__).resolve().parents[1]
REVIEWERS = ("ann", "bob", "cem")

# 12 replies of variant "bot", 3 reviewers. Empathy 1-5 per reviewer; the offline-style scorer
# `empathy` has a value in [0, 1] (mapped to 1-5), `judge_empathy` writes its 1-5 in the label.
EMPATHY_HUMANS = [(1, 1, 2), (2, 2, 3), (3, 2, 3), (4, 4, 5), (5, 4, 5), (2, 3, 3),
                  (1, 2, 1), (3, 3, 4), (4, 5, 5), (2, 2, 2), (5, 5, 4), (3, 4, 2)]
EMPATHY_SCORER = [1, 2, 3, 5, 5, 2, 2, 3, 4, 1, 4, 3]  # what `empathy` maps to (value (s-1)/4)
JUDGE_SCORER = [2, 2, 3, 4, 5, 3, 1, 4, 4, 2, 5, 3]
ESCALATION_HUMANS = [
    ("correct_handoff", "correct_handoff", "missed"), ("missed", "missed", "missed"),
    ("premature", "correct_containment", "premature"), ("correct_containment",) * 3,
    ("correct_containment", "premature", "correct_containment"), ("correct_handoff",) * 3,
    ("missed", "correct_handoff", "missed"), ("correct_containment",) * 3,
    ("premature", "premature", "premature"), ("correct_containment", "correct_containment", "missed"),
    ("correct_handoff", "missed", "correct_handoff"), ("correct_containment",) * 3,
]
ESCALATION_SCORER = ["correct_handoff", "missed", "correct_containment", "correct_containment",
                     "premature", "correct_handoff", "missed", "correct_containment", "premature",
                     "missed", "correct_handoff", "correct_containment"]


# --- independent reference formulas (numpy / plain Python, no sklearn, no krippendorff) --------

def kappa_by_hand(a: list[int], b: list[int], n_values: int, weighted: bool) -> float:
    """Cohen's kappa from the confusion matrix and the chance-expected matrix."""
    observed = np.zeros((n_values, n_values))
    for x, y in zip(a, b):
        observed[x, y] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i, j = np.indices((n_values, n_values))
    weights = (i - j) ** 2 / (n_values - 1) ** 2 if weighted else (i != j).astype(float)
    return 1 - (weights * observed).sum() / (weights * expected).sum()


def alpha_by_hand(units: list[list[int]], n_values: int, level: str) -> float:
    """Krippendorff's alpha through the coincidence matrix."""
    o = np.zeros((n_values, n_values))
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for p, q in permutations(range(m), 2):
            o[values[p], values[q]] += 1 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = np.zeros((n_values, n_values))
    for c in range(n_values):
        for k in range(n_values):
            if level == "nominal":
                delta[c, k] = float(c != k)
            else:
                lo, hi = min(c, k), max(c, k)
                delta[c, k] = (n_c[lo:hi + 1].sum() - (n_c[c] + n_c[k]) / 2) ** 2
    expected = np.outer(n_c, n_c) - np.diag(n_c)  # n_c * (n_k - [c == k])
    return 1 - (n - 1) * (o * delta).sum() / (expected * delta).sum()


def lower_median(values) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def majority_first(values) -> str:
    best = max(values.count(v) for v in values)
    return next(v for v in values if values.count(v) == best)


# --- helpers -------------------------------------------------------------------------------------

def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def constructed(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """The 12-reply label file (+ 1 reply missing from the run, + 1 the scorer left unscored)."""
    rows = []
    for i in range(12):
        for r, reviewer in enumerate(REVIEWERS):
            rows.append({"case_id": f"c{i}#0", "variant": "bot", "criterion": "empathy",
                         "reviewer": reviewer, "label": EMPATHY_HUMANS[i][r]})
            rows.append({"case_id": f"c{i}#0", "variant": "bot", "criterion": "escalation",
                         "reviewer": reviewer, "label": ESCALATION_HUMANS[i][r]})
    rows.append({"case_id": "gone#4", "variant": "bot", "criterion": "empathy", "reviewer": "ann",
                 "label": 3, "note": "a reply the run does not have"})
    rows.append({"case_id": "c12#0", "variant": "bot", "criterion": "empathy", "reviewer": "bob",
                 "label": 2, "labelled_at": "2025-03-01T14:05:00Z"})
    replies = pd.DataFrame({
        "case_id": [f"c{i}#0" for i in range(13)], "variant": "bot",
        "conversation_id": [f"c{i}" for i in range(13)],
        "empathy": [(s - 1) / 4 for s in EMPATHY_SCORER] + [float("nan")],  # c12: unscored
        "empathy_label": ["ER1 IP0 EX0"] * 12 + [None],
        "empathy_explanation": "cues",
        "judge_empathy": [(s - 1) / 4 for s in JUDGE_SCORER] + [0.5],
        "judge_empathy_label": [str(s) for s in JUDGE_SCORER] + ["3"],
        "judge_empathy_explanation": "judged",
        "judge_empathy_version": "judge-v2",
        "escalation": [1.0] * 13,
        "escalation_label": ESCALATION_SCORER + ["correct_containment"],
        "escalation_explanation": "handoff",
    })
    return write_jsonl(tmp_path / "labels.jsonl", rows), replies


def stat(result, scorer: str, statistic: str) -> pd.Series:
    rows = result.table[(result.table.scorer == scorer) & (result.table.statistic == statistic)]
    assert len(rows) == 1, (scorer, statistic, result.table)
    return rows.iloc[0]


# --- statistics ------------------------------------------------------------------------------------

def test_kappa_and_alpha_match_independent_formulas(tmp_path: Path) -> None:
    path, replies = constructed(tmp_path)
    result = run_agreement(load_labels(path), results_of(replies), n_boot=300, seed=1)

    # ordinal: quadratic-weighted kappa against the lower-median consensus; ordinal alpha
    # judge_empathy also scored c12, which only bob labelled (2); the offline scorer left it NaN
    for scorer, verdicts, humans in (("empathy", EMPATHY_SCORER, EMPATHY_HUMANS),
                                     ("judge_empathy", JUDGE_SCORER + [3], EMPATHY_HUMANS + [(2,)])):
        consensus = [lower_median(h) for h in humans]
        kappa = kappa_by_hand([s - 1 for s in verdicts], [c - 1 for c in consensus], 5, weighted=True)
        assert stat(result, scorer, "kappa").value == pytest.approx(kappa, abs=1e-12)
        with_scorer = [[v - 1 for v in (*h, s)] for h, s in zip(humans, verdicts)]
        assert stat(result, scorer, "alpha").value == pytest.approx(
            alpha_by_hand(with_scorer, 5, "ordinal"), abs=1e-12)
    humans = [[v - 1 for v in h] for h in EMPATHY_HUMANS]
    assert stat(result, "empathy", "alpha_humans").value == pytest.approx(
        alpha_by_hand(humans, 5, "ordinal"), abs=1e-12)

    # nominal: unweighted kappa against the majority; nominal alpha
    code = {c: i for i, c in enumerate(ESCALATION_CLASSES)}
    majority = [majority_first(list(h)) for h in ESCALATION_HUMANS]
    kappa = kappa_by_hand([code[s] for s in ESCALATION_SCORER], [code[m] for m in majority], 4,
                          weighted=False)
    assert stat(result, "escalation", "kappa").value == pytest.approx(kappa, abs=1e-12)
    with_scorer = [[code[v] for v in (*h, s)] for h, s in zip(ESCALATION_HUMANS, ESCALATION_SCORER)]
    assert stat(result, "escalation", "alpha").value == pytest.approx(
        alpha_by_hand(with_scorer, 4, "nominal"), abs=1e-12)
    assert stat(result, "escalation", "alpha_humans").value == pytest.approx(
        alpha_by_hand([[code[v] for v in h] for h in ESCALATION_HUMANS], 4, "nominal"), abs=1e-12)
    # the reference formula itself reproduces the published value of Krippendorff's example
    coders = [[None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
              [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
              [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4]]
    units = [[c[u] - 1 for c in coders if c[u] is not None] for u in range(15)]
    assert alpha_by_hand(units, 4, "nominal") == pytest.approx(0.691358, abs=1e-6)


def test_escalation_has_no_ordinal_statistics_and_sources_versions_are_recorded(tmp_path: Path) -> None:
    path, replies = constructed(tmp_path)
    result = run_agreement(load_labels(path), results_of(replies), n_boot=50)
    assert set(result.table[result.table.scorer == "escalation"].statistic) == {
        "kappa", "alpha", "alpha_humans", "exact"}
    assert set(result.table[result.table.scorer == "empathy"].statistic) == {
        "kappa", "alpha", "alpha_humans", "spearman", "exact", "within_one"}
    assert result.sources == {"empathy": "value", "judge_empathy": "label", "escalation": "label"}
    assert result.versions == {"empathy": "offline", "judge_empathy": "judge-v2", "escalation": "offline"}
    assert result.confusion[("escalation", "escalation")].to_numpy().sum() == 12


def test_n_left_out_and_confidence_intervals(tmp_path: Path) -> None:
    path, replies = constructed(tmp_path)
    result = run_agreement(load_labels(path), results_of(replies), n_boot=500, seed=3)
    emp = result.table[result.table.scorer == "empathy"]
    assert set(emp.n) == {12}  # 14 labelled replies: 1 not in the run, 1 unscored
    gone = result.left_out.set_index(["scorer", "reason"]).replies
    assert gone[("empathy", "not_in_run")] == 1 and gone[("empathy", "unscored")] == 1
    assert gone[("empathy", "unmappable")] == 0
    # judge_empathy scored c12 (label 3), so only the missing reply is left out
    assert gone[("judge_empathy", "not_in_run")] == 1 and gone[("judge_empathy", "unscored")] == 0
    judge = result.table[result.table.scorer == "judge_empathy"].set_index("statistic").n
    assert judge.drop("alpha_humans").eq(13).all()
    assert judge["alpha_humans"] == 12  # replies labelled by two or more reviewers
    assert result.labelled[("empathy", "empathy")] == 14
    for row in result.table.itertuples():
        assert row.ci_low <= row.value + 1e-12 and row.value <= row.ci_high + 1e-12, row
        assert row.ci_low < row.ci_high or row.statistic == "within_one", row
    again = run_agreement(load_labels(path), results_of(replies), n_boot=500, seed=3)
    pd.testing.assert_frame_equal(result.table, again.table)  # seeded


def test_spearman_exact_and_within_one_by_hand(tmp_path: Path) -> None:
    humans = [1, 3, 3, 5, 4]
    scorer = [1, 2, 3, 4, 5]
    path = write_jsonl(tmp_path / "tiny.jsonl", [
        {"case_id": f"t{i}#1", "variant": "v", "criterion": "empathy", "reviewer": "ann", "label": h}
        for i, h in enumerate(humans)])
    replies = pd.DataFrame({"case_id": [f"t{i}#1" for i in range(5)], "variant": "v",
                            "empathy": [(s - 1) / 4 for s in scorer], "empathy_label": None,
                            "empathy_explanation": ""})
    result = run_agreement(load_labels(path), results_of(replies), n_boot=0)
    # ranks: scorer 1..5, humans 1, 2.5, 2.5, 5, 4 -> Pearson of ranks = 8.5 / sqrt(10 * 9.5)
    assert stat(result, "empathy", "spearman").value == pytest.approx(8.5 / math.sqrt(95))
    assert stat(result, "empathy", "exact").value == pytest.approx(2 / 5)
    assert stat(result, "empathy", "within_one").value == pytest.approx(1.0)
    assert set(result.table.n) == {5}
    assert not result.table.statistic.str.startswith("alpha").any()  # one reviewer: no alpha
    assert result.table.ci_low.isna().all()  # --bootstrap 0


def test_consensus_rules() -> None:
    assert consensus_ordinal([4, 2]) == 2  # even count: the lower median
    assert consensus_ordinal([5, 1, 3, 4]) == 3
    assert consensus_ordinal([2, 5, 4]) == 4
    assert consensus_nominal(["missed", "premature"]) == "missed"  # tie: first in reviewer order
    assert consensus_nominal(["premature", "missed", "missed"]) == "missed"
    assert [value_to_scale(v) for v in (0, 0.124, 0.125, 0.375, 0.5, 1.0)] == [1, 1, 2, 3, 3, 5]
    assert value_to_scale(1.2) is None and value_to_scale(float("nan")) is None


def test_nominal_ties_follow_the_order_reviewers_first_appear_in(tmp_path: Path) -> None:
    rows = [{"case_id": "a#0", "variant": "v", "criterion": "escalation", "reviewer": "zed",
             "label": "premature"},
            {"case_id": "a#0", "variant": "v", "criterion": "escalation", "reviewer": "amy",
             "label": "missed"}]
    replies = pd.DataFrame({"case_id": ["a#0"], "variant": "v", "escalation": [0.0],
                            "escalation_label": ["premature"], "escalation_explanation": ""})
    result = run_agreement(load_labels(write_jsonl(tmp_path / "l.jsonl", rows)), results_of(replies), n_boot=0)
    assert stat(result, "escalation", "exact").value == 1.0  # zed came first: consensus premature


def test_map_compares_another_scorer_and_no_overlap_is_an_error(tmp_path: Path) -> None:
    path, replies = constructed(tmp_path)
    replies = replies.rename(columns={"judge_empathy": "kind", "judge_empathy_label": "kind_label",
                                      "judge_empathy_explanation": "kind_explanation"})
    result = run_agreement(load_labels(path), results_of(replies), {"kind": "empathy"}, n_boot=0)
    assert "kind" in set(result.table.scorer)
    with pytest.raises(UserError, match="no scorer 'nope'"):
        run_agreement(load_labels(path), results_of(replies), {"nope": "empathy"})
    elsewhere = replies.assign(variant="other")
    with pytest.raises(UserError, match="no overlapping replies"):
        run_agreement(load_labels(path), results_of(elsewhere))


# --- label validation ------------------------------------------------------------------------------

GOOD = {"case_id": "c1#2", "variant": "rules", "criterion": "empathy", "reviewer": "r1", "label": 4}


@pytest.mark.parametrize("bad, field, message", [
    ({"label": 7}, "label", "empathy labels are integers 1-5, got 7"),
    ({"label": 2.5}, "label", "empathy labels are integers 1-5, got 2.5"),
    ({"criterion": "escalation", "label": "late"}, "label",
     "escalation labels are one of correct_handoff, missed, premature, correct_containment, got \"late\""),
    ({"criterion": "tone"}, "criterion", "expected one of empathy, accuracy, escalation, got 'tone'"),
    ({"case_id": "c1"}, "case_id", "expected '<conversation_id>#<turn>', got 'c1'"),
    ({"reviewer": None}, "reviewer", "required field is missing"),
    ({"labelled_at": "yesterday"}, "labelled_at", "expected an ISO 8601 time"),
    ({"lable": 3}, "lable", "unknown field"),
])
def test_a_malformed_label_names_file_line_and_field(tmp_path: Path, bad: dict, field: str, message: str) -> None:
    other = {**GOOD, "reviewer": "r2"}
    path = write_jsonl(tmp_path / "labels.jsonl", [GOOD, other, {**GOOD, "reviewer": "r3", **bad}])
    with pytest.raises(DatasetError) as caught:
        load_labels(path)
    assert str(caught.value).startswith(f"{path}: line 3: field '{field}': {message}")
    assert "\n" not in str(caught.value)


def test_the_documented_example_message_and_duplicates_and_csv_rows(tmp_path: Path, monkeypatch) -> None:
    rows = [GOOD, {**GOOD, "reviewer": "r2"}, {**GOOD, "reviewer": "r3", "label": 7}]
    write_jsonl(tmp_path / "labels.jsonl", rows)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match=r"^labels\.jsonl: line 3: field 'label': empathy labels "
                                           r"are integers 1-5, got 7$"):
        load_labels("labels.jsonl")
    dup = write_jsonl(tmp_path / "dup.jsonl", [GOOD, {**GOOD, "label": 5}, {**GOOD, "label": 9}])
    with pytest.raises(DatasetError) as caught:
        load_labels(dup)
    assert str(caught.value).startswith(f"{dup}: line 2: field 'reviewer': duplicate label")
    assert "(and 1 more malformed rows: line 3)" in str(caught.value)
    csv = tmp_path / "labels.csv"
    csv.write_text("case_id,variant,criterion,reviewer,label,note\n"
                   "c1#2,rules,empathy,r1,4,\n"
                   "c1#2,rules,accuracy,r1,five,too long\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"labels\.csv: row 2: field 'label': accuracy labels are "
                                           r"integers 1-5, got \"five\""):
        load_labels(csv)
    csv.write_text("case_id,variant,criterion,reviewer,label\nc1#2,rules,empathy,7,4\n", encoding="utf-8")
    loaded = load_labels(csv)
    assert loaded.frame.label.tolist() == [4] and loaded.reviewers == ["7"]
    assert loaded.sha256 == hashlib.sha256(csv.read_bytes()).hexdigest()
    # a spreadsheet's "CSV UTF-8" and a Windows editor's JSONL start with a byte order mark
    csv.write_text("case_id,variant,criterion,reviewer,label\nc1#2,rules,empathy,7,4\n", encoding="utf-8-sig")
    assert load_labels(csv).frame.drop(columns="row").equals(loaded.frame.drop(columns="row"))
    assert load_labels(csv).sha256 == hashlib.sha256(csv.read_bytes()).hexdigest() != loaded.sha256
    jsonl = write_jsonl(tmp_path / "bom.jsonl", [GOOD])
    jsonl.write_bytes(b"\xef\xbb\xbf" + jsonl.read_bytes())
    assert load_labels(jsonl).frame.label.tolist() == [GOOD["label"]]


# --- end to end: `chatbot-evals run` as a process, then `chatbot-evals agree` in this one ------------

def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evals.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def in_process(capsys: pytest.CaptureFixture, *args: str) -> subprocess.CompletedProcess:
    """`chatbot-evals <args>` through the same entry point in this process: its exit code, stdout and stderr."""
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, embeddings: Path, store_template: Path) -> tuple[Path, str, str, pd.DataFrame]:
    tmp = share_embeddings(tmp_path_factory.mktemp("agree"), embeddings)
    uri = copy_store(store_template, tmp)
    out = cli("run", "sample.conversations=8", f"tracking.uri={uri}",
              f"tracking.artifact_root={tmp}/artifacts", cwd=tmp)
    assert out.returncode == 0, out.stderr[-3000:]
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("chatbot-evals")
    runs = client.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    rules = next(r for r in runs if r.info.run_name == "rules")
    table = pd.read_parquet(client.download_artifacts(rules.info.run_id, "replies.parquet", str(tmp)))
    return tmp, uri, parent.info.run_id, table


def e2e_labels(path: Path, table: pd.DataFrame) -> Path:
    """Two reviewers on 20 `rules` replies: empathy partly agreeing with the offline scorer."""
    rows = []
    for i, reply in enumerate(table[table.empathy.notna()].head(20).itertuples()):
        mapped = value_to_scale(reply.empathy)
        first = mapped if i % 3 else (mapped + 2 if mapped <= 3 else mapped - 2)
        second = mapped if i % 4 else min(5, mapped + 1)
        for reviewer, label in (("ann", first), ("bob", second)):
            rows.append({"case_id": reply.case_id, "variant": "rules", "criterion": "empathy",
                         "reviewer": reviewer, "label": int(label)})
        rows.append({"case_id": reply.case_id, "variant": "rules", "criterion": "escalation",
                     "reviewer": "ann", "label": reply.escalation_label})
    rows.append({"case_id": "not-in-the-run#0", "variant": "rules", "criterion": "empathy",
                 "reviewer": "ann", "label": 3})
    return write_jsonl(path, rows)


def test_agree_logs_an_agreement_run_with_metrics_artifacts_and_tags(evaluated, capsys) -> None:
    tmp, uri, parent_id, table = evaluated
    labels = e2e_labels(tmp / "labels.jsonl", table)
    out = in_process(capsys, "agree", "--labels", str(labels), "--run", parent_id, "--tracking-uri", uri,
                     "--bootstrap", "200")
    assert out.returncode == 0, out.stderr
    assert all(len(line) <= 100 for line in out.stdout.splitlines()), out.stdout
    assert "empathy vs empathy: 20 of 21 labelled replies compared; left out: 1 not in run" in out.stdout
    run_id = out.stdout.split("agreement run ")[1].split()[0]
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.run_name == "agreement"
    assert run.info.experiment_id == client.get_run(parent_id).info.experiment_id
    assert "mlflow.parentRunId" not in run.data.tags
    tags = run.data.tags
    assert tags["evaluated_run_id"] == parent_id
    assert tags["labels.sha256"] == hashlib.sha256(labels.read_bytes()).hexdigest()
    # the learned empathy scorer versions every score (heads + embedding model), so agreement is tied to it
    assert tags["scorer_version.empathy"] == table.empathy_version.dropna().unique()[0]
    assert tags["scorer_version.empathy"].startswith("heads-") and tags["scorer_source.empathy"] == "value"
    metrics = run.data.metrics
    for name in ("empathy.empathy.kappa", "empathy.empathy.kappa_ci_low", "empathy.empathy.kappa_ci_high",
                 "empathy.empathy.alpha", "empathy.empathy.alpha_humans", "empathy.empathy.exact",
                 "empathy.empathy.within_one", "escalation.escalation.kappa",
                 "escalation.escalation.exact"):
        assert name in metrics, name
    assert metrics["empathy.empathy.n"] == 20 and metrics["empathy.empathy.left_out"] == 1
    assert metrics["escalation.escalation.exact"] == 1.0  # labels copied from the scorer
    assert "escalation.escalation.spearman" not in metrics
    assert {a.path for a in client.list_artifacts(run_id)} == {"agreement.csv", "agreement.md", "confusion"}
    assert {a.path for a in client.list_artifacts(run_id, "confusion")} == {
        "confusion/empathy_empathy.csv", "confusion/escalation_escalation.csv"}
    logged = pd.read_csv(client.download_artifacts(run_id, "agreement.csv", str(tmp)))
    assert list(logged.columns) == ["scorer", "criterion", "statistic", "value", "ci_low", "ci_high", "n"]
    kappa = logged[(logged.scorer == "empathy") & (logged.statistic == "kappa")].value.iloc[0]
    assert kappa == pytest.approx(metrics["empathy.empathy.kappa"])
    assert -1 <= kappa < 0.99


def test_agree_require_fails_naming_the_scorer_and_bad_labels_fail_in_one_line(evaluated, capsys) -> None:
    tmp, uri, parent_id, table = evaluated
    labels = e2e_labels(tmp / "labels_require.jsonl", table)
    out = in_process(capsys, "agree", "--labels", str(labels), "--run", parent_id, "--tracking-uri", uri,
                     "--require", "empathy=0.99", "--bootstrap", "0")
    assert out.returncode == 1, out.stderr
    assert "not trusted: empathy: kappa" in out.stderr and "short by" in out.stderr
    run_id = out.stdout.split("agreement run ")[1].split()[0]
    assert MlflowClient(tracking_uri=uri).get_run(run_id).data.tags["trusted.empathy"] == "false"

    bad = tmp / "bad.jsonl"
    bad.write_text(labels.read_text().splitlines()[0] + "\n"
                   + json.dumps({**GOOD, "label": 0}) + "\n", encoding="utf-8")
    out = in_process(capsys, "agree", "--labels", str(bad), "--run", parent_id, "--tracking-uri", uri)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        f"error: {bad}: line 2: field 'label': empathy labels are integers 1-5, got 0"]

    out = in_process(capsys, "agree", "--labels", str(labels), "--run", "0" * 32, "--tracking-uri", uri)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        f"error: no MLflow run '{'0' * 32}' in {uri}"]


def test_a_run_reports_whether_its_scorers_reached_the_configured_agreement(evaluated, capsys, monkeypatch) -> None:
    tmp, uri, parent_id, table = evaluated
    monkeypatch.chdir(tmp)  # the runs below find the session's embedding cache under ./runs
    labels = e2e_labels(tmp / "labels_trust.jsonl", table)
    agreed = in_process(capsys, "agree", "--labels", str(labels), "--run", parent_id, "--tracking-uri", uri,
                        "--bootstrap", "0")
    assert agreed.returncode == 0, agreed.stderr
    kappa = MlflowClient(tracking_uri=uri).get_run(
        agreed.stdout.split("agreement run ")[1].split()[0]).data.metrics["empathy.empathy.kappa"]

    def trust_run(*overrides: str) -> tuple[str, dict]:
        """The main job, composed as `run` composes it, in this process: what it printed, its parent's tags."""
        printed = io.StringIO()
        cfg = composed("sample.conversations=3", "variant=[rules]", f"tracking.uri={uri}",
                       f"output_dir={tmp}/trust{len(list(tmp.glob('trust*')))}", *overrides)
        experiment.run(cfg, Console(file=printed, width=200))
        client = MlflowClient(tracking_uri=uri)
        runs = client.search_runs([client.get_run(parent_id).info.experiment_id],
                                  order_by=["attributes.start_time DESC"])
        latest = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags and r.info.run_name != "agreement")
        return printed.getvalue(), latest.data.tags

    printed, tags = trust_run(f"+trust.empathy={kappa - 0.01:.4f}", "+trust.accuracy=0.5")
    assert tags["trust.empathy"] == "trusted"
    assert tags["trust.accuracy"] == "unvalidated"  # no agreement run measured it
    assert "trust empathy: trusted (kappa" in " ".join(printed.split())
    _, tags = trust_run(f"+trust.empathy={kappa + 0.01:.4f}")
    assert tags["trust.empathy"] == "untrusted"
    with pytest.raises(UserError, match=r"trust.judge_empathy: no scorer 'judge_empathy' in this run"):
        trust_run("+trust.judge_empathy=0.6")


def test_agree_help_teaches_the_label_format_with_an_example() -> None:
    out = cli("agree", "--help", cwd=ROOT)
    assert out.returncode == 0
    for expected in ('"case_id": "<conversation_id>#<turn>"', "correct_containment", "integer 1..5",
                     "--require", "chatbot-evals agree --labels labels.jsonl --run"):
        assert expected in out.stdout
    assert all(len(line) <= 100 for line in out.stdout.splitlines())
    assert "agree --labels FILE --run RUN_ID" in cli("--help", cwd=ROOT).stdout
