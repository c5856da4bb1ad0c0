"""``linli serve``: the site under gunicorn, for production behind a proxy."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections


def default_workers() -> int:
    # gunicorn's advice for sync workers, capped: each holds a database connection.
    return min(2 * (os.cpu_count() or 1) + 1, 8)


class Command(BaseCommand):
    help = """Serve the site with gunicorn (sync workers behind a reverse proxy).

The address and the number of worker processes come from the environment,
LINLI_BIND (default 127.0.0.1:8000) and WEB_CONCURRENCY (default 2 x cores + 1,
at most 8), or from --bind and --workers. When STATIC_ROOT is set (production
sets it), the static files are collected there first and WhiteNoise serves
them. Requests are logged by the site itself (one JSON line each, on stdout);
gunicorn's own access log is off. The process becomes gunicorn's master,
which imports the site once and forks the workers from it: SIGTERM stops it
gracefully, SIGHUP restarts the workers (new settings from the environment
need a restart of the master, as does a new release of the code).
"""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("LINLI_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", "0")) or default_workers(),
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=int(os.environ.get("LINLI_WEB_TIMEOUT", "30")),
            help="seconds a request may take before its worker is restarted (default: 30)",
        )
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="do not collect static files first"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.STATIC_ROOT and not opts["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        connections.close_all()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "linli.wsgi:application",
            "--bind",
            opts["bind"],
            "--workers",
            str(opts["workers"]),
            "--timeout",
            str(opts["timeout"]),
            "--graceful-timeout",
            str(opts["timeout"]),
            # The master imports the site once (linli.wsgi warms it up); each
            # worker is a fork of it, ready at once -- also when a worker is
            # recycled, now and then (a slow leak never grows), at a count
            # spread wide enough that the workers never all restart together.
            "--preload",
            "--max-requests",
            "5000",
            "--max-requests-jitter",
            "2500",
            "--forwarded-allow-ips",
            os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
            "--error-logfile",
            "-",
        ]
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
        # A sync worker serves one request at a time: its one connection may live on.
        os.environ.setdefault("LINLI_DB_CONN_MAX_AGE", "60")
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)
