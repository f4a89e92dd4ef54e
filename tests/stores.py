"""Empty MLflow stores for tests, copied from one the session made (conftest.py: `store_template`).

Making an MLflow SQLite store runs its schema migrations, seconds each time; a copy of an empty store made
by the same MLflow is the same store, made in milliseconds.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_store(template: Path, folder: Path, name: str = "mlflow.db") -> str:
    """A copy of the empty `template` store as `folder/name`; its tracking URI."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / name)
    return f"sqlite:///{folder / name}"
