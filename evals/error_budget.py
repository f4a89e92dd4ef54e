"""How many replies failed, per variant, and whether that exceeds the run's error budget.

Counted reply by reply, so a run streamed in chunks or split into shards tallies as it goes and
keeps only the counts and its commonest errors.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ErrorBudget:
    replies: Counter[str] = field(default_factory=Counter)  # variant -> replies
    failed: Counter[str] = field(default_factory=Counter)  # variant -> failed replies
    errors: dict[str, Counter[str]] = field(default_factory=dict)  # variant -> error text -> count

    def add(self, variant: str, error: str | None, missing: bool) -> None:
        """One reply. A decision point the data has no reply for (the human or recorded variant,
        `missing`) is not a failure of the bot and does not count."""
        self.replies[variant] += 1
        if error and not missing:
            self.failed[variant] += 1
            self.errors.setdefault(variant, Counter())[error[:160]] += 1

    def problems(self, max_error_rate: float) -> list[str]:
        """One line per variant whose failed replies exceed the budget, with the commonest errors."""
        lines = []
        for variant, total in self.replies.items():
            failed = self.failed[variant]
            if total and failed / total > max_error_rate:
                top = "; ".join(f"{n}x {e}" for e, n in self.errors[variant].most_common(3))
                lines.append(f"{variant}: {failed} of {total} replies failed "
                             f"({failed / total:.0%} > replay.max_error_rate {max_error_rate:g}): {top}")
        return lines
