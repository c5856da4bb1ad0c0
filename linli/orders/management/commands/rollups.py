"""``linli rollups rebuild``: recompute the indicators' rollup from the raw tables.
``linli rollups refresh``: recompute only the cells recent writes marked (the worker does it)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.orders import rollups


class Command(BaseCommand):
    help = "Rebuild (or refresh) the point-order indicators' daily rollup."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "refresh"])

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        if options["action"] == "rebuild":
            n = rollups.rebuild()
            what = f"{n} day cells rebuilt"
        else:
            n = 0
            while (done := rollups.refresh_stale()) > 0:
                n += done
            what = f"{n} marked cells refreshed"
        if options["verbosity"]:
            self.stdout.write(f"{what} in {time.perf_counter() - started:.1f} s")
