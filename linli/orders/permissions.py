"""Who may do what to an order. Services and selectors ask here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from linli.core.masking import mask_address
from linli.core.roles import Role
from linli.orders.models import ORDER_OPEN_STATES, OrderStatus, SlotStatus
from linli.teams.models import Member

if TYPE_CHECKING:
    from linli.core.models import User
    from linli.orders.models import Order, Slot


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


MEMBER_ACTION_NAMES = ("accept", "decline", "start", "complete")


def action_names(user: User, order: Order) -> list[str]:
    """Everything ``user`` may do to ``order`` now: the order-level actions,
    then the member's own on their slot (what the API's ``actions`` lists)."""
    names = order_actions(user, order).names()
    task = task_for(user, order, my_team_ids(user))
    if task is not None:
        names += [n for n in MEMBER_ACTION_NAMES if getattr(task, f"can_{n}")]
    return names


def order_actions(user: User, order: Order) -> OrderActions:
    """The order-level actions open to ``user`` (a member's own accept /
    decline / start / complete are in :func:`task_for`)."""
    from linli.orders.models import PRE_SERVICE
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


# --- the member's side of one order -----------------------------------------------


@dataclass
class Task:
    """What the signed-in member may do on one order."""

    order: Order
    slot: Slot | None
    offered: bool = False
    can_accept: bool = False
    can_decline: bool = False
    can_start: bool = False
    can_complete: bool = False
    waiting: bool = False

    @property
    def address(self) -> str:
        # Masked: the member reveals it (audited) with order_contact once accepted.
        return mask_address(self.order.address)

    @property
    def can_reveal_contact(self) -> bool:
        return (
            self.slot is not None
            and self.slot.status in (SlotStatus.ACCEPTED, SlotStatus.IN_SERVICE)
            and not self.offered
        )


_SLOT_PRIORITY = {
    SlotStatus.IN_SERVICE: 0,
    SlotStatus.ACCEPTED: 1,
    SlotStatus.ASSIGNED: 2,
    SlotStatus.COMPLETED: 3,
    SlotStatus.CANCELLED: 4,
}


def my_team_ids(user: User) -> set[int]:
    """The teams the user is an active member of."""
    return set(Member.objects.filter(user=user, active=True).values_list("team_id", flat=True))


def task_for(user: User, order: Order, team_ids: set[int]) -> Task | None:
    """The member's slot on ``order`` (or a slot offered to their team), and the buttons."""
    slots = list(order.slots.all())
    mine = [s for s in slots if s.member_id and s.member.user_id == user.pk]
    mine.sort(key=lambda s: _SLOT_PRIORITY.get(s.status, 9))
    open_order = order.status in ORDER_OPEN_STATES
    if mine and mine[0].status != SlotStatus.CANCELLED:
        slot = mine[0]
        return Task(
            order=order,
            slot=slot,
            can_accept=open_order and slot.status == SlotStatus.ASSIGNED,
            can_decline=open_order and slot.status == SlotStatus.ASSIGNED,
            can_start=slot.status == SlotStatus.ACCEPTED
            and order.status in (OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE),
            can_complete=slot.status == SlotStatus.IN_SERVICE,
            waiting=slot.status == SlotStatus.ACCEPTED
            and order.status in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED),
        )
    offered = [s for s in slots if s.status == SlotStatus.OFFERED and s.offered_team_id in team_ids]
    if offered:
        return Task(order=order, slot=offered[0], offered=True, can_accept=True)
    if mine:
        return Task(order=order, slot=mine[0])
    return None
