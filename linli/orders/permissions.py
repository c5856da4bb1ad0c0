"""Who may do what to an order. Services and selectors ask here."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class OrderActions:
    """What a user may do to an order as it stands, in the terms of the
    services' own guards: a page shows these buttons, the API lists them,
    and a test holds them to what the services accept."""

    cancel: bool = False
    cancel_needs_reason: bool = False
    reject: bool = False
    rate: bool = False
    dispatch: bool = False
    close_follow_up: bool = False
    # Teams a leader (not a dispatcher) may dispatch to; None = any.
    led_teams: frozenset[int] | None = None

    NAMES = ("cancel", "reject", "rate", "dispatch", "close_follow_up")

    def names(self) -> list[str]:
        return [n for n in self.NAMES if getattr(self, n)]


def order_actions(user: User, order: Order) -> OrderActions:
    """The order-level actions open to ``user`` (a member's own accept /
    decline / start / complete are in ``selectors.task_for``)."""
    from linli.orders.models import PRE_SERVICE, OrderStatus, SlotStatus
    from linli.teams.models import Team

    status = order.status
    manager = manages_community(user, order.community_id)
    beneficiary = is_beneficiary_side(user, order)
    led: frozenset[int] | None = None
    if not manager and user.role == Role.LEADER and user.community_id == order.community_id:
        led = frozenset(Team.objects.filter(leader=user).values_list("pk", flat=True))
    slots = list(order.slots.all())
    open_slot = any(s.status == SlotStatus.OPEN for s in slots)
    pending = status in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED)
    follow_up = getattr(order, "follow_up", None)
    return OrderActions(
        cancel=(beneficiary and status in PRE_SERVICE)
        or (manager and status in (*PRE_SERVICE, OrderStatus.IN_SERVICE)),
        cancel_needs_reason=manager,
        reject=manager
        and pending
        and all(
            s.status in (SlotStatus.OPEN, SlotStatus.ASSIGNED, SlotStatus.OFFERED) for s in slots
        ),
        rate=beneficiary and status == OrderStatus.COMPLETED,
        dispatch=pending and open_slot and (manager or bool(led)),
        close_follow_up=manager and follow_up is not None and follow_up.closed_at is None,
        led_teams=led,
    )
