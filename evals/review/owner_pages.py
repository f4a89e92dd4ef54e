"""The queue owner's pages: agreement among reviewers, disputes to adjudicate, scorers versus people.

Only a reviewer with the role `owner` may open them (403 otherwise). Unlike reviewers' pages, the
owner's view of an item names the variant behind each reply and shows every reviewer's answers.
The statistics come from evals/review/reliability.py; this module only lays them out.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from evals.errors import UserError
from evals.review import reliability
from evals.review import web_auth as auth
from evals.review import web_render as view
from evals.review.questions import QUESTIONS
from evals.review.store import NOTE, Item, Store

Field = Annotated[str, Form()]


def _number(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "–"


def _alpha_rows(store: Store, n_boot: int) -> list[dict[str, Any]]:
    """Krippendorff's alpha per question (evals/review/reliability.py), laid out for the page."""
    return [{"question": r.question, "level": r.level, "alpha": _number(r.alpha),
             "ci": f"{_number(r.ci_low)} – {_number(r.ci_high)}" if math.isfinite(r.ci_low) else "–",
             "units": r.units, "reviewers": r.reviewers, "labels": r.labels, "verdict": r.verdict,
             "enough": reliability.agrees_enough(r)} for r in reliability.alpha_table(store, n_boot)]


def _common(store: Store, who: auth.Visitor) -> dict[str, Any]:
    return {"me": who.reviewer, "csrf": who.csrf, "queue": store.meta.name}


def owner_router(queue_path: str, n_boot: int = 1000) -> APIRouter:
    """The owner's pages; `n_boot` bootstrap resamples for every confidence interval shown."""
    router = APIRouter(prefix="/owner")

    @router.get("")
    def overview(request: Request) -> Response:
        with Store(queue_path) as store:
            who = auth.owner(request, store)
            labelled = {(lab.reviewer, lab.item_id) for lab in store.labels() if lab.question != NOTE}
            reviewers = [{"name": r.name, "role": r.role, "done": store.progress(r.name).done_by_me,
                          "started": sum(1 for name, _ in labelled if name == r.name)}
                         for r in store.reviewers()]
            progress = store.progress(who.name)
            rows = _alpha_rows(store, n_boot)
            return view.render("owner.html", **_common(store, who), meta=store.meta, alpha=rows,
                               not_enough=[r["question"] for r in rows if not r["enough"]],
                               minimum=reliability.ACCEPTABLE_ALPHA, reviewers=reviewers, total=progress.total,
                               complete=progress.complete, disputed=len(reliability.disputes(store)))

    @router.get("/disputes")
    def dispute_list(request: Request) -> Response:
        with Store(queue_path) as store:
            who = auth.owner(request, store)
            items = {item.item_id: item for item in store.items()}
            rows = [_dispute_view(d, items[d.item_id]) for d in reliability.disputes(store)]
            return view.render("owner_disputes.html", **_common(store, who), disputes=rows,
                               settled=len(store.adjudications()))

    @router.post("/adjudicate")
    def adjudicate(request: Request, csrf: Field = "", item_id: Field = "", slot: Field = "", question: Field = "",
                   value: Field = "", back: Field = "") -> Response:
        with Store(queue_path) as store:
            who = auth.owner(request, store)
            auth.check_csrf(who, csrf)
            if not item_id.isdigit() or (slot and not slot.isdigit()):
                raise HTTPException(400, "Bad item or reply slot.")
            store.adjudicate(int(item_id), int(slot) if slot else None, question, value, who.name)
        # only two places to go back to: no redirect to an address taken from the form
        target = f"/owner/item/{int(item_id)}" if back == "item" else "/owner/disputes"
        return RedirectResponse(target, status_code=303)

    @router.get("/scorers")
    def scorers(request: Request) -> Response:
        with Store(queue_path) as store:
            who = auth.owner(request, store)
            try:
                agreement, worst = reliability.scorers_vs_people(store, n_boot=n_boot)
            except UserError as error:  # no results to compare with, or no labels yet: said on the page
                return view.render("owner_scorers.html", **_common(store, who), problem=str(error), scorers=[],
                                   notes=[], left_out=[])
            return view.render("owner_scorers.html", **_common(store, who), problem="",
                               scorers=_scorer_views(agreement, worst), notes=list(agreement.notes),
                               left_out=agreement.left_out.to_dict("records"))

    @router.get("/item/{item_id}")
    def owner_item(request: Request, item_id: str) -> Response:
        with Store(queue_path) as store:
            who = auth.owner(request, store)
            item = store.item(int(item_id)) if item_id.isdigit() else None
            if item is None:
                raise HTTPException(404, f"There is no item '{item_id}' in this queue.")
            return view.render("owner_item.html", **_common(store, who), item=item,
                               turns=view.conversation(item), units=_units(store, item),
                               notes=_notes(store, item))

    return router


def _dispute_view(d: reliability.Dispute, item: Item) -> dict[str, Any]:
    question = QUESTIONS[d.question]
    return {"item_id": d.item_id, "case_id": d.case_id, "about": view.about(d.slot), "spread": d.spread,
            "slot": "" if d.slot is None else str(d.slot), "question": d.question, "text": question.text,
            "reply": item.candidates[d.slot].text if d.slot is not None else "",
            "history": view.conversation(item),
            "answers": sorted((who, view.answer_text(question, v)) for who, v in d.answers.items()),
            "options": view.option_views(question)}


def _scorer_views(agreement: Any, worst: dict[str, list[reliability.Worst]]) -> list[dict[str, Any]]:
    """Per scorer: its statistics against people (with CIs) and the replies where they differ most."""
    table = agreement.table
    views = []
    for scorer, criterion in agreement.pairs.items():
        rows = table[table.scorer == scorer]
        views.append({
            "scorer": scorer, "criterion": criterion,
            "statistics": [{"statistic": r.statistic, "value": _number(float(r.value)),
                            "ci": f"{_number(float(r.ci_low))} – {_number(float(r.ci_high))}", "n": int(r.n)}
                           for r in rows.itertuples()],
            "worst": [{"item_id": w.item_id, "about": view.about(w.slot), "variant": w.variant,
                       "case_id": w.case_id, "scorer_label": w.scorer_label, "people_label": w.people_label,
                       "gap": f"{w.gap:g}"} for w in worst.get(scorer, [])]})
    return views


def _units(store: Store, item: Item) -> list[dict[str, Any]]:
    """Every question the item asks, with each reviewer's answer and the final one."""
    given: dict[tuple[int | None, str], dict[str, str]] = {}
    for label in store.labels():
        if label.item_id == item.item_id and label.question != NOTE:
            given.setdefault((label.slot, label.question), {})[label.reviewer] = label.value
    finals = store.adjudications()
    rows = []
    for slot, question in store.questions_for(item):
        answers = given.get((slot, question.name), {})
        final = finals.get((item.item_id, slot, question.name), (None,))[0]
        rows.append({"item_id": item.item_id, "about": view.about(slot), "slot": "" if slot is None else str(slot),
                     "question": question.name, "text": question.text,
                     "answers": sorted((who, view.answer_text(question, v)) for who, v in answers.items()),
                     "disputed": len(set(answers.values())) > 1,
                     "final": view.answer_text(question, final) if final is not None else None,
                     "options": view.option_views(question, final)})
    return rows


def _notes(store: Store, item: Item) -> list[tuple[str, str]]:
    return [(lab.reviewer, lab.value) for lab in store.labels()
            if lab.item_id == item.item_id and lab.question == NOTE and lab.value]
