"""The project as a package (issue 22, part 1): the wheel built from the tracked files, installed
with its declared dependencies (at the locked versions) into a fresh virtualenv, gives a working
``latinno`` for every command, run outside the checkout."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from _flow_support import quiet_cli_env
from _venv_support import build_wheel, bytecode_written, make_venv, pip_install

# Building the wheel and installing its dependencies take a minute on a cold uv cache.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parent.parent
# The top-level packages a wheel may put into site-packages (tests/test_layout.py).
TOP_LEVEL = {"latinno", "parsers", "flows", "warehouse"}


def tracked_copy(dest: Path) -> Path:
    """The tracked files of the checkout (what a clone or an sdist has), so building the wheel
    writes its build folders there and never into the working tree."""
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, names):
        source = REPO / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding the wheel and only its declared dependencies; its bin/."""
    work = tmp_path_factory.mktemp("wheel")
    source = tracked_copy(work / "src")
    wheel = build_wheel(source, work / "dist")
    python = make_venv(work / "venv")
    # The wheel's own dependency list decides what is installed; the lock only pins versions.
    pip_install(python, "-c", str(REPO / "requirements.lock"), str(wheel))
    return python.parent


def run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = bytecode_written(quiet_cli_env(cwd))
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "LATINNO_DB", "LATINNO_BASE_URL"):
        env.pop(name, None)
    return subprocess.run(
        [str(bin_dir / "latinno"), *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=600,
    )  # fmt: skip


def test_the_wheel_installs_only_the_project_namespace_and_the_given_packages(
    installed: Path,
) -> None:
    code = "import latinno, warehouse, sys; print(latinno.__file__); print(warehouse.__file__)"
    found = subprocess.run(
        [str(installed / "python"), "-c", code], capture_output=True, text=True, cwd="/"
    )
    assert found.returncode == 0, found.stderr
    site = installed.parent / "lib"
    assert all(Path(line).is_relative_to(site) for line in found.stdout.split()), found.stdout
    (top_level,) = site.glob("python*/site-packages/latinno_pipeline-*.dist-info/top_level.txt")
    assert set(top_level.read_text().split()) == TOP_LEVEL
    # The code's licence travels with it.
    licence = top_level.parent / "licenses" / "LICENSE"
    assert licence.read_text() == (REPO / "LICENSE").read_text()


def test_every_command_works_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    version = run(installed, tmp_path, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"latinno {pyproject['project']['version']}\n"

    # No checkout here: the demo serves the bundled site it renders itself. At full speed (a
    # settings file beside the data it names; the default 2 requests/s took 30 s), and the
    # commands after it use no settings file at all.
    (tmp_path / "fast.yaml").write_text("politeness:\n  rate: 0\n", encoding="utf-8")
    demo = run(installed, tmp_path, "demo", "--config", "fast.yaml")
    assert demo.returncode == 0, demo.stderr
    assert "serving the bundled site" in demo.stdout
    assert (tmp_path / "data" / "latinno.duckdb").is_file()

    query = run(installed, tmp_path, "query", "SELECT count(*) AS n FROM cases", "--format", "csv")
    assert query.returncode == 0, query.stderr
    (row,) = list(csv.DictReader(io.StringIO(query.stdout)))
    assert int(row["n"]) > 0

    export = run(installed, tmp_path, "export", "--out", "exports")
    assert export.returncode == 0, export.stderr
    assert (tmp_path / "exports" / "datapackage.json").is_file()

    release = run(installed, tmp_path, "release", "--out", "citable")
    assert release.returncode == 0, release.stderr
    assert list((tmp_path / "citable").rglob("latinno_cases.dta"))
    assert list((tmp_path / "citable").rglob("latinno_cases.sav"))

    report = run(installed, tmp_path, "report", "--out", "report.html")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report.html").stat().st_size > 0

    status = run(installed, tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert "Warehouse: data/latinno.duckdb" in status.stdout
