"""``/healthz`` and ``/readyz`` for the proxy and the monitoring, and the
workers' heartbeat that readiness reads.

``/healthz`` answers 200 as long as the process answers (it touches nothing).
``/readyz`` answers 200 only when the database answers, every migration is
applied and a worker has beaten within ``LINLI_WORKER_STALE_SECONDS``;
otherwise 503, with which check failed.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from linli.site.models import WorkerHeartbeat

log = logging.getLogger("linli.health")

# Once every migration was seen applied, a process need not load the
# migration files again: a new release restarts the processes.
_migrated = False


def worker_beat(worker_id: str) -> None:
    """Record that worker ``worker_id`` is alive now (one upsert, no lock held)."""
    WorkerHeartbeat.objects.bulk_create(
        [WorkerHeartbeat(worker_id=worker_id[:64], beat_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["worker_id"],
        update_fields=["beat_at"],
    )


def worker_alive(worker_id: str) -> bool | None:
    """Whether worker ``worker_id`` beat recently; None for a worker that never beat
    (an id no ``linli worker`` of ours recorded)."""
    beat = WorkerHeartbeat.objects.filter(worker_id=worker_id[:64]).values_list(
        "beat_at", flat=True
    )
    last = beat.first()
    if last is None:
        return None
    return last > timezone.now() - dt.timedelta(seconds=settings.LINLI_WORKER_BEAT_LOST)


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"database unavailable: {exc.__class__.__name__}"
    return None


def check_migrations() -> str | None:
    global _migrated
    if _migrated:
        return None
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:5])
        return f"{len(plan)} migrations not applied: {names}"
    _migrated = True
    return None


def check_worker() -> str | None:
    since = timezone.now() - dt.timedelta(seconds=settings.LINLI_WORKER_STALE_SECONDS)
    last = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
    if last is None:
        return "no worker has ever beaten"
    if last < since:
        return f"no worker has beaten since {last.isoformat()}"
    return None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    failed = check_database()
    checks["database"] = failed or "ok"
    if failed is None:
        # The other checks read the database: without it they only repeat its error.
        try:
            checks["migrations"] = check_migrations() or "ok"
            checks["worker"] = check_worker() or "ok"
        except DatabaseError as exc:
            checks.setdefault("migrations", f"database error: {exc.__class__.__name__}")
            checks.setdefault("worker", f"database error: {exc.__class__.__name__}")
    ready = all(v == "ok" for v in checks.values()) and len(checks) == 3
    if not ready:
        log.warning("not ready: %s", checks)
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
