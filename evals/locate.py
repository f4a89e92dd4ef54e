"""Find evaluated results from what a user types: a folder, a run id, a run name, a tag, `released`.

    runs/hydra/2026-12-01/12-00-00-000000/results    a results folder (or the run folder holding one)
    2b818e28b1c0458eb33b7e35fb30d12c                 an MLflow parent run id
    released                                         the newest run marked by `chatbot-evals release`
    tag:dataset=wmt24_chat                           the newest run with this tag
    "human+rules · wmt24_chat · f3d918"              the newest run with this name (as MLflow shows it,
                                                     or the run_name you gave)
    ...#rules                                        any of these, one variant of it

Names, tags and `released` are searched in one MLflow experiment, newest finished parent run first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from evals.errors import UserError
from evals.results import EvalResult

RUN_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Located:
    result: EvalResult
    variant: str | None  # the `#variant` asked for; None = the caller chooses (e.g. every variant)
    run_id: str | None  # None for a folder
    reference: str  # as the user typed it, for messages and labels

    def variants(self) -> list[str]:
        return [self.variant] if self.variant else self.result.variants


def locate(reference: str, tracking_uri: str, experiment: str) -> Located:
    """The results `reference` names (see the module docstring), with its variant checked."""
    where, _, variant = reference.partition("#")
    if not where:
        raise UserError(f"{reference!r}: name the results before '#', e.g. released#{variant or 'rules'}")
    run_id = None
    folder = Path(where)
    if folder.is_dir():
        result = EvalResult.load(folder / "results" if (folder / "results" / "manifest.json").is_file() else folder)
    else:
        from evals import tracking

        if RUN_ID.fullmatch(where):
            run_id = where
        else:
            kind, colon, value = where.partition(":")
            if where == "released":
                tag, name = (tracking.RELEASED_TAG, "true"), None
            elif colon and kind == "tag" and "=" in value:
                tag, name = tuple(value.split("=", 1)), None  # type: ignore[assignment]
            else:
                tag, name = None, where
            folder_meant = name is not None and ("/" in where or "\\" in where)  # a mistyped path
            try:
                run_id = tracking.find_run(tracking_uri, experiment, name=name, tag=tag)
            except UserError:
                if folder_meant:
                    raise UserError(f"{reference}: no such folder") from None
                raise
            if run_id is None and folder_meant:
                raise UserError(f"{reference}: no such folder (nor a finished run of that name in experiment "
                                f"'{experiment}' at {tracking_uri})")
            if run_id is None:
                what = "marked released (chatbot-evals release RUN)" if where == "released" else \
                    f"with tag {value}" if tag else f"named {where!r}"
                raise UserError(f"{reference}: no finished run {what} in experiment '{experiment}' at {tracking_uri}")
        _, result = tracking.load_results(tracking_uri, run_id)
    if variant and variant not in result.variants:
        raise UserError(f"{reference}: no variant {variant!r} (variants: {', '.join(result.variants)})")
    return Located(result, variant or None, run_id, reference)
