"""A gate verdict as files: gate.md (a pull-request comment), junit.xml (CI test reports), verdict.json.

Failed rules come first in the Markdown table; JUnit shows a failed rule as a failure and a rule that
could not be decided as skipped, each with its reason, so CI systems list them beside unit tests.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from evals.gate import FAIL, PASS, UNDECIDED, RuleResult, Side, Verdict

FILES = ("gate.md", "junit.xml", "verdict.json")
_MARK = {PASS: "✅ pass", FAIL: "❌ fail", UNDECIDED: "⚠️ cannot decide"}
_ORDER = {FAIL: 0, UNDECIDED: 1, PASS: 2}


def _key(text: str) -> str:
    """An MLflow metric or tag key: letters, digits and _ - . / and space only."""
    return re.sub(r"[^\w\-. /]", "_", text)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def value_text(rule: RuleResult) -> str:
    """'0.83 [0.71, 0.92]'; a count as a whole number; '–' when the rule has no value."""
    if not _finite(rule.value):
        return "–"
    if rule.kind == "zero_tolerance":
        return f"{rule.value:.0f}"
    sign = "+" if rule.kind == "margin" else ""
    interval = f" [{rule.ci_low:{sign}.3g}, {rule.ci_high:{sign}.3g}]" if _finite(rule.ci_low) and \
        _finite(rule.ci_high) else ""
    return f"{rule.value:{sign}.3g}{interval}"


def _side(side: Side) -> str:
    run = f" (run {side.run_id})" if side.run_id else ""
    data = side.result.manifest.get("dataset") or {}
    what = f"{data.get('name', '?')}, {data.get('decision_points', '?')} decision points" if data else ""
    return f"`{side.reference}`{run}, variant `{side.variant}`" + (f", {what}" if what else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(verdict: Verdict) -> str:
    """The summary for a pull-request comment: the verdict line, then one table row per rule."""
    lines = [f"## Release gate: {_MARK[verdict.outcome]}", "", f"**{verdict.headline()}**", "",
             f"| outcome | rule | value [{verdict.confidence:.0%} CI] | n | threshold | reason |",
             "|---|---|---|--:|---|---|"]
    for rule in sorted(verdict.rules, key=lambda r: _ORDER[r.outcome]):
        n = "" if rule.n is None else str(rule.n)
        lines.append(f"| {_MARK[rule.outcome]} | {_cell(rule.rule)} | {value_text(rule)} | {n} | "
                     f"{_cell(rule.threshold)} | {_cell(rule.reason)} |")
    lines += ["", f"- candidate: {_side(verdict.candidate)}"]
    if verdict.baseline is not None:
        lines.append(f"- baseline: {_side(verdict.baseline)}")
    lines += [f"- policy: `{verdict.policy}`",
              "- floors are judged on the CI bound (a minimum passes when the CI's low end reaches it); margins on "
              "the paired difference's CI bound in the bad direction; exit code "
              f"{verdict.exit_code} (0 pass, 1 fail, 2 cannot decide)"]
    lines += [f"- note: {note}" for note in verdict.notes]
    return "\n".join(lines) + "\n"


def junit(verdict: Verdict) -> str:
    """JUnit XML: one testcase per rule; fail -> <failure>, cannot decide -> <skipped>."""
    failures = sum(r.outcome == FAIL for r in verdict.rules)
    skipped = sum(r.outcome == UNDECIDED for r in verdict.rules)
    suites = ET.Element("testsuites", name="chatbot-evals gate", tests=str(len(verdict.rules)),
                        failures=str(failures), errors="0", skipped=str(skipped))
    suite = ET.SubElement(suites, "testsuite", name=f"gate {verdict.candidate.reference}",
                          tests=str(len(verdict.rules)), failures=str(failures), errors="0", skipped=str(skipped))
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="verdict", value=verdict.outcome)
    for rule in verdict.rules:
        case = ET.SubElement(suite, "testcase", classname=f"gate.{rule.kind}", name=rule.rule)
        detail = f"value {value_text(rule)}, n {rule.n if rule.n is not None else '–'}, threshold {rule.threshold}"
        if rule.outcome == FAIL:
            ET.SubElement(case, "failure", message=rule.reason, type="gate.fail").text = detail
        elif rule.outcome == UNDECIDED:
            ET.SubElement(case, "skipped", message=f"cannot decide: {rule.reason}").text = detail
        else:
            ET.SubElement(case, "system-out").text = f"{rule.reason}; {detail}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _number(x: Any) -> float | None:
    return float(x) if _finite(x) else None


def as_json(verdict: Verdict) -> dict[str, Any]:
    """The verdict as plain data: NaN and missing values are null."""
    def side(s: Side | None) -> dict[str, Any] | None:
        return None if s is None else {"reference": s.reference, "run_id": s.run_id, "variant": s.variant,
                                       "dataset": (s.result.manifest.get("dataset") or {}).get("name")}

    return {
        "verdict": verdict.outcome, "exit_code": verdict.exit_code, "summary": verdict.headline(),
        "candidate": side(verdict.candidate), "baseline": side(verdict.baseline), "policy": verdict.policy,
        "confidence": verdict.confidence, "notes": list(verdict.notes),
        "rules": [{"rule": r.rule, "kind": r.kind, "outcome": r.outcome, "reason": r.reason,
                   "threshold": r.threshold, "metric": r.metric, "value": _number(r.value),
                   "ci_low": _number(r.ci_low), "ci_high": _number(r.ci_high), "n": r.n} for r in verdict.rules],
    }


def write(verdict: Verdict, out: Path) -> list[Path]:
    """gate.md, junit.xml and verdict.json in `out` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    texts = (markdown(verdict), junit(verdict), json.dumps(as_json(verdict), indent=2, ensure_ascii=False) + "\n")
    paths = []
    for name, text in zip(FILES, texts):
        path = out / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def metrics_of(verdict: Verdict) -> dict[str, float]:
    """For MLflow: the exit code, counts of outcomes, and each rule's value (1 = passed, per rule)."""
    metrics = {"gate.exit_code": float(verdict.exit_code),
               "gate.rules_passed": float(sum(r.outcome == PASS for r in verdict.rules)),
               "gate.rules_failed": float(sum(r.outcome == FAIL for r in verdict.rules)),
               "gate.rules_undecided": float(sum(r.outcome == UNDECIDED for r in verdict.rules))}
    for rule in verdict.rules:
        metrics[_key(f"{rule.rule}.passed")] = float(rule.outcome == PASS)
        if _finite(rule.value):
            metrics[_key(f"{rule.rule}.value")] = float(rule.value)  # type: ignore[arg-type]
    return metrics


def tags_of(verdict: Verdict) -> dict[str, str]:
    """For MLflow: what was gated against what, the verdict, and the summary as the run's description."""
    tags = {"evals.gate.verdict": verdict.outcome, "evals.gate.candidate": verdict.candidate.reference,
            "evals.gate.candidate_variant": verdict.candidate.variant, "evals.gate.policy": verdict.policy,
            "mlflow.note.content": markdown(verdict)[:8000]}  # MLflow's tag limit
    if verdict.candidate.run_id:
        tags["evals.gate.candidate_run"] = verdict.candidate.run_id
    if verdict.baseline is not None:
        tags["evals.gate.baseline"] = verdict.baseline.reference
        tags["evals.gate.baseline_variant"] = verdict.baseline.variant
        if verdict.baseline.run_id:
            tags["evals.gate.baseline_run"] = verdict.baseline.run_id
    for rule in verdict.rules:
        tags[_key(f"evals.gate.rule.{rule.rule}")] = f"{rule.outcome}: {rule.reason}"[:5000]
    return tags
