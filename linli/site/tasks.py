"""The workers' heartbeat, as a periodic job (Django's Tasks API)."""

from __future__ import annotations

import os
import socket

from django_tasks import TaskContext, task

from linli.notify import periodic
from linli.site.health import worker_beat


def beat_every(stale_seconds: float) -> float:
    """Beat three times within the staleness /readyz allows, at most once a minute."""
    return max(5.0, min(60.0, stale_seconds / 3))


@task(takes_context=True)
def worker_heartbeat(context: TaskContext) -> str:
    """Periodic: the worker that runs it records that it is alive and taking jobs
    from the queue (what /readyz reads)."""
    with periodic.scheduled(context):
        # The id db_worker runs under (linli worker's own beats use it too).
        ids = context.task_result.worker_ids
        worker_id = ids[-1] if ids else f"{socket.gethostname()}-{os.getpid()}"
        worker_beat(worker_id)
        return worker_id
