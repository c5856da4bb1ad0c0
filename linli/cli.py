"""The ``linli`` console command: Django's management commands under one name.

``linli seed --scale cenxi``, ``linli adduser …``, ``linli runserver`` and every
other management command, without remembering ``manage.py`` or the settings.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["linli", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
