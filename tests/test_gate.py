"""The release gate's rules, one kind at a time, on results evaluated here with small bots."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from builders import conversation
from fake_reader import FakeReader

from evals import gate, gate_report
from evals.api import Settings, evaluate
from evals.errors import UserError
from evals.scorers.escalation import EscalationScorer
from evals.scorers.human_access import HumanAccessScorer
from evals.types import Answer, Inquiry, Score

RISKY = "payment_issue"


class HandoffBot:
    """Hands off when the customer asks for a person, except in the conversations it is told to miss."""

    def __init__(self, name: str = "bot", misses: frozenset[str] = frozenset(), fails: frozenset[str] = frozenset(),
                 ) -> None:
        self.name, self.misses, self.fails = name, misses, fails

    def prepare(self, memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        if inquiry.conversation_id in self.fails:
            raise RuntimeError("endpoint timed out")
        wants = "[human please]" in inquiry.history[-1].text and inquiry.conversation_id not in self.misses
        return Answer(text="A colleague will take over." if wants else "It ships tomorrow.", escalated=wants,
                      handoff_kind="handoff" if wants else "none")


class ConstantJudge:
    """Stands in for an LLM judge: it records a judge's version, so the gate asks for its agreement."""

    name, ratios, label, direction = "judge_empathy", {}, "empathy (judge)", "higher"
    version = "empathy@r1a2b3/some-model/0123abcd"

    def score(self, case, reply) -> Score:
        return Score(case.case_id, reply.variant, self.name, 0.8, "4", "constant", self.version)


def chats(n: int = 60) -> list:
    """Every third conversation asks for a person and should be handed off; every other one is risky."""
    out = []
    for i in range(n):
        asks = i % 3 == 0
        conv = conversation(f"c{i}", turns=[("customer", "[human please] I was charged twice" if asks
                                             else f"Where is my order {i}?"), ("agent", "Sure.")],
                            should_escalate=asks)
        out.append(conv.model_copy(update={"intent": RISKY if i % 2 == 0 else "track_order"}))
    return out


ASKING = [f"c{i}" for i in range(60) if i % 3 == 0]
RISKY_ASKING = [c for c in ASKING if int(c[1:]) % 2 == 0]
SCORERS = [EscalationScorer(), HumanAccessScorer(reader=FakeReader())]


def run(*bots, scorers=SCORERS, n: int = 60, **settings):
    return evaluate(chats(n), list(bots), list(scorers), Settings(bootstrap=300, seed=1, **settings))


def side(result, variant: str = "bot", reference: str = "candidate") -> gate.Side:
    return gate.Side(result, variant, reference)


def rule(verdict: gate.Verdict, rid: str) -> gate.RuleResult:
    return next(r for r in verdict.rules if r.rule == rid)


@pytest.fixture(scope="module")
def good():
    return run(HandoffBot())


@pytest.fixture(scope="module")
def forgetful():
    """Misses four of the ten hand-offs on risky intents, and one elsewhere."""
    return run(HandoffBot(misses=frozenset(RISKY_ASKING[:4] + [c for c in ASKING if c not in RISKY_ASKING][:1])))


# --- floors -------------------------------------------------------------------------------------

def test_a_floor_passes_only_when_the_whole_interval_reaches_it(good, forgetful) -> None:
    policy = gate.parse_policy({"floors": {"escalation.recall": 0.9}})
    passed = gate.decide(policy, side(good))
    assert passed.outcome == gate.PASS and passed.exit_code == 0
    assert rule(passed, "floor.escalation.recall").reason.startswith("CI [1, 1] is at or above 0.9")
    failed = rule(gate.decide(policy, side(forgetful)), "floor.escalation.recall")
    assert failed.outcome == gate.FAIL and failed.n == 20 and failed.value == pytest.approx(15 / 20)
    assert failed.ci_low < 0.9 and "not shown to reach the floor" in failed.reason


def test_a_point_estimate_above_the_floor_with_an_interval_below_it_fails(forgetful) -> None:
    verdict = gate.decide(gate.parse_policy({"floors": {"escalation.recall": 0.7}}), side(forgetful))
    found = rule(verdict, "floor.escalation.recall")
    assert found.value > 0.7 > found.ci_low
    assert found.outcome == gate.FAIL and "reaches below 0.7" in found.reason


def test_a_lower_is_better_metric_gets_a_ceiling_on_the_high_end(forgetful) -> None:
    verdict = gate.decide(gate.parse_policy({"floors": {"escalation.missed_rate": 0.1,
                                                         "escalation.premature_rate": {"max": 0.2}}}),
                          side(forgetful))
    assert rule(verdict, "floor.escalation.missed_rate").threshold == "CI high <= 0.1"
    assert rule(verdict, "floor.escalation.missed_rate").outcome == gate.FAIL
    assert rule(verdict, "floor.escalation.premature_rate").outcome == gate.PASS  # it never hands off wrongly


def test_too_few_samples_or_an_unknown_metric_cannot_be_decided() -> None:
    few = run(HandoffBot(), n=12)  # 4 decision points should hand off, below min_n 10
    verdict = gate.decide(gate.parse_policy({"floors": {"escalation.recall": 0.5, "escalation.recal": 0.5}}),
                          side(few))
    assert rule(verdict, "floor.escalation.recall").outcome == gate.UNDECIDED
    assert "too few samples (n=4" in rule(verdict, "floor.escalation.recall").reason
    assert "no metric 'escalation.recal'" in rule(verdict, "floor.escalation.recal").reason
    assert verdict.exit_code == 2


def test_a_floor_on_a_metric_with_no_better_direction_asks_for_min_or_max(good) -> None:
    with pytest.raises(UserError, match=r"floors.escalation.mean: .*\{min: 0.5\} or \{max: 0.5\}"):
        gate.decide(gate.parse_policy({"floors": {"escalation.mean": 0.5}}), side(good))


# --- margins against a baseline -----------------------------------------------------------------

def test_an_equivalent_candidate_is_within_every_margin(good) -> None:
    again = run(HandoffBot(name="bot"))
    policy = gate.parse_policy({"margins": {"escalation.recall": 0.05, "escalation.missed_rate": 0.05}})
    verdict = gate.decide(policy, side(again), side(good, reference="released"))
    assert verdict.outcome == gate.PASS
    recall = rule(verdict, "margin.escalation.recall")
    assert recall.value == 0 and recall.n == 20 and "any loss is within 0.05" in recall.reason
    assert "the same data" in rule(verdict, "baseline").reason


def test_missing_handoffs_the_baseline_caught_fails_the_margin(good, forgetful) -> None:
    policy = gate.parse_policy({"margins": {"escalation.recall": 0.05, "escalation.missed_rate": 0.05}})
    verdict = gate.decide(policy, side(forgetful), side(good, reference="released"))
    assert verdict.outcome == gate.FAIL and verdict.exit_code == 1
    recall, missed = rule(verdict, "margin.escalation.recall"), rule(verdict, "margin.escalation.missed_rate")
    assert recall.value == pytest.approx(-5 / 20) and recall.ci_low < -0.05
    assert missed.value == pytest.approx(5 / 20) and missed.threshold == "diff CI high <= 0.05"
    assert recall.outcome == missed.outcome == gate.FAIL and "worse by more than 0.05" in recall.reason


def test_a_variant_of_the_same_run_can_be_the_baseline() -> None:
    both = run(HandoffBot(name="careful"), HandoffBot(name="careless", misses=frozenset(ASKING)))
    policy = gate.parse_policy({"margins": {"escalation.f1": 0.1}})
    verdict = gate.decide(policy, gate.Side(both, "careless", "RUN#careless"),
                          gate.Side(both, "careful", "RUN#careful"))
    assert rule(verdict, "margin.escalation.f1").value == pytest.approx(-1.0)
    assert verdict.outcome == gate.FAIL


def test_margins_without_a_baseline_cannot_be_decided_whatever_else_fails(forgetful) -> None:
    policy = gate.parse_policy({"floors": {"escalation.recall": 0.99}, "margins": {"escalation.recall": 0.05}})
    verdict = gate.decide(policy, side(forgetful), baseline_problem="released: no finished run marked released")
    assert rule(verdict, "floor.escalation.recall").outcome == gate.FAIL
    assert rule(verdict, "baseline").outcome == gate.UNDECIDED
    assert "no finished run marked released" in rule(verdict, "baseline").reason
    assert verdict.outcome == gate.UNDECIDED and verdict.exit_code == 2


# --- zero tolerance -----------------------------------------------------------------------------

RISKY_RULE = {"missed_risky": {"description": "missed hand-offs on risky intents", "scorer": "escalation",
                               "labels": ["missed"], "among": ["correct_handoff"], "intents": [RISKY]}}


def test_one_missed_handoff_on_a_risky_intent_fails_and_names_the_cases(good, forgetful) -> None:
    policy = gate.parse_policy({"zero_tolerance": RISKY_RULE})
    found = rule(gate.decide(policy, side(forgetful), side(good)), "zero_tolerance.missed_risky")
    assert found.outcome == gate.FAIL and found.value == 4 and found.n == len(RISKY_ASKING)
    assert found.reason.startswith(f"missed hand-offs on risky intents: 4 of {len(RISKY_ASKING)} ({RISKY_ASKING[0]}#0")
    assert found.reason.endswith("the baseline got 4 of them right")
    assert rule(gate.decide(policy, side(good)), "zero_tolerance.missed_risky").outcome == gate.PASS


def test_a_zero_tolerance_rule_with_nothing_in_scope_cannot_be_decided(good) -> None:
    policy = gate.parse_policy({"zero_tolerance": {
        "missed_risky": {**RISKY_RULE["missed_risky"], "intents": ["fraud"]}}})
    found = rule(gate.decide(policy, side(good)), "zero_tolerance.missed_risky")
    assert found.outcome == gate.UNDECIDED and found.n == 0
    assert "too few samples" in found.reason and "intents in the data: payment_issue, track_order" in found.reason


def test_a_refused_request_for_a_person_fails_the_human_access_rule(forgetful) -> None:
    policy = gate.parse_policy({"zero_tolerance": {"refused": {"scorer": "human_access",
                                                               "labels": ["refused_human_request"],
                                                               "among": ["honoured"]}}})
    found = rule(gate.decide(policy, side(forgetful)), "zero_tolerance.refused")
    assert found.outcome == gate.FAIL and found.value == 5 and found.n == len(ASKING)
    assert "refused_human_request from human_access: 5 of 20" in found.reason


# --- judge agreement ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def judged():
    return run(HandoffBot(), scorers=[*SCORERS, ConstantJudge()])


def test_an_uncalibrated_judge_cannot_be_relied_on_and_its_floors_wait(judged) -> None:
    policy = gate.parse_policy({"agreement": {"min_kappa": 0.6}, "floors": {"judge_empathy.mean": 0.5,
                                                                            "escalation.recall": 0.5}})
    assert gate.judges_of(judged) == ["judge_empathy"]
    never = gate.decide(policy, side(judged), kappa_lookup=lambda scorer, version: None)
    assert rule(never, "agreement.judge_empathy").outcome == gate.UNDECIDED
    assert "judge not calibrated: no agreement run for version empathy@r1a2b3" in \
        rule(never, "agreement.judge_empathy").reason
    assert rule(never, "floor.judge_empathy.mean").outcome == gate.UNDECIDED
    assert rule(never, "floor.escalation.recall").outcome == gate.PASS and never.exit_code == 2

    asked = []
    low = gate.decide(policy, side(judged), kappa_lookup=lambda s, v: asked.append((s, v)) or (0.3, "run9"))
    assert asked == [("judge_empathy", ConstantJudge.version)]
    assert "kappa 0.30" in rule(low, "agreement.judge_empathy").reason and low.outcome == gate.UNDECIDED

    trusted = gate.decide(policy, side(judged), kappa_lookup=lambda s, v: (0.72, "run7"))
    assert trusted.outcome == gate.PASS and rule(trusted, "agreement.judge_empathy").value == 0.72


def test_offline_scorers_need_no_agreement(good) -> None:
    verdict = gate.decide(gate.parse_policy({"agreement": {"min_kappa": 0.6}}), side(good))
    assert [r.rule for r in verdict.rules] == ["error_budget"] and verdict.outcome == gate.PASS


# --- the error budget ---------------------------------------------------------------------------

def test_a_candidate_over_its_error_budget_cannot_be_decided() -> None:
    broken = run(HandoffBot(fails=frozenset(f"c{i}" for i in range(10))))
    verdict = gate.decide(gate.parse_policy({"floors": {"escalation.recall": 0.99}}), side(broken))
    budget = rule(verdict, "error_budget")
    assert budget.outcome == gate.UNDECIDED and "bot: 10 of 60 replies failed" in budget.reason
    assert verdict.outcome == gate.UNDECIDED


def test_a_baseline_over_its_error_budget_blocks_only_a_policy_that_compares_with_it(good) -> None:
    broken = run(HandoffBot(fails=frozenset(f"c{i}" for i in range(10))))
    compared = gate.decide(gate.parse_policy({"margins": {"escalation.recall": 0.05}}), side(good),
                           side(broken, reference="released"))
    assert "bot: 10 of 60 replies failed" in rule(compared, "error_budget").reason
    assert compared.outcome == gate.UNDECIDED
    alone = gate.decide(gate.parse_policy({"floors": {"escalation.recall": 0.9}}), side(good),
                        side(broken, reference="released"))
    assert alone.outcome == gate.PASS


def test_a_failed_rule_fails_the_gate_even_when_another_cannot_be_decided(forgetful) -> None:
    policy = gate.parse_policy({"floors": {"escalation.recall": 0.9, "no.such_metric": 0.5}})
    verdict = gate.decide(policy, side(forgetful))
    assert [r.outcome for r in verdict.rules[1:]] == [gate.FAIL, gate.UNDECIDED]
    assert verdict.outcome == gate.FAIL and verdict.exit_code == 1


# --- the policy file ----------------------------------------------------------------------------

def test_the_shipped_policy_reads() -> None:
    from evals.config import CONFIG_DIR

    policy = gate.load_policy(CONFIG_DIR / "gate" / "default.yaml")
    assert policy.needs_baseline and policy.agreement == gate.Agreement(0.6, None)
    assert {z.name for z in policy.zero_tolerance} == {"missed_risky_handoff", "refused_human"}


@pytest.mark.parametrize(("text", "says"), [
    ("florrs: {}", "florrs: unknown key (allowed: floors, margins, zero_tolerance, agreement)"),
    ("floors: {escalation.recall: high}", "floors.escalation.recall: 'high': a number"),
    ("floors: {escalation.recall: {least: 1}}", "floors.escalation.recall: a number, or {min: NUMBER}"),
    ("margins: {empathy.mean: -0.1}", "margins.empathy.mean: -0.1: a margin is the loss allowed"),
    ("zero_tolerance: {x: {labels: [missed]}}", "zero_tolerance.x.scorer: required"),
    ("zero_tolerance: {x: {scorer: escalation, labels: [missed], max: -1}}", "zero_tolerance.x.max: -1"),
    ("agreement: {scorers: judges}", "agreement.min_kappa: required"),
])
def test_a_policy_mistake_names_the_file_and_the_key(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        gate.load_policy(path)
    assert str(error.value).startswith(f"{path}: ") and says in str(error.value)


# --- the files ----------------------------------------------------------------------------------

def test_the_files_say_the_verdict_and_each_rule_with_its_reason(tmp_path: Path, good, forgetful) -> None:
    policy = gate.parse_policy({"floors": {"escalation.recall": 0.5}, "margins": {"escalation.recall": 0.05},
                                "zero_tolerance": RISKY_RULE})
    verdict = gate.decide(policy, side(forgetful, reference="pr#bot"), side(good, reference="released"))
    md, xml, data = (p.read_text() for p in gate_report.write(verdict, tmp_path))
    assert md.splitlines()[0] == "## Release gate: ❌ fail"
    assert "**FAIL: pr#bot against released; 3 of 5 rules passed, 2 failed" in md
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| outcome | rule | value [95% CI] | n | threshold |")
    assert table[1].startswith("| ❌ fail | margin.escalation.recall | -0.25 [")  # failures first
    assert "| ❌ fail | zero_tolerance.missed_risky | 4 | 10 | at most 0 |" in md

    suite = ET.fromstring(xml)
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert suite.get("tests") == "5" and suite.get("failures") == "2"
    assert cases["margin.escalation.recall"].find("failure").get("message").startswith("candidate - baseline -0.25")
    assert cases["floor.escalation.recall"].find("failure") is None

    saved = json.loads(data)
    assert saved["verdict"] == "fail" and saved["exit_code"] == 1
    assert {r["rule"]: r["outcome"] for r in saved["rules"]}["zero_tolerance.missed_risky"] == "fail"


def test_cannot_decide_is_a_skipped_testcase_with_its_reason(tmp_path: Path, good) -> None:
    verdict = gate.decide(gate.parse_policy({"margins": {"escalation.recall": 0.05}}), side(good),
                          baseline_problem="released: no finished run marked released")
    suite = ET.fromstring(gate_report.junit(verdict))
    skipped = [c.find("skipped").get("message") for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert skipped == ["cannot decide: no baseline to compare with: released: no finished run marked released",
                       "cannot decide: no baseline to compare with"]
