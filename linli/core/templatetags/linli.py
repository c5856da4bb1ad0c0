from __future__ import annotations

from collections.abc import Iterable

from django import template

from linli.core.text import join_names

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.857 → 86%; None (nothing to measure) → —."""
    if value is None:
        return "—"
    return f"{round(value * 100)}%"


@register.filter
def names(values: Iterable[object]) -> str:
    """A list of names joined as the reader's language joins them (、 or ", ")."""
    return join_names(values)
