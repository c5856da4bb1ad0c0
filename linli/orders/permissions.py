"""Who may do what to an order, and see what of it: one predicate per decision.

Each ``may_*`` function answers one question -- may this user take this
action on this order now? -- with a :class:`~linli.core.rules.Verdict` and,
when refused, the reason. The services call them under the order's lock and
raise what they return; the pages' buttons and the API's ``actions`` are
:func:`action_names`, made of the same calls. What of an order's contact
data a user sees is :func:`contact_right`, used by page, API and the
audited reveal alike.

The predicates read what they are given (the order and its slots, as the
caller loaded or locked them) and query only what those do not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.core.masking import mask_address
from linli.core.roles import Role
from linli.core.rules import ALLOWED, Verdict, refuse
from linli.orders.load import member_load
from linli.orders.models import (
    ORDER_CLOSINGS,
    ORDER_OPEN_STATES,
    OrderStatus,
    PlacedAs,
    SlotAction,
    SlotStatus,
)
from linli.teams.models import Member

if TYPE_CHECKING:
    from collections.abc import Sequence

    from linli.core.models import User
    from linli.orders.models import Order, Slot


# --- who someone is to an order ---------------------------------------------------


def manages_community(user: User, community_id: int) -> bool:
    """Dispatchers run their community; the city admin runs every community."""
    return user.role == Role.CITY or (
        user.role == Role.DISPATCHER and user.community_id == community_id
    )


def may_order_on_behalf(user: User, community_id: int | None = None) -> bool:
    """代下单: desk staff order for residents of the communities they run (the city: all).

    Without ``community_id``: whether the user may take orders for anyone at all."""
    if user.role not in (Role.DISPATCHER, Role.CITY):
        return False
    return community_id is None or manages_community(user, community_id)


def own_resident_ids(user: User) -> set[int]:
    """The resident records a user may order for: their own and their wards'."""
    from linli.people.models import Guardianship, Resident

    own = list(Resident.objects.filter(account=user).values_list("pk", flat=True))
    wards = Guardianship.objects.filter(guardian_id__in=own).values_list("ward_id", flat=True)
    return {*own, *wards}


def is_beneficiary_side(user: User, order: Order, me: Membership | None = None) -> bool:
    """The beneficiary, a guardian of theirs, or the family member who placed it.

    A dispatcher or the city placing an order by phone does not join the
    beneficiary's side by doing so: they act on it as staff.
    """
    if order.placed_by_id == user.pk and order.placed_as != PlacedAs.DISPATCHER:
        return True
    own = me.own_residents if me is not None else own_resident_ids(user)
    return order.resident_id is not None and order.resident_id in own


def led_teams(user: User, order: Order) -> frozenset[int] | None:
    """The teams a leader (not a dispatcher) may dispatch this order to; None for anyone else."""
    from linli.teams.models import Team

    if manages_community(user, order.community_id):
        return None
    if user.role == Role.LEADER and user.community_id == order.community_id:
        return frozenset(Team.objects.filter(leader=user).values_list("pk", flat=True))
    return None


def visible_orders_q(user: User) -> Q:
    """The orders a user may see, as one filter (see selectors.order_list)."""
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


# --- the member side of a user -----------------------------------------------------


@dataclass
class Membership:
    """A user's active memberships, their skills and their load, and the residents
    they are family to, read once.

    Services read it after locking the user's member rows (so the load is
    the one the accept will add to); a page reads it once for all its orders.
    """

    user: User
    members: list[Member] = field(default_factory=list)
    skills: dict[int, set[int]] = field(default_factory=dict)
    load: dict[int, int] = field(default_factory=dict)

    @property
    def team_ids(self) -> set[int]:
        return {m.team_id for m in self.members}

    def in_team(self, team_id: int | None) -> Member | None:
        return next((m for m in self.members if m.team_id == team_id), None)

    @cached_property
    def own_residents(self) -> set[int]:
        return own_resident_ids(self.user)


def membership(user: User) -> Membership:
    members = list(
        Member.objects.filter(user=user, active=True).prefetch_related("skills").order_by("pk")
    )
    return Membership(
        user=user,
        members=members,
        skills={m.pk: {s.pk for s in m.skills.all()} for m in members},
        load=member_load([m.pk for m in members]) if members else {},
    )


def my_team_ids(user: User) -> set[int]:
    """The teams the user is an active member of."""
    return set(Member.objects.filter(user=user, active=True).values_list("team_id", flat=True))


def member_can_take(
    member: Member,
    order: Order,
    slots: Sequence[Slot],
    *,
    skills: set[int] | None = None,
    load: int | None = None,
) -> Verdict:
    """Whether ``member`` can hold one more slot of ``order``: in post, with the
    item's skill, not already on it, under their cap. The rule both for a
    dispatcher's choice and for a member winning a slot offered to their team."""
    if not member.active:
        return refuse(_("该队员已不在岗。"), field="member")
    has_skill = (
        order.item.skill_id in skills
        if skills is not None
        else member.skills.filter(pk=order.item.skill_id).exists()
    )
    if not has_skill:
        return refuse(
            _("该队员没有“%(skill)s”技能。") % {"skill": order.item.skill.label},
            kind="invalid",
            field="member",
        )
    if any(s.member_id == member.pk and s.status != SlotStatus.CANCELLED for s in slots):
        return refuse(_("该队员已在本订单中。"), field="member")
    if load is None:
        load = member_load([member.pk]).get(member.pk, 0)
    if load >= member.max_concurrent:
        return refuse(
            _("该队员当前已有 %(load)d 单，达到上限 %(cap)d 单。")
            % {"load": load, "cap": member.max_concurrent},
            field="member",
        )
    return ALLOWED


# --- the order-level decisions -----------------------------------------------------


# One whole sentence per action, so that each language can say it its own way.
_NOT_NOW = {
    "cancel": gettext_noop("订单当前状态为“%(s)s”，不能取消。"),
    "dispatch": gettext_noop("订单当前状态为“%(s)s”，不能派单。"),
    "accept": gettext_noop("订单当前状态为“%(s)s”，不能接单。"),
    "start": gettext_noop("订单当前状态为“%(s)s”，不能开始服务。"),
    "complete": gettext_noop("订单当前状态为“%(s)s”，不能完成服务。"),
}


def _status_refusal(order: Order, action: str) -> Verdict:
    return refuse(_(_NOT_NOW[action]) % {"s": order.get_status_display()})


def may_cancel(user: User, order: Order) -> Verdict:
    """The beneficiary's side before service starts; the community's dispatcher
    (or the city) until it is completed."""
    if manages_community(user, order.community_id):
        allowed = ORDER_CLOSINGS["cancel"][0]
    elif is_beneficiary_side(user, order):
        allowed = (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED, OrderStatus.ACCEPTED)
    else:
        return refuse(_("只有下单人或派单员可以取消订单。"), kind="forbidden")
    if order.status not in allowed:
        return _status_refusal(order, "cancel")
    return ALLOWED


def cancel_needs_reason(user: User, order: Order) -> bool:
    """Staff say why they cancel; the resident's side need not."""
    return manages_community(user, order.community_id)


def may_reject(user: User, order: Order, slots: Sequence[Slot]) -> Verdict:
    """The dispatcher turns down an order nobody has accepted yet."""
    if not manages_community(user, order.community_id):
        return refuse(_("只有本社区的派单员可以驳回订单。"), kind="forbidden")
    if order.status not in ORDER_CLOSINGS["reject"][0] or any(
        s.status not in (SlotStatus.OPEN, SlotStatus.ASSIGNED, SlotStatus.OFFERED) for s in slots
    ):
        return refuse(_("已有队员接单的订单不能驳回，请改为取消。"))
    return ALLOWED


def may_dispatch(
    user: User | None,
    order: Order,
    slots: Sequence[Slot],
    led: frozenset[int] | None = None,
) -> Verdict:
    """The community's dispatcher, the city, a leader to the teams they lead, or
    the system (``user=None``: the worker's automatic dispatch); while a slot is open.

    ``led``: the teams the user leads, when the caller has read them once for
    many orders of the user's community."""
    if user is not None and not manages_community(user, order.community_id):
        if led is not None and user.community_id == order.community_id:
            leads = bool(led) and user.role == Role.LEADER
        else:
            leads = bool(led_teams(user, order))
        if not leads:
            return refuse(_("只有本社区的派单员可以派单。"), kind="forbidden")
    if order.status not in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED):
        return _status_refusal(order, "dispatch")
    if order.resident_id is None:
        return refuse(_("来电人待核实：请先关联居民档案，再派单。"))
    if not any(s.status == SlotStatus.OPEN for s in slots):
        return refuse(_("所有岗位都已派出。"))
    return ALLOWED


def may_link_resident(user: User, order: Order) -> Verdict:
    """The community's dispatcher (or the city) confirms who called an order
    to be confirmed (待核实), while it is still open."""
    if not manages_community(user, order.community_id):
        return refuse(_("只有本社区的派单员可以核实来电人。"), kind="forbidden")
    if order.resident_id is not None:
        return refuse(_("这张订单已经关联了居民。"))
    if order.status not in ORDER_OPEN_STATES:
        return refuse(_("订单已结束，不能再关联居民。"))
    return ALLOWED


def _took_part(user: User, order: Order, slots: Sequence[Slot]) -> bool:
    """Served it (holds or held a slot) or dispatched it: judged by the rating."""
    if any(s.member is not None and s.member.user_id == user.pk for s in slots):
        return True
    # The timeline as loaded (order_get prefetches it), else read.
    return any(
        e.action == SlotAction.DISPATCH and e.actor_id == user.pk for e in order.events.all()
    )


def may_rate(user: User, order: Order, slots: Sequence[Slot]) -> Verdict:
    """The beneficiary or their family rate a completed order, once. Whoever
    dispatched or served it never does, nor staff who placed it by phone."""
    if not is_beneficiary_side(user, order) or _took_part(user, order, slots):
        return refuse(_("只有服务对象或其家属可以评价。"), kind="forbidden")
    return _ratable(order)


def may_record_callback(user: User, order: Order, slots: Sequence[Slot]) -> Verdict:
    """A dispatcher of the community (or the city) records the rating the
    resident gave on a phone callback (回访); never one who served it."""
    if not manages_community(user, order.community_id):
        return refuse(_("只有本社区的派单员可以记录回访评价。"), kind="forbidden")
    if any(s.member is not None and s.member.user_id == user.pk for s in slots):
        return refuse(_("服务过这张订单的人不能记录它的评价。"), kind="forbidden")
    return _ratable(order)


def _ratable(order: Order) -> Verdict:
    if order.status == OrderStatus.RATED:
        return refuse(_("这张订单已经评价过了。"))
    if order.status not in ORDER_CLOSINGS["rate"][0]:
        return refuse(_("服务完成后才能评价。"))
    return ALLOWED


def may_close_follow_up(user: User, order: Order) -> Verdict:
    if not manages_community(user, order.community_id):
        return refuse(_("只有本社区的派单员可以关闭回访。"), kind="forbidden")
    follow_up = getattr(order, "follow_up", None)
    if follow_up is None:
        return refuse(_("这张订单没有回访。"), kind="missing")
    if follow_up.closed_at is not None:
        return refuse(_("回访已经关闭。"))
    return ALLOWED


# --- the member's decisions on their slot ---------------------------------------------


def held_slot(user: User, slots: Sequence[Slot], states: tuple[str, ...]) -> Slot | None:
    """The slot ``user`` holds in one of ``states``, if any."""
    for s in slots:
        if s.member is not None and s.member.user_id == user.pk and s.status in states:
            return s
    return None


def _stake(user: User, slots: Sequence[Slot], me: Membership) -> Verdict:
    """A slot held by the user, or one offered to a team of theirs (now or once:
    the others of a team whose offer was won still get a 409, not a 404)."""
    teams = me.team_ids
    if any(
        (s.member is not None and s.member.user_id == user.pk) or s.offered_team_id in teams
        for s in slots
    ):
        return ALLOWED
    return refuse(_("您在这张订单上没有岗位。"), kind="forbidden")


@dataclass(frozen=True)
class AcceptPlan:
    """Which slot the user would accept, as which member, or why they cannot."""

    verdict: Verdict
    slot: Slot | None = None
    member: Member | None = None


def accept_plan(
    user: User, order: Order, slots: Sequence[Slot], me: Membership | None = None
) -> AcceptPlan:
    """The slot dispatched to the user, or the first slot offered to one of their
    teams that they can take (skill, not already on the order, under their cap)."""
    me = me if me is not None else membership(user)
    stake = _stake(user, slots, me)
    if not stake:
        return AcceptPlan(stake)
    if order.status not in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED):
        return AcceptPlan(_status_refusal(order, "accept"))
    assigned = held_slot(user, slots, (SlotStatus.ASSIGNED,))
    if assigned is not None:
        assert assigned.member is not None
        if not assigned.member.active:
            return AcceptPlan(refuse(_("该队员已不在岗。")))
        return AcceptPlan(ALLOWED, assigned, assigned.member)
    offered = [s for s in slots if s.status == SlotStatus.OFFERED]
    if not offered:
        return AcceptPlan(refuse(_("没有可接的岗位：已被其他队员接走或已收回。")))
    refusal = refuse(_("这个岗位没有派给您的服务队。"))
    for s in offered:
        member = me.in_team(s.offered_team_id)
        if member is None:
            continue
        verdict = member_can_take(
            member, order, slots, skills=me.skills.get(member.pk), load=me.load.get(member.pk, 0)
        )
        if verdict:
            return AcceptPlan(ALLOWED, s, member)
        refusal = verdict
    return AcceptPlan(refusal)


def may_accept(
    user: User, order: Order, slots: Sequence[Slot], me: Membership | None = None
) -> Verdict:
    return accept_plan(user, order, slots, me).verdict


def may_decline(
    user: User, order: Order, slots: Sequence[Slot], me: Membership | None = None
) -> Verdict:
    """Hand back a slot dispatched to the user (an offer to the team needs no answer)."""
    stake = _stake(user, slots, me if me is not None else membership(user))
    if not stake:
        return stake
    if (
        order.status not in ORDER_OPEN_STATES
        or held_slot(user, slots, (SlotStatus.ASSIGNED,)) is None
    ):
        return refuse(_("只有派给您、尚未接单的岗位可以拒绝。"))
    return ALLOWED


def may_start(
    user: User, order: Order, slots: Sequence[Slot], me: Membership | None = None
) -> Verdict:
    """Start an accepted slot once every slot of the order is accepted."""
    stake = _stake(user, slots, me if me is not None else membership(user))
    if not stake:
        return stake
    if order.status not in (OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE):
        return _status_refusal(order, "start")
    if held_slot(user, slots, (SlotStatus.ACCEPTED,)) is None:
        return refuse(_("您没有待开始的岗位。"))
    return ALLOWED


def may_complete(
    user: User, order: Order, slots: Sequence[Slot], me: Membership | None = None
) -> Verdict:
    stake = _stake(user, slots, me if me is not None else membership(user))
    if not stake:
        return stake
    if order.status != OrderStatus.IN_SERVICE:
        return _status_refusal(order, "complete")
    if held_slot(user, slots, (SlotStatus.IN_SERVICE,)) is None:
        return refuse(_("您没有正在进行的岗位。"))
    return ALLOWED


# --- contact data ------------------------------------------------------------------


@dataclass(frozen=True)
class ContactRight:
    """What of an order's address and phone a user sees.

    ``shown``: in full on the page and in the API; ``audited``: each showing
    to this user is written to the audit log; ``on_request``: masked, and
    revealed (audited) when the user asks -- the member who is to go there.
    """

    shown: bool = False
    audited: bool = False
    on_request: bool = False


def contact_right(
    user: User, order: Order, slots: Sequence[Slot], me: Membership | None = None
) -> ContactRight:
    """The one rule for an order's contact data, for every page and the API.

    The resident sees their own; their family (a guardian, the relative who
    placed it) see it, audited; the member holding an accepted or started
    slot of the open order may reveal it, audited; everyone else -- the
    dispatcher, the city, a leader, a team it is only offered to, a member it
    is dispatched to but not yet accepted by -- sees it masked (the
    dispatcher has the resident's audited reveal in the people app).
    """
    if order.resident is not None and order.resident.account_id == user.pk:
        return ContactRight(shown=True)
    if is_beneficiary_side(user, order, me):
        return ContactRight(shown=True, audited=True)
    if (
        order.status in ORDER_OPEN_STATES
        and held_slot(user, slots, (SlotStatus.ACCEPTED, SlotStatus.IN_SERVICE)) is not None
    ):
        return ContactRight(audited=True, on_request=True)
    return ContactRight()


def may_reveal_contact(
    user: User, order: Order, slots: Sequence[Slot], me: Membership | None = None
) -> Verdict:
    """The audited reveal of the address and phone (``services.order_contact``)."""
    right = contact_right(user, order, slots, me)
    if right.shown or right.on_request:
        return ALLOWED
    if not _stake(user, slots, me if me is not None else membership(user)):
        return refuse(_("您在这张订单上没有岗位。"), kind="forbidden")
    return refuse(_("接单后、服务结束前才能查看地址和电话。"))


# --- what a page shows and the API lists ----------------------------------------------

ORDER_ACTION_NAMES = ("cancel", "reject", "rate", "record_callback", "dispatch", "close_follow_up")
MEMBER_ACTION_NAMES = ("accept", "decline", "start", "complete")


@dataclass(frozen=True)
class OrderActions:
    """The order-level actions open to a user, each the verdict of its predicate."""

    cancel: bool = False
    cancel_needs_reason: bool = False
    reject: bool = False
    rate: bool = False
    record_callback: bool = False
    dispatch: bool = False
    close_follow_up: bool = False
    link_resident: bool = False
    # Teams a leader (not a dispatcher) may dispatch to; None = any.
    led_teams: frozenset[int] | None = None

    def names(self) -> list[str]:
        return [n for n in ORDER_ACTION_NAMES if getattr(self, n)]


def order_actions(user: User, order: Order) -> OrderActions:
    slots = list(order.slots.all())
    return OrderActions(
        cancel=bool(may_cancel(user, order)),
        cancel_needs_reason=cancel_needs_reason(user, order),
        reject=bool(may_reject(user, order, slots)),
        rate=bool(may_rate(user, order, slots)),
        record_callback=bool(may_record_callback(user, order, slots)),
        dispatch=bool(may_dispatch(user, order, slots)),
        close_follow_up=bool(may_close_follow_up(user, order)),
        link_resident=bool(may_link_resident(user, order)),
        led_teams=led_teams(user, order),
    )


@dataclass
class Task:
    """The member's side of one order: their slot (or one offered to their team)
    and what they may do with it."""

    order: Order
    slot: Slot | None
    offered: bool = False
    can_accept: bool = False
    can_decline: bool = False
    can_start: bool = False
    can_complete: bool = False
    can_reveal_contact: bool = False
    waiting: bool = False

    @property
    def address(self) -> str:
        # Masked: the member reveals it (audited) with order_contact once accepted.
        return mask_address(self.order.address)


_SLOT_PRIORITY: dict[str, int] = {
    SlotStatus.IN_SERVICE: 0,
    SlotStatus.ACCEPTED: 1,
    SlotStatus.ASSIGNED: 2,
    SlotStatus.COMPLETED: 3,
    SlotStatus.CANCELLED: 4,
}


def task_for(user: User, order: Order, me: Membership | None = None) -> Task | None:
    """The member's slot on ``order`` (or a slot offered to their team), and the buttons."""
    slots = list(order.slots.all())
    mine = sorted(
        (s for s in slots if s.member is not None and s.member.user_id == user.pk),
        key=lambda s: _SLOT_PRIORITY.get(s.status, 9),
    )
    if not mine and not any(s.status == SlotStatus.OFFERED for s in slots):
        return None  # nothing here is the user's, whatever teams they are in
    me = me if me is not None else membership(user)
    offered = [
        s for s in slots if s.status == SlotStatus.OFFERED and s.offered_team_id in me.team_ids
    ]
    if not mine and not offered:
        return None
    held = mine[0] if mine and mine[0].status != SlotStatus.CANCELLED else None
    plan = accept_plan(user, order, slots, me)
    return Task(
        order=order,
        slot=held or (offered[0] if offered else mine[0]),
        offered=held is None and bool(offered),
        can_accept=bool(plan.verdict),
        can_decline=bool(may_decline(user, order, slots, me)),
        can_start=bool(may_start(user, order, slots, me)),
        can_complete=bool(may_complete(user, order, slots, me)),
        can_reveal_contact=contact_right(user, order, slots, me).on_request,
        waiting=held is not None
        and held.status == SlotStatus.ACCEPTED
        and order.status in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED),
    )


def action_names(user: User, order: Order, me: Membership | None = None) -> list[str]:
    """Everything ``user`` may do to ``order`` now: the order-level actions,
    then the member's own on their slot (what the API's ``actions`` lists)."""
    names = order_actions(user, order).names()
    task = task_for(user, order, me)
    if task is not None:
        names += [n for n in MEMBER_ACTION_NAMES if getattr(task, f"can_{n}")]
    return names
