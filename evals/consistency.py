"""How consistent a variant is when each decision point is replayed k times (`replay.repeats=k`).

Per decision point and score, a trial passes when its value is at or above the pass threshold
(for the escalation score, 1 is a correct hand-off decision and 0 a wrong one). Then, per variant:

    <score>.pass_at_k    pass@k: share of decision points where at least one of the k trials passed
    <score>.pass_all_k   pass^k: share where all k passed (the bot can be relied on every time)

The mean over all trials is the score's usual `<score>.mean`. Decision points with an unscored trial
are left out of pass^k and pass@k for that score (n says how many remain). Intervals resample whole
conversations, like every other metric (evals/aggregate.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from evals.aggregate import MetricSpec, summarise


def consistency(scores: pd.DataFrame, trials: Mapping[str, str], k: int, threshold: float,
                headline: Mapping[str, str] = {}, **stats: float) -> pd.DataFrame:
    """Summary rows (as `summarise` gives) of pass_at_k and pass_all_k for every score, from the scores table.

    `trials` maps each trial's case id to its decision point; `headline` maps a score to its report label,
    and its pass^k becomes a headline metric too."""
    frame = scores.assign(point=scores["case_id"].map(trials))
    grouped = frame.groupby(["variant", "scorer", "point"], sort=False)
    per_point = grouped.agg(conversation_id=("conversation_id", "first"), trials=("value", "size"),
                            scored=("value", "count"), passed=("value", lambda v: int((v >= threshold).sum())))
    per_point = per_point[per_point["scored"] == per_point["trials"]].reset_index()
    rows = []
    for name, passes in ((f"pass_at_{k}", per_point["passed"] > 0),
                         (f"pass_all_{k}", per_point["passed"] == per_point["trials"])):
        rows.append(per_point.assign(scorer=per_point["scorer"] + f".{name}", value=passes.astype(float),
                                     case_id=per_point["point"], label=None))
    table = pd.concat(rows, ignore_index=True)[["variant", "case_id", "conversation_id", "scorer", "value", "label"]]
    specs = [MetricSpec(name, name, None, "higher", "decision points with every trial scored",
                        f"{headline[score]}: all {k} trials pass" if name.endswith(f".pass_all_{k}") and
                        (score := name.rsplit(".", 1)[0]) in headline else "")
             for name in dict.fromkeys(table["scorer"])]
    return summarise(table, specs, **stats)  # type: ignore[arg-type]
