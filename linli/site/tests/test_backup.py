"""``linli backup`` while orders are placed, ``linli restore`` into an empty database.

Slow (subprocesses): about 15 s on PostgreSQL, 20 s on SQLite (its migrate).
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from linli.core.services import token_issue
from linli.site.testing import Cast
from linli.site.tests.served import LINLI, Server, database_url, production_env, run, serving

ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]

pytestmark = pytest.mark.slow


def backup_while_placing(server: Server, token: str, backup: Path) -> list[int]:
    """Orders placed from 4 threads before, during and after a backup; the ids
    acknowledged (201) before the backup began."""
    acknowledged: list[int] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client(k: int) -> None:
        n = 0
        while not stop.is_set() and n < 300:
            n += 1
            status, body, _h = server.request(
                "POST", "/api/v1/orders", {"item": "home_repair", "description": f"{k}-{n}"}, token
            )
            assert status in (201, 429), body
            if status == 201:
                with lock:
                    acknowledged.append(body["id"])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        with lock:
            before = list(acknowledged)
        out = run([LINLI, "backup", str(backup)], server.env)
        assert "backup written" in out
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert before and len(acknowledged) > len(before), "orders were placed around the backup"
    return before


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="pg_dump of the PostgreSQL test database")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres_backup_under_load_restores_every_acknowledged_order(
    cast: Cast, tmp_path: Path
) -> None:
    env = production_env(database_url(), tmp_path, LINLI_RATE_ORDER_PLACE="100000/h")
    backup = tmp_path / "linli.dump"
    with serving(env, tmp_path) as server:
        before = backup_while_placing(server, token_issue(user=cast.a.resident), backup)

    db = settings.DATABASES["default"]
    empty = {**db, "NAME": f"{db['NAME']}_restore"}
    admin = f"host={db.get('HOST') or '127.0.0.1'} port={db.get('PORT') or 5432} user={db.get('USER') or 'postgres'} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{empty["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{empty["NAME"]}"')
    try:
        run([LINLI, "restore", str(backup)], {**env, "DATABASE_URL": database_url(empty)})
        restored_dsn = admin.replace("dbname=postgres", f"dbname={empty['NAME']}")
        with psycopg.connect(restored_dsn) as conn:
            ids = {r[0] for r in conn.execute("SELECT id FROM orders_order").fetchall()}
            applied = conn.execute("SELECT count(*) FROM django_migrations").fetchone()
        assert set(before) <= ids
        assert applied and applied[0] > 0
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{empty["NAME"]}"')


MAKE_CAST = (
    "from linli.site.testing import make_cast; from linli.core.services import token_issue; "
    "print(token_issue(user=make_cast().a.resident))"
)


def test_sqlite_backup_under_load_restores_every_acknowledged_order(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite3"
    env = production_env(f"sqlite:///{live}", tmp_path, LINLI_RATE_ORDER_PLACE="100000/h")
    run([LINLI, "migrate", "--noinput", "-v0"], env)
    token = run([LINLI, "shell", "-c", MAKE_CAST], env).strip().splitlines()[-1]
    backup = tmp_path / "linli.sqlite3.bak"
    with serving(env, tmp_path) as server:
        before = backup_while_placing(server, token, backup)

    empty = tmp_path / "restored.sqlite3"
    run([LINLI, "restore", str(backup)], {**env, "DATABASE_URL": f"sqlite:///{empty}"})
    with sqlite3.connect(empty) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM orders_order")}
    assert set(before) <= ids
    # Restoring over a database that has tables needs --clean.
    refused = subprocess.run(
        [LINLI, "restore", str(backup)],
        env={**env, "DATABASE_URL": f"sqlite:///{empty}"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "--clean" in refused.stderr
