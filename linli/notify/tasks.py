"""Delivery jobs (Django's Tasks API; ``linli worker`` runs them)."""

from __future__ import annotations

import logging

from django_tasks import TaskContext, task

from linli.notify import periodic, services

log = logging.getLogger("linli.jobs")


@task()
def deliver(delivery_id: int) -> str:
    """Send one delivery (``services.delivery_attempt``): sent, retry, failed or skipped."""
    return services.delivery_attempt(delivery_id)


@task(takes_context=True)
def deliver_due(context: TaskContext) -> dict[str, int]:
    """Periodic: every delivery that is due and whose job was lost or is late."""
    with periodic.scheduled(context):
        counts = services.deliveries_due()
        if counts["sent"] or counts["retry"] or counts["failed"]:
            log.info("deliveries: %(sent)s sent, %(retry)s to retry, %(failed)s given up", counts)
        return counts
