"""Background jobs of dispatch (Django's Tasks API)."""

from __future__ import annotations

import logging

from django_tasks import TaskContext, task

from linli.dispatch.services import auto_dispatch
from linli.notify import periodic

log = logging.getLogger("linli.jobs")


@task(takes_context=True)
def auto_dispatch_task(context: TaskContext) -> dict[str, int]:
    """Periodic: batch-assign open slots in communities that chose automatic dispatch."""
    with periodic.scheduled(context):
        counts = auto_dispatch()
        if counts.get("applied"):
            log.info("automatic dispatch: %s slots dispatched", counts["applied"])
        return counts
