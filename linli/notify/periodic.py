"""Jobs that run every so often, on django-tasks' public API alone.

django-tasks has no scheduler. A periodic job is an ordinary task
(``takes_context=True``) whose body runs inside ``scheduled(context)``: when
the run that finishes is the job's scheduled one, it enqueues the next run
with ``run_after = now + every``. ``ensure`` (called by ``linli worker``
before it starts ``db_worker``) enqueues a first run when none is pending.
Both change the job's ``PeriodicJob`` row under its lock and in the same
transaction as the enqueue (the database backend stores jobs in the same
database), so however many workers start or finish runs, exactly one run of
each periodic job is pending. A run enqueued by hand (``task.enqueue()``) is
not the scheduled one and does not reschedule.

A worker killed in the middle of a run leaves it RUNNING for ever. ``ensure``
takes such a run for dead, and enqueues a new one, once the worker that
took it has stopped beating (``alive``, which ``linli worker`` passes: each
worker records its own heartbeat while it runs) -- or, when nobody can say,
once it has been running for ``LINLI_PERIODIC_STALE`` seconds. Every
periodic job is idempotent (each order swept under its lock and re-checked,
each delivery claimed by one conditional update), so the rare second run of
a slow one is harmless.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskContext, TaskResult, TaskResultStatus
from django_tasks.base import Task
from django_tasks.exceptions import TaskResultDoesNotExist

from linli.notify.models import PeriodicJob


def _locked(task: Task[Any, Any], every: float | None = None) -> PeriodicJob:
    PeriodicJob.objects.get_or_create(task_path=task.module_path, defaults={"every": every or 60.0})
    return PeriodicJob.objects.select_for_update().get(task_path=task.module_path)


Alive = Callable[[str], bool | None]


def _pending(
    task: Task[Any, Any], result_id: str, alive: Alive | None = None
) -> TaskResult[Any] | None:
    """The run of that id, if it has yet to finish and its worker lives.

    ``alive(worker_id)``: True or False when the caller knows, None when not.
    """
    if not result_id:
        return None
    try:
        result = task.get_result(result_id)
    except TaskResultDoesNotExist:
        return None
    if result.status == TaskResultStatus.READY:
        return result
    if result.status == TaskResultStatus.RUNNING:
        known = alive(result.worker_ids[-1]) if alive and result.worker_ids else None
        if known is not None:
            return result if known else None
        stale = timezone.now() - dt.timedelta(seconds=settings.LINLI_PERIODIC_STALE)
        if result.started_at is None or result.started_at > stale:
            return result
    return None


def ensure(
    task: Task[Any, Any],
    every: float,
    first_run_at: dt.datetime | None = None,
    alive: Alive | None = None,
) -> str:
    """Make sure one run of ``task`` is pending, every ``every`` seconds from now on; its id.

    A pending run is kept (its time too); without one -- or when the one
    pending was taken by a worker that died (``alive``) -- a run is enqueued
    for ``first_run_at`` (default: now).
    """
    with transaction.atomic():
        job = _locked(task, every)
        job.every = every
        pending = _pending(task, job.pending_result_id, alive)
        if pending is None:
            at = first_run_at or timezone.now()
            job.pending_result_id = task.using(run_after=at).enqueue().id
            job.next_run_at = at
        job.save(update_fields=["every", "pending_result_id", "next_run_at"])
        return job.pending_result_id


def next_run(task: Task[Any, Any]) -> TaskResult[Any] | None:
    """The pending run of ``task``, if its schedule has one."""
    job = PeriodicJob.objects.filter(task_path=task.module_path).first()
    return _pending(task, job.pending_result_id) if job else None


def is_due(task: Task[Any, Any]) -> bool:
    """Whether the scheduled run of ``task`` may run now (False without a schedule)."""
    job = PeriodicJob.objects.filter(task_path=task.module_path).first()
    return bool(job and job.next_run_at and job.next_run_at <= timezone.now())


def _reschedule(task: Task[Any, Any], result_id: str) -> None:
    with transaction.atomic():
        job = PeriodicJob.objects.select_for_update().filter(task_path=task.module_path).first()
        if job is None or job.pending_result_id != result_id:
            return  # a run by hand, or one that a newer schedule replaced
        at = timezone.now() + dt.timedelta(seconds=job.every)
        job.pending_result_id = task.using(run_after=at).enqueue().id
        job.next_run_at = at
        job.save(update_fields=["pending_result_id", "next_run_at"])


@contextmanager
def scheduled(context: TaskContext) -> Iterator[None]:
    """Run a periodic job's body; then, if this was the scheduled run, schedule the next.

    The next run is scheduled whether the body succeeds or fails: a failed
    sweep is tried again on the next beat.
    """
    try:
        yield
    finally:
        result = context.task_result
        _reschedule(result.task, result.id)
