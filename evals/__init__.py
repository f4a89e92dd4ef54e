"""Offline evaluation of customer-service chatbots: empathy, accuracy and hand-off, with people's agreement.

The Python API (no Hydra, MLflow or terminal inside)::

    import evals
    from evals.variants.human import HumanVariant
    from evals.scorers.escalation import EscalationScorer

    result = evals.evaluate("chats.jsonl", [HumanVariant()], [EscalationScorer()], evals.Settings(bootstrap=1000))
    result.summary                     # variant x metric: value, CI, n
    result.save("results/")            # Parquet tables + manifest.json; evals.EvalResult.load("results/")

`evaluate`, `Settings`, `EvalResult`, `Memory`, `Case`, `Conversation`, `Inquiry`, `Answer`, `Reply`,
`Score`, `Variant`, `Scorer` are importable from here; they load on first use, so `import evals` (and
`chatbot-evals --help`) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "evaluate": "evals.api", "Settings": "evals.api",
    "EvalResult": "evals.results", "Memory": "evals.memory",
    "evaluate_sharded": "evals.sharding", "Sharding": "evals.sharding",
    **{name: "evals.types" for name in ("Case", "Conversation", "Inquiry", "Answer", "Reply", "Score", "Variant",
                                        "Scorer", "Turn", "Reference")},
}
__all__ = ["Answer", "Case", "Conversation", "EvalResult", "Inquiry", "Memory", "Reference", "Reply", "Score",
           "Scorer", "Settings", "Sharding", "Turn", "Variant", "evaluate", "evaluate_sharded"]

if TYPE_CHECKING:
    from evals.api import Settings, evaluate
    from evals.memory import Memory
    from evals.results import EvalResult
    from evals.sharding import Sharding, evaluate_sharded
    from evals.types import Answer, Case, Conversation, Inquiry, Reference, Reply, Score, Scorer, Turn, Variant


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'evals' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
