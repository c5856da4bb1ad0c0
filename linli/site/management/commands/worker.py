"""``linli worker``: schedule the periodic jobs, then run django-tasks-db's worker."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
from typing import Any

from django import db
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter
from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks.base import Task

from linli.dispatch.tasks import auto_dispatch_task
from linli.notify import periodic
from linli.notify.tasks import deliver_due
from linli.orders.tasks import refresh_rollups, sweep_deadlines
from linli.site.health import worker_alive, worker_beat
from linli.site.tasks import beat_every, worker_heartbeat


def _interval(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("must be a number of seconds") from exc
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError("must be zero or more")
    return seconds


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class _Stamped(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp} {record.getMessage()}"


class _Supervisor(threading.Thread):
    """Beside db_worker, in the same process: every LINLI_WORKER_BEAT_SECONDS it
    records that this worker is alive and makes sure each periodic job has a
    run pending -- a new one when the run pending was taken by a worker that
    has stopped beating (killed in the middle of it)."""

    def __init__(self, worker_id: str, jobs: list[tuple[Task[Any, Any], float]]) -> None:
        super().__init__(name="linli-supervisor", daemon=True)
        self.worker_id, self.jobs = worker_id, jobs
        self.stopped = threading.Event()

    def run(self) -> None:
        log = logging.getLogger("linli.jobs")
        while not self.stopped.wait(float(settings.LINLI_WORKER_BEAT_SECONDS)):
            try:
                worker_beat(self.worker_id)
                for task, every in self.jobs:
                    periodic.ensure(task, every, alive=worker_alive)
            except Exception:  # the database is away: try again on the next beat
                log.exception("worker %s could not beat", self.worker_id)
            finally:
                db.connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


class Command(BaseCommand):
    help = """Run the background jobs: django-tasks-db's worker (`db_worker`), with
the periodic jobs scheduled.

The periodic jobs are ordinary jobs in the database queue; each run enqueues
the next one, and exactly one run of each is pending however many workers
run (see linli.notify.periodic). Before it starts `db_worker`, this command
makes sure they are scheduled:

  * every --interval seconds (default settings.LINLI_SWEEP_INTERVAL, from the
    environment variable of that name) the deadline sweep: orders past their
    accept deadline are flagged overdue and their dispatchers notified;
    slots dispatched but not accepted in time go back to the queue;
  * on the same beat, automatic dispatch: communities that chose it get
    their open slots batch-assigned;
  * every settings.LINLI_NOTIFY_SWEEP_INTERVAL seconds, notifications whose
    delivery job was lost or is due again are sent.

Everything else in the queue (the delivery of each notification, jobs
enqueued by pages) runs as it comes. A line is printed for every periodic run
that changed something.

Several workers may run at once: a job is taken by one worker, every order is
swept under its row lock, every delivery is claimed by one conditional update.
SIGINT or SIGTERM stops cleanly: the running job finishes. A second signal
aborts it.

  linli worker                 run until stopped
  linli worker --interval 15   sweep every 15 seconds
  linli worker --interval 0    jobs and the heartbeat only; no sweep
  linli worker --once          sweep now, run every job that is due, then exit
  linli worker --once --interval 0   every job that is due, then exit
"""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="run the periodic jobs now, then every job that is due, then exit",
        )
        parser.add_argument(
            "--interval",
            type=_interval,
            default=None,
            help="seconds between deadline sweeps; 0 schedules none (only the heartbeat) "
            "(default: settings.LINLI_SWEEP_INTERVAL)",
        )
        parser.add_argument(
            "--poll",
            type=_interval,
            default=1.0,
            help="seconds to wait before looking again when the job queue is empty (default: 1)",
        )
        parser.add_argument(
            "--queue-name",
            default=DEFAULT_TASK_QUEUE_NAME,
            help="job queues to run, comma-separated, '*' for all (default: %(default)r)",
        )
        parser.add_argument(
            "--backend",
            dest="backend_name",
            default=DEFAULT_TASK_BACKEND_ALIAS,
            help="the django-tasks-db backend alias in settings.TASKS (default: %(default)r)",
        )
        parser.add_argument(
            "--worker-id",
            default=None,
            help="unique id of this worker among all workers (default: host-pid)",
        )

    def periodic_jobs(self, interval: float) -> list[tuple[Task[Any, Any], float]]:
        # The heartbeat runs whatever the interval: /readyz wants a worker alive.
        beat = (worker_heartbeat, beat_every(settings.LINLI_WORKER_STALE_SECONDS))
        if interval <= 0:
            return [beat]
        return [
            beat,
            (sweep_deadlines, interval),
            (auto_dispatch_task, interval),
            (refresh_rollups, max(interval, 60.0)),
            (deliver_due, float(settings.LINLI_NOTIFY_SWEEP_INTERVAL)),
        ]

    def handle(self, *args: Any, **opts: Any) -> None:
        interval: float = (
            settings.LINLI_SWEEP_INTERVAL if opts["interval"] is None else opts["interval"]
        )
        jobs = self.periodic_jobs(interval)
        worker_id = opts["worker_id"] or f"{socket.gethostname()}-{os.getpid()}"
        worker_beat(worker_id)
        for task, every in jobs:
            periodic.ensure(task, every, alive=worker_alive)
            if opts["once"] and not periodic.is_due(task):
                # The scheduled run is later: --once runs the job now as well.
                task.enqueue()
        if jobs and not opts["once"]:
            self.stdout.write(
                f"{timezone.localtime():%Y-%m-%d %H:%M:%S} sweeping deadlines every {interval:g} s"
            )
        worker: list[str] = [
            "--queue-name",
            opts["queue_name"],
            "--backend",
            opts["backend_name"],
            "--interval",
            str(0 if opts["once"] else opts["poll"]),
            "--no-reload",
        ]
        worker += ["--worker-id", worker_id]
        if opts["once"]:
            worker += ["--batch", "--no-startup-delay"]
        supervisor = None if opts["once"] else _Supervisor(worker_id, jobs)
        handler = logging.StreamHandler(self.stdout)
        handler.setFormatter(_Stamped())
        jobs_log = logging.getLogger("linli.jobs")
        jobs_log.addHandler(handler)
        jobs_log.setLevel(logging.INFO if opts["verbosity"] >= 1 else logging.WARNING)
        propagate, jobs_log.propagate = jobs_log.propagate, False
        # db_worker installs its own SIGINT/SIGTERM handlers (finish the
        # running job, then stop); they are put back when it returns.
        saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if supervisor is not None:
                supervisor.start()
            call_command("db_worker", *worker, verbosity=opts["verbosity"], stdout=self.stdout)
        finally:
            if supervisor is not None:
                supervisor.stop()
            jobs_log.removeHandler(handler)
            jobs_log.propagate = propagate
            for sig, h in saved.items():
                if h is not None:
                    signal.signal(sig, h)
