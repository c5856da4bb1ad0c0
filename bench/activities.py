"""Benchmark the activity pages with a season of demo data (run by hand, not a test).

    python bench/activities.py                  # a throwaway SQLite demo (1 % of Cenxi)
    python bench/activities.py --extra 20       # and 20 more weeks of every series
    python bench/activities.py --json

It seeds the demo (its season: every community's birthday parties, 亲子有约 and
talks, the 老年大学分校's weekly songs and music class, 百花's daily opera, the
summer and winter classes), optionally lengthens the room calendar with
``--extra`` weeks of weekly sessions in every room, then times through
Django's test client, as the users in the demo would call them:

* ``rooms week``: the dispatcher's week of every room of 百花社区
  (``/activities/rooms/``), this week and a busy past week;
* ``activity list``: the resident's activities near them this week
  (``/activities/``), and filtered to the elders';
* the same two reads as selectors alone (``selectors.room_week``,
  ``selectors.sessions_between``).

It prints the median and 95th percentile milliseconds of ``--repeat`` calls and
the query count of each, and the ratio of the busiest to the quietest.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _setup(data_dir: str) -> None:
    os.environ["LINLI_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed", verbosity=0, stdout=open(os.devnull, "w"))


def _extra(weeks: int) -> int:
    """``weeks`` more weeks of a weekly evening session in every free community room."""
    from django.utils import timezone

    from linli.activities import services
    from linli.core.errors import AppError
    from linli.core.models import User
    from linli.network.models import Center, Room

    city = User.objects.get(username="demo-city")
    n = 0
    day = timezone.localdate() - dt.timedelta(weeks=weeks // 2)
    tz = timezone.get_current_timezone()
    for room in Room.objects.filter(center__kind=Center.Kind.COMMUNITY).exclude(kind="canteen"):
        starts = dt.datetime.combine(day, dt.time(19, 0), tz)
        data = services.ActivityInput(
            title=f"{room.name}晚间活动",
            kind="health_talk",
            room=room.pk,
            starts=starts,
            ends=starts + dt.timedelta(hours=1),
            capacity=min(20, room.capacity),
            mode="drop_in",
            rrule=f"FREQ=WEEKLY;COUNT={weeks}",
        )
        with contextlib.suppress(AppError):
            services.activity_create(actor=city, data=data)
            n += weeks
    return n


def _time(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    from django.db import connection

    call()  # warm
    count = [0]

    def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        call()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "queries": count[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--extra", type=int, default=0, help="weeks of extra weekly sessions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        _setup(data_dir)
        seeded = time.perf_counter() - started
        from django.conf import settings
        from django.test import Client
        from django.utils import timezone

        from linli.activities import selectors
        from linli.activities.models import Session
        from linli.core.models import User
        from linli.network.models import Center, Occupancy

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        # One connection for the run (as a worker keeps it), so the queries can be counted.
        from django.core import signals
        from django.db import close_old_connections, reset_queries

        signals.request_started.disconnect(reset_queries)
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        import logging

        logging.getLogger("linli.request").setLevel(logging.WARNING)
        added = _extra(args.extra) if args.extra else 0
        baihua = Center.objects.get(code="baihua")
        dispatcher = Client()
        dispatcher.force_login(User.objects.get(username="demo-dispatcher"))
        resident = Client()
        resident.force_login(User.objects.get(username="demo-resident"))
        today = timezone.localdate()
        busy = today - dt.timedelta(weeks=2)

        def ok(client: Client, url: str, **params: str) -> Callable[[], Any]:
            def call() -> None:
                r = client.get(url, params)
                assert r.status_code == 200, (url, r.status_code)

            return call

        start, end = selectors.week_of(today)
        figures = {
            "rooms week (page)": _time(ok(dispatcher, "/activities/rooms/"), args.repeat),
            "rooms week, two weeks ago (page)": _time(
                ok(dispatcher, "/activities/rooms/", week=busy.isoformat()), args.repeat
            ),
            "activity list (page)": _time(ok(resident, "/activities/"), args.repeat),
            "activity list, elders (page)": _time(
                ok(resident, "/activities/", audience="elders"), args.repeat
            ),
            "room_week (selector)": _time(
                lambda: selectors.room_week(baihua.pk, today), args.repeat
            ),
            "sessions_between (selector)": _time(
                lambda: selectors.sessions_between(start, end, community_id=baihua.pk), args.repeat
            ),
        }
        sizes = {
            "seed_seconds": round(seeded, 1),
            "sessions": Session.objects.count(),
            "extra_sessions": added,
            "held_intervals": Occupancy.objects.filter(released_at__isnull=True).count(),
            "baihua_sessions_this_week": len(
                selectors.sessions_between(start, end, community_id=baihua.pk)
            ),
        }
    if args.json:
        print(json.dumps({"sizes": sizes, "figures": figures}, ensure_ascii=False))
        return
    print(", ".join(f"{k} {v}" for k, v in sizes.items()))
    width = max(map(len, figures))
    for name, f in figures.items():
        print(
            f"{name:<{width}}  median {f['median_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms  {f['queries']} queries"
        )
    pages = [f["median_ms"] for name, f in figures.items() if name.endswith("(page)")]
    print(f"slowest page / fastest page: {max(pages) / min(pages):.2f}")


if __name__ == "__main__":
    main()
