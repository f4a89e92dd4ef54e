"""The cost-quality frontier: Pareto marking on known points, the plot written, points from a run."""

from __future__ import annotations

import math

import pytest
from test_business import COSTS, shop_result

from evals.business import Workload, view
from evals.errors import UserError
from evals.frontier import Point, mark_pareto, plot, points
from evals.hybrid import Policy, what_if


def point(name: str, cost: float, quality: float) -> Point:
    return Point(name, "policy", cost, cost * 0.9, cost * 1.1, quality, quality - 0.05, quality + 0.05, n=40)


def test_a_dearer_and_worse_point_is_dominated_the_rest_are_optimal() -> None:
    marked = {p.name: p.pareto for p in mark_pareto(
        [point("cheap", 1.0, 0.6), point("dominated", 2.0, 0.55), point("best", 3.0, 0.9),
         point("tie with cheap", 1.0, 0.6)], "higher")}
    assert marked == {"cheap": True, "dominated": False, "best": True, "tie with cheap": True}
    # When lower is better the same points rank the other way round on quality.
    lower = {p.name: p.pareto for p in mark_pareto([point("a", 1.0, 0.6), point("b", 2.0, 0.55)], "lower")}
    assert lower == {"a": True, "b": True}


def test_a_point_without_cost_is_neither_drawn_nor_optimal() -> None:
    unknown = Point("no price", "variant", math.nan, math.nan, math.nan, 0.99, 0.9, 1.0, n=40)
    marked = mark_pareto([unknown, point("priced", 2.0, 0.5)], "higher")
    assert [p.pareto for p in marked] == [False, True] and not marked[0].drawable


def test_plot_writes_a_png_and_returns_svg(tmp_path) -> None:
    found = mark_pareto([point("cheap", 1.0, 0.6), point("dominated", 2.0, 0.55), point("best", 3.0, 0.9)],
                        "higher")
    path = tmp_path / "frontier.png"
    svg = plot(found, path, "empathy")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "dominated" in svg
    with pytest.raises(UserError, match="no point to draw"):
        plot([Point("x", "variant", math.nan, math.nan, math.nan, 0.5, 0.4, 0.6, n=1)], tmp_path / "none.png")


def test_points_of_a_run_take_cost_from_the_view_and_quality_from_the_metrics() -> None:
    result = shop_result()
    table = view(result, COSTS)
    policies = what_if(result, "bot", "human", Policy.bot_then_people("handoffs"), COSTS, Workload(1000))
    found = {p.name: p for p in points(result, table, policies, "polite.mean")}
    assert set(found) == {"human", "bot", "bot + handoffs"}
    assert found["human"].cost == pytest.approx(3.0) and found["human"].quality == 1
    assert found["bot"].quality == 0 and found["bot + handoffs"].quality == pytest.approx(0.5)
    # The bot as replayed paid for 6 replies (1.503 USD) with quality 0; the blend paid for 5 (1.5025 USD),
    # its people replying where the bot handed off (quality 0.5): the bot alone is dominated.
    assert found["bot"].cost == pytest.approx(6 * 0.002 / 4 + 1.5)
    assert found["bot + handoffs"].cost == pytest.approx(5 * 0.002 / 4 + 1.5)
    assert {name: p.pareto for name, p in found.items()} == {"human": True, "bot": False, "bot + handoffs": True}
    with pytest.raises(UserError, match="business.quality_metric: 'escalation.mean' has no better direction"):
        points(result, table, policies, "escalation.mean")
