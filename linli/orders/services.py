"""Every write of the point-order cycle, one function per transition.

Each function checks its guard (the order's and slot's current state, and who
is acting), locks the order row with ``select_for_update()`` before reading
state, changes rows inside ``transaction.atomic()``, appends an OrderEvent and
notifies people in the same transaction (the outbox) or after the commit.

Lock order, everywhere: the order row, then member rows in id order. Two
transitions of one order therefore run one after the other on PostgreSQL; on
SQLite the whole write transaction is serialised (IMMEDIATE mode).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from linli.core.models import AuditLog
from linli.core.roles import Role
from linli.core.services import audit_record
from linli.notify.services import notify
from linli.orders.models import (
    PRE_SERVICE,
    SLOT_LOAD_STATES,
    Channel,
    FollowUp,
    Order,
    OrderEvent,
    OrderStatus,
    PlacedAs,
    Rating,
    ServiceItem,
    Slot,
    SlotStatus,
    Urgency,
)
from linli.orders.permissions import (
    can_see,
    is_beneficiary_side,
    manages_community,
    own_resident_ids,
)
from linli.people.models import Resident
from linli.teams.models import Member, Team

if TYPE_CHECKING:
    from django.http import HttpRequest

    from linli.core.models import User

DESCRIPTION_MAX = 2000


# --- helpers -----------------------------------------------------------------


def _lock(order_id: int) -> Order:
    try:
        return (
            Order.objects.select_for_update(of=("self",))  # the order row only, not the joined ones
            .select_related("item", "community")
            .get(pk=order_id)
        )
    except (Order.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


def _event(
    order: Order,
    *,
    actor: User | None,
    action: str,
    from_status: str,
    slot: Slot | None = None,
    slot_from: str = "",
    note: str = "",
    at: dt.datetime | None = None,
    member: Member | None = None,
    team: Team | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        slot=slot,
        member=member,
        team=team,
        at=at or timezone.now(),
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=order.status,
        slot_from=slot_from,
        slot_to=slot.status if slot else "",
        note=note,
    )


def _set_status(order: Order, status: str) -> None:
    if order.status != status:
        order.status = status
        order.save(update_fields=["status", "updated_at"])


def _deny(actor: User, order: Order, message: str | None = None) -> Forbidden | NotFound:
    """Forbidden for someone who may see the order; NotFound for anyone else,
    so that another community's order is indistinguishable from an absent one."""
    if can_see(actor, order):
        return Forbidden(message)
    return NotFound()


REASON_MAX = 500


def _clean_reason(reason: str | None, required: str | None = None) -> str:
    """A stripped reason of at most REASON_MAX characters; ``required`` is the message when empty."""
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput(fields={"reason": required})
    if len(reason) > REASON_MAX:
        raise InvalidInput(fields={"reason": _("最多 %(n)d 个字。") % {"n": REASON_MAX}})
    return reason


def _status_from_slots(slots: Iterable[Slot]) -> str:
    """The pre-service state an order's slots imply."""
    states = [s.status for s in slots]
    if all(s == SlotStatus.ACCEPTED for s in states):
        return OrderStatus.ACCEPTED
    if all(s != SlotStatus.OPEN for s in states):
        return OrderStatus.DISPATCHED
    return OrderStatus.SUBMITTED


def _slots(order: Order) -> list[Slot]:
    return list(order.slots.select_related("member__user").order_by("index"))


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


def _check_member_can_take(member: Member, order: Order, slots: list[Slot]) -> None:
    """The hard constraints of dispatching or accepting one slot. Locks the member row."""
    # of=("self",): Member's default ordering joins team and community; lock only the member.
    list(
        Member.objects.select_for_update(of=("self",))
        .filter(pk=member.pk)
        .order_by()
        .values_list("pk")
    )
    if not member.active:
        raise Conflict(_("该队员已不在岗。"), fields={"member": _("该队员已不在岗。")})
    if not member.skills.filter(pk=order.item.skill_id).exists():
        raise InvalidInput(
            fields={"member": _("该队员没有“%(skill)s”技能。") % {"skill": order.item.skill.label}}
        )
    if any(s.member_id == member.pk and s.status != SlotStatus.CANCELLED for s in slots):
        raise Conflict(_("该队员已在本订单中。"), fields={"member": _("该队员已在本订单中。")})
    load = member_load([member.pk]).get(member.pk, 0)
    if load >= member.max_concurrent:
        raise Conflict(
            _("该队员当前已有 %(load)d 单,达到上限 %(cap)d 单。")
            % {"load": load, "cap": member.max_concurrent},
            fields={"member": _("已达接单上限。")},
        )


def _dispatchers(community_id: int) -> list[User]:
    from linli.core.models import User

    return list(
        User.objects.filter(role=Role.DISPATCHER, community_id=community_id, is_active=True)
    )


def _accept_window(order: Order, now: dt.datetime) -> dt.datetime:
    """A re-dispatched slot whose order is past its deadline gets a fresh one."""
    if order.accept_deadline > now:
        return order.accept_deadline
    item = order.item
    minutes = (
        item.urgent_accept_minutes
        if order.urgency == Urgency.URGENT
        else item.normal_accept_minutes
    )
    return now + dt.timedelta(minutes=minutes)


def _link(order: Order) -> str:
    return f"/orders/{order.pk}/"


# --- 群众点单: placing an order --------------------------------------------------


def order_place(
    *,
    actor: User,
    item: str,
    resident_id: int | None = None,
    description: str = "",
    urgency: str = Urgency.NORMAL,
    window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
    channel: str = Channel.APP,
    address: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    idempotency_key: str = "",
) -> Order:
    """A resident orders for themself or a ward; a dispatcher or the city for anyone they run.

    With an ``idempotency_key``, the same key from the same user returns the
    order it first created, never a second one (a unique constraint decides
    between concurrent requests).
    """
    idempotency_key = (idempotency_key or "").strip()
    if len(idempotency_key) > 100:
        raise InvalidInput(fields={"Idempotency-Key": _("最多 100 个字符。")})
    if idempotency_key:
        existing = Order.objects.filter(placed_by=actor, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _same_request(existing, item, resident_id)

    errors: dict[str, str] = {}
    resident, placed_as = _beneficiary(actor, resident_id)
    try:
        catalog_item = ServiceItem.objects.select_related("skill").get(code=item, active=True)
    except ServiceItem.DoesNotExist:
        catalog_item = None
        errors["item"] = _("没有这个服务项目。")
    if (
        catalog_item is not None
        and not catalog_item.fixed
        and catalog_item.community_id != resident.community_id
    ):
        errors["item"] = _("该服务项目不在本社区提供。")
    if urgency not in Urgency.values:
        errors["urgency"] = _("紧急程度必须是 urgent、normal 或 scheduled。")
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("需求描述最多 %(n)d 个字。") % {"n": DESCRIPTION_MAX}
    if channel not in Channel.values:
        errors["channel"] = _("未知的下单渠道。")
    now = timezone.now()
    for name, value in (("window_start", window_start), ("window_end", window_end)):
        if value is not None and timezone.is_naive(value):
            errors[name] = _("请带上时区,例如 2026-12-01T09:00:00+08:00。")
    if "window_start" not in errors and "window_end" not in errors:
        if (window_start is None) != (window_end is None):
            errors["window_end" if window_end is None else "window_start"] = _(
                "期望时间需要同时填写开始和结束。"
            )
        elif window_start is not None and window_end is not None:
            if window_start >= window_end:
                errors["window_end"] = _("结束时间必须晚于开始时间。")
            elif window_end <= now:
                errors["window_end"] = _("期望时间已经过去。")
        if urgency == Urgency.SCHEDULED and window_start is None:
            errors["window_start"] = _("预约服务需要填写期望时间。")
    if lat is not None and not -90 <= lat <= 90:
        errors["lat"] = _("纬度必须在 -90 到 90 之间。")
    if lon is not None and not -180 <= lon <= 180:
        errors["lon"] = _("经度必须在 -180 到 180 之间。")
    if errors:
        raise InvalidInput(fields=errors)
    assert catalog_item is not None

    accept_by, complete_by = catalog_item.deadlines(urgency, now, window_start, window_end)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                resident=resident,
                community_id=resident.community_id,
                placed_by=actor,
                placed_as=placed_as,
                channel=channel,
                item=catalog_item,
                description=description,
                address=resident.address if address is None else address.strip()[:200],
                lat=resident.lat if lat is None else lat,
                lon=resident.lon if lon is None else lon,
                window_start=window_start,
                window_end=window_end,
                urgency=urgency,
                accept_deadline=accept_by,
                complete_deadline=complete_by,
                idempotency_key=idempotency_key,
                created_at=now,
            )
            Slot.objects.bulk_create(
                Slot(order=order, index=i + 1) for i in range(catalog_item.members_needed)
            )
            _event(order, actor=actor, action="place", from_status="", at=now)
            notify(
                _dispatchers(order.community_id),
                "order_placed",
                _("新订单 #%(id)s:%(item)s(%(name)s)")
                % {"id": order.pk, "item": catalog_item.label, "name": resident.name},
                _link(order),
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key won the insert.
        return _same_request(
            Order.objects.get(placed_by=actor, idempotency_key=idempotency_key), item, resident_id
        )
    return order


def _same_request(order: Order, item: str, resident_id: int | None) -> Order:
    """The order a repeated Idempotency-Key stands for, if the request is the same one.

    A key reused for a different item or person is a client bug: answering
    with the first order would hide it.
    """
    if order.item.code != item or (resident_id is not None and order.resident_id != resident_id):
        raise Conflict(
            _("这个 Idempotency-Key 已用于另一张订单。"),
            fields={"Idempotency-Key": _("请为新的订单使用新的 Idempotency-Key。")},
        )
    return order


def _beneficiary(actor: User, resident_id: int | None) -> tuple[Resident, str]:
    if actor.role in (Role.DISPATCHER, Role.CITY):
        if resident_id is None:
            raise InvalidInput(fields={"resident": _("代居民下单时必须选择居民。")})
        qs = (
            Resident.objects.all()
            if actor.role == Role.CITY
            else Resident.objects.filter(community_id=actor.community_id)
        )
        try:
            return qs.get(pk=resident_id), PlacedAs.DISPATCHER
        except (Resident.DoesNotExist, ValueError, TypeError) as exc:
            raise InvalidInput(fields={"resident": _("没有这位居民,或不在您的社区。")}) from exc
    own = Resident.objects.filter(account=actor).first()
    if resident_id is None or (own is not None and resident_id == own.pk):
        if own is None:
            raise Forbidden(_("您的账号没有关联居民档案,请联系社区工作人员代为下单。"))
        return own, PlacedAs.SELF
    if resident_id in own_resident_ids(actor):
        return Resident.objects.get(pk=resident_id), PlacedAs.GUARDIAN
    raise InvalidInput(fields={"resident": _("您只能为自己或您监护的家人下单。")})


# --- 集中派单: dispatching --------------------------------------------------------


def order_dispatch(
    *,
    actor: User | None,
    order_id: int,
    member_id: int | None = None,
    team_id: int | None = None,
    slot_index: int | None = None,
    note: str = "",
) -> Slot:
    """Dispatch one open slot to a member, or offer it to a whole team (抢单).

    Allowed for the order's dispatcher and the city admin, for a team leader
    to members of a team they lead, and for the system (``actor=None``: the
    automatic dispatch of the worker). The slot must be open.
    """
    if (member_id is None) == (team_id is None):
        raise InvalidInput(fields={"member": _("请指定一名队员或一支服务队(二选一)。")})
    note = (note or "").strip()
    if len(note) > DESCRIPTION_MAX:
        raise InvalidInput(fields={"note": _("备注最多 %(n)d 个字。") % {"n": DESCRIPTION_MAX}})
    with transaction.atomic():
        order = _lock(order_id)
        leader_teams = _guard_dispatcher(actor, order)
        if order.status not in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED):
            raise Conflict(
                _("订单当前状态为“%(s)s”,不能派单。") % {"s": order.get_status_display()}
            )
        slots = _slots(order)
        slot = _pick_open_slot(slots, slot_index)
        now = timezone.now()
        from_status, slot_from = order.status, slot.status
        if member_id is not None:
            member = _member_for(order, member_id)
            if leader_teams is not None and member.team_id not in leader_teams:
                raise Forbidden(_("队长只能派单给本队队员。"))
            _check_member_can_take(member, order, slots)
            slot.member, slot.offered_team, slot.status = member, None, SlotStatus.ASSIGNED
            recipients = [member.user]
            text = _("新派单 #%(id)s:%(item)s,请尽快接单。")
        else:
            team = _team_for(order, team_id)  # type: ignore[arg-type]
            if leader_teams is not None and team.pk not in leader_teams:
                raise Forbidden(_("队长只能派单给本队。"))
            slot.member, slot.offered_team, slot.status = None, team, SlotStatus.OFFERED
            recipients = [m.user for m in _qualified(team.members.select_related("user"), order)]
            text = _("抢单 #%(id)s:%(item)s,先接先得。")
        slot.dispatched_at, slot.accept_deadline = now, _accept_window(order, now)
        slot.save(
            update_fields=["member", "offered_team", "status", "dispatched_at", "accept_deadline"]
        )
        _set_status(order, _status_from_slots(slots))
        _event(
            order,
            actor=actor,
            action="dispatch",
            from_status=from_status,
            slot=slot,
            slot_from=slot_from,
            note=note,
            member=slot.member,
            team=slot.offered_team,
        )
        notify(
            recipients,
            "slot_dispatched",
            text % {"id": order.pk, "item": order.item.label},
            _link(order),
        )
    return slot


def _guard_dispatcher(actor: User | None, order: Order) -> set[int] | None:
    """None for a dispatcher, the city or the system; the led team ids for a team leader."""
    if actor is None or manages_community(actor, order.community_id):
        return None
    if actor.role == Role.LEADER and actor.community_id == order.community_id:
        led = set(Team.objects.filter(leader=actor).values_list("pk", flat=True))
        if led:
            return led
    raise _deny(actor, order, _("只有本社区的派单员可以派单。"))


def _pick_open_slot(slots: list[Slot], slot_index: int | None) -> Slot:
    if slot_index is not None:
        for s in slots:
            if s.index == slot_index:
                if s.status != SlotStatus.OPEN:
                    raise Conflict(_("第 %(i)d 个岗位已派出。") % {"i": slot_index})
                return s
        raise InvalidInput(fields={"slot": _("没有第 %(i)s 个岗位。") % {"i": slot_index}})
    for s in slots:
        if s.status == SlotStatus.OPEN:
            return s
    raise Conflict(_("所有岗位都已派出。"))


def _member_for(order: Order, member_id: int) -> Member:
    from django.conf import settings

    qs = Member.objects.select_related("user", "team")
    if getattr(settings, "LINLI_DISPATCH_CROSS_COMMUNITY", None) is None:
        qs = qs.filter(team__community_id=order.community_id)
    try:
        return qs.get(pk=member_id)
    except (Member.DoesNotExist, ValueError, TypeError) as exc:
        raise InvalidInput(fields={"member": _("没有这名队员,或不属于本社区。")}) from exc


def _team_for(order: Order, team_id: int) -> Team:
    try:
        team = Team.objects.get(pk=team_id, community_id=order.community_id)
    except (Team.DoesNotExist, ValueError, TypeError) as exc:
        raise InvalidInput(fields={"team": _("没有这支服务队,或不属于本社区。")}) from exc
    if not _qualified(team.members.all(), order):
        raise InvalidInput(
            fields={
                "team": _("该服务队没有具备“%(skill)s”技能的在岗队员。")
                % {"skill": order.item.skill.label}
            }
        )
    return team


def _qualified(members, order: Order) -> list[Member]:  # type: ignore[no-untyped-def]
    return list(members.filter(active=True, skills=order.item.skill_id))


# --- 服务队接单: the member's side ------------------------------------------------


def _my_members(actor: User) -> list[Member]:
    return list(Member.objects.filter(user=actor, active=True))


def _my_slot(actor: User, slots: list[Slot], states: tuple[str, ...]) -> Slot | None:
    mine = {m.pk for m in Member.objects.filter(user=actor)}
    for s in slots:
        if s.member_id in mine and s.status in states:
            return s
    return None


def _order_for_member(actor: User, order_id: int) -> tuple[Order, list[Slot]]:
    order = _lock(order_id)
    slots = _slots(order)
    mine = {m.pk for m in Member.objects.filter(user=actor)}
    teams = set(Member.objects.filter(user=actor, active=True).values_list("team_id", flat=True))
    # A slot keeps the team it was offered to after someone wins it: the
    # others of that team still have a stake (and get a Conflict, not a 404).
    if not any(s.member_id in mine or s.offered_team_id in teams for s in slots):
        raise _deny(actor, order, _("您在这张订单上没有岗位。"))
    return order, slots


def order_accept(*, actor: User, order_id: int) -> Slot:
    """Accept the slot dispatched to the actor, or win a slot offered to their team.

    For an offered slot the first qualified member wins: the order row lock
    makes concurrent accepts run one after another, and the later ones find
    the slot taken and get a Conflict.
    """
    with transaction.atomic():
        order, slots = _order_for_member(actor, order_id)
        if order.status not in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED):
            raise Conflict(
                _("订单当前状态为“%(s)s”,不能接单。") % {"s": order.get_status_display()}
            )
        slot = _my_slot(actor, slots, (SlotStatus.ASSIGNED,))
        member: Member | None = slot.member if slot else None
        if slot is None:
            offered = [s for s in slots if s.status == SlotStatus.OFFERED]
            if not offered:
                raise Conflict(_("没有可接的岗位:已被其他队员接走或已收回。"))
            # Several slots of one order may be offered to different teams: take
            # the one offered to a team of the actor's.
            my_teams = set(
                Member.objects.filter(user=actor, active=True).values_list("team_id", flat=True)
            )
            slot = next((s for s in offered if s.offered_team_id in my_teams), offered[0])
            member = (
                Member.objects.filter(user=actor, team_id=slot.offered_team_id, active=True)
                .select_related("user")
                .first()
            )
            if member is None:
                raise Conflict(_("这个岗位没有派给您的服务队。"))
            _check_member_can_take(member, order, slots)
        assert member is not None
        now = timezone.now()
        from_status, slot_from = order.status, slot.status
        slot.member, slot.status, slot.accepted_at = member, SlotStatus.ACCEPTED, now
        slot.save(update_fields=["member", "status", "accepted_at"])
        _set_status(order, _status_from_slots(slots))
        _event(
            order,
            actor=actor,
            action="accept",
            from_status=from_status,
            slot=slot,
            slot_from=slot_from,
        )
        if order.status == OrderStatus.ACCEPTED:
            notify(
                _beneficiary_users(order),
                "order_accepted",
                _("您的订单 #%(id)s(%(item)s)已有队员接单。")
                % {"id": order.pk, "item": order.item.label},
                _link(order),
            )
    return slot


def order_decline(*, actor: User, order_id: int, reason: str) -> Slot:
    """Hand a slot dispatched to the actor back to the dispatcher, with a reason."""
    reason = _clean_reason(reason, required=_("请说明不能接单的原因。"))
    with transaction.atomic():
        order, slots = _order_for_member(actor, order_id)
        slot = _my_slot(actor, slots, (SlotStatus.ASSIGNED,))
        if slot is None:
            raise Conflict(_("只有派给您、尚未接单的岗位可以拒绝。"))
        from_status, slot_from = order.status, slot.status
        slot.member, slot.status, slot.dispatched_at, slot.accept_deadline = (
            None,
            SlotStatus.OPEN,
            None,
            None,
        )
        slot.save(update_fields=["member", "status", "dispatched_at", "accept_deadline"])
        _set_status(order, _status_from_slots(slots))
        _event(
            order,
            actor=actor,
            action="decline",
            from_status=from_status,
            slot=slot,
            slot_from=slot_from,
            note=reason,
        )
        notify(
            _dispatchers(order.community_id),
            "slot_declined",
            _("订单 #%(id)s 被 %(who)s 拒绝:%(reason)s")
            % {"id": order.pk, "who": actor.display_name, "reason": reason},
            _link(order),
        )
    return slot


def order_start(*, actor: User, order_id: int) -> Slot:
    """The actor arrives and starts their accepted slot. Every slot must be accepted."""
    with transaction.atomic():
        order, slots = _order_for_member(actor, order_id)
        if order.status not in (OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE):
            raise Conflict(
                _("订单当前状态为“%(s)s”,不能开始服务。") % {"s": order.get_status_display()}
            )
        slot = _my_slot(actor, slots, (SlotStatus.ACCEPTED,))
        if slot is None:
            raise Conflict(_("您没有待开始的岗位。"))
        from_status, slot_from = order.status, slot.status
        slot.status, slot.started_at = SlotStatus.IN_SERVICE, timezone.now()
        slot.save(update_fields=["status", "started_at"])
        _set_status(order, OrderStatus.IN_SERVICE)
        _event(
            order,
            actor=actor,
            action="start",
            from_status=from_status,
            slot=slot,
            slot_from=slot_from,
        )
    return slot


def order_complete(*, actor: User, order_id: int, note: str = "") -> Slot:
    """The actor finishes their slot; the order is completed when every slot is."""
    note = (note or "").strip()
    if len(note) > DESCRIPTION_MAX:
        raise InvalidInput(fields={"note": _("服务记录最多 %(n)d 个字。") % {"n": DESCRIPTION_MAX}})
    with transaction.atomic():
        order, slots = _order_for_member(actor, order_id)
        if order.status != OrderStatus.IN_SERVICE:
            raise Conflict(
                _("订单当前状态为“%(s)s”,不能完成服务。") % {"s": order.get_status_display()}
            )
        slot = _my_slot(actor, slots, (SlotStatus.IN_SERVICE,))
        if slot is None:
            raise Conflict(_("您没有正在进行的岗位。"))
        from_status, slot_from = order.status, slot.status
        slot.status, slot.completed_at, slot.note = SlotStatus.COMPLETED, timezone.now(), note
        slot.save(update_fields=["status", "completed_at", "note"])
        if all(s.status == SlotStatus.COMPLETED for s in slots):
            _set_status(order, OrderStatus.COMPLETED)
        _event(
            order,
            actor=actor,
            action="complete",
            from_status=from_status,
            slot=slot,
            slot_from=slot_from,
            note=note,
        )
        if order.status == OrderStatus.COMPLETED:
            notify(
                _beneficiary_users(order),
                "order_completed",
                _("订单 #%(id)s(%(item)s)已完成,请为服务打分。")
                % {"id": order.pk, "item": order.item.label},
                _link(order),
            )
    return slot


def order_contact(
    *, actor: User, order_id: int, request: HttpRequest | None = None
) -> dict[str, str]:
    """The service address and phone, unmasked, for the member who is to go there.

    Only a member holding an accepted or in-service slot of an open order may
    see them; every view is written to the audit log.
    """
    with transaction.atomic():
        order, slots = _order_for_member(actor, order_id)
        slot = _my_slot(actor, slots, (SlotStatus.ACCEPTED, SlotStatus.IN_SERVICE))
        if slot is None or order.status not in (
            OrderStatus.ACCEPTED,
            OrderStatus.IN_SERVICE,
            OrderStatus.DISPATCHED,
            OrderStatus.SUBMITTED,
        ):
            raise Conflict(_("接单后、服务结束前才能查看地址和电话。"))
        audit_record(
            actor=actor,
            action=AuditLog.Action.REVEAL,
            target=order.resident,
            field="contact",
            detail=f"order #{order.pk}",
            request=request,
        )
    return {"address": order.address, "phone": order.resident.phone}


# --- 群众评单: rating ------------------------------------------------------------


def order_rate(
    *, actor: User, order_id: int, resolved: bool, satisfaction: int, comment: str = ""
) -> Rating:
    """The beneficiary (or whoever placed the order) rates a completed order, once.

    A rating of 2 or less, or "not resolved", opens a follow-up.
    """
    comment = (comment or "").strip()
    errors = {}
    if (
        not isinstance(satisfaction, int)
        or isinstance(satisfaction, bool)
        or not 1 <= satisfaction <= 5
    ):
        errors["satisfaction"] = _("满意度必须是 1 到 5。")
    if not isinstance(resolved, bool):
        errors["resolved"] = _("请选择问题是否已解决。")
    if len(comment) > 1000:
        errors["comment"] = _("评价最多 1000 个字。")
    if errors:
        raise InvalidInput(fields=errors)
    with transaction.atomic():
        order = _lock(order_id)
        if not is_beneficiary_side(actor, order):
            raise _deny(actor, order, _("只有服务对象或下单人可以评价。"))
        if order.status != OrderStatus.COMPLETED:
            if order.status == OrderStatus.RATED:
                raise Conflict(_("这张订单已经评价过了。"))
            raise Conflict(_("服务完成后才能评价。"))
        rating = Rating.objects.create(
            order=order, by=actor, resolved=resolved, satisfaction=satisfaction, comment=comment
        )
        from_status = order.status
        _set_status(order, OrderStatus.RATED)
        _event(
            order,
            actor=actor,
            action="rate",
            from_status=from_status,
            note=f"{satisfaction}/5 {comment}".strip(),
        )
        if satisfaction <= 2 or not resolved:
            reason = _("未解决") if not resolved else _("满意度 %(n)d 分") % {"n": satisfaction}
            if not resolved and satisfaction <= 2:
                reason = _("未解决,满意度 %(n)d 分") % {"n": satisfaction}
            FollowUp.objects.create(order=order, reason=reason)
            notify(
                _dispatchers(order.community_id),
                "follow_up",
                _("订单 #%(id)s 需要回访:%(reason)s") % {"id": order.pk, "reason": reason},
                _link(order),
            )
    return rating


def _beneficiary_users(order: Order) -> list[User]:
    users = [order.placed_by]
    if order.resident.account_id:
        users.append(order.resident.account)
    return [u for u in users if u.role != Role.DISPATCHER and u.role != Role.CITY]


def follow_up_close(*, actor: User, order_id: int, note: str) -> FollowUp:
    note = (note or "").strip()
    if not note:
        raise InvalidInput(fields={"note": _("请填写回访记录。")})
    if len(note) > DESCRIPTION_MAX:
        raise InvalidInput(fields={"note": _("回访记录最多 %(n)d 个字。") % {"n": DESCRIPTION_MAX}})
    with transaction.atomic():
        order = _lock(order_id)
        if not manages_community(actor, order.community_id):
            raise _deny(actor, order, _("只有本社区的派单员可以关闭回访。"))
        try:
            follow_up = FollowUp.objects.select_for_update().get(order=order)
        except FollowUp.DoesNotExist as exc:
            raise NotFound() from exc
        if follow_up.closed_at is not None:
            raise Conflict(_("回访已经关闭。"))
        follow_up.closed_at, follow_up.closed_by, follow_up.note = (
            timezone.now(),
            actor,
            note[:2000],
        )
        follow_up.save(update_fields=["closed_at", "closed_by", "note"])
        _event(order, actor=actor, action="follow_up", from_status=order.status, note=note)
    return follow_up


# --- cancelling and rejecting ---------------------------------------------------


def order_cancel(*, actor: User, order_id: int, reason: str = "") -> Order:
    """The resident side before service starts; the dispatcher until completion, with a reason."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        order = _lock(order_id)
        if manages_community(actor, order.community_id):
            if not reason:
                raise InvalidInput(fields={"reason": _("请说明取消的原因。")})
            allowed: tuple[str, ...] = (*PRE_SERVICE, OrderStatus.IN_SERVICE)
        elif is_beneficiary_side(actor, order):
            allowed = PRE_SERVICE
        else:
            raise _deny(actor, order, _("只有下单人或派单员可以取消订单。"))
        if order.status not in allowed:
            raise Conflict(
                _("订单当前状态为“%(s)s”,不能取消。") % {"s": order.get_status_display()}
            )
        return _close(order, actor, OrderStatus.CANCELLED, "cancel", reason)


def order_reject(*, actor: User, order_id: int, reason: str) -> Order:
    """The dispatcher turns down an order nobody has accepted yet, with a reason."""
    reason = _clean_reason(reason, required=_("请说明驳回的原因。"))
    with transaction.atomic():
        order = _lock(order_id)
        if not manages_community(actor, order.community_id):
            raise _deny(actor, order, _("只有本社区的派单员可以驳回订单。"))
        slots = _slots(order)
        if order.status not in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED) or any(
            s.status != SlotStatus.OPEN
            and s.status not in (SlotStatus.ASSIGNED, SlotStatus.OFFERED)
            for s in slots
        ):
            raise Conflict(_("已有队员接单的订单不能驳回,请改为取消。"))
        return _close(order, actor, OrderStatus.REJECTED, "reject", reason)


def _close(order: Order, actor: User, status: str, action: str, reason: str) -> Order:
    slots = _slots(order)
    holders = [s.member.user for s in slots if s.member_id and s.status in SLOT_LOAD_STATES]
    from_status = order.status
    _set_status(order, status)
    _event(order, actor=actor, action=action, from_status=from_status, note=reason)
    for s in slots:
        if s.status != SlotStatus.COMPLETED:
            slot_from = s.status
            s.status = SlotStatus.CANCELLED
            s.save(update_fields=["status"])
            _event(
                order, actor=actor, action=action, from_status=status, slot=s, slot_from=slot_from
            )
    text = (
        _("订单 #%(id)s 已取消:%(reason)s")
        if status == OrderStatus.CANCELLED
        else _("订单 #%(id)s 已驳回:%(reason)s")
    ) % {"id": order.pk, "reason": reason or "—"}
    recipients = holders + [u for u in _beneficiary_users(order) if u.pk != actor.pk]
    if not manages_community(actor, order.community_id):
        recipients += _dispatchers(order.community_id)
    notify(recipients, f"order_{action}", text, _link(order))
    return order


# --- deadlines ------------------------------------------------------------------


def orders_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Flag orders past their accept deadline and take back unaccepted slots.

    Safe to run from several workers at once: each order is handled under its
    row lock and re-checked there.
    """
    now = now or timezone.now()
    flagged = returned = 0
    due = (
        Order.objects.filter(
            Q(status__in=(OrderStatus.SUBMITTED, OrderStatus.DISPATCHED))
            & (
                Q(overdue=False, accept_deadline__lt=now)
                | Q(
                    slots__status__in=(SlotStatus.ASSIGNED, SlotStatus.OFFERED),
                    slots__accept_deadline__lt=now,
                )
            )
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    for order_id in list(due):
        with transaction.atomic():
            order = _lock(order_id)
            if order.status not in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED):
                continue
            slots = _slots(order)
            for s in slots:
                if (
                    s.status in (SlotStatus.ASSIGNED, SlotStatus.OFFERED)
                    and s.accept_deadline
                    and s.accept_deadline < now
                ):
                    from_status, slot_from = order.status, s.status
                    lost = s.member.user if s.member_id else None
                    s.status, s.member, s.offered_team = SlotStatus.OPEN, None, None
                    s.dispatched_at = s.accept_deadline = None
                    s.save(
                        update_fields=[
                            "status",
                            "member",
                            "offered_team",
                            "dispatched_at",
                            "accept_deadline",
                        ]
                    )
                    if lost is not None:
                        notify(
                            [lost],
                            "slot_expired",
                            _("订单 #%(id)s 超时未接单,已收回。") % {"id": order.pk},
                            _link(order),
                        )
                    _set_status(order, _status_from_slots(slots))
                    _event(
                        order,
                        actor=None,
                        action="expire",
                        from_status=from_status,
                        slot=s,
                        slot_from=slot_from,
                        note=_("超时未接单,已收回待重新派单。"),
                    )
                    returned += 1
            if not order.overdue and order.accept_deadline < now:
                order.overdue = True
                order.save(update_fields=["overdue", "updated_at"])
                _event(
                    order,
                    actor=None,
                    action="overdue",
                    from_status=order.status,
                    note=_("超过接单时限。"),
                )
                notify(
                    _dispatchers(order.community_id),
                    "order_overdue",
                    _("订单 #%(id)s(%(item)s)已超过接单时限,请尽快处理。")
                    % {"id": order.pk, "item": order.item.label},
                    _link(order),
                )
                flagged += 1
    return {"overdue": flagged, "returned": returned}


# --- the timeline ---------------------------------------------------------------


def replay(events: Iterable[OrderEvent]) -> tuple[str, dict[int, str]]:
    """The order's and slots' states that a timeline leads to.

    Raises ValueError when an event does not start where the previous one
    ended: the timeline must be a chain.
    """
    status = ""
    slots: dict[int, str] = {}
    for e in events:
        if e.from_status != status:
            raise ValueError(f"event {e.pk} starts at {e.from_status!r}, timeline is at {status!r}")
        if e.slot_id is not None:
            if slots.get(e.slot_id, SlotStatus.OPEN) != e.slot_from:
                raise ValueError(f"event {e.pk}: slot {e.slot_id} is not {e.slot_from!r}")
            slots[e.slot_id] = e.slot_to
        status = e.to_status
    return status, slots
