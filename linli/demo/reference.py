"""The reference data the demo is built from (``data/*.json``), read once."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


@cache
def load(name: str) -> dict[str, Any]:
    with (DATA_DIR / f"{name}.json").open(encoding="utf-8") as f:
        return json.load(f)


def cenxi() -> dict[str, Any]:
    return load("cenxi")


def names() -> dict[str, Any]:
    return load("names")
