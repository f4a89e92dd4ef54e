"""Where the shipped configs and datasets are, in a checkout and in an installed package.

A wheel carries `conf/` as `evals/_conf` and `datasets/` as `evals/_datasets` (copied at build time by
setup.py); a checkout (and its editable install) reads them in place at the project root. Configs
name shipped files through resolvers, never through the checkout's layout:

    ${evals.conf:}      the shipped config folder (e.g. ${evals.conf:}/prompts/support_agent.md)
    ${evals.datasets:}  the shipped datasets folder
    ${evals.package:}   the installed `evals` package (e.g. its scorer rubrics)

Kept light on purpose: the command line imports this before it knows what it will do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent  # the checkout; in an installed package, its site-packages folder


def _shipped(in_package: str, in_checkout: str) -> Path:
    packaged = PACKAGE_DIR / in_package
    return packaged if packaged.is_dir() else PROJECT_ROOT / in_checkout


CONFIG_DIR = _shipped("_conf", "conf")
DATASETS_DIR = _shipped("_datasets", "datasets")
INSTALLED = CONFIG_DIR.parent == PACKAGE_DIR  # built from a wheel or sdist rather than read from a checkout


def options(folders: list[Path] | tuple[Path, ...], group: str) -> list[str]:
    """The choices of a config group (`variant`, `dataset`, ...) across config folders, sorted."""
    return sorted({p.stem for folder in folders for p in (folder / group).glob("*.yaml")})


def register_resolvers() -> None:
    """Register `${evals.conf:}`, `${evals.datasets:}` and `${evals.package:}` (see the module docstring).

    `${evals.root:}`, the checkout's root, is kept for configs written before a package could be
    installed; it only means something in a checkout.
    """
    from omegaconf import OmegaConf

    for name, folder in (("evals.conf", CONFIG_DIR), ("evals.datasets", DATASETS_DIR),
                         ("evals.package", PACKAGE_DIR), ("evals.root", PROJECT_ROOT)):
        OmegaConf.register_new_resolver(name, lambda folder=folder: str(folder), replace=True)


class NoMultirunConfigCopy:
    """Hydra callback: remove the `multirun.yaml` copy of the config that Hydra's sweeper writes.

    `hydra.output_subdir: null` stops the per-job `.hydra/*.yaml` copies; the sweeper writes its
    copy regardless. A copy would keep any secret a user pasted into the config, while MLflow
    already holds the config with secrets redacted. Removed as soon as the first job starts.
    """

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        self._remove(config)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        self._remove(config)

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        pass

    def on_run_end(self, config: Any, **kwargs: Any) -> None:
        pass

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        pass

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        pass

    @staticmethod
    def _remove(config: Any) -> None:
        from omegaconf import OmegaConf

        if str(OmegaConf.select(config, "hydra.mode")) == "RunMode.MULTIRUN":
            (Path(OmegaConf.select(config, "hydra.sweep.dir")) / "multirun.yaml").unlink(missing_ok=True)
