"""Who may do what to an order. Services and selectors ask here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from linli.core.roles import Role

if TYPE_CHECKING:
    from linli.core.models import User
    from linli.orders.models import Order


def manages_community(user: User, community_id: int) -> bool:
    """Dispatchers run their community; the city admin runs every community."""
    return user.role == Role.CITY or (
        user.role == Role.DISPATCHER and user.community_id == community_id
    )


def own_resident_ids(user: User) -> set[int]:
    """The resident records a user may order for: their own and their wards'."""
    from linli.people.models import Guardianship, Resident

    own = list(Resident.objects.filter(account=user).values_list("pk", flat=True))
    wards = Guardianship.objects.filter(guardian_id__in=own).values_list("ward_id", flat=True)
    return {*own, *wards}


def is_beneficiary_side(user: User, order: Order) -> bool:
    """The beneficiary, a guardian of theirs, or whoever placed the order."""
    return order.placed_by_id == user.pk or order.resident_id in own_resident_ids(user)


def visible_orders_q(user: User) -> Q:
    """The orders a user may see, as one filter (see selectors.order_list)."""
    from linli.orders.models import SlotStatus

    if user.role == Role.CITY:
        return Q()
    q = Q(placed_by=user) | Q(resident_id__in=own_resident_ids(user))
    if user.role in (Role.DISPATCHER, Role.LEADER) and user.community_id:
        q |= Q(community_id=user.community_id)
    # Members see what is assigned to them, what is offered to their teams,
    # and what they once acted on (a declined order stays in their history).
    q |= (
        Q(slots__member__user=user)
        | Q(slots__status=SlotStatus.OFFERED, slots__offered_team__members__user=user)
        | Q(events__actor=user)
    )
    return q


def can_see(user: User, order: Order) -> bool:
    from linli.orders.models import Order

    return Order.objects.filter(visible_orders_q(user), pk=order.pk).exists()
