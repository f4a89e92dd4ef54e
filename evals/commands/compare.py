"""`chatbot-evals compare REF REF [REF...]`: candidates against a baseline on the same decision points.

The numbers come from evals/compare.py (and evals/slices.py with --by); this module finds the results,
prints them in 100 columns and writes the --out files. See docs/compare.md.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.commands.options import add_store_options, command_parser, made_folder, parse
from evals.errors import UserError

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from evals.compare import PairComparison, Side

DESCRIPTION = """\
Compare evaluated runs (or variants of one run) on the decision points both answered: for every
metric both define, the candidate minus the baseline with a paired bootstrap CI over whole
conversations, a p-value from the same resamples corrected across the metrics (Holm), and the
smallest difference the sample could have detected (80% power), so "not significant" reads "no
difference larger than X detectable", never "equal". Hand-off decisions get McNemar's exact test;
the replies that got most better and worse are listed; a scorer whose version changed is named.

REF is any of:
  runs/hydra/2026-12-01/12-00-00-000000   a run folder, or its results/ folder
  2b818e28b1c0458eb33b7e35fb30d12c        an MLflow parent run id
  released                                the newest run marked by `chatbot-evals release`
  tag:dataset=wmt24_chat                  the newest finished run with this tag
  my-run-name                             the newest finished run with this name
  REF#rules                               one variant of it

The first REF's variant is the baseline (a REF with several variants and no #variant: all of them,
its own baseline first); every other variant is compared with it.
"""

EPILOG = """\
examples:
  chatbot-evals compare released 2b818e28b1c0458eb33b7e35fb30d12c      # the release vs a new run
  chatbot-evals compare runs/hydra/2026-12-01/12-00-00-000000           # every variant vs its baseline
  chatbot-evals compare released#rules tag:branch=new-rules#rules --by language --out cmp/
  chatbot-evals compare old/results new/results --metric escalation.recall --metric empathy.mean
"""


def parser() -> argparse.ArgumentParser:
    p = command_parser("compare", DESCRIPTION, EPILOG)
    p.add_argument("refs", nargs="+", metavar="REF", help="results to compare, the baseline first")
    add_store_options(p, "run ids, names, tags and `released`")
    p.add_argument("--bootstrap", type=int, default=2000, metavar="N",
                   help="paired resamples of conversations; 0 = no CIs or p-values (default: %(default)s)")
    p.add_argument("--confidence", type=float, default=0.95, help="CI level (default: %(default)s)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="significance level after Holm's correction across metrics (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: %(default)s)")
    p.add_argument("--min-n", type=int, default=10, metavar="N",
                   help="fewer rows behind a metric: too few, no verdict (default: %(default)s)")
    p.add_argument("--metric", action="append", default=[], metavar="NAME",
                   help="compare only this metric, e.g. escalation.recall; repeatable (default: all)")
    p.add_argument("--top", type=int, default=5, metavar="N",
                   help="replies listed per score that got most better and most worse (default: %(default)s)")
    p.add_argument("--by", metavar="COLUMN",
                   help="also show metrics per slice: language, intent, channel or any replies.parquet column")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="write comparison.parquet/.csv, changes.csv, handoff.csv, slices.csv and comparison.md")
    return p


def main(args: list[str]) -> int:
    options = parse(parser(), args)
    if options is None:
        return 0
    _check(options)
    if options.out:
        made_folder(options.out)
    from rich.console import Console

    from evals import compare as comparing
    from evals.locate import locate

    located = [locate(ref, options.tracking_uri, options.experiment) for ref in options.refs]
    sides = comparing.sides_of(located)
    pairs = comparing.compare_all(sides, n_boot=options.bootstrap, confidence=options.confidence, seed=options.seed,
                                  min_n=options.min_n, alpha=options.alpha, metrics=options.metric or None,
                                  top=options.top)
    sliced = _slices(sides, options) if options.by else None
    console = Console(highlight=False)
    if not console.is_terminal or console.width > 100:  # logs, CI and wide terminals: 100 columns
        console = Console(highlight=False, width=100)
    print_all(sides, pairs, sliced, options, console)
    if options.out:
        for path in write(sides, pairs, sliced, options, options.out):
            console.print(f"wrote {path}")
    return 0


def _check(options: argparse.Namespace) -> None:
    if options.bootstrap < 0:
        raise UserError(f"--bootstrap {options.bootstrap}: the number of resamples is 0 or more")
    for name in ("confidence", "alpha"):
        value = getattr(options, name)
        if not 0 < value < 1:
            raise UserError(f"--{name} {value}: give a number strictly between 0 and 1")
    if options.min_n < 0 or options.top < 0:
        bad = "--min-n" if options.min_n < 0 else "--top"
        raise UserError(f"{bad} {getattr(options, bad[2:].replace('-', '_'))}: give a whole number >= 0")


def _slices(sides: Sequence[Side], options: argparse.Namespace) -> pd.DataFrame:
    """Per slice, each side's metrics (`evals.slices.slices` of its results, its variant, its label)."""
    import pandas as pd

    from evals.slices import slices

    done: dict[int, pd.DataFrame] = {}
    frames = []
    for side in sides:
        if id(side.result) not in done:
            done[id(side.result)] = slices(side.result, options.by, n_boot=options.bootstrap,
                                           confidence=options.confidence, seed=options.seed, min_n=options.min_n)
        table = done[id(side.result)]
        frames.append(table[table["variant"] == side.variant].assign(variant=side.label))
    sliced = pd.concat(frames, ignore_index=True)
    return sliced[sliced["metric"].isin(options.metric)] if options.metric else sliced


# --- numbers as text ----------------------------------------------------------------------------


def _finite(x: object) -> bool:
    try:
        return x is not None and math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _p(p: float) -> str:
    if not _finite(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


ARROWS = {"higher": " ↑", "lower": " ↓", "neither": ""}


def _reading(row, places: int) -> str:
    """What a row says, in words: never "equal"."""
    if row.verdict == "not significant":
        if _finite(row.mdd):
            return f"no difference larger than ±{row.mdd:.{places}f} detectable"
        return "not significant"
    if row.verdict == "no difference in any resample":
        return "no difference in any resample"
    if row.verdict == "too few":
        return "too few rows: no verdict"
    if row.verdict == "not comparable":
        return "not comparable (below)"
    if row.verdict == "no interval":
        return "no interval: no verdict"
    return f"{row.verdict}, significant"


def _metric_rows(pair: PairComparison) -> list[list[str]]:
    from evals.report import digits, fmt

    rows = []
    for row in pair.metrics.itertuples():
        places = digits([(row.ci_low, row.ci_high)], least=3 if _finite(row.diff) and 0 < abs(row.diff) < 0.01 else 2)
        name = f"{row.metric}{ARROWS.get(row.direction, '')}" + (" *" if row.scorer_changed else "")
        rows.append([name, fmt(row.diff, row.ci_low, row.ci_high, places, sign="+"), str(row.n), _p(row.p_holm),
                     _reading(row, places)])
    return rows


METRIC_HEADER = ["metric", "difference [CI]", "n", "p (Holm)", "reading"]
# At 100 columns long metric names (human_access_conversation.unmet_request_rate) left the reading
# three characters ("wo…"): the reading keeps room for its words, a long name folds onto a second line.
_TEXT_COLUMNS: dict[str, dict[str, Any]] = {"metric": {"overflow": "fold"}, "reading": {"min_width": 26}}


def _title(pair: PairComparison, confidence: float) -> str:
    return (f"{pair.candidate.label} − {pair.baseline.label} (baseline): paired difference [{confidence:.0%} CI] "
            "on the same conversations")


CAPTION = ("reading: significant or not after the correction; ↑/↓: higher/lower is better; n: rows behind "
           "the smaller side; p: two-sided, from the paired bootstrap, Holm-corrected across the metrics of this "
           "table (raw p in --out); detectable: a true difference this large is found 80% of the time; *: scorer "
           "version changed")


def _uncompared_lines(pair: PairComparison) -> list[str]:
    return [f"{r.metric} not comparable: {r.note}" for r in pair.metrics.itertuples() if r.note]


def _handoff_lines(pair: PairComparison) -> list[str]:
    base, cand = pair.baseline.label, pair.candidate.label
    return [f"hand-off decisions ({t.scorer}, McNemar exact, n={t.n} decision points): b={t.b} right for {base} "
            f"only, c={t.c} right for {cand} only, both right {t.both_right}, both wrong {t.both_wrong}; "
            f"p{'' if _p(t.p_value).startswith('<') else '='}{_p(t.p_value)}" for t in pair.handoff]


def _count_lines(pair: PairComparison) -> list[str]:
    lines = []
    for row in pair.counts.itertuples():
        changed = f", {row.changed} changed (neither way is better)" if row.changed else ""
        total = row.better + row.worse + row.same + row.changed
        lines.append(f"{row.scorer}: {row.better} replies better, {row.worse} worse, {row.same} unchanged"
                     f"{changed} (of {total} scored on both sides)")
    return lines


def _change_rows(pair: PairComparison, short: bool = False) -> list[list[str]]:
    return [[r.scorer, r.outcome, _short(r.case_id) if short else r.case_id, _value(r.baseline_value, r.baseline_label),
             _value(r.candidate_value, r.candidate_label), f"{r.change:+.3g}"] for r in pair.changes.itertuples()]


def _short(case_id: str, keep: int = 10) -> str:
    """A long case id (hashed conversation ids) cut in its middle, so its turn stays readable."""
    conversation, hash_, turn = case_id.rpartition("#")
    if not hash_ or len(conversation) <= keep + 1:
        return case_id
    return f"{conversation[:keep]}…#{turn}"


def _value(value: float, label: object) -> str:
    text = f"{value:.3g}"
    return f"{text} {label}" if isinstance(label, str) and label and label != text else text


def _headline(table: pd.DataFrame) -> list[str]:
    """Metrics with a report label; without any, every mean."""
    labelled = table[table["label"].fillna("") != ""]["metric"]
    chosen = labelled if not labelled.empty else table[table["metric"].str.endswith(".mean")]["metric"]
    return list(dict.fromkeys(chosen))


def _slice_rows(sliced: pd.DataFrame, metric: str, labels: Sequence[str]) -> list[list[str]]:
    from evals.report import digits, fmt

    mine = sliced[sliced["metric"] == metric]
    places = digits(zip(mine["ci_low"], mine["ci_high"]))
    rows = []
    for value, group in mine.groupby("slice", sort=True):
        by_side = group.set_index("variant")
        cells = [str(value)]
        for label in labels:
            if label not in by_side.index:
                cells.append("-")
                continue
            r = by_side.loc[label]
            if bool(r["too_few"]):
                cells.append(f"too few (n={int(r['n'])})")
                continue
            text = fmt(r["value"], r["ci_low"], r["ci_high"], places)
            cells.append(f"{text} n={int(r['n'])}" + (" worst" if bool(r["worst"]) else ""))
        rows.append(cells)
    return rows


# --- terminal -----------------------------------------------------------------------------------


def print_all(sides: Sequence[Side], pairs: Sequence[PairComparison], sliced: pd.DataFrame | None,
              options: argparse.Namespace, console: Console) -> None:
    from rich import box
    from rich.table import Table

    for side in sides:
        where = f"run {side.run_id}" if side.run_id else side.reference
        console.print(f"{side.label}: variant {side.variant} of {where}" + (" (baseline)" if side is sides[0] else ""))
    for pair in pairs:
        console.print()
        for note in pair.notes:
            console.print(f"[yellow]note[/] {note}")
        table = Table(title=_title(pair, options.confidence), caption=CAPTION, box=box.SIMPLE_HEAD)
        for name in METRIC_HEADER:
            table.add_column(name, justify="left" if name in METRIC_HEADER[::4] else "right",
                             no_wrap=name not in METRIC_HEADER[::4], **_TEXT_COLUMNS.get(name, {}))
        for cells in _metric_rows(pair):
            table.add_row(*cells)
        console.print(table)
        for line in _uncompared_lines(pair) + _handoff_lines(pair) + _count_lines(pair):
            console.print(line)
        if not pair.changes.empty:
            changes = Table(title=f"Replies most changed, {pair.baseline.label} -> {pair.candidate.label} "
                                  f"(top {options.top} each way per score)", box=box.SIMPLE_HEAD)
            for name in ("score", "", "case_id", pair.baseline.label, pair.candidate.label, "change"):
                changes.add_column(name, justify="right" if name == "change" else "left")
            for cells in _change_rows(pair, short=True):
                changes.add_row(*cells)
            console.print(changes)
    if sliced is not None:
        labels = [s.label for s in sides]
        for metric in options.metric or _headline(sliced):
            direction = sliced.loc[sliced["metric"] == metric, "direction"].iloc[0]
            table = Table(title=f"{metric}{ARROWS.get(direction, '')} by {options.by} [{options.confidence:.0%} CI]",
                          box=box.SIMPLE_HEAD,
                          caption=f"too few: n below {options.min_n}, not ranked; worst: the worst ranked slice")
            for name in (options.by, *labels):
                table.add_column(name, justify="left" if name == options.by else "right")
            for cells in _slice_rows(sliced, metric, labels):
                table.add_row(*cells)
            console.print(table)


# --- files --------------------------------------------------------------------------------------


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    return ["| " + " | ".join(map(cell, columns)) + " |", "|" + "---|" * len(columns),
            *("| " + " | ".join(map(cell, r)) + " |" for r in rows), ""]


def markdown(sides: Sequence[Side], pairs: Sequence[PairComparison], sliced: pd.DataFrame | None,
             options: argparse.Namespace) -> str:
    lines = ["# Comparison", ""]
    for side in sides:
        where = f"run `{side.run_id}`" if side.run_id else f"`{side.reference}`"
        lines.append(f"- **{side.label}**: variant `{side.variant}` of {where}"
                     + (" (baseline)" if side is sides[0] else ""))
    lines += ["", f"{options.bootstrap} paired resamples of whole conversations, seed {options.seed}; "
              f"significance at alpha {options.alpha} after Holm's correction across the metrics of each pair; "
              f"minimum n {options.min_n}. See docs/compare.md.", ""]
    for pair in pairs:
        lines += [f"## {pair.candidate.label} vs {pair.baseline.label}", ""]
        lines += [f"> **Note:** {note}." for note in pair.notes] + ([""] if pair.notes else [])
        lines += [_title(pair, options.confidence) + ".", "", *_md_table(METRIC_HEADER, _metric_rows(pair)),
                  CAPTION + ".", ""]
        lines += [f"- {line}" for line in _uncompared_lines(pair) + _handoff_lines(pair) + _count_lines(pair)] + [""]
        if not pair.changes.empty:
            lines += ["### Replies most changed", "",
                      *_md_table(["score", "", "case_id", pair.baseline.label, pair.candidate.label, "change"],
                                 _change_rows(pair))]
    if sliced is not None:
        labels = [s.label for s in sides]
        lines += [f"## By {options.by}", "",
                  f"Too few: n below {options.min_n}, not ranked; worst: the worst ranked slice of that side.", ""]
        for metric in dict.fromkeys(sliced["metric"]):
            lines += [f"### {metric}", "", *_md_table([options.by, *labels], _slice_rows(sliced, metric, labels))]
    return "\n".join(lines)


def write(sides: Sequence[Side], pairs: Sequence[PairComparison], sliced: pd.DataFrame | None,
          options: argparse.Namespace, out: Path) -> list[Path]:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    metrics = pd.concat([p.metrics for p in pairs], ignore_index=True)
    metrics["significant"] = metrics["significant"].astype("boolean")  # None: no test (Parquet needs one type)
    files = [out / "comparison.parquet", out / "comparison.csv", out / "changes.csv", out / "handoff.csv"]
    metrics.to_parquet(files[0], index=False)
    metrics.to_csv(files[1], index=False)
    pd.concat([p.changes for p in pairs], ignore_index=True).to_csv(files[2], index=False)
    pd.DataFrame([{"baseline": p.baseline.label, "candidate": p.candidate.label, **vars(t)}
                  for p in pairs for t in p.handoff],
                 columns=["baseline", "candidate", "scorer", "n", "both_right", "b", "c", "both_wrong", "p_value"]
                 ).to_csv(files[3], index=False)
    if sliced is not None:
        files.append(out / "slices.csv")
        sliced.to_csv(files[-1], index=False)
    files.append(out / "comparison.md")
    files[-1].write_text(markdown(sides, pairs, sliced, options), encoding="utf-8")
    from evals import html_report  # the candidate's own report, with every pair's differences beside it

    title = "Comparison: " + ", ".join(f"{p.candidate.label} vs {p.baseline.label}" for p in pairs)
    files.append(html_report.write(pairs[0].candidate.result, out / "comparison.html", title=title,
                                   comparison=metrics.rename(columns={"candidate": "variant"})))
    return files
