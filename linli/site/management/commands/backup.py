"""``linli backup FILE``: a consistent copy of the database while the site runs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections


def pg_env(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for the PostgreSQL client tools."""
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


class Command(BaseCommand):
    help = """Write a backup of the database to FILE, while the site keeps running.

On PostgreSQL: pg_dump in its custom format (one snapshot: every order
committed before the dump began, none half-written). On SQLite: the online
backup API (a page-by-page copy that sees one consistent state). Restore with
`linli restore FILE`. The file is written next to FILE and renamed into place,
so a failed run never leaves a truncated backup under that name.
"""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **opts: Any) -> None:
        target: Path = opts["file"]
        partial = target.with_name(target.name + ".partial")
        db = connections["default"].settings_dict
        vendor = connections["default"].vendor
        try:
            if vendor == "postgresql":
                conn_args, env = pg_env(db)
                done = subprocess.run(
                    ["pg_dump", "--format=custom", "--no-owner", "--file", str(partial),
                     *conn_args, str(db["NAME"])],
                    env=env, capture_output=True, text=True,
                )  # fmt: skip
                if done.returncode != 0:
                    raise CommandError(f"pg_dump failed: {done.stderr.strip()}")
            elif vendor == "sqlite":
                source = sqlite3.connect(str(db["NAME"]), timeout=30)
                copy = sqlite3.connect(str(partial))
                try:
                    with copy:
                        source.backup(copy)
                finally:
                    copy.close()
                    source.close()
            else:
                raise CommandError(f"no backup for the {vendor} database")
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(f"backup written to {target} ({target.stat().st_size} bytes)")
