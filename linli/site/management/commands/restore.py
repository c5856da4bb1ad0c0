"""``linli restore FILE``: put a backup made by ``linli backup`` back."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from linli.site.management.commands.backup import pg_env


class Command(BaseCommand):
    help = """Restore the database from FILE, a backup made by `linli backup`.

Into an empty database: create it (PostgreSQL: createdb), point DATABASE_URL
at it and run this; no migrate is needed first. Stop the web processes and
the workers while restoring over a database in use. With --clean the
existing tables are dropped first (PostgreSQL) or the SQLite file replaced.
"""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--clean", action="store_true", help="replace what the database holds now"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        source: Path = opts["file"]
        if not source.is_file():
            raise CommandError(f"no backup at {source}")
        conn = connections["default"]
        db = conn.settings_dict
        if conn.vendor == "postgresql":
            conn.close()
            conn_args, env = pg_env(db)
            cmd = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
                   *conn_args, "--dbname", str(db["NAME"])]  # fmt: skip
            if opts["clean"]:
                cmd += ["--clean", "--if-exists"]
            done = subprocess.run([*cmd, str(source)], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise CommandError(f"pg_restore failed: {done.stderr.strip()}")
        elif conn.vendor == "sqlite":
            conn.close()
            target = sqlite3.connect(str(db["NAME"]), timeout=30)
            try:
                has_tables = target.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()[0]
                if has_tables and not opts["clean"]:
                    raise CommandError(
                        f"{db['NAME']} is not empty: restore with --clean to replace it"
                    )
                backup = sqlite3.connect(str(source))
                try:
                    backup.backup(target)
                finally:
                    backup.close()
            finally:
                target.close()
        else:
            raise CommandError(f"no restore for the {conn.vendor} database")
        self.stdout.write(f"restored {source} into {db['NAME']}")
