from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.857 → 86%; None (nothing to measure) → —."""
    if value is None:
        return "—"
    return f"{round(value * 100)}%"
