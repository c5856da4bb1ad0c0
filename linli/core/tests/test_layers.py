"""The layers hold: ``lint-imports`` (in .ci/run) passes on the code, and fails
on a copy of it given one import the contract forbids."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="needs import-linter")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
    )


def test_the_code_keeps_its_layers():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # upward: the bottom layer reaching for the orders
        (
            "core/rules.py",
            "from linli.orders import models as _up",
            "linli.core.rules -> linli.orders",
        ),
        # upward by one: orders reaching for the dispatch engine above it
        ("orders/load.py", "import linli.dispatch.engine", "linli.orders.load -> linli.dispatch"),
        # sideways: people and teams are independent of each other
        (
            "people/validators.py",
            "import linli.teams.models",
            "linli.people.validators -> linli.teams",
        ),
    ],
)
def test_one_forbidden_import_breaks_the_contract(tmp_path, module, line, broken):
    shutil.copytree(
        ROOT / "linli",
        tmp_path / "linli",
        ignore=shutil.ignore_patterns("__pycache__", "static", "locale", "*.pyc"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "linli" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    r = _lint(tmp_path)
    assert r.returncode != 0
    assert "BROKEN" in r.stdout and broken in r.stdout, r.stdout
