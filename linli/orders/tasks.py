"""Background jobs of the point-order cycle (Django's Tasks API, django-tasks backport).

``linli worker`` runs them (the django-tasks-db database backend) and also
sweeps deadlines on its own timer; ``sweep_deadlines`` is the same sweep as a
job, for anything that wants one run now (``sweep_deadlines.enqueue()``).
"""

from __future__ import annotations

from django_tasks import task

from linli.orders import services


@task()
def sweep_deadlines() -> dict[str, int]:
    """Flag orders past their accept deadline and take back unaccepted slots.

    Returns the counts of ``services.orders_sweep``: ``{"overdue": n, "returned": m}``.
    Safe to run from several workers at once (each order is handled under its row lock).
    """
    return services.orders_sweep()
