"""Every write of the point-order cycle, one function per transition.

Each function asks its predicate (``linli.orders.permissions``) whether the
actor may do it now, under the order's row lock, and raises the refusal;
then it moves the slot through :class:`Locked` -- the one helper that checks
the move against ``models.SLOT_MOVES``, saves it, derives the order's state
(``models.order_status_of``) and appends the OrderEvent -- and notifies
people in the same transaction (the outbox).

Lock order, everywhere: the order row, then member rows in id order. Two
transitions of one order therefore run one after the other on PostgreSQL; on
SQLite the whole write transaction is serialised (IMMEDIATE mode).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.core.boundary import clean_text, datetime_problem, int_problem, storable
from linli.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from linli.core.masking import mask_address, mask_phone
from linli.core.models import AuditLog
from linli.core.roles import Role
from linli.core.rules import Verdict
from linli.core.services import audit_record
from linli.network.models import Center
from linli.notify.services import each_language, notify
from linli.orders import attributes as item_attributes
from linli.orders import permissions as may
from linli.orders import rollups
from linli.orders.load import member_load
from linli.orders.models import (
    ORDER_CLOSINGS,
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
    SlotAction,
    SlotStatus,
    Urgency,
    follow_up_reason,
    order_status_of,
    slot_move_allowed,
)
from linli.orders.models import (
    field_limit as limit,
)
from linli.people.models import Contact, Resident
from linli.people.services import contact_record
from linli.teams.models import Member, Team

if TYPE_CHECKING:
    from django.http import HttpRequest

    from linli.core.models import User

__all__ = ["member_load"]  # re-exported: the dispatch app and the demo read loads here

# The limits of what people write, from the models (forms and the API schemas read them too).
DESCRIPTION_MAX = limit(Order, "description")
ADDRESS_MAX = limit(Order, "address")
NOTE_MAX = limit(Slot, "note")
REASON_MAX = OrderEvent.REASON_MAX
COMMENT_MAX = limit(Rating, "comment")
FOLLOW_UP_NOTE_MAX = limit(FollowUp, "note")
DISPATCH_NOTE_MAX = limit(OrderEvent, "note")
CALLER_NAME_MAX = limit(Order, "caller_name")
CALLER_PHONE_MAX = limit(Order, "caller_phone")

# A wanted time window lies within settings.LINLI_WINDOW_MAX_DAYS; it may have begun,
# but not long ago (a resident ordering at 9 for "this morning").
WINDOW_BEHIND = dt.timedelta(days=1)


# The order states its slots decide (the others are set by closing it).
_SLOT_DRIVEN = (
    OrderStatus.SUBMITTED,
    OrderStatus.DISPATCHED,
    OrderStatus.ACCEPTED,
    OrderStatus.IN_SERVICE,
)


# --- the one way an order changes ---------------------------------------------


class Locked:
    """An order locked for one transition, with its slots.

    :meth:`move` moves one slot and :meth:`close` closes the order; both check
    the move against the table in the models, derive the order's state in one
    place and append the event. A service only guards and adds its side effects.
    """

    def __init__(self, order: Order, slots: list[Slot]) -> None:
        self.order = order
        self.slots = slots
        self.wrote = False  # an event was appended: the indicators' rollup is to be told

    def check(self, verdict: Verdict, actor: User | None) -> None:
        """Raise a refusal: a 404 instead of a 403 to someone who may not see the order."""
        if actor is None:
            verdict.check()
        else:
            verdict.check(lambda: may.can_see(actor, self.order))

    def move(
        self,
        slot: Slot,
        action: str,
        to: str,
        *,
        actor: User | None,
        event_note: str = "",
        at: dt.datetime | None = None,
        **changes: Any,
    ) -> OrderEvent:
        """Move ``slot`` by ``action`` to ``to``, with the other field ``changes``;
        ``event_note`` goes on the timeline."""
        if not slot_move_allowed(slot.status, action, to):
            raise Conflict(_("当前状态不允许此操作。"))
        from_status, slot_from = self.order.status, slot.status
        slot.status = to
        for name, value in changes.items():
            setattr(slot, name, value)
        slot.save(update_fields=["status", *changes])
        if self.order.status in _SLOT_DRIVEN:
            self._set_status(order_status_of(s.status for s in self.slots))
        return self._event(
            actor=actor,
            action=action,
            from_status=from_status,
            slot=slot,
            slot_from=slot_from,
            note=event_note,
            at=at,
        )

    def close(self, action: str, *, actor: User, note: str = "") -> OrderEvent:
        """Close the order by ``action`` (cancel, reject, rate); cancel what is left of its slots."""
        sources, to = ORDER_CLOSINGS[action]
        if self.order.status not in sources:
            raise Conflict(_("当前状态不允许此操作。"))
        from_status = self.order.status
        self._set_status(to)
        event = self._event(actor=actor, action=action, from_status=from_status, note=note)
        if action in (SlotAction.CANCEL, SlotAction.REJECT):
            for s in self.slots:
                if s.status not in (SlotStatus.COMPLETED, SlotStatus.CANCELLED):
                    self.move(s, action, SlotStatus.CANCELLED, actor=actor)
        return event

    def note(self, action: str, *, actor: User | None, note: str = "") -> OrderEvent:
        """An event that moves nothing (a follow-up closed, the order flagged overdue)."""
        return self._event(actor=actor, action=action, from_status=self.order.status, note=note)

    def _set_status(self, status: str) -> None:
        if self.order.status != status:
            self.order.status = status
            self.order.save(update_fields=["status", "updated_at"])

    def _event(
        self,
        *,
        actor: User | None,
        action: str,
        from_status: str,
        slot: Slot | None = None,
        slot_from: str = "",
        note: str = "",
        at: dt.datetime | None = None,
    ) -> OrderEvent:
        self.wrote = True
        return OrderEvent.objects.create(
            order=self.order,
            slot=slot,
            member=slot.member if slot is not None and action == SlotAction.DISPATCH else None,
            team=slot.offered_team if slot is not None and action == SlotAction.DISPATCH else None,
            at=at or timezone.now(),
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=self.order.status,
            slot_from=slot_from,
            slot_to=slot.status if slot else "",
            note=note,
        )


def _lock(order_id: int) -> Order:
    try:
        return (
            Order.objects.select_for_update(of=("self",))  # the order row only, not the joined ones
            .select_related("item__skill", "community", "resident")
            .get(pk=order_id)
        )
    except (Order.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


@contextmanager
def locked(order_id: int) -> Iterator[Locked]:
    """Open a transaction, lock the order row, read its slots."""
    with transaction.atomic():
        order = _lock(order_id)
        t = Locked(order, _slots(order))
        yield t
        if t.wrote:
            rollups.touch(order)


def _slots(order: Order) -> list[Slot]:
    return list(order.slots.select_related("member__user", "offered_team").order_by("index"))


def _lock_members(ids: Iterable[int]) -> None:
    # of=("self",): Member's default ordering joins team and community; lock only the members.
    list(
        Member.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(ids))
        .order_by("pk")
        .values_list("pk")
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


def _about(order: Order, **more: Any) -> dict[str, Any]:
    """A notification's params about ``order``: its number and its item in each language."""
    item = order.item
    return {"id": order.pk, "item": each_language(lambda: item.label), **more}


# --- 群众点单: placing an order --------------------------------------------------


def _window_problems(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> dict[str, str]:
    """What is wrong with a wanted window, by field: within the horizon, not past, end after start."""
    days = settings.LINLI_WINDOW_MAX_DAYS
    horizon = now + dt.timedelta(days=days)
    too_far = _("期望时间最多可以约在 %(n)d 天以内。") % {"n": days}
    problems: dict[str, str] = {}
    if start < now - WINDOW_BEHIND:
        problems["window_start"] = _("期望开始时间不能早于昨天。")
    elif start > horizon:
        problems["window_start"] = too_far
    if end <= start:
        problems["window_end"] = _("结束时间必须晚于开始时间。")
    elif end <= now:
        problems["window_end"] = _("期望时间已经过去。")
    elif end > horizon:
        problems["window_end"] = too_far
    return problems


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
    attributes: Mapping[str, object] | None = None,
    caller_name: str = "",
    caller_phone: str = "",
    community_id: int | None = None,
) -> Order:
    """A resident orders for themself or a ward; a dispatcher or the city for anyone they run.

    ``attributes`` answers the item's own questions (``ServiceItem.form``,
    checked by ``attributes.clean_answers``); an item booked for a date or a
    time (``when`` "date" / "window") is scheduled, whatever ``urgency`` says.

    Staff may also place an order for a caller not on file (待核实): no
    ``resident_id``, the ``caller_phone`` (and ``caller_name``) they gave, and
    the ``community_id`` it belongs to (a dispatcher's own by default; the
    city must say). It waits for :func:`order_link_resident` before dispatch.

    With an ``idempotency_key``, the same key from the same user returns the
    order it first created, never a second one (a unique constraint decides
    between concurrent requests).
    """
    storable(
        item=item,
        caller_name=caller_name,
        caller_phone=caller_phone,
        description=description,
        address=address,
        urgency=urgency,
        channel=channel,
        **{"Idempotency-Key": idempotency_key},
    )
    if resident_id is not None:
        problem = int_problem(resident_id) if isinstance(resident_id, int) else _("请输入整数。")
        if problem:
            raise InvalidInput(fields={"resident": problem})
    idempotency_key = (idempotency_key or "").strip()
    if len(idempotency_key) > 100:
        raise InvalidInput(fields={"Idempotency-Key": _("最多 100 个字符。")})
    if idempotency_key:
        existing = Order.objects.filter(placed_by=actor, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _same_request(existing, item, resident_id)

    errors: dict[str, str] = {}
    caller_name = clean_text(caller_name, CALLER_NAME_MAX, "caller_name")
    caller_phone = clean_text(caller_phone, CALLER_PHONE_MAX, "caller_phone")
    resident, placed_as, community = _beneficiary(
        actor, resident_id, caller_phone=caller_phone, community_id=community_id
    )
    try:
        catalog_item = ServiceItem.objects.select_related("skill").get(code=item, active=True)
    except ServiceItem.DoesNotExist:
        catalog_item = None
        errors["item"] = _("没有这个服务项目。")
    if (
        catalog_item is not None
        and not catalog_item.fixed
        and catalog_item.community_id != community.pk
    ):
        errors["item"] = _("该服务项目不在本社区提供。")
    answers: dict[str, object] = {}
    if attributes is not None and not isinstance(attributes, Mapping):
        errors["attributes"] = _("下单信息格式不对。")
    elif catalog_item is not None:
        asked = catalog_item.order_form
        if asked.scheduled_only:
            urgency = Urgency.SCHEDULED
        try:
            answers = item_attributes.clean_answers(asked, attributes)
        except item_attributes.Problems as problems:
            errors.update(problems.fields)
    if urgency not in Urgency.values:
        errors["urgency"] = _("紧急程度必须是 urgent、normal 或 scheduled。")
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("需求描述最多 %(n)d 个字。") % {"n": DESCRIPTION_MAX}
    address = None if address is None else address.strip()
    if address is not None and len(address) > ADDRESS_MAX:
        errors["address"] = _("服务地址最多 %(n)d 个字。") % {"n": ADDRESS_MAX}
    if channel not in Channel.values:
        errors["channel"] = _("未知的下单渠道。")
    now = timezone.now()
    for name, value in (("window_start", window_start), ("window_end", window_end)):
        if value is not None and (problem := datetime_problem(value)):
            errors[name] = problem
    if "window_start" not in errors and "window_end" not in errors:
        if (window_start is None) != (window_end is None):
            errors["window_end" if window_end is None else "window_start"] = _(
                "期望时间需要同时填写开始和结束。"
            )
        elif window_start is not None and window_end is not None:
            errors.update(_window_problems(window_start, window_end, now))
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
            home = resident
            order = Order.objects.create(
                resident=resident,
                caller_name=caller_name,
                caller_phone=caller_phone,
                community_id=community.pk,
                placed_by=actor,
                placed_as=placed_as,
                channel=channel,
                item=catalog_item,
                description=description,
                attributes=answers,
                address=(home.address if home else "") if address is None else address,
                lat=(home.lat if home else None) if lat is None else lat,
                lon=(home.lon if home else None) if lon is None else lon,
                window_start=window_start,
                window_end=window_end,
                urgency=urgency,
                accept_deadline=accept_by,
                complete_deadline=complete_by,
                idempotency_key=idempotency_key,
                created_at=now,
            )
            slots = Slot.objects.bulk_create(
                Slot(order=order, index=i + 1) for i in range(catalog_item.members_needed)
            )
            event = OrderEvent.objects.create(
                order=order, at=now, actor=actor, action="place", to_status=order.status
            )
            rollups.touch_placed(order)
            notify(
                _dispatchers(order.community_id),
                "order_placed",
                gettext_noop("新订单 #%(id)s：%(item)s（%(name)s）"),
                _about(order, name=order.beneficiary_name),
                _link(order),
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key won the insert.
        return _same_request(
            Order.objects.get(placed_by=actor, idempotency_key=idempotency_key), item, resident_id
        )
    order.community = community
    order.hold_detail(slots, [event])
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


def _beneficiary(
    actor: User, resident_id: int | None, *, caller_phone: str = "", community_id: int | None = None
) -> tuple[Resident | None, str, Center]:
    """(the resident, how it is placed, the order's community): no resident for
    staff taking a call from someone not on file."""
    if may.may_order_on_behalf(actor):
        if resident_id is None:
            if not caller_phone:
                raise InvalidInput(fields={"resident": _("代居民下单时必须选择居民。")})
            return None, PlacedAs.DISPATCHER, _caller_community(actor, community_id)
        qs = Resident.objects.select_related("community")
        if actor.role != Role.CITY:
            qs = qs.filter(community_id=actor.community_id)
        try:
            resident = qs.get(pk=resident_id)
        except (Resident.DoesNotExist, ValueError, TypeError) as exc:
            raise InvalidInput(fields={"resident": _("没有这位居民，或不在您的社区。")}) from exc
        return resident, PlacedAs.DISPATCHER, resident.community
    own = Resident.objects.select_related("community").filter(account=actor).first()
    if resident_id is None or (own is not None and resident_id == own.pk):
        if own is None:
            raise Forbidden(_("您的账号没有关联居民档案，请联系社区工作人员代为下单。"))
        return own, PlacedAs.SELF, own.community
    if resident_id in may.own_resident_ids(actor):
        ward = Resident.objects.select_related("community").get(pk=resident_id)
        return ward, PlacedAs.GUARDIAN, ward.community
    raise InvalidInput(fields={"resident": _("您只能为自己或您监护的家人下单。")})


def _caller_community(actor: User, community_id: int | None) -> Center:
    """The community an order for a caller not on file belongs to: the
    dispatcher's own; one the city names."""
    wanted = community_id if community_id is not None else actor.community_id
    if actor.role != Role.CITY and wanted != actor.community_id:
        raise InvalidInput(fields={"community": _("只能为本社区的来电人下单。")})
    if wanted is None:
        raise InvalidInput(fields={"community": _("请选择来电人所在的社区。")})
    try:
        return Center.objects.get(pk=wanted, kind=Center.Kind.COMMUNITY)
    except (Center.DoesNotExist, ValueError, TypeError) as exc:
        raise InvalidInput(fields={"community": _("请选择来电人所在的社区。")}) from exc


def order_link_resident(*, actor: User, order_id: int, resident_id: int) -> Order:
    """The dispatcher confirms who called (待核实): links the order to a resident
    of its community. The order's address and place, when the call gave none,
    become the resident's. Only then may it be dispatched."""
    with locked(order_id) as t:
        order = t.order
        t.check(may.may_link_resident(actor, order), actor)
        try:
            resident = Resident.objects.get(pk=resident_id, community_id=order.community_id)
        except (Resident.DoesNotExist, ValueError, TypeError) as exc:
            raise InvalidInput(
                fields={"resident": _("没有这位居民，或不在这张订单的社区。")}
            ) from exc
        order.resident = resident
        changed = ["resident", "updated_at"]
        if not order.address:
            order.address = resident.address
            changed.append("address")
        if order.lat is None or order.lon is None:
            order.lat, order.lon = resident.lat, resident.lon
            changed += ["lat", "lon"]
        order.save(update_fields=changed)
        t.note("link", actor=actor)
    return order


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
        raise InvalidInput(fields={"member": _("请指定一名队员或一支服务队（二选一）。")})
    note = clean_text(note, DISPATCH_NOTE_MAX, "note")
    with locked(order_id) as t:
        order, slots = t.order, t.slots
        t.check(may.may_dispatch(actor, order, slots), actor)
        leader_teams = None if actor is None else may.led_teams(actor, order)
        slot = _pick_open_slot(slots, slot_index)
        now = timezone.now()
        if member_id is not None:
            member = _member_for(order, member_id)
            if leader_teams is not None and member.team_id not in leader_teams:
                t.check(Verdict(False, _("队长只能派单给本队队员。"), "forbidden"), actor)
            _lock_members([member.pk])
            member.refresh_from_db(fields=["active", "max_concurrent"])
            may.member_can_take(member, order, slots).check()
            to, recipients = SlotStatus.ASSIGNED, [member.user]
            message = gettext_noop("新派单 #%(id)s：%(item)s，请尽快接单。")
            team = None
        else:
            assert team_id is not None
            team = _team_for(order, team_id)
            if leader_teams is not None and team.pk not in leader_teams:
                t.check(Verdict(False, _("队长只能派单给本队。"), "forbidden"), actor)
            member = None
            to = SlotStatus.OFFERED
            recipients = [m.user for m in _qualified(team.members.select_related("user"), order)]
            message = gettext_noop("抢单 #%(id)s：%(item)s，先接先得。")
        t.move(
            slot,
            SlotAction.DISPATCH,
            to,
            actor=actor,
            event_note=note,
            member=member,
            offered_team=team,
            dispatched_at=now,
            accept_deadline=_accept_window(order, now),
        )
        notify(recipients, "slot_dispatched", message, _about(order), _link(order))
    return slot


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
        raise InvalidInput(fields={"member": _("没有这名队员，或不属于本社区。")}) from exc


def _team_for(order: Order, team_id: int) -> Team:
    try:
        team = Team.objects.get(pk=team_id, community_id=order.community_id)
    except (Team.DoesNotExist, ValueError, TypeError) as exc:
        raise InvalidInput(fields={"team": _("没有这支服务队，或不属于本社区。")}) from exc
    if not _qualified(team.members.all(), order):
        raise InvalidInput(
            fields={
                "team": _("该服务队没有具备“%(skill)s”技能的在岗队员。")
                % {"skill": order.item.skill.label}
            }
        )
    return team


def _qualified(members: Any, order: Order) -> list[Member]:
    return list(members.filter(active=True, skills=order.item.skill_id))


# --- 服务队接单: the member's side ------------------------------------------------


def _membership_locked(actor: User) -> may.Membership:
    """The actor's memberships, their member rows locked first (the load then holds)."""
    _lock_members(Member.objects.filter(user=actor, active=True).values_list("pk", flat=True))
    return may.membership(actor)


def order_accept(*, actor: User, order_id: int) -> Slot:
    """Accept the slot dispatched to the actor, or win a slot offered to their team.

    For an offered slot the first qualified member wins: the order row lock
    makes concurrent accepts run one after another, and the later ones find
    the slot taken and get a Conflict.
    """
    with locked(order_id) as t:
        order, slots = t.order, t.slots
        plan = may.accept_plan(actor, order, slots, _membership_locked(actor))
        t.check(plan.verdict, actor)
        assert plan.slot is not None and plan.member is not None
        t.move(
            plan.slot,
            SlotAction.ACCEPT,
            SlotStatus.ACCEPTED,
            actor=actor,
            member=plan.member,
            accepted_at=timezone.now(),
        )
        if order.status == OrderStatus.ACCEPTED:
            notify(
                _beneficiary_users(order),
                "order_accepted",
                gettext_noop("您的订单 #%(id)s（%(item)s）已有队员接单。"),
                _about(order),
                _link(order),
            )
    return plan.slot


def order_decline(*, actor: User, order_id: int, reason: str) -> Slot:
    """Hand a slot dispatched to the actor back to the dispatcher, with a reason."""
    reason = clean_text(reason, REASON_MAX, "reason", required=_("请说明不能接单的原因。"))
    with locked(order_id) as t:
        order, slots = t.order, t.slots
        t.check(may.may_decline(actor, order, slots), actor)
        slot = may.held_slot(actor, slots, (SlotStatus.ASSIGNED,))
        assert slot is not None
        t.move(
            slot,
            SlotAction.DECLINE,
            SlotStatus.OPEN,
            actor=actor,
            event_note=reason,
            member=None,
            dispatched_at=None,
            accept_deadline=None,
        )
        notify(
            _dispatchers(order.community_id),
            "slot_declined",
            gettext_noop("订单 #%(id)s 被 %(who)s 拒绝：%(reason)s"),
            _about(order, who=actor.display_name, reason=reason),
            _link(order),
        )
    return slot


def order_start(*, actor: User, order_id: int) -> Slot:
    """The actor arrives and starts their accepted slot. Every slot must be accepted."""
    with locked(order_id) as t:
        t.check(may.may_start(actor, t.order, t.slots), actor)
        slot = may.held_slot(actor, t.slots, (SlotStatus.ACCEPTED,))
        assert slot is not None
        t.move(
            slot, SlotAction.START, SlotStatus.IN_SERVICE, actor=actor, started_at=timezone.now()
        )
    return slot


def order_complete(*, actor: User, order_id: int, note: str = "") -> Slot:
    """The actor finishes their slot; the order is completed when every slot is."""
    note = clean_text(note, NOTE_MAX, "note")
    with locked(order_id) as t:
        order = t.order
        t.check(may.may_complete(actor, order, t.slots), actor)
        slot = may.held_slot(actor, t.slots, (SlotStatus.IN_SERVICE,))
        assert slot is not None
        t.move(
            slot,
            SlotAction.COMPLETE,
            SlotStatus.COMPLETED,
            actor=actor,
            event_note=note,
            note=note,
            completed_at=timezone.now(),
        )
        if order.resident_id is not None:
            # A member met the resident to serve them: the safety net counts it.
            contact_record(
                resident_id=order.resident_id,
                kind=Contact.Kind.ORDER,
                at=slot.completed_at or timezone.now(),
                source=f"orders.slot:{slot.pk}",
                by=actor,
                note=order.item.name,
            )
        if order.status == OrderStatus.COMPLETED:
            notify(
                _beneficiary_users(order),
                "order_completed",
                gettext_noop("订单 #%(id)s（%(item)s）已完成，请为服务打分。"),
                _about(order),
                _link(order),
            )
    return slot


# --- contact data ----------------------------------------------------------------


def _reveal(actor: User, order: Order, request: HttpRequest | None) -> None:
    audit_record(
        actor=actor,
        action=AuditLog.Action.REVEAL,
        target=order.resident if order.resident is not None else order,
        field="contact",
        detail=f"order #{order.pk}",
        request=request,
    )


def order_contact_shown(
    *, actor: User, order: Order, request: HttpRequest | None = None
) -> dict[str, Any]:
    """An order's address, phone and point as ``actor`` is to see them on a page or
    in the API (``permissions.contact_right``), with ``masked`` and ``on_request``
    (a reveal is open to them). A showing that must be audited is, here."""
    right = may.contact_right(actor, order, list(order.slots.all()))
    phone = _phone(order)
    if right.shown:
        if right.audited:
            _reveal(actor, order, request)
        return {
            "address": order.address,
            "phone": phone,
            "lat": order.lat,
            "lon": order.lon,
            "masked": False,
            "on_request": False,
        }
    # Masked viewers get the coordinates to about 100 m: a street, not a door.
    return {
        "address": mask_address(order.address),
        "phone": mask_phone(phone),
        "lat": None if order.lat is None else round(order.lat, 3),
        "lon": None if order.lon is None else round(order.lon, 3),
        "masked": True,
        "on_request": right.on_request,
    }


def order_contact(
    *, actor: User, order_id: int, request: HttpRequest | None = None
) -> dict[str, str]:
    """The service address and phone, unmasked, for the member who is to go there.

    Only those ``permissions.contact_right`` lets see them or reveal them; every
    view is written to the audit log (the resident's own excepted).
    """
    with locked(order_id) as t:
        order = t.order
        t.check(may.may_reveal_contact(actor, order, t.slots), actor)
        if may.contact_right(actor, order, t.slots).audited:
            _reveal(actor, order, request)
    return {"address": order.address, "phone": _phone(order)}


def _phone(order: Order) -> str:
    """The number to call about an order: the resident's, or the caller's while unconfirmed."""
    return order.resident.phone if order.resident is not None else order.caller_phone


# --- 群众评单: rating ------------------------------------------------------------


def order_rate(
    *,
    actor: User,
    order_id: int,
    resolved: bool,
    satisfaction: int,
    comment: str = "",
    callback: bool = False,
) -> Rating:
    """The beneficiary or their family rate a completed order, once.

    With ``callback`` a dispatcher records the rating the resident gave on a
    phone callback (回访): the rating says so, and so does the timeline. A
    rating of 2 or less, or "not resolved", opens a follow-up.
    """
    errors = {}
    if (
        not isinstance(satisfaction, int)
        or isinstance(satisfaction, bool)
        or not 1 <= satisfaction <= 5
    ):
        errors["satisfaction"] = _("满意度必须是 1 到 5。")
    if not isinstance(resolved, bool):
        errors["resolved"] = _("请选择问题是否已解决。")
    storable(comment=comment)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = _("评价最多 %(n)d 个字。") % {"n": COMMENT_MAX}
    if errors:
        raise InvalidInput(fields=errors)
    with locked(order_id) as t:
        order = t.order
        predicate = may.may_record_callback if callback else may.may_rate
        t.check(predicate(actor, order, t.slots), actor)
        rating = Rating.objects.create(
            order=order,
            by=actor,
            resolved=resolved,
            satisfaction=satisfaction,
            comment=comment,
            source=Rating.Source.CALLBACK if callback else Rating.Source.RESIDENT,
        )
        t.close("rate", actor=actor, note=f"{satisfaction}/5 {comment}".strip())
        if satisfaction <= 2 or not resolved:
            FollowUp.objects.create(order=order, reason=follow_up_reason(resolved, satisfaction))
            notify(
                [u for u in _dispatchers(order.community_id) if u.pk != actor.pk],
                "follow_up",
                gettext_noop("订单 #%(id)s 需要回访：%(reason)s"),
                _about(
                    order, reason=each_language(lambda: follow_up_reason(resolved, satisfaction))
                ),
                _link(order),
            )
    return rating


def _beneficiary_users(order: Order) -> list[User]:
    """Whom to tell about the beneficiary's order: the family member who placed it
    and the resident's own account (not staff who placed it by phone)."""
    users = [order.placed_by] if order.placed_as != PlacedAs.DISPATCHER else []
    if order.resident is not None and order.resident.account is not None:
        users.append(order.resident.account)
    return [u for u in users if u.role not in (Role.DISPATCHER, Role.CITY)]


def follow_up_close(*, actor: User, order_id: int, note: str) -> FollowUp:
    note = clean_text(note, FOLLOW_UP_NOTE_MAX, "note", required=_("请填写回访记录。"))
    with locked(order_id) as t:
        order = t.order
        t.check(may.may_close_follow_up(actor, order), actor)
        follow_up = FollowUp.objects.select_for_update().get(order=order)
        follow_up.closed_at, follow_up.closed_by, follow_up.note = timezone.now(), actor, note
        follow_up.save(update_fields=["closed_at", "closed_by", "note"])
        t.note("follow_up", actor=actor, note=note)
    return follow_up


# --- cancelling and rejecting ---------------------------------------------------


def order_cancel(*, actor: User, order_id: int, reason: str = "") -> Order:
    """The resident side before service starts; the dispatcher until completion, with a reason."""
    reason = clean_text(reason, REASON_MAX, "reason")
    with locked(order_id) as t:
        order = t.order
        t.check(may.may_cancel(actor, order), actor)
        if may.cancel_needs_reason(actor, order) and not reason:
            raise InvalidInput(fields={"reason": _("请说明取消的原因。")})
        _close(t, actor, "cancel", reason)
    return order


def order_reject(*, actor: User, order_id: int, reason: str) -> Order:
    """The dispatcher turns down an order nobody has accepted yet, with a reason."""
    reason = clean_text(reason, REASON_MAX, "reason", required=_("请说明驳回的原因。"))
    with locked(order_id) as t:
        t.check(may.may_reject(actor, t.order, t.slots), actor)
        _close(t, actor, "reject", reason)
    return t.order


def _close(t: Locked, actor: User, action: str, reason: str) -> None:
    order = t.order
    holders = [
        s.member.user for s in t.slots if s.member is not None and s.status in SLOT_LOAD_STATES
    ]
    t.close(action, actor=actor, note=reason)
    message = (
        gettext_noop("订单 #%(id)s 已取消：%(reason)s")
        if action == "cancel"
        else gettext_noop("订单 #%(id)s 已驳回：%(reason)s")
    )
    recipients = holders + [u for u in _beneficiary_users(order) if u.pk != actor.pk]
    if not may.manages_community(actor, order.community_id):
        recipients += _dispatchers(order.community_id)
    notify(
        recipients, f"order_{action}", message, _about(order, reason=reason or "—"), _link(order)
    )


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
        with locked(order_id) as t:
            order = t.order
            if order.status not in (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED):
                continue
            for s in t.slots:
                if (
                    s.status in (SlotStatus.ASSIGNED, SlotStatus.OFFERED)
                    and s.accept_deadline
                    and s.accept_deadline < now
                ):
                    lost = s.member.user if s.member is not None else None
                    t.move(
                        s,
                        SlotAction.EXPIRE,
                        SlotStatus.OPEN,
                        actor=None,
                        event_note=_("超时未接单，已收回待重新派单。"),
                        member=None,
                        offered_team=None,
                        dispatched_at=None,
                        accept_deadline=None,
                    )
                    if lost is not None:
                        notify(
                            [lost],
                            "slot_expired",
                            gettext_noop("订单 #%(id)s 超时未接单，已收回。"),
                            _about(order),
                            _link(order),
                        )
                    returned += 1
            if not order.overdue and order.accept_deadline < now:
                order.overdue = True
                order.save(update_fields=["overdue", "updated_at"])
                t.note("overdue", actor=None, note=_("超过接单时限。"))
                notify(
                    _dispatchers(order.community_id),
                    "order_overdue",
                    gettext_noop("订单 #%(id)s（%(item)s）已超过接单时限，请尽快处理。"),
                    _about(order),
                    _link(order),
                )
                flagged += 1
    return {"overdue": flagged, "returned": returned}


# --- the timeline ---------------------------------------------------------------


def replay(events: Iterable[OrderEvent]) -> tuple[str, dict[int, str]]:
    """The order's and slots' states that a timeline leads to.

    Raises ValueError when an event does not start where the previous one
    ended, or moves a slot in a way the table does not allow: the timeline
    must be a chain of allowed moves.
    """
    status = ""
    slots: dict[int, str] = {}
    for e in events:
        if e.from_status != status:
            raise ValueError(f"event {e.pk} starts at {e.from_status!r}, timeline is at {status!r}")
        if e.slot_id is not None:
            if slots.get(e.slot_id, SlotStatus.OPEN) != e.slot_from:
                raise ValueError(f"event {e.pk}: slot {e.slot_id} is not {e.slot_from!r}")
            if not slot_move_allowed(e.slot_from, e.action, e.slot_to):
                raise ValueError(f"event {e.pk}: {e.slot_from} -{e.action}-> {e.slot_to}")
            slots[e.slot_id] = e.slot_to
        status = e.to_status
    return status, slots
