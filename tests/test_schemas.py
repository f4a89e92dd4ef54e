"""Every group's keys are checked against a schema: the component's constructor, or a fixed one."""

import pytest
from test_settings import composed

from evals import schemas
from evals.errors import UserError

# (overrides, the lines the error must hold)
BAD = [
    (["+variant.rules.frobnicate=1"], ["variant.rules.frobnicate: unknown key (known keys: person_requests,"]),
    (["variant=[python]", "variant.python.concurrency=abc"],
     ["variant.python.concurrency: 'abc' is not allowed (allowed: a valid integer"]),
    (["variant=[openai]", "variant.openai.handoff=both"],
     ["variant.openai.handoff: 'both' is not allowed (allowed: 'tool' or 'phrase')"]),
    (["variant=[openai]", "+variant.openai.limits.rmp=10"],
     ["variant.openai.limits.rmp: unknown key (known keys: concurrency, rpm, tpm,"]),
    (["variant=[openai]", "variant.openai.limits.rpm=fast"], ["variant.openai.limits.rpm: 'fast' is not allowed"]),
    (["scorer.empathy.languages=5"], ["scorer.empathy.languages: 5 is not allowed"]),
    (["+variant.mine._target_=nosuch.Bot"], ["variant.mine._target_: cannot import 'nosuch.Bot' (No module named"]),
    (["+variant.mine._target_=evals.variants.example_bot.answer"], ["variant.mine.inquiry: missing"]),
    (["+dataset.foo=1"], ["dataset.foo: unknown key (known keys: name, path, history_path, policy_path, on_error, "
                          "references_path)"]),
    (["+judge.foo=1"], ["judge.foo: unknown key (known keys: model, base_url,"]),
    (["judge.max_tokens=many"], ["judge.max_tokens: 'many' is not allowed"]),
    (["+prices.mine=1"],
     ["prices.mine: 1 is not allowed (allowed: a mapping with keys input_per_mtok, output_per_mtok)"]),
    (["+prices.mine.input_per_mtok=1"], ["prices.mine.output_per_mtok: missing"]),
]


@pytest.mark.parametrize(("overrides", "says"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_a_bad_group_key_or_value_is_one_line_naming_it(overrides: list[str], says: list[str]) -> None:
    with pytest.raises(UserError) as caught:
        schemas.check(composed(*overrides))
    message = str(caught.value)
    assert "\n" not in message
    for part in says:
        assert part in message, (part, message)


def test_every_shipped_option_fits_its_schema() -> None:
    every = ["variant=[http,human,openai,python,recorded,retrieval,rules]",
             "scorer=[accuracy,empathy,empathy_lexicon,escalation,human_access,human_access_conversation,"
             "judge_accuracy,judge_empathy,judge_escalation,judge_pairwise]"]
    for dataset in ("bitext", "wmt24_chat"):
        assert schemas.problems(composed(f"dataset={dataset}", *every)) == []


def test_a_group_interpolated_into_a_component_is_reported_once() -> None:
    """`judge: ${judge}` in a judge scorer and `prices: ${prices}` in the judge: the group's line, not three."""
    problems = schemas.problems(composed("scorer=[judge_empathy]", "+prices.mine=1", "+judge.foo=1"))
    assert [p.split(":")[0] for p in problems] == ["judge.foo", "prices.mine"]


def test_a_factory_with_keyword_arguments_accepts_any_extra_key(tmp_path, monkeypatch) -> None:
    (tmp_path / "factory_for_schema.py").write_text("def make(name, size: int = 1, **options):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ok = composed("+variant.mine._target_=factory_for_schema.make", "+variant.mine.colour=red")
    assert schemas.problems(ok, ("variant",)) == []
    bad = composed("+variant.mine._target_=factory_for_schema.make", "+variant.mine.size=big")
    assert schemas.problems(bad, ("variant",)) == [
        "variant.mine.size: 'big' is not allowed (allowed: a valid integer, unable to parse string as an integer)"]
