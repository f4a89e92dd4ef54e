"""Errors the user fixes: PyYAML's several-line reports become one clause with the line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evals.errors import UserError, yaml_problem
from evals.gate import load_policy
from evals.scorers.judge import Rubric


@pytest.mark.parametrize(("text", "says"), [
    ("floors: [oops\n", "line 2, column 1: expected ',' or ']', but got '<stream end>'; "
                        "while parsing a flow sequence from line 1, column 9"),
    ("a: 1\n  b: 2\n", "line 2, column 4: mapping values are not allowed here"),
    ("a:\n\tb: 1\n", "line 2, column 1: found character '\\t' that cannot start any token"),
])
def test_a_yaml_mistake_is_one_clause_with_its_line_and_column(text: str, says: str) -> None:
    with pytest.raises(yaml.YAMLError) as raised:
        yaml.safe_load(text)
    assert yaml_problem(raised.value) == says


def test_user_files_that_are_not_yaml_are_named_in_one_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("floors: [oops\n", encoding="utf-8")
    with pytest.raises(UserError) as raised:
        load_policy(policy)
    assert str(raised.value) == (f"{policy}: not valid YAML (line 2, column 1: expected ',' or ']', but got "
                                 "'<stream end>'; while parsing a flow sequence from line 1, column 9)")
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("criterion: empathy\n\tscale: 5\n", encoding="utf-8")
    with pytest.raises(UserError) as raised:
        Rubric.load(rubric)
    assert "\n" not in str(raised.value) and str(raised.value).startswith(f"rubric {rubric}: not valid YAML (line 2")
