"""``linli worker``: run the background jobs and sweep order deadlines."""

from __future__ import annotations

import argparse
import logging
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, TASKS_LOGGER
from django_tasks_db.management.commands.db_worker import (
    Worker,
    valid_backend_name,
    valid_interval,
    validate_worker_id,
)

from linli.dispatch.services import auto_dispatch
from linli.orders.services import orders_sweep

log = logging.getLogger("linli.worker")


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class _Worker(Worker):
    """django-tasks-db's worker, which also stops the sweep thread on SIGINT/SIGTERM."""

    def __init__(self, *, stop: threading.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stop = stop

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()
        # Finishes a running job, or exits at once (SystemExit) when idle.
        super().shutdown(signum, frame)


class Command(BaseCommand):
    help = """Run background jobs and sweep order deadlines.

Two things run side by side in one process:

  * the jobs queued through Django's Tasks API (the django-tasks-db database
    backend: the same loop as `db_worker`), and
  * every --interval seconds (default settings.LINLI_SWEEP_INTERVAL, from the
    environment variable of that name) the deadline sweep: orders past their
    accept deadline are flagged overdue and their dispatchers notified;
    slots dispatched but not accepted in time go back to the queue; then
    communities that chose automatic dispatch get their open slots
    batch-assigned. The sweep
    runs in its own thread and database connection, so a long job does not
    delay it. A line is printed for every sweep that changed something.

Several workers may run at once: every order is swept under its row lock.
SIGINT or SIGTERM stops cleanly: the running job finishes, the sweep thread
ends after the order it is on. A second signal aborts the running job.

  linli worker                 run until stopped
  linli worker --interval 15   sweep every 15 seconds
  linli worker --interval 0    jobs only, no sweep
  linli worker --once          one sweep, then every queued job, then exit
  linli worker --once --interval 0   every queued job, then exit
"""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="sweep once, run the queued jobs until the queue is empty, then exit",
        )
        parser.add_argument(
            "--interval",
            type=valid_interval,
            default=None,
            help="seconds between deadline sweeps; 0 turns the sweep off "
            "(default: settings.LINLI_SWEEP_INTERVAL)",
        )
        parser.add_argument(
            "--poll",
            type=valid_interval,
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
            type=valid_backend_name,
            default=DEFAULT_TASK_BACKEND_ALIAS,
            help="the django-tasks-db backend alias in settings.TASKS (default: %(default)r)",
        )
        parser.add_argument(
            "--worker-id",
            type=validate_worker_id,
            default=None,
            help="unique id of this worker among all workers (default: random)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        self._configure_logging(opts["verbosity"])
        self.verbosity: int = opts["verbosity"]
        interval: float = (
            settings.LINLI_SWEEP_INTERVAL if opts["interval"] is None else opts["interval"]
        )
        stop = threading.Event()
        worker = _Worker(
            stop=stop,
            queue_names=opts["queue_name"].split(","),
            interval=0 if opts["once"] else opts["poll"],
            batch=opts["once"],
            backend_name=opts["backend_name"],
            startup_delay=not opts["once"],
            max_tasks=None,
            worker_id=opts["worker_id"] or get_random_string(32),
            excluded_queue_names=[],
        )

        if opts["once"]:
            if interval > 0:
                self.sweep()
            worker.run()
            return

        sweeper = threading.Thread(
            target=self._sweep_loop, args=(interval, stop), name="linli-sweep", daemon=True
        )
        worker.configure_signals()
        try:
            if interval > 0:
                sweeper.start()
                self._say(f"worker {worker.worker_id}: sweeping deadlines every {interval:g} s")
            worker.run()
        finally:
            stop.set()
            if sweeper.is_alive():
                sweeper.join(timeout=60)
            worker.reset_signals()

    def sweep(self) -> dict[str, int] | None:
        """One sweep; a failure is logged, never raised (the next sweep tries again)."""
        try:
            counts = orders_sweep()
        except Exception:
            log.exception("deadline sweep failed")
            return None
        try:
            # Communities that chose automatic dispatch get their new orders
            # batch-assigned on the same beat (after the sweep freed slots).
            dispatched = auto_dispatch()
        except Exception:
            log.exception("automatic dispatch failed")
        else:
            if dispatched["applied"]:
                self._say(f"automatic dispatch: {dispatched['applied']} slots dispatched")
        if any(counts.values()) or self.verbosity >= 2:
            self._say(
                f"sweep: {counts['overdue']} overdue, {counts['returned']} slots returned "
                "to the queue"
            )
        return counts

    def _sweep_loop(self, interval: float, stop: threading.Event) -> None:
        # This thread has its own connection (Django's are per thread). It is
        # closed after every sweep: sweeps are far apart, and a connection
        # kept idle for a minute gains nothing and may be cut by the server.
        while not stop.is_set():
            try:
                close_old_connections()
                self.sweep()
            finally:
                connection.close()
            if stop.wait(interval):
                break

    def _say(self, text: str) -> None:
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
        self.stdout.write(f"{stamp} {text}")

    def _configure_logging(self, verbosity: int) -> None:
        # As db_worker does: the job loop logs through these two loggers.
        level = {0: logging.CRITICAL, 1: logging.INFO}.get(verbosity, logging.DEBUG)
        for logger in (logging.getLogger(TASKS_LOGGER), logging.getLogger("django_tasks_db")):
            logger.setLevel(level)
            if not logger.hasHandlers():
                logger.addHandler(logging.StreamHandler(self.stdout))
