"""The package as users get it: a wheel that carries its configs and datasets, and honest dependencies."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from user_folder import user_folder

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# Declared but not imported by evals, each for a stated reason
NOT_IMPORTED = {
    "evaluate": "part of the required stack with datasets",
    "tabulate": "imported by pandas for DataFrame.to_markdown (evals/report.py)",
    "python-multipart": "imported by FastAPI to read the labelling page's form posts",
}
# What a wheel build needs from the project (tests, bench, docs and runs stay out)
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "evals", "conf", "datasets")


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions(*extras: str) -> set[str]:
    specs = [*PYPROJECT["project"]["dependencies"],
             *(s for e in extras for s in PYPROJECT["project"]["optional-dependencies"][e])]
    return {_normalised(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]) for spec in specs}


def imported_top_level_modules() -> set[str]:
    """Every absolute import in evals/, at module level or inside a function, outside the standard library."""
    found: set[str] = set()
    for path in (ROOT / "evals").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"evals", "__future__"}


def test_declared_dependencies_are_exactly_those_imported() -> None:
    owners = packages_distributions()
    unknown = sorted(m for m in imported_top_level_modules() if m not in owners)
    assert not unknown, f"imported by evals but installed by no distribution: {unknown}"
    declared = declared_distributions()
    # mlflow's modules belong to mlflow, mlflow-skinny and mlflow-tracing: declaring one is enough
    # an extra's module (ray, for shards on a Ray cluster) is imported only when asked for, with an error
    # naming the extra when it is missing
    undeclared = sorted(m for m in imported_top_level_modules()
                        if not declared_distributions("sweeps") & {_normalised(d) for d in owners[m]})
    imported = {_normalised(d) for m in imported_top_level_modules() for d in owners[m]}
    unused = sorted(declared - imported - set(NOT_IMPORTED))
    assert (undeclared, unused) == ([], []), "imported but not declared / declared but not imported"
    assert set(NOT_IMPORTED) <= declared


# --- the wheel ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built offline, like `pip wheel .`, from a copy of the project (the working tree stays clean)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(base / "dist")], check=True, capture_output=True, timeout=300)
    return next((base / "dist").glob("chatbot_evals-*.whl"))


def test_wheel_holds_every_config_and_the_files_the_shipped_configs_name(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"evals/_conf/{p.relative_to(ROOT / 'conf').as_posix()}" for p in (ROOT / "conf").rglob("*")
               if p.is_file()}
    assert configs <= names
    named = set()
    for path in (ROOT / "conf").rglob("*.yaml"):
        for folder, rest in re.findall(r"\$\{evals\.(datasets|conf|package):\}/(\S+)", path.read_text()):
            named.add({"datasets": "evals/_datasets/", "conf": "evals/_conf/", "package": "evals/"}[folder] + rest)
    assert any(n.startswith("evals/_datasets/wmt24_chat/") for n in named)
    assert named <= names
    assert "evals/_datasets/build.py" not in names
    # the labelling page's templates and static files (found next to evals/review/app.py)
    page_files = {f"evals/{p.relative_to(ROOT / 'evals').as_posix()}" for p in (ROOT / "evals" / "review").rglob("*")
                  if p.is_file() and p.suffix in (".html", ".js", ".css")}
    assert "evals/review/static/review.js" in page_files and page_files <= names


def _venv_reusing_project_dependencies(folder: Path) -> Path:
    """A new venv whose own site-packages comes first, then the project venv's (by a .pth file):
    the wheel installs into the first, its dependencies are found in the second. (A venv made by a
    venv's Python cannot use --system-site-packages to reach its parent's packages.)"""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


@pytest.mark.slow
def test_installed_wheel_runs_the_main_job_and_a_user_variant_from_an_empty_folder(wheel: Path,
                                                                                   tmp_path: Path) -> None:
    python = _venv_reusing_project_dependencies(tmp_path / "venv")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(python), "-c", "import evals, evals.config as c; print(evals.__file__); "
                            "print(c.CONFIG_DIR); print(c.INSTALLED)"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert Path(where[0]).is_relative_to(tmp_path / "venv"), "the editable checkout was imported, not the wheel"
    assert Path(where[1]).is_relative_to(tmp_path / "venv") and where[2] == "True"

    script = tmp_path / "venv" / "bin" / "chatbot-evals"
    out = subprocess.run([str(script), "run", "sample.conversations=5"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (work / "runs" / "mlflow.db").is_file() and (work / "runs" / "cache").is_dir()
    assert not list(work.rglob(".hydra")), "Hydra kept a copy of the config"

    # a user's own folder: a variant calling their own module, and their own dataset
    my_conf = user_folder(work)
    out = subprocess.run([str(script), "run", "--config-dir", str(my_conf), "dataset=my_chats", "variant=[mybot]",
                          "scorer=[escalation]", "aggregate.bootstrap=0"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "mybot" in out.stderr + out.stdout

