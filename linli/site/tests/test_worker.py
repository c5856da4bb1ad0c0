"""``linli worker``: the sweep it runs itself and the jobs it takes from the database queue."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from linli.notify.models import Notification
from linli.orders import services
from linli.orders.models import Order
from linli.orders.tasks import sweep_deadlines
from linli.site.testing import Cast

ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]

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


def test_once_sweeps_and_reports(cast: Cast) -> None:
    order = overdue_order(cast)
    out = io.StringIO()

    call_command("worker", "--once", stdout=out)

    order.refresh_from_db()
    assert order.overdue
    assert Notification.objects.filter(recipient=cast.a.dispatcher, kind="order_overdue").exists()
    assert "sweep: 1 overdue, 0 slots returned to the queue" in out.getvalue()


def test_once_prints_nothing_for_an_empty_sweep(cast: Cast) -> None:
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert "sweep:" not in out.getvalue()


def test_enqueued_sweep_runs_to_completion_on_the_database_backend(cast: Cast) -> None:
    order = overdue_order(cast)
    result = sweep_deadlines.enqueue()
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.READY

    # --interval 0: no sweep of the worker's own, so the job is what flags the order.
    call_command("worker", "--once", "--interval", "0", stdout=io.StringIO())

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"overdue": 1, "returned": 0}
    order.refresh_from_db()
    assert order.overdue
    assert not DBTaskResult.objects.ready().exists()


def test_sweep_task_called_directly_returns_counts(cast: Cast) -> None:
    overdue_order(cast)
    assert sweep_deadlines.call() == {"overdue": 1, "returned": 0}
    assert sweep_deadlines.call() == {"overdue": 0, "returned": 0}
