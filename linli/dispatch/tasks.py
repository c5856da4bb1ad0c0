from __future__ import annotations

from django_tasks import task

from linli.dispatch.services import auto_dispatch


@task()
def auto_dispatch_task() -> dict[str, int]:
    """Batch-assign open slots in communities that chose automatic dispatch."""
    return auto_dispatch()
