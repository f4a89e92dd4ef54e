"""The HTML report: its sections and numbers from the results, hostile text shown as text, in a real browser."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import open_page
from builders import conversation

from evals import html_report
from evals.api import Settings, evaluate
from evals.history import history_of
from evals.html.examples import confusion, worst_examples
from evals.scorers.escalation import EscalationScorer
from evals.types import Answer, Case, Inquiry, Reply, Score

HOSTILE_INQUIRY = 'Get me a human <script>window.pwned=1</script> <img src=x onerror="window.pwned=2">'
HOSTILE_REFERENCE = '</div></section><script>window.pwned=3</script>I will pass you on.'
SECTIONS = ("run", "metrics", "differences", "slices", "handoff", "worst")


class KeywordBot:
    """Hands off when the customer says 'human'; otherwise a fixed answer."""

    name = "rules"

    def prepare(self, memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        wants = "human" in inquiry.history[-1].text
        return Answer(text="A colleague will take over." if wants else "It ships tomorrow.", escalated=wants)


class EchoBot:
    """Repeats the customer's message (so a hostile message comes back in the reply); never hands off."""

    name = "echo"

    def prepare(self, memory) -> None:
        pass

    async def respond(self, inquiry: Inquiry) -> Answer:
        return Answer(text=f"You wrote: {inquiry.history[-1].text}", escalated=False)


class PlainTextScorer:
    """1 when the reply has no markup characters, 0 when it does; the explanation quotes the reply."""

    name = "plain_text"
    label = "plain text"
    direction = "higher"
    ratios: dict = {}

    def score(self, case: Case, reply: Reply) -> Score:
        marked = "<" in reply.text
        return Score(case.case_id, reply.variant, self.name, 0.0 if marked else 1.0, "markup" if marked else "plain",
                     f"the reply reads {reply.text[:120]!r}")


def chats(n: int = 24) -> list:
    out = []
    for i in range(n):
        wants = i % 3 == 0
        inquiry = HOSTILE_INQUIRY if i == 0 else ("I need a human agent now" if wants else f"Where is order {i}?")
        reference = HOSTILE_REFERENCE if i == 0 else ("Let me transfer you." if wants else "It ships tomorrow.")
        conv = conversation(f"c{i}", turns=[("customer", inquiry), ("agent", reference)], should_escalate=wants,
                            language="de" if i % 2 else "en")
        out.append(conv.model_copy(update={"intent": "handoff" if wants else "order"}))
    return out


@pytest.fixture(scope="module")
def result():
    return evaluate(chats(), [KeywordBot(), EchoBot()], [EscalationScorer(), PlainTextScorer()],
                    Settings(bootstrap=200, seed=3))


@pytest.fixture(scope="module")
def report(result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    extra = html_report.Section("Business view", '<p class="business">containment 0.67</p>')
    return html_report.write(result, tmp_path_factory.mktemp("report") / "out" / "report.html",
                             title="nightly <b>run</b>", extra_sections=[extra])


class Page(HTMLParser):
    """The parsed page: elements with their attributes, the text a reader sees, and each section's tables
    (rows of cell texts)."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.tables: dict[str, list[list[list[str]]]] = {}
        self._section = ""
        self._in_cell = False
        self.feed(markup)
        self.tables = {section: [[[" ".join(cell.split()) for cell in row] for row in table] for table in tables]
                       for section, tables in self.tables.items()}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in ("section", "header") and dict(attrs).get("id"):
            self._section = dict(attrs)["id"] or ""
        if tag == "table":
            self.tables.setdefault(self._section, []).append([])
        elif tag == "tr":
            self.tables[self._section][-1].append([])
        elif tag in ("td", "th"):
            self.tables[self._section][-1][-1].append("")
            self._in_cell = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_cell:
            self.tables[self._section][-1][-1][-1] += data

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.elements if a.get("id")}


def test_every_section_is_there_and_no_element_can_run_code(report: Path) -> None:
    page = Page(report.read_text(encoding="utf-8"))
    assert set(SECTIONS) <= page.ids()
    assert any(i.startswith("extra-0-business-view") for i in page.ids())
    assert not [tag for tag, _ in page.elements if tag in ("script", "iframe", "object", "embed", "link")]
    handlers = [(tag, name) for tag, attrs in page.elements for name in attrs if name.lower().startswith("on")]
    assert handlers == []
    # self-contained: links only within the page, nothing loaded from elsewhere
    assert all((a.get("href") or "#").startswith("#") for _, a in page.elements)
    assert not [a for _, a in page.elements if "src" in a]
    assert sum(tag == "svg" for tag, _ in page.elements) == 2  # metrics and the forest plot
    assert ("p", {"class": "business"}) in page.elements  # a section's own markup is kept as markup


def test_hostile_customer_and_bot_text_is_shown_as_text(report: Path) -> None:
    markup = report.read_text(encoding="utf-8")
    text = "".join(Page(markup).text)
    for hostile in (HOSTILE_INQUIRY, f"You wrote: {HOSTILE_INQUIRY}", HOSTILE_REFERENCE, "nightly <b>run</b>"):
        assert hostile in text
    assert "<script>window.pwned" not in markup and "&lt;script&gt;window.pwned=1&lt;/script&gt;" in markup


def test_metric_cells_show_each_variants_estimate_and_n(result, report: Path) -> None:
    page = Page(report.read_text(encoding="utf-8"))
    table = page.tables["metrics"][0]
    header = table[0]
    labelled = result.summary[result.summary["label"] != ""]
    assert {row[0] for row in table[1:]} == set(labelled["label"])
    for row in table[1:]:
        for r in labelled[labelled["label"] == row[0]].itertuples():
            cell = row[header.index(r.variant)]
            assert f"n={r.n}" in cell
            assert float(cell.split()[0]) == pytest.approx(r.value, abs=0.006)
            assert ("too few" in cell) == bool(r.too_few)


def test_differences_carry_their_verdict(result, report: Path) -> None:
    rows = Page(report.read_text(encoding="utf-8")).tables["differences"][0][1:]
    diffs = result.differences[result.differences["label"] != ""]
    assert len(rows) == len(diffs)
    for (label, variant, baseline, cell, _), r in zip(rows, diffs.itertuples()):
        assert (label, variant, baseline) == (r.label, r.variant, r.baseline)
        assert float(cell.split()[0]) == pytest.approx(r.diff, abs=0.006)
        if r.too_few:
            assert "too few" in cell
        elif r.within_noise:
            assert "within noise" in cell
        else:
            better = (r.diff > 0) == (r.direction == "higher")
            assert ("better" if better else "worse") in cell


def test_confusion_matrix_counts_labels_against_what_each_reply_did(result) -> None:
    tables = confusion(result.replies, result.variants)
    for variant, table in tables.items():
        mine = result.replies[result.replies["variant"] == variant]
        should, did = mine["should_escalate"].astype(bool), mine["escalated"].astype(bool)
        assert table[0][:2] == [int((should & did).sum()), int((should & ~did).sum())]
        assert table[1][:2] == [int((~should & did).sum()), int((~should & ~did).sum())]
        assert sum(map(sum, table)) == len(mine)
    assert tables["echo"][0][0] == 0 and tables["rules"][0][1] == 0  # echo never hands off, rules always does


def test_slices_recompute_every_metric_per_language_with_n(result) -> None:
    frame = html_report.slice_table(result, "language")
    assert set(frame["slice"]) == {"de", "en"}
    languages = result.replies.drop_duplicates("case_id").set_index("case_id")["language"]
    scores = result.scores.assign(language=result.scores["case_id"].map(languages))
    for (language, variant), part in scores[scores["scorer"] == "plain_text"].groupby(["language", "variant"]):
        row = frame[(frame["slice"] == language) & (frame["variant"] == variant)
                    & (frame["metric"] == "plain_text.mean")].iloc[0]
        assert row["n"] == part["value"].notna().sum() and row["value"] == pytest.approx(part["value"].mean())
    assert html_report.slice_table(result, "no_such_column") is None


def test_worst_examples_rank_the_failing_reply_first_with_every_variants_score(result) -> None:
    spec = next(s for s in result.metric_specs() if s.name == "plain_text.mean")
    found = worst_examples(result, spec, k=3)
    assert [e.case_id for e in found] == ["c0#0"]  # the only reply with markup; perfect ones are not examples
    replies = {r.variant: r for r in found[0].replies}
    assert replies["echo"].worst and replies["echo"].label == "markup" and HOSTILE_INQUIRY in replies["echo"].reply
    assert not replies["rules"].worst and replies["rules"].value == "1"
    missed = next(s for s in result.metric_specs() if s.name == "escalation.missed_rate")
    assert {r.variant for e in worst_examples(result, missed, k=20) for r in e.replies if r.worst} == {"echo"}


def test_a_comparison_across_runs_gets_its_own_section(result, tmp_path: Path) -> None:
    from evals.compare import pair

    paired = pair(result, "rules", result, "echo", n_boot=100)
    page = Page(html_report.render(result, title="t", comparison=paired))
    assert "comparison" in page.ids() and len(page.tables["comparison"][0]) == 1 + len(paired[paired["label"] != ""])


def test_the_report_renders_in_a_real_browser_with_hostile_text_inert(report: Path) -> None:
    with open_page(report.as_uri()) as (page, requests, errors):
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("document.querySelectorAll('img').length") == 0  # the hostile <img> is text
        body = page.inner_text("body")
        for hostile in (HOSTILE_INQUIRY, HOSTILE_REFERENCE):
            assert hostile in body
        for section in SECTIONS:
            box = page.locator(f"#{section}").bounding_box()
            assert box is not None and box["height"] > 0, section
        boxes = page.evaluate("[...document.querySelectorAll('svg')].map(s => [s.getBBox().width, "
                              "s.getBoundingClientRect().width, s.getBoundingClientRect().height])")
        assert len(boxes) == 2 and all(min(b) > 0 for b in boxes)
        sizes = page.evaluate("[...document.images].map(i => i.naturalWidth)")
        assert all(width > 0 for width in sizes)
        assert page.locator(".business").inner_text() == "containment 0.67"
        assert errors == []
    assert requests and all(url.startswith(("file:", "data:")) for url in requests), requests


def test_a_run_without_headline_metrics_or_a_second_variant_still_renders(tmp_path: Path) -> None:
    single = evaluate([c for c in chats(6)], [KeywordBot()], [EscalationScorer()], Settings(bootstrap=50))
    single = single.__class__(single.replies, single.scores, single.summary.assign(label=""),
                              single.differences, single.manifest)
    page = Page(html_report.render(single, title="one"))
    assert set(SECTIONS) <= page.ids()
    assert "One variant only: nothing to compare." in "".join(page.text)
    # no declared headline: every mean is shown, named after its scorer
    assert [row[0] for row in page.tables["metrics"][0][1:]] == ["escalation"]


def test_a_stand_in_baseline_is_named_with_the_reason(result) -> None:
    diffs = result.differences.assign(fallback_from="human", fallback_reason="human has no replies")
    moved = result.__class__(result.replies, result.scores, result.summary, diffs, result.manifest)
    rows = Page(html_report.render(moved, title="t")).tables["differences"][0][1:]
    assert rows and all(row[2] == "rules standing in for human: human has no replies" for row in rows)


def test_worst_examples_show_the_conversation_so_far(tmp_path: Path) -> None:
    turns = (("customer", "My card <b>was</b> charged twice"), ("agent", "Sorry! Which card?"),
             ("customer", "I need a human agent now"), ("agent", "Let me transfer you."))
    chats = [conversation(f"m{i}", turns, should_escalate=i > 0) for i in range(3)]  # echo misses two
    run = evaluate(chats, [KeywordBot(), EchoBot()], [EscalationScorer()], Settings(bootstrap=50, seed=1))
    page = html_report.write(run, tmp_path / "r.html", title="t", history=history_of(chats, "agent", False, "m"))
    worst = page.read_text().split('id="worst"')[1]
    assert "conversation so far (2 earlier turns)" in worst and "Sorry! Which card?" in worst
    assert "My card &lt;b&gt;was&lt;/b&gt; charged twice" in worst  # earlier turns are text too
    # from the results alone (no dataset recorded), the last message with the reason
    alone = html_report.render(run, title="t").split('id="worst"')[1]
    assert "last message only (dataset conversations not found)" in alone and "conversation so far (" not in alone
