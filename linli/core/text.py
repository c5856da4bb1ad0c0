"""Words in the reader's language: lists of names."""

from __future__ import annotations

from collections.abc import Iterable

from linli.core.models import LocalizedName


def join_names(names: Iterable[object]) -> str:
    """Names as one list: 甲、乙、丙 in Chinese, "A, B, C" in English."""
    return LocalizedName.localized("、", ", ").join(str(n) for n in names)
