"""How many open slots each member holds: the load the caps are checked against."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, QuerySet

from linli.orders.models import SLOT_LOAD_STATES, Slot


def member_load(member_ids: Iterable[int] | QuerySet) -> dict[int, int]:
    """Open slots (assigned, accepted or in service) held by each member
    (``member_ids`` may be a query of member ids: a subquery is far faster
    than thousands of ids)."""
    ids = member_ids if isinstance(member_ids, QuerySet) else list(member_ids)
    rows = (
        Slot.objects.filter(member_id__in=ids, status__in=SLOT_LOAD_STATES)
        .values("member_id")
        .annotate(n=Count("pk"))
    )
    return {r["member_id"]: r["n"] for r in rows}
