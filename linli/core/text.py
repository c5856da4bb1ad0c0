"""Words in the reader's language: lists of names."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import get_language


def join_names(names: Iterable[object]) -> str:
    """Names as one list: 甲、乙、丙 in Chinese, "A, B, C" in English."""
    separator = ", " if (get_language() or "").startswith("en") else "、"
    return separator.join(str(n) for n in names)
