"""``/healthz`` and ``/readyz``: the database, the migrations and the workers' heartbeat."""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from linli.site import health
from linli.site.health import worker_beat
from linli.site.models import WorkerHeartbeat
from linli.site.tests.served import Server, free_port, production_env

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_migrations_seen():
    health._migrated = False
    yield
    health._migrated = False


def test_healthz_answers_without_touching_anything(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_fails_when_no_worker_has_beaten(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok" and checks["migrations"] == "ok"
    assert checks["worker"] == "no worker has ever beaten"


def test_readyz_is_ready_after_a_worker_beats(client: Client) -> None:
    worker_beat("host-1")
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
    }


def test_readyz_fails_when_the_last_beat_is_stale(client: Client, settings) -> None:
    settings.LINLI_WORKER_STALE_SECONDS = 60
    worker_beat("host-1")
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - dt.timedelta(seconds=61))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"].startswith("no worker has beaten since")
    worker_beat("host-2")
    assert client.get("/readyz").status_code == 200


def test_worker_beat_updates_its_own_row(client: Client) -> None:
    worker_beat("host-1")
    first = WorkerHeartbeat.objects.get(worker_id="host-1").beat_at
    worker_beat("host-1")
    worker_beat("host-2")
    assert WorkerHeartbeat.objects.count() == 2
    assert WorkerHeartbeat.objects.get(worker_id="host-1").beat_at >= first


def test_readyz_fails_when_a_migration_is_missing(client: Client) -> None:
    worker_beat("host-1")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'site' AND name = '0001_initial'")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 migrations not applied: site.0001_initial"


@pytest.mark.slow
def test_readyz_fails_when_the_database_is_away(tmp_path: Path) -> None:
    # A real server whose database does not answer (nothing listens on port 9).
    env = production_env("postgres://postgres@127.0.0.1:9/linli", tmp_path)
    # Migrations cannot run without the database: start the server alone.
    server = Server(port=free_port(), env=env, log=tmp_path / "serve.log")
    server.start(workers=1)
    try:
        assert server.request("GET", "/healthz")[0] == 200
        status, body, _h = server.request("GET", "/readyz", headers={"X-Forwarded-Proto": "http"})
        assert status == 503
        assert body["checks"]["database"].startswith("database unavailable")
        assert "worker" not in body["checks"]
    finally:
        server.kill(signal.SIGTERM)
