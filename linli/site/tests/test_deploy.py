"""``check --deploy`` with the production settings of deploy/linli.env.example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from linli.site.tests.served import DEPLOY, production_env, unit_commands

pytestmark = pytest.mark.slow


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env={**env, "DJANGO_SETTINGS_MODULE": "linli.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    done = check_deploy(production_env("sqlite:///" + str(tmp_path / "x.sqlite3"), tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = production_env("sqlite:///" + str(tmp_path / "x.sqlite3"), tmp_path)
    del env["SECRET_KEY"]
    done = check_deploy(env)
    assert done.returncode != 0
    assert "LINLI_PRODUCTION is set but SECRET_KEY is not" in done.stderr


def test_the_demo_settings_fail_check_deploy(tmp_path: Path) -> None:
    env = production_env("sqlite:///" + str(tmp_path / "x.sqlite3"), tmp_path)
    del env["LINLI_PRODUCTION"]
    del env["SECRET_KEY"]
    done = check_deploy(env)
    assert done.returncode != 0
    assert "security.W004" in done.stderr + done.stdout  # no HSTS outside production


def test_units_run_linli_commands_that_exist() -> None:
    web = unit_commands("linli-web.service", "ExecStart")
    assert [argv[1:] for argv in web] == [["serve"]]
    assert [argv[1:] for argv in unit_commands("linli-web.service", "ExecStartPre")] == [
        ["migrate", "--noinput"]
    ]
    (worker,) = unit_commands("linli-worker@.service", "ExecStart")
    assert worker[1] == "worker"
    for argv in (web[0], worker):
        done = subprocess.run([argv[0], argv[1], "--help"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    backup = (DEPLOY / "linli-backup.service").read_text()
    assert "/opt/linli/.venv/bin/linli backup " in backup
    nginx = (DEPLOY / "nginx" / "linli.conf").read_text()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "X-Request-ID $request_id" in nginx
