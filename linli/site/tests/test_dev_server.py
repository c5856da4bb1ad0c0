"""The database configuration holds whichever way the database is chosen and
whatever serves it: the development server (a thread per request) under
concurrent writes, on a SQLite file given by ``DATABASE_URL`` and on
PostgreSQL. Slow (subprocesses): about 20 s."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from linli.site.tests.served import LINLI, Server, database_url, free_port, production_env, run

ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]

SETUP = """
import json
from linli.core.services import token_issue
from linli.site.testing import make_cast
cast = make_cast()
print(json.dumps([token_issue(user=u) for u in (cast.a.resident, cast.b.resident)]))
"""


def dev_server(env: dict[str, str], tmp: Path) -> tuple[Server, subprocess.Popen[bytes]]:
    server = Server(port=free_port(), env=env, log=tmp / "runserver.log")
    with server.log.open("ab") as out:
        proc = subprocess.Popen(
            [LINLI, "runserver", f"127.0.0.1:{server.port}", "--noreload", "--skip-checks"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, server.log.read_text()
        try:
            if server.request("GET", "/healthz")[0] == 200:
                return server, proc
        except OSError:
            time.sleep(0.2)
    raise AssertionError(server.log.read_text())


def place_concurrently(server: Server, tokens: list[str], threads: int, each: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        for n in range(each):
            status, _body, _h = server.request(
                "POST",
                "/api/v1/orders",
                {"item": "home_repair", "description": f"并发 {k}-{n}"},
                tokens[k % len(tokens)],
            )
            with lock:
                statuses.append(status)

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    return statuses


@pytest.mark.slow
@pytest.mark.skipif(ON_POSTGRES, reason="a SQLite file of its own; run once, in the SQLite suite")
def test_a_sqlite_url_gets_the_busy_timeout_and_immediate_transactions(tmp_path: Path) -> None:
    """Was: 69 of 250 concurrent requests "database is locked" with DATABASE_URL=sqlite:///…"""
    env = production_env(
        f"sqlite:///{tmp_path / 'linli.sqlite3'}", tmp_path, LINLI_RATE_ORDER_PLACE="100000/h"
    )
    run([LINLI, "migrate", "--noinput"], env)
    tokens = json.loads(run([LINLI, "shell", "-c", SETUP], env).strip().splitlines()[-1])
    server, proc = dev_server(env, tmp_path)
    try:
        statuses = place_concurrently(server, tokens, threads=16, each=10)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert statuses.count(201) == 160, (sorted(set(statuses)), server.log.read_text()[-2000:])


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="counts PostgreSQL's connections")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_development_server_on_postgresql_does_not_pile_up_connections(
    cast: object, tmp_path: Path
) -> None:
    """Was: with conn_max_age=60 and a thread per request, 99 of 100 connections held."""
    from linli.core.services import token_issue

    tokens = [token_issue(user=cast.a.resident), token_issue(user=cast.b.resident)]  # type: ignore[attr-defined]
    env = production_env(database_url(), tmp_path, LINLI_RATE_ORDER_PLACE="100000/h")
    env.pop("LINLI_DB_CONN_MAX_AGE", None)
    server, proc = dev_server(env, tmp_path)
    name = settings.DATABASES["default"]["NAME"]

    def held() -> int:
        with connection.cursor() as c:
            c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            return int(c.fetchone()[0])

    try:
        statuses = place_concurrently(server, tokens, threads=20, each=6)
        time.sleep(0.5)
        after = held()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert statuses.count(201) == 120, sorted(set(statuses))
    assert after <= 2, f"{after} connections still held after the requests"
