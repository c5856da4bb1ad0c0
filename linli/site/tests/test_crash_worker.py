"""SIGKILL a worker in the middle of the deadline sweep, for real: after a new
worker has run, every effect of the sweep happened exactly once.

The worker is ``linli worker`` as deploy/linli-worker@.service runs it, on the
PostgreSQL test database. Slow (subprocesses, some hundred orders): about 20 s.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from linli.notify.models import Delivery, Notification
from linli.orders.models import Order, OrderEvent, OrderStatus, ServiceItem, Slot, SlotStatus
from linli.site.testing import Cast
from linli.site.tests.served import database_url, production_env, unit_commands

ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="worker processes share the PostgreSQL database"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ORDERS = 500  # enough that the sweep takes seconds: there is a middle to kill it in


def overdue_orders(cast: Cast) -> tuple[list[int], list[int]]:
    """ORDERS orders past their accept deadline; every other one dispatched to a
    member who let the slot's own deadline pass too."""
    past = timezone.now() - dt.timedelta(hours=1)
    member = cast.a.member
    assert member is not None and cast.a.person is not None
    member.max_concurrent = ORDERS
    member.save(update_fields=["max_concurrent"])
    item = ServiceItem.objects.get(code="home_repair")
    orders = Order.objects.bulk_create(
        Order(
            resident=cast.a.person,
            community=cast.a.center,
            placed_by=cast.a.resident,
            placed_as="self",
            channel="app",
            item=item,
            status=OrderStatus.DISPATCHED if i % 2 else OrderStatus.SUBMITTED,
            accept_deadline=past,
            complete_deadline=past + dt.timedelta(days=2),
            created_at=past - dt.timedelta(hours=1),
        )
        for i in range(ORDERS)
    )
    OrderEvent.objects.bulk_create(
        OrderEvent(order=o, action="place", to_status=OrderStatus.SUBMITTED) for o in orders
    )
    slots = Slot.objects.bulk_create(
        Slot(
            order=o,
            index=1,
            status=SlotStatus.ASSIGNED if i % 2 else SlotStatus.OPEN,
            member=member if i % 2 else None,
            dispatched_at=past if i % 2 else None,
            accept_deadline=past if i % 2 else None,
        )
        for i, o in enumerate(orders)
    )
    return [o.pk for o in orders], [s.pk for s in slots if s.member_id]


def start_worker(env: dict[str, str], log: Path, name: str) -> subprocess.Popen[bytes]:
    (argv,) = unit_commands("linli-worker@.service", "ExecStart")
    argv = [a.replace("%H-%i", name) for a in argv]
    with log.open("ab") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_mid_sweep_then_a_new_worker_does_every_effect_exactly_once(
    cast: Cast, tmp_path: Path
) -> None:
    order_ids, slot_ids = overdue_orders(cast)
    env = production_env(
        database_url(),
        tmp_path,
        LINLI_SWEEP_INTERVAL="1",
        # A run that has been RUNNING this long is a dead worker's: run it again.
        LINLI_PERIODIC_STALE="2",
        LINLI_NOTIFY_SWEEP_INTERVAL="1",
        # Production sends no notification to the console; here its printed
        # lines are how the test counts what was sent.
        LINLI_NOTIFY_CHANNELS="linli.notify.channels.InboxChannel,linli.notify.channels.ConsoleChannel",
    )
    log = tmp_path / "worker.log"
    flagged = Order.objects.filter(pk__in=order_ids, overdue=True)

    first = start_worker(env, log, "crash-1")
    try:
        wait_for(lambda: flagged.count() >= 10, 60, "the sweep to start")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    done_at_kill = flagged.count()
    assert 0 < done_at_kill < ORDERS, f"killed mid-sweep ({done_at_kill} of {ORDERS})"

    second = start_worker(env, log, "crash-2")
    try:
        wait_for(lambda: flagged.count() == ORDERS, 90, f"the sweep to finish:\n{log.read_text()}")
        # ... and the deliveries of what it wrote.
        wait_for(
            lambda: not Delivery.objects.exclude(status=Delivery.Status.SENT).exists(),
            60,
            "every delivery",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    # Every order flagged once, every late slot taken back once.
    overdue = Counter(
        OrderEvent.objects.filter(order_id__in=order_ids, action="overdue").values_list(
            "order_id", flat=True
        )
    )
    assert set(overdue) == set(order_ids) and set(overdue.values()) == {1}
    expired = Counter(
        OrderEvent.objects.filter(slot_id__in=slot_ids, action="expire").values_list(
            "slot_id", flat=True
        )
    )
    assert set(expired) == set(slot_ids) and set(expired.values()) == {1}
    assert not Slot.objects.filter(pk__in=slot_ids).exclude(status=SlotStatus.OPEN).exists()
    # One notification per effect, each delivered once per channel.
    told = Counter(
        Notification.objects.filter(kind="order_overdue").values_list("recipient_id", "link")
    )
    assert len(told) == ORDERS and set(told.values()) == {1}
    lost = Notification.objects.filter(kind="slot_expired", recipient=cast.a.volunteer).count()
    assert lost == len(slot_ids)
    assert not Delivery.objects.exclude(status=Delivery.Status.SENT).exists()
    # The console channel printed each of them: at least once, and a second
    # time only for the one a worker may have been sending when it was killed
    # (the webhook channel names each delivery so that a gateway drops that repeat).
    printed = Counter(
        re.findall(r"^\[notify\] baihua-dispatcher: 订单 #(\d+)(?:\(|（)", log.read_text(), re.M)
    )
    assert set(map(int, printed)) == set(order_ids), "every overdue order was told"
    assert sum(n - 1 for n in printed.values()) <= 1, printed.most_common(3)
