"""Background jobs of the point-order cycle (Django's Tasks API, django-tasks backport).

``sweep_deadlines`` is periodic: ``linli worker`` schedules it (every
``--interval`` seconds) and django-tasks-db's worker runs it; each scheduled
run enqueues the next (``linli.notify.periodic``). ``sweep_deadlines.enqueue()``
asks for one extra run now.
"""

from __future__ import annotations

import logging

from django_tasks import TaskContext, task

from linli.notify import periodic
from linli.orders import rollups, services

log = logging.getLogger("linli.jobs")


@task(takes_context=True)
def sweep_deadlines(context: TaskContext) -> dict[str, int]:
    """Flag orders past their accept deadline and take back unaccepted slots.

    Returns the counts of ``services.orders_sweep``: ``{"overdue": n, "returned": m}``.
    Safe to run from several workers at once (each order is handled under its row lock).
    """
    with periodic.scheduled(context):
        counts = services.orders_sweep()
        if any(counts.values()):
            log.info("sweep: %(overdue)s overdue, %(returned)s slots returned to the queue", counts)
        return counts


@task(takes_context=True)
def refresh_rollups(context: TaskContext) -> int:
    """Recompute the indicators' rollup cells that recent writes marked (``orders.rollups``).

    Readers refresh what they read anyway; this keeps their first read cheap."""
    with periodic.scheduled(context):
        n = 0
        while (done := rollups.refresh_stale()) > 0:
            n += done
        return n
