"""Which scorers a gate may rely on: those whose agreement with people reached the configured
minimum (`trust: {scorer: min_kappa}`), measured by `chatbot-evals agree` on this very version.

A scorer without an agreement run at its current version is `unvalidated`; a changed rubric or
judge model is a new version and needs measuring again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from evals.results import version_in


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


# (scorer, version) -> (kappa, agreement run id) of the newest agreement measured on that version, or None.
KappaLookup = Callable[[str, str], "tuple[float, str] | None"]


def assess(minimums: Mapping[str, float], versions: Mapping[str, str], lookup: KappaLookup) -> list[Trust]:
    """Each scorer with a minimum: its version in this run (from the results manifest) and the
    agreement found for exactly that version by `lookup` (the MLflow adapter supplies one)."""
    out = []
    for scorer, minimum in minimums.items():
        version = version_in(scorer, versions) or "offline"
        found = lookup(scorer, version)
        out.append(Trust(scorer, version, float(minimum), *(found or (None, None))))
    return out
