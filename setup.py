"""Ships the configs and datasets inside the package: conf/ -> evals/_conf, datasets/ -> evals/_datasets.

Everything else is in pyproject.toml. They stay at the project root, where they are edited; a wheel
(or a non-editable install) gets copies at build time, found by evals.config. An editable install
reads them in place, so nothing is copied then.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"conf": "_conf", "datasets": "_datasets"}  # project folder -> folder inside the package
LEFT_OUT = shutil.ignore_patterns("build.py", "__pycache__", "*.pyc")  # datasets/build.py rebuilds them


class BuildPyWithConfigs(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for source, target in SHIPPED.items():
            copy = Path(self.build_lib, "evals", target)
            shutil.rmtree(copy, ignore_errors=True)  # a stale build/ must not keep deleted configs
            shutil.copytree(ROOT / source, copy, ignore=LEFT_OUT)


setup(cmdclass={"build_py": BuildPyWithConfigs})
