"""The bot-and-human trade-off as sections of the HTML report: the per-variant view, the routing
what-ifs and the cost–quality frontier (evals/business.py). Every data text is escaped here."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import pandas as pd

from evals.business import Business
from evals.html_report import Section

WHAT_IF_MEASURES = ("containment", "cost_per_conversation_usd", "agent_hours_per_month", "fte")


def sections(business: Business, frontier_svg: str | None) -> list[Section]:
    """One section for the view and the what-ifs, with the frontier plot when one could be drawn."""
    parts = ["<h3>Per variant</h3>", _table(business.view, ["variant"], "measure")]
    if not business.what_if.empty:
        measures = [*WHAT_IF_MEASURES, *([business.quality_metric] if business.quality_metric else [])]
        chosen = business.what_if[business.what_if["measure"].isin(measures)]
        parts += ["<h3>Routing what-ifs (bot and people on the same conversations)</h3>",
                  _table(chosen, ["policy", "bot"], "measure")]
    if frontier_svg:
        parts += ["<h3>Cost and quality</h3>", f'<div class="plot">{frontier_svg}</div>']
    notes = sorted({str(n) for n in business.view["note"].dropna() if str(n)})
    if notes:
        parts += ["<ul>", *(f"<li>{escape(n)}</li>" for n in notes), "</ul>"]
    return [Section("The bot-and-human trade-off", "\n".join(parts))]


def _table(frame: pd.DataFrame, rows: Sequence[str], columns: str) -> str:
    """Rows x measures, each cell `value [low, high] (n)`; n/a and too few say so."""
    if frame.empty:
        return "<p>Nothing to show.</p>"
    order = list(dict.fromkeys(frame[columns]))
    head = "".join(f"<th>{escape(str(c))}</th>" for c in [*rows, *order])
    body = []
    for key, group in frame.groupby(rows, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        cells = group.set_index(columns)
        body.append("<tr>" + "".join(f"<td>{escape(str(k))}</td>" for k in key)
                    + "".join(f"<td>{escape(_cell(cells.loc[m]) if m in cells.index else '')}</td>" for m in order)
                    + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(row: pd.Series) -> str:
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    if pd.isna(row["value"]):
        return f"n/a (n={row['n']})"
    unit = " USD" if row.get("unit") == "USD" else ""
    value = f"{row['value']:.3g}{unit}"
    if row["too_few"] or pd.isna(row["ci_low"]):
        return f"{value} too few (n={row['n']})"
    return f"{value} [{row['ci_low']:.3g}, {row['ci_high']:.3g}] (n={row['n']})"
