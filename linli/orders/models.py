"""The point-order cycle: 群众点单 → 集中派单 → 服务队接单 → 群众评单.

An order has one slot per member it needs. Slots are dispatched, accepted,
started and completed one by one; the order's state follows from its slots.
Every change goes through ``linli.orders.services`` and appends an OrderEvent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from linli.core.boundary import DATETIME_MAX, DATETIME_MIN
from linli.core.models import LocalizedName
from linli.orders import attributes
from linli.teams.models import Team


def field_limit(model: type[models.Model], name: str) -> int:
    """A text field's max_length: the one limit the page, the API and the service share."""
    column = model._meta.get_field(name)
    assert isinstance(column, models.CharField | models.TextField), (model, name)
    assert column.max_length is not None, (model, name)
    return int(column.max_length)


class Urgency(models.TextChoices):
    URGENT = "urgent", _("紧急")
    NORMAL = "normal", _("一般")
    SCHEDULED = "scheduled", _("预约")


# A deadline policy counts minutes, up to a year.
POLICY_MINUTES = [MaxValueValidator(366 * 24 * 60)]


class ServiceItem(LocalizedName, models.Model):
    """A catalog entry: the four fixed items city-wide, optional ones per community."""

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    icon = models.CharField(_("图标"), max_length=8, blank=True, help_text=_("一个表情符号"))
    description = models.CharField(_("说明"), max_length=300, blank=True)
    description_en = models.CharField(_("英文说明"), max_length=600, blank=True)
    fixed = models.BooleanField(_("固定项目"), default=False)
    community = models.ForeignKey(
        "network.Center",
        verbose_name=_("提供社区"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="service_items",
        limit_choices_to={"kind": "community"},
    )
    team_kind = models.CharField(_("服务队类型"), max_length=16, choices=Team.Kind.choices)
    skill = models.ForeignKey("teams.Skill", verbose_name=_("所需技能"), on_delete=models.PROTECT)
    members_needed = models.PositiveSmallIntegerField(
        _("所需人数"), default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    # Deadline policy, in minutes. Urgent and normal orders count from placement;
    # a scheduled one must be accepted a lead time before its window opens and
    # completed by the window's end plus a grace.
    urgent_accept_minutes = models.PositiveIntegerField(
        _("紧急：接单时限（分钟）"), default=30, validators=POLICY_MINUTES
    )
    urgent_complete_minutes = models.PositiveIntegerField(
        _("紧急：完成时限（分钟）"), default=240, validators=POLICY_MINUTES
    )
    normal_accept_minutes = models.PositiveIntegerField(
        _("一般：接单时限（分钟）"), default=240, validators=POLICY_MINUTES
    )
    normal_complete_minutes = models.PositiveIntegerField(
        _("一般：完成时限（分钟）"), default=2880, validators=POLICY_MINUTES
    )
    scheduled_accept_lead_minutes = models.PositiveIntegerField(
        _("预约：提前接单（分钟）"), default=120, validators=POLICY_MINUTES
    )
    scheduled_complete_grace_minutes = models.PositiveIntegerField(
        _("预约：完成宽限（分钟）"), default=60, validators=POLICY_MINUTES
    )
    active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    form = models.JSONField(
        _("下单表单"),
        default=dict,
        blank=True,
        help_text=_(
            "下单时问什么（见 linli/orders/attributes.py）：空为维修类表单（紧急程度、服务地址）；"
            '例如 {"when": "date", "address": false, "fields": [{"code": "guests", '
            '"type": "number", "label": "人数", "label_en": "Guests", "required": true, '
            '"min": 1, "max": 200}]}'
        ),
    )

    class Meta:
        verbose_name = _("服务项目")
        verbose_name_plural = _("服务项目")
        ordering = ["-fixed", "order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fixed=True, community__isnull=True) | models.Q(fixed=False),
                name="fixed_item_is_city_wide",
            )
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        super().clean()
        try:
            attributes.parse(self.form)
        except ValidationError as exc:
            raise ValidationError({"form": exc.messages}) from exc

    @cached_property
    def order_form(self) -> attributes.ItemForm:
        """What ordering this item asks (its ``form`` read; a stored bad one asks the default)."""
        try:
            return attributes.parse(self.form)
        except ValidationError:
            return attributes.ItemForm()

    @property
    def description_label(self) -> str:
        return self.localized(self.description, self.description_en)

    def deadlines(
        self,
        urgency: str,
        placed_at: dt.datetime,
        window_start: dt.datetime | None,
        window_end: dt.datetime | None,
    ) -> tuple[dt.datetime, dt.datetime]:
        """(accept by, complete by) for an order placed at ``placed_at``.

        Never past ``boundary.DATETIME_MAX`` (a deadline beyond it is no
        deadline anyone can keep; the column's constraint refuses it), and
        never an OverflowError, whatever the window and the policy's minutes.
        """
        accept, complete = self._deadlines(urgency, placed_at, window_start, window_end)
        return _bounded(accept), _bounded(complete)

    def _deadlines(
        self,
        urgency: str,
        placed_at: dt.datetime,
        window_start: dt.datetime | None,
        window_end: dt.datetime | None,
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        minutes = dt.timedelta(minutes=1)
        if urgency == Urgency.SCHEDULED and window_start and window_end:
            lead = _plus(window_start, -self.scheduled_accept_lead_minutes * minutes)
            accept = placed_at if lead is None else max(placed_at, lead)
            return accept, _plus(window_end, self.scheduled_complete_grace_minutes * minutes)
        if urgency == Urgency.URGENT:
            return (
                _plus(placed_at, self.urgent_accept_minutes * minutes),
                _plus(placed_at, self.urgent_complete_minutes * minutes),
            )
        return (
            _plus(placed_at, self.normal_accept_minutes * minutes),
            _plus(placed_at, self.normal_complete_minutes * minutes),
        )


def _plus(at: dt.datetime, delta: dt.timedelta) -> dt.datetime | None:
    """``at + delta``, or None where that is beyond the calendar."""
    try:
        return at + delta
    except OverflowError:
        return None


def _bounded(at: dt.datetime | None) -> dt.datetime:
    latest = DATETIME_MAX - dt.timedelta(minutes=1)
    return latest if at is None or at > latest else at


def _in_bounds(name: str) -> models.Q:
    """A check constraint's condition: ``name`` is empty or within the boundary's range."""
    return models.Q(**{f"{name}__isnull": True}) | models.Q(
        **{f"{name}__gte": DATETIME_MIN, f"{name}__lt": DATETIME_MAX}
    )


class OrderStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待派单")
    DISPATCHED = "dispatched", _("已派单")
    ACCEPTED = "accepted", _("已接单")
    IN_SERVICE = "in_service", _("服务中")
    COMPLETED = "completed", _("待评价")
    RATED = "rated", _("已评价")
    REJECTED = "rejected", _("已驳回")
    CANCELLED = "cancelled", _("已取消")


class SlotStatus(models.TextChoices):
    OPEN = "open", _("待派")
    OFFERED = "offered", _("抢单中")
    ASSIGNED = "assigned", _("待接单")
    ACCEPTED = "accepted", _("已接单")
    IN_SERVICE = "in_service", _("服务中")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")


# Slot states that hold a member (count towards the member's load).
SLOT_LOAD_STATES = (SlotStatus.ASSIGNED, SlotStatus.ACCEPTED, SlotStatus.IN_SERVICE)
# Before service starts: the resident side may still cancel.
PRE_SERVICE = (OrderStatus.SUBMITTED, OrderStatus.DISPATCHED, OrderStatus.ACCEPTED)
ORDER_OPEN_STATES = (
    OrderStatus.SUBMITTED,
    OrderStatus.DISPATCHED,
    OrderStatus.ACCEPTED,
    OrderStatus.IN_SERVICE,
)


class SlotAction(models.TextChoices):
    """What can happen to a slot (the ``action`` of its OrderEvent)."""

    DISPATCH = "dispatch", _("派单")
    ACCEPT = "accept", _("接单")
    DECLINE = "decline", _("拒绝接单")
    START = "start", _("开始服务")
    COMPLETE = "complete", _("完成服务")
    EXPIRE = "expire", _("超时收回")
    CANCEL = "cancel", _("取消")
    REJECT = "reject", _("驳回")


_S = SlotStatus
_UNFINISHED = (_S.OPEN, _S.OFFERED, _S.ASSIGNED, _S.ACCEPTED, _S.IN_SERVICE)

# Every move a slot can make: (from, action) -> to. Nothing else moves a slot
# (services.Locked.move refuses any pair not listed here). Dispatching goes
# to a member (assigned) or to a whole team (offered, 抢单).
SLOT_MOVES: dict[tuple[str, str], tuple[str, ...]] = {
    (_S.OPEN, SlotAction.DISPATCH): (_S.ASSIGNED, _S.OFFERED),
    (_S.ASSIGNED, SlotAction.ACCEPT): (_S.ACCEPTED,),
    (_S.OFFERED, SlotAction.ACCEPT): (_S.ACCEPTED,),
    (_S.ASSIGNED, SlotAction.DECLINE): (_S.OPEN,),
    (_S.ASSIGNED, SlotAction.EXPIRE): (_S.OPEN,),
    (_S.OFFERED, SlotAction.EXPIRE): (_S.OPEN,),
    (_S.ACCEPTED, SlotAction.START): (_S.IN_SERVICE,),
    (_S.IN_SERVICE, SlotAction.COMPLETE): (_S.COMPLETED,),
    **{(s, SlotAction.CANCEL): (_S.CANCELLED,) for s in _UNFINISHED},
    **{(s, SlotAction.REJECT): (_S.CANCELLED,) for s in _UNFINISHED},
}


def slot_move_allowed(from_status: str, action: str, to_status: str) -> bool:
    return to_status in SLOT_MOVES.get((from_status, action), ())


def order_status_of(slot_states: Iterable[str]) -> str:
    """The state an open order is in, given its slots' states: the one place it is derived.

    Every slot completed: completed (待评价); any started or done: in service;
    every slot accepted: accepted; every slot dispatched: dispatched; else
    submitted (待派单). Closed orders (rated, cancelled, rejected) keep the
    state their closing gave them.
    """
    states = list(slot_states)
    if states and all(s == _S.COMPLETED for s in states):
        return OrderStatus.COMPLETED
    if any(s in (_S.IN_SERVICE, _S.COMPLETED) for s in states):
        return OrderStatus.IN_SERVICE
    if states and all(s == _S.ACCEPTED for s in states):
        return OrderStatus.ACCEPTED
    if states and all(s != _S.OPEN for s in states):
        return OrderStatus.DISPATCHED
    return OrderStatus.SUBMITTED


# The order-level closings: action -> (the states it may close from, the state it closes to).
ORDER_CLOSINGS: dict[str, tuple[tuple[str, ...], str]] = {
    "cancel": ((*PRE_SERVICE, OrderStatus.IN_SERVICE), OrderStatus.CANCELLED),
    "reject": ((OrderStatus.SUBMITTED, OrderStatus.DISPATCHED), OrderStatus.REJECTED),
    "rate": ((OrderStatus.COMPLETED,), OrderStatus.RATED),
}


class Channel(models.TextChoices):
    APP = "app", _("手机")
    PHONE = "phone", _("电话")
    DESK = "desk", _("窗口")
    API = "api", _("接口")


class PlacedAs(models.TextChoices):
    SELF = "self", _("本人")
    GUARDIAN = "guardian", _("家属代点")
    DISPATCHER = "dispatcher", _("社区代点")


class Order(models.Model):
    # None while the caller is to be confirmed (待核实): an order that came by
    # phone or through Open311 from someone not matched to one resident. The
    # dispatcher links it (services.order_link_resident) before dispatching.
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("服务对象"),
        on_delete=models.PROTECT,
        related_name="orders",
        null=True,
        blank=True,
    )
    # Who called, as they said: kept after the link, as the record of the call.
    caller_name = models.CharField(_("来电人"), max_length=50, blank=True)
    caller_phone = models.CharField(_("来电电话"), max_length=20, blank=True)
    # The resident's community when the order was placed: scoping reads it.
    community = models.ForeignKey(
        "network.Center", verbose_name=_("社区"), on_delete=models.PROTECT, related_name="orders"
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("下单人"),
        on_delete=models.PROTECT,
        related_name="placed_orders",
    )
    placed_as = models.CharField(_("下单方式"), max_length=16, choices=PlacedAs.choices)
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    item = models.ForeignKey(
        ServiceItem, verbose_name=_("服务项目"), on_delete=models.PROTECT, related_name="orders"
    )
    description = models.TextField(_("需求描述"), max_length=2000, blank=True)
    # The answers to the item's own questions (ServiceItem.form), as
    # attributes.clean_answers left them.
    attributes = models.JSONField(_("下单信息"), default=dict, blank=True)
    address = models.CharField(_("服务地址"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    window_start = models.DateTimeField(_("期望开始"), null=True, blank=True)
    window_end = models.DateTimeField(_("期望结束"), null=True, blank=True)
    urgency = models.CharField(
        _("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    accept_deadline = models.DateTimeField(_("接单时限"))
    complete_deadline = models.DateTimeField(_("完成时限"))
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=OrderStatus.choices,
        default=OrderStatus.SUBMITTED,
        db_index=True,
    )
    overdue = models.BooleanField(_("已超时"), default=False, db_index=True)
    idempotency_key = models.CharField(max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(_("下单时间"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("服务订单")
        verbose_name_plural = _("服务订单")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # An order to be confirmed knows at least whom to call back.
            models.CheckConstraint(
                condition=models.Q(resident__isnull=False) | ~models.Q(caller_phone=""),
                name="order_unconfirmed_has_caller",
            ),
            models.UniqueConstraint(
                fields=["placed_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="order_idempotency_key_per_user",
            ),
            models.CheckConstraint(
                condition=models.Q(window_start__isnull=True)
                | models.Q(window_end__isnull=True)
                | models.Q(window_start__lt=models.F("window_end")),
                name="order_window_ordered",
            ),
            # No path (API, admin, import, a later app) stores a time a read cannot handle.
            *(
                models.CheckConstraint(condition=_in_bounds(name), name=f"order_{name}_in_range")
                for name in (
                    "window_start",
                    "window_end",
                    "accept_deadline",
                    "complete_deadline",
                    "created_at",
                )
            ),
        ]
        indexes = [models.Index(fields=["community", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.item} · {self.beneficiary_name}"

    @property
    def unconfirmed(self) -> bool:
        """待核实: no resident linked yet (the caller is kept in ``caller_*``)."""
        return self.resident_id is None

    @property
    def beneficiary_name(self) -> str:
        """The resident's name, or the caller's while the order is to be confirmed."""
        return self.resident.name if self.resident is not None else self.caller_name

    # --- an order whose whole detail is already in memory -----------------------

    def hold_detail(self, slots: list[Slot], events: list[OrderEvent]) -> None:
        """Keep what ``selectors.order_get`` would read for an order just made here:
        its slots and timeline (as a prefetch keeps them), no rating and no
        follow-up. The service that wrote them calls this, so the answer to the
        write needs no second read."""
        cache = self.__dict__.setdefault("_prefetched_objects_cache", {})
        for name, rows in (("slots", slots), ("events", events)):
            qs = getattr(self, name).all()
            qs._result_cache = list(rows)
            qs._prefetch_done = True
            cache[name] = qs
        for name in ("rating", "follow_up"):
            type(self).__dict__[name].related.set_cached_value(self, None)

    @property
    def answers(self) -> list[tuple[str, str]]:
        """The answers to the item's questions, (label, answer) in the reader's language."""
        return attributes.shown(self.item.order_form, self.attributes or {})

    @property
    def detail_held(self) -> bool:
        """Whether ``hold_detail`` gave this instance its whole detail."""
        cache = self.__dict__.get("_prefetched_objects_cache", {})
        return "slots" in cache and "events" in cache


class Slot(models.Model):
    """One member position on an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="slots")
    index = models.PositiveSmallIntegerField(_("序号"))
    status = models.CharField(
        _("状态"), max_length=16, choices=SlotStatus.choices, default=SlotStatus.OPEN
    )
    member = models.ForeignKey(
        "teams.Member",
        verbose_name=_("队员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="slots",
    )
    offered_team = models.ForeignKey(
        "teams.Team",
        verbose_name=_("抢单服务队"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offered_slots",
    )
    dispatched_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The accept deadline the slot was dispatched under (for the 响应率).
    accept_deadline = models.DateTimeField(null=True, blank=True)
    note = models.TextField(_("服务记录"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("派单岗位")
        verbose_name_plural = _("派单岗位")
        ordering = ["order", "index"]
        constraints = [
            models.UniqueConstraint(fields=["order", "index"], name="slot_index_per_order"),
            # The same member never holds two slots of one order.
            models.UniqueConstraint(
                fields=["order", "member"],
                condition=models.Q(member__isnull=False) & ~models.Q(status="cancelled"),
                name="slot_member_once_per_order",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "status"]),
            models.Index(fields=["offered_team", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id}/{self.index} {self.status}"


# A note the system writes is stored as its Chinese msgid and shown in the
# reader's language; a person's note is shown as written.
BATCH_DISPATCH_NOTE = gettext_noop("批量派单")
SYSTEM_NOTES = frozenset({BATCH_DISPATCH_NOTE})


class OrderEvent(models.Model):
    """One line of an order's timeline. Append-only; it replays to the current state."""

    # A reason given to cancel, reject or decline (kept in ``note``): a sentence or two.
    REASON_MAX = 500

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    slot = models.ForeignKey(
        Slot, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order_events",
    )
    action = models.CharField(max_length=16)
    # Whom a dispatch went to (a member, or a team for an open offer).
    member = models.ForeignKey(
        "teams.Member", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(
        "teams.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    slot_from = models.CharField(max_length=16, blank=True)
    slot_to = models.CharField(max_length=16, blank=True)
    note = models.TextField(max_length=2000, blank=True)

    class Meta:
        verbose_name = _("订单动态")
        verbose_name_plural = _("订单动态")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.action} {self.from_status}→{self.to_status}"

    @property
    def note_text(self) -> str:
        return gettext(self.note) if self.note in SYSTEM_NOTES else self.note


class Rating(models.Model):
    class Satisfaction(models.IntegerChoices):
        VERY_UNSATISFIED = 1, _("非常不满意")
        UNSATISFIED = 2, _("不满意")
        NEUTRAL = 3, pgettext_lazy("satisfaction", "一般")
        SATISFIED = 4, _("满意")
        VERY_SATISFIED = 5, _("非常满意")

    class Source(models.TextChoices):
        RESIDENT = "resident", _("居民评价")
        # The resident's answer on the dispatcher's phone callback (回访), recorded by them.
        CALLBACK = "callback", _("电话回访")

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="rating")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ratings"
    )
    resolved = models.BooleanField(_("问题已解决"))
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), choices=Satisfaction.choices)
    comment = models.TextField(_("评价"), max_length=1000, blank=True)
    source = models.CharField(
        _("来源"), max_length=16, choices=Source.choices, default=Source.RESIDENT
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("评价")
        verbose_name_plural = _("评价")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="satisfaction_1_5",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.satisfaction}"


class FollowUp(models.Model):
    """Opened by a low or unresolved rating; the dispatcher closes it with a note."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="follow_up")
    opened_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(_("原因"), max_length=200)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("回访记录"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ["closed_at", "-opened_at"]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.reason}"

    @property
    def reason_text(self) -> str:
        """Why it was opened, in the reader's language: said again from the
        rating (``reason`` keeps the words of the day it was opened)."""
        rating: Rating | None = getattr(self.order, "rating", None)
        if rating is None:
            return self.reason
        return follow_up_reason(rating.resolved, rating.satisfaction)


def follow_up_reason(resolved: bool, satisfaction: int) -> str:
    """Why a rating opens a follow-up, in the current language."""
    if not resolved and satisfaction <= 2:
        return gettext("未解决，满意度 %(n)d 分") % {"n": satisfaction}
    if not resolved:
        return gettext("未解决")
    return gettext("满意度 %(n)d 分") % {"n": satisfaction}


class DayFigures(models.Model):
    """The point-order figures of one local day, community and item: the indicators' rollup.

    Written only by ``orders.rollups`` (recomputed from the raw tables for the
    cells an event touched, and by ``linli rollups rebuild``); each figure is
    attributed to the day the indicators attribute it to (a dispatch's
    response to the dispatch's day, a rating to the rating's)."""

    day = models.DateField()
    community = models.ForeignKey(
        "network.Center", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="+")
    placed = models.PositiveIntegerField(default=0)
    dispatched = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)  # dispatches that led to an accept
    accept_minutes = models.FloatField(default=0)  # summed over ``accepted``
    completed = models.PositiveIntegerField(default=0)
    complete_minutes = models.FloatField(default=0)  # summed over ``completed``
    overdue = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    follow_ups_opened = models.PositiveIntegerField(default=0)
    follow_ups_open = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "day", "item"], name="day_figures_cell")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} · {self.community_id} · {self.item_id}"


class StaleDay(models.Model):
    """A cell of :class:`DayFigures` an event has changed and that is yet to be recomputed."""

    day = models.DateField()
    community = models.ForeignKey(
        "network.Center", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "day", "item"], name="stale_day_cell")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} · {self.community_id} · {self.item_id}"
