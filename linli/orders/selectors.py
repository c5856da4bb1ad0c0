"""Reads of orders, always through the caller's visibility (permissions.visible_orders_q)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from linli.core.errors import NotFound
from linli.orders.load import member_load
from linli.orders.models import FollowUp, Order, OrderEvent, PlacedAs, ServiceItem, Slot, SlotStatus
from linli.orders.permissions import own_resident_ids, visible_orders_q
from linli.teams.models import Member, Team

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
    resident: int | None = None,
    mine: bool = False,
    for_family: bool = False,
) -> QuerySet[Order]:
    """Orders the user may see, newest first, filtered.

    ``mine`` narrows a member to the orders where they hold or are offered a slot;
    ``for_family`` to what the user ordered for themself or their family (not
    what a dispatcher took by phone for someone).
    """
    ids = Order.objects.filter(visible_orders_q(user)).values("pk")
    qs = Order.objects.filter(pk__in=ids)
    if mine:
        qs = qs.filter(
            Q(slots__member__user=user)
            | Q(slots__status=SlotStatus.OFFERED, slots__offered_team__members__user=user)
        ).distinct()
    if for_family:
        qs = qs.filter(
            Q(resident_id__in=own_resident_ids(user))
            | (Q(placed_by=user) & ~Q(placed_as=PlacedAs.DISPATCHER))
        )
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
    if resident:
        qs = qs.filter(resident_id=resident)
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


def dispatch_choices(user: User, order: Order, led: set[int] | None) -> dict[str, Any]:
    """Members with the item's skill (load / cap) and teams to offer to (抢单)."""
    members = list(
        Member.objects.filter(
            team__community_id=order.community_id, active=True, skills=order.item.skill_id
        )
        .select_related("user", "team")
        .order_by("team__name", "pk")
    )
    teams = (
        Team.objects.filter(community_id=order.community_id)
        .annotate(
            qualified=Count(
                "members",
                filter=Q(members__active=True, members__skills=order.item.skill_id),
                distinct=True,
            )
        )
        .filter(qualified__gt=0)
        .order_by("name")
    )
    if led is not None:
        members = [m for m in members if m.team_id in led]
        teams = teams.filter(pk__in=led)
    loads = member_load(m.pk for m in members)
    taken = {
        s.member_id for s in order.slots.all() if s.member_id and s.status != SlotStatus.CANCELLED
    }
    rows = []
    for m in members:
        load = loads.get(m.pk, 0)
        rows.append(
            {
                "member": m,
                "value": f"m{m.pk}",
                "load": load,
                "full": load >= m.max_concurrent,
                "taken": m.pk in taken,
            }
        )
    team_rows = list(teams)
    for t in team_rows:
        t.value = f"t{t.pk}"  # type: ignore[attr-defined]
    return {"members": rows, "teams": team_rows}
