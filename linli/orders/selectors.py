"""Reads of orders, always through the caller's visibility (permissions.visible_orders_q)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from linli.core.errors import NotFound
from linli.orders.models import FollowUp, Order, OrderEvent, ServiceItem, Slot, SlotStatus
from linli.orders.permissions import visible_orders_q

if TYPE_CHECKING:
    from linli.core.models import User


def catalog_for(user: User, community_id: int | None = None) -> QuerySet[ServiceItem]:
    """Active items: the fixed ones and the optional ones of the community in question."""
    community_id = community_id or user.community_id
    if community_id is None:
        from linli.people.models import Resident

        community_id = (
            Resident.objects.filter(account=user).values_list("community_id", flat=True).first()
        )
    q = Q(fixed=True)
    if community_id is not None:
        q |= Q(community_id=community_id)
    elif user.role == "city":
        q = Q()
    return ServiceItem.objects.filter(q, active=True).select_related("skill", "community")


def order_list(
    user: User,
    *,
    status: str = "",
    item: str = "",
    urgency: str = "",
    overdue: bool | None = None,
    follow_up: bool | None = None,
    community: int | None = None,
    mine: bool = False,
) -> QuerySet[Order]:
    """Orders the user may see, newest first, filtered.

    ``mine`` narrows a member to the orders where they hold or are offered a slot.
    """
    ids = Order.objects.filter(visible_orders_q(user)).values("pk")
    qs = Order.objects.filter(pk__in=ids)
    if mine:
        qs = qs.filter(
            Q(slots__member__user=user)
            | Q(slots__status=SlotStatus.OFFERED, slots__offered_team__members__user=user)
        ).distinct()
    if status:
        qs = qs.filter(status__in=status.split(","))
    if item:
        qs = qs.filter(item__code=item)
    if urgency:
        qs = qs.filter(urgency=urgency)
    if overdue is not None:
        qs = qs.filter(overdue=overdue)
    if follow_up is not None:
        open_follow_up = Exists(
            FollowUp.objects.filter(order=OuterRef("pk"), closed_at__isnull=True)
        )
        qs = qs.filter(open_follow_up) if follow_up else qs.exclude(open_follow_up)
    if community:
        qs = qs.filter(community_id=community)
    return (
        qs.select_related("item", "resident", "community", "placed_by")
        .prefetch_related(
            Prefetch("slots", Slot.objects.select_related("member__user", "offered_team"))
        )
        .order_by("-created_at", "-pk")
    )


def order_get(user: User, pk: int) -> Order:
    """One order with its slots, timeline, rating and follow-up; NotFound if not visible."""
    try:
        return (
            Order.objects.filter(pk__in=Order.objects.filter(visible_orders_q(user)).values("pk"))
            .select_related(
                "item__skill", "resident", "community", "placed_by", "rating", "follow_up"
            )
            .prefetch_related(
                Prefetch(
                    "slots",
                    Slot.objects.select_related("member__user", "member__team", "offered_team"),
                ),
                Prefetch(
                    "events", OrderEvent.objects.select_related("actor", "slot").order_by("pk")
                ),
            )
            .get(pk=pk)
        )
    except (Order.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc
