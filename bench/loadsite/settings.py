"""linli's settings with the benchmark's URLconf (the bare insert view)."""

from __future__ import annotations

from linli.settings import *  # noqa: F403

ROOT_URLCONF = "loadsite.urls"
