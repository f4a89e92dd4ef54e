"""Which scorers a gate may rely on: those whose agreement with people reached the configured
minimum (`trust: {scorer: min_kappa}`), measured by `chatbot-evals agree` on this very version.

A scorer without an agreement run at its current version is `unvalidated`; a changed rubric or
judge model is a new version and needs measuring again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evals.tracking import latest_kappa
from evals.types import Score


@dataclass(frozen=True)
class Trust:
    scorer: str
    version: str
    minimum: float
    kappa: float | None
    agreement_run: str | None

    @property
    def status(self) -> str:
        if self.kappa is None:
            return "unvalidated"
        return "trusted" if self.kappa >= self.minimum else "untrusted"

    def __str__(self) -> str:
        if self.kappa is None:
            return (f"{self.scorer}: unvalidated (no agreement run for version {self.version}; "
                    "run chatbot-evals agree)")
        return (f"{self.scorer}: {self.status} (kappa {self.kappa:.2f} vs minimum {self.minimum:g}, "
                f"agreement run {self.agreement_run})")


def scorer_version(scores: Sequence[Score], scorer: str) -> str:
    """A scorer's version as the agreement command records it (`offline` without one)."""
    return next((s.version for s in scores if s.scorer == scorer and s.version), "offline")


def assess(experiment_id: str, minimums: Mapping[str, float], scores: Sequence[Score]) -> list[Trust]:
    out = []
    for scorer, minimum in minimums.items():
        version = scorer_version(scores, scorer)
        found = latest_kappa(experiment_id, scorer, version)
        out.append(Trust(scorer, version, float(minimum), *(found or (None, None))))
    return out
