"""One embedding cache for every end-to-end job of a test session.

The default scorers embed each distinct text with a model (most of a default job's time). Jobs started in
their own folders would each embed the same shipped sentences again; linking their default cache file
(runs/cache/embeddings.sqlite, relative to the folder a job starts in) to one session file lets a later job
read back the vectors an earlier one computed, while its config stays the default one. The vectors are
deterministic and tested on their own in test_embedding.py.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CACHE = Path("runs") / "cache" / "embeddings.sqlite"  # conf/scorer/{empathy,accuracy}.yaml


def share_embeddings(folder: Path, cache: Path) -> Path:
    """Make `folder`'s default embedding cache a link to the session's `cache`; returns `folder`."""
    link = folder / DEFAULT_CACHE
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(cache)
    return folder
