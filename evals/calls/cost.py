"""Cost of a call from a per-model price table (USD per million tokens)."""

from __future__ import annotations

from collections.abc import Mapping


def price_of(model: str, prices: Mapping[str, Mapping[str, float]] | None,
             prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """Cost in USD; None when the model has no price or the usage is unknown (never a false 0)."""
    price = (prices or {}).get(model)
    if price is None or prompt_tokens is None or completion_tokens is None:
        return None
    return (prompt_tokens * price["input_per_mtok"] + completion_tokens * price["output_per_mtok"]) / 1e6
