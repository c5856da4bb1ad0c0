"""Run ``linli serve`` (and other ``linli`` commands) as real processes for tests.

The commands are the ones the systemd units in ``deploy/`` run: a test reads
them from the unit files, so the units and the tests cannot drift apart.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
LINLI = str(BIN / "linli")


def unit_commands(unit: str, key: str) -> list[list[str]]:
    """The ``key=`` command lines of a unit in deploy/, with our ``linli``."""
    lines = []
    for line in (DEPLOY / unit).read_text().splitlines():
        if line.startswith(f"{key}="):
            argv = line.removeprefix(f"{key}=").split()
            argv[0] = argv[0].replace("/opt/linli/.venv/bin/linli", LINLI)
            lines.append(argv)
    return lines


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(given: dict[str, Any] | None = None) -> str:
    """A DATABASE_URL for the database this test runs on (its test database)."""
    db: dict[str, Any] = dict(given or settings.DATABASES["default"])
    if "sqlite" in db["ENGINE"]:
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    return (
        f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


def production_env(db_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of deploy/linli.env.example, for a test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    for line in (DEPLOY / "linli.env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            env[name] = value
    env.pop("REDIS_URL", None)  # the tests' processes count alone
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=db_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LINLI_DATA_DIR=str(tmp / "data"),
        STATIC_ROOT=str(tmp / "static"),
        LINLI_PROXY_COUNT="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run(argv: list[str], env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Server:
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    def start(self, workers: int = 2) -> None:
        env = dict(self.env, LINLI_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY=str(workers))
        (argv,) = unit_commands("linli-web.service", "ExecStart")
        with self.log.open("ab") as out:
            # Its own process group: a test kills the master and its workers at once.
            self.proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"linli serve exited:\n{self.log.read_text()}"
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"linli serve did not answer:\n{self.log.read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)
        # SIGKILL leaves gunicorn's workers orphaned for a moment: wait for them.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0) if self.proc else None
            except ProcessLookupError:
                break
            time.sleep(0.1)

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        token: str = "",
        headers: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> tuple[int, Any, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", **(headers or {})}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            if token:
                hdrs["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            ctype = resp.getheader("Content-Type", "")
            payload = json.loads(raw) if raw and "json" in ctype else raw.decode(errors="replace")
            return resp.status, payload, {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()


@contextmanager
def serving(env: dict[str, str], tmp: Path, workers: int = 2) -> Iterator[Server]:
    for argv in unit_commands("linli-web.service", "ExecStartPre"):
        run(argv, env)
    server = Server(port=free_port(), env=env, log=tmp / "serve.log")
    server.start(workers)
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


def json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if re.match(r"^\{.*\}$", line.strip()):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out
