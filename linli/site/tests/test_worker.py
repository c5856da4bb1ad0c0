"""``linli worker``: the periodic jobs, scheduled once, run by django-tasks-db's own worker."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from linli.dispatch.tasks import auto_dispatch_task
from linli.notify import periodic
from linli.notify.models import Notification, PeriodicJob
from linli.notify.tasks import deliver_due
from linli.orders import services
from linli.orders.models import Order
from linli.orders.tasks import sweep_deadlines
from linli.site.models import WorkerHeartbeat
from linli.site.tasks import worker_heartbeat
from linli.site.testing import RACE_MARKS, Cast, race

ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]
PERIODIC: list[Task[Any, Any]] = [
    worker_heartbeat,
    sweep_deadlines,
    auto_dispatch_task,
    deliver_due,
]

# The job loop closes connections it finds outside autocommit, as a
# long-running worker should: on PostgreSQL that would close the connection
# a non-transactional test runs in. (SQLite's in-memory test database is never
# closed.) The mark is conditional so that SQLite runs skip the serialisation.
pytestmark = (
    pytest.mark.django_db(transaction=True, serialized_rollback=True)
    if ON_POSTGRES
    else pytest.mark.django_db
)


def overdue_order(cast: Cast) -> Order:
    order = services.order_place(actor=cast.a.resident, item="home_repair")
    Order.objects.filter(pk=order.pk).update(
        accept_deadline=timezone.now() - dt.timedelta(minutes=1)
    )
    return order


def pending(task: Task[Any, Any]) -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(
            task_path=task.module_path,
            status=TaskResultStatus.READY,
        )
    )


def assert_one_future_run_each(after: dt.datetime) -> None:
    for task in PERIODIC:
        runs = pending(task)
        assert len(runs) == 1, task.module_path
        assert runs[0].run_after > after, task.module_path
        job = PeriodicJob.objects.get(task_path=task.module_path)
        assert job.pending_result_id == str(runs[0].pk)


def test_once_sweeps_through_db_worker_and_leaves_one_next_run_each(cast: Cast) -> None:
    order = overdue_order(cast)
    out = io.StringIO()
    started = timezone.now()

    call_command("worker", "--once", "--interval", "30", stdout=out)

    order.refresh_from_db()
    assert order.overdue
    assert Notification.objects.filter(recipient=cast.a.dispatcher, kind="order_overdue").exists()
    assert "sweep: 1 overdue, 0 slots returned to the queue" in out.getvalue()
    # The sweep ran as a job of the database queue, and succeeded.
    done = DBTaskResult.objects.filter(task_path=sweep_deadlines.module_path).successful()
    assert [r.return_value for r in done] == [{"overdue": 1, "returned": 0}]
    assert_one_future_run_each(started + dt.timedelta(seconds=25))
    assert PeriodicJob.objects.get(task_path=sweep_deadlines.module_path).every == 30


def test_once_again_runs_now_and_still_leaves_one_next_run(cast: Cast) -> None:
    call_command("worker", "--once", stdout=io.StringIO())
    first = {t.module_path: pending(t)[0].pk for t in PERIODIC}
    overdue_order(cast)

    out = io.StringIO()
    call_command("worker", "--once", stdout=out)

    # The scheduled runs are in the future: --once ran an extra one now.
    assert "sweep: 1 overdue" in out.getvalue()
    assert {t.module_path: pending(t)[0].pk for t in PERIODIC} == first
    assert_one_future_run_each(timezone.now())


def test_once_prints_nothing_for_an_empty_sweep(cast: Cast) -> None:
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert "sweep:" not in out.getvalue()


def test_interval_zero_schedules_only_the_heartbeat(cast: Cast) -> None:
    order = overdue_order(cast)
    call_command("worker", "--once", "--interval", "0", stdout=io.StringIO())
    assert not DBTaskResult.objects.filter(
        task_path__in=[t.module_path for t in PERIODIC if t is not worker_heartbeat]
    )
    assert [j.task_path for j in PeriodicJob.objects.all()] == [worker_heartbeat.module_path]
    order.refresh_from_db()
    assert not order.overdue


def test_a_worker_beats_so_that_the_site_is_ready(cast: Cast, client: Client) -> None:
    assert client.get("/readyz").status_code == 503
    call_command("worker", "--once", "--interval", "0", stdout=io.StringIO())
    assert WorkerHeartbeat.objects.count() == 1
    assert client.get("/readyz").status_code == 200


def test_the_scheduled_run_reschedules_itself(cast: Cast) -> None:
    first = periodic.ensure(sweep_deadlines, 120)
    assert periodic.ensure(sweep_deadlines, 120) == first  # already pending: kept
    overdue_order(cast)

    # Jobs only: what runs is the scheduled run, due now.
    call_command("worker", "--once", "--interval", "0", stdout=io.StringIO())

    assert sweep_deadlines.get_result(first).status == TaskResultStatus.SUCCESSFUL
    [following] = pending(sweep_deadlines)
    assert str(following.pk) != first
    assert following.run_after > timezone.now() + dt.timedelta(seconds=100)


def test_a_run_by_hand_does_not_reschedule(cast: Cast) -> None:
    order = overdue_order(cast)
    result = sweep_deadlines.enqueue()

    call_command("worker", "--once", "--interval", "0", stdout=io.StringIO())

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"overdue": 1, "returned": 0}
    order.refresh_from_db()
    assert order.overdue
    assert not DBTaskResult.objects.ready().exists()
    assert not pending(sweep_deadlines)


def test_a_failing_run_still_schedules_the_next(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> dict[str, int]:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "orders_sweep", broken)
    first = periodic.ensure(sweep_deadlines, 60)
    call_command("worker", "--once", "--interval", "0", stdout=io.StringIO())
    assert sweep_deadlines.get_result(first).status == TaskResultStatus.FAILED
    assert len(pending(sweep_deadlines)) == 1


def test_a_lost_pending_run_is_replaced(cast: Cast) -> None:
    first = periodic.ensure(sweep_deadlines, 60)
    DBTaskResult.objects.filter(pk=first).delete()  # pruned, or its worker's database restored
    second = periodic.ensure(sweep_deadlines, 60)
    assert second != first and len(pending(sweep_deadlines)) == 1


@RACE_MARKS[0]
@RACE_MARKS[1]
def test_workers_starting_together_schedule_one_run(cast: Cast) -> None:
    ids = race([lambda: periodic.ensure(sweep_deadlines, 60) for _ in range(4)])
    assert len(set(ids)) == 1, ids
    assert len(pending(sweep_deadlines)) == 1


def test_a_notification_is_delivered_by_the_worker(
    cast: Cast, settings: object, django_capture_on_commit_callbacks: object
) -> None:
    from linli.notify.models import Delivery
    from linli.notify.tests.test_delivery import WEBHOOK, Gateway

    with Gateway([]) as gateway:
        settings.LINLI_NOTIFY_CHANNELS = WEBHOOK  # type: ignore[attr-defined]
        settings.LINLI_NOTIFY_WEBHOOK_URL = gateway.url  # type: ignore[attr-defined]
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            order = services.order_place(actor=cast.a.resident, item="home_repair")
        # Nothing is sent in the request's thread: the job sends it.
        assert gateway.posts == []
        call_command("worker", "--once", "--interval", "0", stdout=io.StringIO())
    assert [body["kind"] for _s, body, _h in gateway.posts] == ["order_placed"]
    assert f"#{order.pk}" in gateway.posts[0][1]["text"]
    assert Delivery.objects.get().status == "sent"


def test_a_run_taken_by_a_worker_that_stopped_beating_is_run_again(cast: Cast) -> None:
    """A worker killed mid-run leaves it RUNNING: once its heartbeat is old, the
    schedule puts a new run in its place; a live worker's run is kept."""
    from linli.site.health import worker_alive, worker_beat

    first = periodic.ensure(sweep_deadlines, 120)
    DBTaskResult.objects.filter(id=first).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now(), worker_ids=["host-1"]
    )
    worker_beat("host-1")
    assert periodic.ensure(sweep_deadlines, 120, alive=worker_alive) == first  # alive: kept
    lost = timezone.now() - dt.timedelta(seconds=settings.LINLI_WORKER_BEAT_LOST + 1)
    WorkerHeartbeat.objects.filter(worker_id="host-1").update(beat_at=lost)
    second = periodic.ensure(sweep_deadlines, 120, alive=worker_alive)
    assert second != first
    assert periodic.next_run(sweep_deadlines).id == second
    # A run whose worker never beat (not ours to ask) waits for LINLI_PERIODIC_STALE.
    DBTaskResult.objects.filter(id=second).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now(), worker_ids=["elsewhere"]
    )
    assert periodic.ensure(sweep_deadlines, 120, alive=worker_alive) == second
