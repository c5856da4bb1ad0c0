# No "from __future__ import annotations": django-ninja reads these annotations at run time.
"""The point-order cycle over JSON: catalog, orders, and one endpoint per transition.

Every endpoint parses, calls ONE service or selector, and answers with what
the caller may see (``selectors.order_get``). Status codes follow the API
skeleton: 400 invalid input (field names as the client sent them), 401, 403 the
caller's role may not do this, 404 absent or another community's order, 409
the order's current state does not allow it.
"""

import datetime as dt
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import ConfigDict, StrictBool, StrictFloat, StrictInt

from linli.core.errors import InvalidInput
from linli.core.http import AuthedRequest
from linli.core.models import User
from linli.core.pagination import LazyMap
from linli.core.ratelimit import limit_order_place
from linli.core.schemas import API_POST, CommunityRef, NotBlank, SaneDateTime, errors
from linli.orders import selectors, services
from linli.orders.models import (
    Channel,
    FollowUp,
    Order,
    OrderEvent,
    OrderStatus,
    Rating,
    ServiceItem,
    Slot,
    SlotStatus,
)
from linli.orders.models import field_limit as limit
from linli.orders.permissions import MEMBER_ACTION_NAMES, ORDER_ACTION_NAMES, action_names

router = Router(tags=["orders"])

# A transition: bad input, no token, a role that may not, no such order, a state that does not allow it.
ERRORS = errors(*API_POST, 401, 403, 404, 409)

# --- catalog -------------------------------------------------------------------


class DeadlineMinutes(Schema):
    accept_minutes: int
    complete_minutes: int


class ScheduledDeadlines(Schema):
    accept_lead_minutes: int = Field(description="Accept this long before the window opens.")
    complete_grace_minutes: int = Field(description="Complete by the window's end plus this.")


class DeadlinePolicy(Schema):
    urgent: DeadlineMinutes
    normal: DeadlineMinutes
    scheduled: ScheduledDeadlines


# An answer to an item's own question (its type says which: attributes.TYPES).
AttributeValue = StrictBool | StrictInt | str


class ChoiceOut(Schema):
    code: str
    label: str
    label_en: str


class QuestionOut(Schema):
    code: str
    type: Literal["text", "number", "choice", "date", "boolean"] = Field(
        description="text, number (an integer), choice (one of choices' codes), date "
        "(YYYY-MM-DD) or boolean."
    )
    label: str
    label_en: str
    required: bool
    help: str
    help_en: str
    min: int | None = None
    max: int | None = None
    choices: list[ChoiceOut] | None = None


class ItemFormOut(Schema):
    when: Literal["urgency", "date", "window"] = Field(
        description="urgency: urgent, normal or scheduled, with an optional window; date or "
        "window: booked (scheduled), with the window required (a date: that day, 08:00-20:00)."
    )
    address: bool = Field(description="Whether the service comes to an address.")
    fields: list[QuestionOut] = Field(
        description="The item's own questions: answer them in the order's attributes."
    )


class CatalogItemOut(Schema):
    code: str
    name: str
    name_en: str = Field(description="English name; empty where none is set.")
    icon: str
    description: str
    description_en: str = Field(description="English description; empty where none is set.")
    fixed: bool
    community: str | None = Field(description="Code of the offering community; null if fixed.")
    team_kind: str
    skill: str
    members_needed: int
    deadlines: DeadlinePolicy
    form: ItemFormOut


def catalog_item_out(i: ServiceItem) -> dict[str, object]:
    return {
        "code": i.code,
        "name": i.name,
        "name_en": i.name_en,
        "icon": i.icon,
        "description": i.description,
        "description_en": i.description_en,
        "fixed": i.fixed,
        "community": i.community.code if i.community is not None else None,
        "team_kind": i.team_kind,
        "skill": i.skill.code,
        "members_needed": i.members_needed,
        "form": i.order_form.as_json(),
        "deadlines": {
            "urgent": {
                "accept_minutes": i.urgent_accept_minutes,
                "complete_minutes": i.urgent_complete_minutes,
            },
            "normal": {
                "accept_minutes": i.normal_accept_minutes,
                "complete_minutes": i.normal_complete_minutes,
            },
            "scheduled": {
                "accept_lead_minutes": i.scheduled_accept_lead_minutes,
                "complete_grace_minutes": i.scheduled_complete_grace_minutes,
            },
        },
    }


@router.get("/catalog", response={200: list[CatalogItemOut], **errors(400, 401)}, tags=["catalog"])
def catalog(request: AuthedRequest) -> list[dict[str, object]]:
    """Active service items for the caller's community: the fixed ones and its optional ones.

    The city admin sees every active item.
    """
    return [catalog_item_out(i) for i in selectors.catalog_for(request.user)]


# --- what an order looks like --------------------------------------------------


class ItemRef(Schema):
    code: str
    name: str
    name_en: str
    icon: str


class PersonRef(Schema):
    id: int
    name: str


class UserRef(Schema):
    username: str
    name: str


class SlotCounts(Schema):
    total: int
    open: int = Field(description="Waiting to be dispatched.")
    waiting: int = Field(description="Dispatched or offered, not yet accepted.")
    accepted: int
    in_service: int
    completed: int
    cancelled: int


class OrderSummaryOut(Schema):
    id: int
    item: ItemRef
    resident: PersonRef | None = Field(
        description="None while the caller is to be confirmed （待核实） by the dispatcher."
    )
    community: str
    status: str
    urgency: str
    overdue: bool
    created_at: dt.datetime
    accept_deadline: dt.datetime
    slots: SlotCounts


class SlotOut(Schema):
    index: int
    status: str
    member: PersonRef | None
    offered_team: PersonRef | None
    dispatched_at: dt.datetime | None
    accept_deadline: dt.datetime | None
    accepted_at: dt.datetime | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    note: str


class EventOut(Schema):
    at: dt.datetime
    actor: UserRef | None = Field(description="Null when the system acted (deadline sweep).")
    action: str
    from_status: str
    to_status: str
    slot: int | None = Field(description="Index of the slot the event concerns, if any.")
    slot_from: str
    slot_to: str
    note: str


class RatingOut(Schema):
    resolved: bool
    satisfaction: int
    comment: str
    created_at: dt.datetime


class FollowUpOut(Schema):
    reason: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    closed_by: UserRef | None
    note: str


class OrderOut(Schema):
    id: int
    item: ItemRef
    resident: PersonRef | None = Field(
        description="None while the caller is to be confirmed （待核实） by the dispatcher."
    )
    community: CommunityRef
    placed_by: UserRef
    placed_as: str
    channel: str
    description: str
    attributes: dict[str, AttributeValue] = Field(
        description="The answers to the item's own questions (the catalog's form.fields)."
    )
    address: str = Field(
        description="In full for the resident and their family; masked for everyone else "
        "(a member holding an accepted slot reveals it with POST .../contact, audited)."
    )
    phone: str = Field(description="The resident's phone, shown as the address is.")
    lat: float | None = Field(description="To about 100 m where the address is masked.")
    lon: float | None
    contact_masked: bool = Field(description="True when address and phone are masked.")
    contact_on_request: bool = Field(
        description="True when the caller may reveal them (POST /orders/{id}/contact)."
    )
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    urgency: str
    status: str
    overdue: bool
    created_at: dt.datetime
    accept_deadline: dt.datetime
    complete_deadline: dt.datetime
    slots: list[SlotOut]
    timeline: list[EventOut]
    rating: RatingOut | None
    follow_up: FollowUpOut | None
    actions: list[str] = Field(
        description="What the caller may do to the order now: of "
        + ", ".join(ORDER_ACTION_NAMES)
        + ", then a member's own "
        + ", ".join(MEMBER_ACTION_NAMES)
        + " on their slot. Exactly what the endpoints accept."
    )


def _item_ref(i: ServiceItem) -> dict[str, str]:
    return {"code": i.code, "name": i.name, "name_en": i.name_en, "icon": i.icon}


def _user_ref(u: User | None) -> dict[str, str] | None:
    return None if u is None else {"username": u.username, "name": u.display_name}


def _slot_counts(slots: list[Slot]) -> dict[str, int]:
    states = [s.status for s in slots]
    return {
        "total": len(states),
        "open": states.count(SlotStatus.OPEN),
        "waiting": states.count(SlotStatus.ASSIGNED) + states.count(SlotStatus.OFFERED),
        "accepted": states.count(SlotStatus.ACCEPTED),
        "in_service": states.count(SlotStatus.IN_SERVICE),
        "completed": states.count(SlotStatus.COMPLETED),
        "cancelled": states.count(SlotStatus.CANCELLED),
    }


def order_summary_out(o: Order) -> dict[str, object]:
    return {
        "id": o.pk,
        "item": _item_ref(o.item),
        "resident": None if o.resident is None else {"id": o.resident_id, "name": o.resident.name},
        "community": o.community.code,
        "status": o.status,
        "urgency": o.urgency,
        "overdue": o.overdue,
        "created_at": o.created_at,
        "accept_deadline": o.accept_deadline,
        "slots": _slot_counts(list(o.slots.all())),
    }


def _slot_out(s: Slot) -> dict[str, object]:
    return {
        "index": s.index,
        "status": s.status,
        "member": None if s.member is None else {"id": s.member_id, "name": s.member.name},
        "offered_team": None
        if s.offered_team is None
        else {"id": s.offered_team_id, "name": s.offered_team.name},
        "dispatched_at": s.dispatched_at,
        "accept_deadline": s.accept_deadline,
        "accepted_at": s.accepted_at,
        "started_at": s.started_at,
        "completed_at": s.completed_at,
        "note": s.note,
    }


def _event_out(e: OrderEvent) -> dict[str, object]:
    return {
        "at": e.at,
        "actor": _user_ref(e.actor),
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "slot": e.slot.index if e.slot is not None else None,
        "slot_from": e.slot_from,
        "slot_to": e.slot_to,
        "note": e.note_text,
    }


def order_out(request: AuthedRequest, o: Order) -> dict[str, object]:
    """The detail of an order fetched by ``selectors.order_get``, as the caller is to see it."""
    user = request.user
    slots = list(o.slots.all())
    contact = services.order_contact_shown(actor=user, order=o, request=request)
    # A missing reverse one-to-one raises an AttributeError subclass.
    rating = getattr(o, "rating", None)
    follow_up = getattr(o, "follow_up", None)
    return {
        "id": o.pk,
        "item": _item_ref(o.item),
        "resident": None if o.resident is None else {"id": o.resident_id, "name": o.resident.name},
        "community": o.community,
        "placed_by": _user_ref(o.placed_by),
        "placed_as": o.placed_as,
        "channel": o.channel,
        "description": o.description,
        "attributes": o.attributes or {},
        "address": contact["address"],
        "phone": contact["phone"],
        "lat": contact["lat"],
        "lon": contact["lon"],
        "contact_masked": contact["masked"],
        "contact_on_request": contact["on_request"],
        "window_start": o.window_start,
        "window_end": o.window_end,
        "urgency": o.urgency,
        "status": o.status,
        "overdue": o.overdue,
        "created_at": o.created_at,
        "accept_deadline": o.accept_deadline,
        "complete_deadline": o.complete_deadline,
        "slots": [_slot_out(s) for s in slots],
        "timeline": [_event_out(e) for e in o.events.all()],
        "actions": action_names(user, o),
        "rating": None
        if rating is None
        else {
            "resolved": rating.resolved,
            "satisfaction": rating.satisfaction,
            "comment": rating.comment,
            "created_at": rating.created_at,
        },
        "follow_up": None
        if follow_up is None
        else {
            "reason": follow_up.reason_text,
            "opened_at": follow_up.opened_at,
            "closed_at": follow_up.closed_at,
            "closed_by": _user_ref(follow_up.closed_by),
            "note": follow_up.note,
        },
    }


def _detail(request: AuthedRequest, order_id: int) -> dict[str, object]:
    return order_out(request, selectors.order_get(request.user, order_id))


def _placed(request: AuthedRequest, order: Order) -> dict[str, object]:
    """The order a placement answers with: as the service made it (its detail
    in hand, visible to whoever placed it) or, for a repeated Idempotency-Key,
    read again."""
    return order_out(request, order) if order.detail_held else _detail(request, order.pk)


# --- placing and reading orders ------------------------------------------------


class OrderIn(Schema):
    item: str = Field(description="A catalog item code, e.g. home_repair.")
    description: str = Field("", max_length=limit(Order, "description"))
    urgency: Literal["urgent", "normal", "scheduled"] = "normal"
    window_start: SaneDateTime | None = Field(
        None, description="ISO 8601 with an offset; the window ends within a year."
    )
    window_end: SaneDateTime | None = Field(None, description="ISO 8601 with an offset.")
    resident: StrictInt | None = Field(
        None, description="Required when a dispatcher or a guardian orders for someone."
    )
    address: str | None = Field(
        None, max_length=limit(Order, "address"), description="Default: the resident's."
    )
    lat: StrictFloat | None = None
    lon: StrictFloat | None = None
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        description="Answers to the item's own questions, by code (the catalog's form.fields); "
        "an unknown code, a missing required answer or one out of range is a 400 naming "
        "attributes.<code>.",
    )


@router.post("/orders", response={201: OrderOut, **ERRORS, **errors(429)})
@limit_order_place
def order_create(
    request: AuthedRequest,
    payload: OrderIn,
    idempotency_key: str = Header("", alias="Idempotency-Key"),
) -> Status[dict[str, object]]:
    """Place an order (channel ``api``).

    With an ``Idempotency-Key`` header (at most 100 characters) a retry is safe:
    the same key from the same user answers with the order it first created,
    201 again with the same body, and never creates a second one. Keys are per
    user: two users' identical keys are two orders.
    """
    order = services.order_place(
        actor=request.user,
        item=payload.item,
        resident_id=payload.resident,
        description=payload.description,
        urgency=payload.urgency,
        window_start=payload.window_start,
        window_end=payload.window_end,
        channel=Channel.API,
        address=payload.address,
        lat=payload.lat,
        lon=payload.lon,
        idempotency_key=idempotency_key,
        attributes=payload.attributes,
    )
    return Status(201, _placed(request, order))


class OrderFilters(Schema):
    status: str = Field("", description="Comma-separated states, e.g. submitted,dispatched.")
    item: str = Field("", description="A catalog item code.")
    urgency: Literal["urgent", "normal", "scheduled", ""] = ""
    overdue: bool | None = None
    follow_up: bool | None = Field(None, description="True: an open follow-up; false: none.")
    mine: bool = Field(
        False, description="Only orders where the caller holds or is offered a slot."
    )
    community: int | None = Field(None, description="A community id (useful to the city).")


@router.get("/orders", response={200: list[OrderSummaryOut], **errors(400, 401)})
@paginate(LimitOffsetPagination)
def orders(request: AuthedRequest, filters: Query[OrderFilters]) -> list[dict[str, object]]:
    """Orders the caller may see, newest first.

    Residents see theirs and their wards', members the ones they hold or are
    offered, dispatchers and leaders their community's, the city every one.
    """
    states = [s for s in filters.status.split(",") if s.strip()]
    unknown = [s for s in states if s not in OrderStatus.values]
    if unknown:
        raise InvalidInput(
            fields={
                "status": _("未知的状态：%(s)s。可选：%(all)s。")
                % {"s": ", ".join(unknown), "all": ", ".join(OrderStatus.values)}
            }
        )
    qs = selectors.order_list(
        request.user,
        status=",".join(states),
        item=filters.item,
        urgency=filters.urgency,
        overdue=filters.overdue,
        follow_up=filters.follow_up,
        community=filters.community,
        mine=filters.mine,
    )
    return LazyMap(qs, order_summary_out)  # type: ignore[return-value]


@router.get("/orders/{order_id}", response={200: OrderOut, **errors(400, 401, 404)})
def order(request: AuthedRequest, order_id: int) -> dict[str, object]:
    """One order with its slots, timeline, rating and follow-up."""
    return _detail(request, order_id)


# --- transitions ---------------------------------------------------------------
# Each calls its service (which checks the guard and who acts) and answers with
# the order as the caller now sees it.


class DispatchIn(Schema):
    """Exactly one of ``member`` and ``team``: neither or both is a 400 on ``member``."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["member"],
                    "properties": {"member": {"type": "integer"}, "team": {"type": "null"}},
                },
                {
                    "required": ["team"],
                    "properties": {"team": {"type": "integer"}, "member": {"type": "null"}},
                },
            ]
        }
    )

    member: StrictInt | None = Field(None, description="Dispatch to this member …")
    team: StrictInt | None = Field(
        None, description="… or offer to every qualified member （抢单）."
    )
    slot: StrictInt | None = Field(None, description="Slot index; default: the first open slot.")
    note: str = Field("", max_length=limit(OrderEvent, "note"))


# The services' own words for a reason or note they require.
class DeclineIn(Schema):
    reason: Annotated[str, NotBlank(gettext_lazy("请说明不能接单的原因。"))] = Field(
        max_length=OrderEvent.REASON_MAX
    )


class RejectIn(Schema):
    reason: Annotated[str, NotBlank(gettext_lazy("请说明驳回的原因。"))] = Field(
        max_length=OrderEvent.REASON_MAX
    )


class OptionalReasonIn(Schema):
    reason: str = Field("", max_length=OrderEvent.REASON_MAX)


class NoteIn(Schema):
    note: str = Field("", max_length=limit(Slot, "note"))


class RequiredNoteIn(Schema):
    note: Annotated[str, NotBlank(gettext_lazy("请填写回访记录。"))] = Field(
        max_length=limit(FollowUp, "note")
    )


class RatingIn(Schema):
    resolved: StrictBool
    satisfaction: StrictInt = Field(ge=1, le=5, description="1 非常不满意 … 5 非常满意")
    comment: str = Field("", max_length=limit(Rating, "comment"))


class ContactOut(Schema):
    address: str
    phone: str


@router.post("/orders/{order_id}/dispatch", response={200: OrderOut, **ERRORS})
def order_dispatch(request: AuthedRequest, order_id: int, payload: DispatchIn) -> dict[str, object]:
    """Dispatch a slot to a member or offer it to a team (dispatcher, city, or a team's leader)."""
    services.order_dispatch(
        actor=request.user,
        order_id=order_id,
        member_id=payload.member,
        team_id=payload.team,
        slot_index=payload.slot,
        note=payload.note,
    )
    return _detail(request, order_id)


@router.post("/orders/{order_id}/accept", response={200: OrderOut, **ERRORS})
def order_accept(request: AuthedRequest, order_id: int) -> dict[str, object]:
    """Accept the slot dispatched to the caller, or win one offered to their team."""
    services.order_accept(actor=request.user, order_id=order_id)
    return _detail(request, order_id)


@router.post("/orders/{order_id}/decline", response={200: OrderOut, **ERRORS})
def order_decline(request: AuthedRequest, order_id: int, payload: DeclineIn) -> dict[str, object]:
    """Hand the slot dispatched to the caller back to the dispatcher, with a reason."""
    services.order_decline(actor=request.user, order_id=order_id, reason=payload.reason)
    return _detail(request, order_id)


@router.post("/orders/{order_id}/start", response={200: OrderOut, **ERRORS})
def order_start(request: AuthedRequest, order_id: int) -> dict[str, object]:
    """Start the caller's accepted slot (every slot of the order must be accepted)."""
    services.order_start(actor=request.user, order_id=order_id)
    return _detail(request, order_id)


@router.post("/orders/{order_id}/complete", response={200: OrderOut, **ERRORS})
def order_complete(request: AuthedRequest, order_id: int, payload: NoteIn) -> dict[str, object]:
    """Finish the caller's slot, with a service note."""
    services.order_complete(actor=request.user, order_id=order_id, note=payload.note)
    return _detail(request, order_id)


@router.post("/orders/{order_id}/rate", response={200: OrderOut, **ERRORS})
def order_rate(request: AuthedRequest, order_id: int, payload: RatingIn) -> dict[str, object]:
    """Rate a completed order, once (the beneficiary's side). 2 or less, or unresolved,
    opens a follow-up."""
    services.order_rate(
        actor=request.user,
        order_id=order_id,
        resolved=payload.resolved,
        satisfaction=payload.satisfaction,
        comment=payload.comment,
    )
    return _detail(request, order_id)


@router.post("/orders/{order_id}/callback", response={200: OrderOut, **ERRORS})
def order_callback(request: AuthedRequest, order_id: int, payload: RatingIn) -> dict[str, object]:
    """Record the rating the resident gave on a phone callback (回访): the community's
    dispatcher or the city, never someone who served the order. Marked as a callback."""
    services.order_rate(
        actor=request.user,
        order_id=order_id,
        resolved=payload.resolved,
        satisfaction=payload.satisfaction,
        comment=payload.comment,
        callback=True,
    )
    return _detail(request, order_id)


@router.post("/orders/{order_id}/contact", response={200: ContactOut, **ERRORS})
def order_contact(request: AuthedRequest, order_id: int) -> dict[str, str]:
    """The address and phone in full, for the member holding an accepted or started
    slot (and the resident's family). Every call is written to the audit log."""
    return services.order_contact(actor=request.user, order_id=order_id, request=request)


@router.post("/orders/{order_id}/cancel", response={200: OrderOut, **ERRORS})
def order_cancel(
    request: AuthedRequest, order_id: int, payload: OptionalReasonIn
) -> dict[str, object]:
    """Cancel: the beneficiary's side before service starts; the dispatcher, with a reason,
    until completion."""
    services.order_cancel(actor=request.user, order_id=order_id, reason=payload.reason)
    return _detail(request, order_id)


@router.post("/orders/{order_id}/reject", response={200: OrderOut, **ERRORS})
def order_reject(request: AuthedRequest, order_id: int, payload: RejectIn) -> dict[str, object]:
    """The dispatcher turns down an order nobody has accepted, with a reason."""
    services.order_reject(actor=request.user, order_id=order_id, reason=payload.reason)
    return _detail(request, order_id)


@router.post("/orders/{order_id}/follow-up/close", response={200: OrderOut, **ERRORS})
def follow_up_close(
    request: AuthedRequest, order_id: int, payload: RequiredNoteIn
) -> dict[str, object]:
    """The dispatcher closes the follow-up a low rating opened, with a note."""
    services.follow_up_close(actor=request.user, order_id=order_id, note=payload.note)
    return _detail(request, order_id)
