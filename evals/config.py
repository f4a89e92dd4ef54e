"""Hydra/OmegaConf set-up shared by the command line and the tests."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "conf"


def register_resolvers() -> None:
    """`${evals.root:}` is the project folder, so shipped datasets resolve from any cwd."""
    OmegaConf.register_new_resolver("evals.root", lambda: str(PROJECT_ROOT), replace=True)
