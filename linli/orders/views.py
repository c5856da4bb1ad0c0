"""Pages of the point-order cycle: 群众点单 → 集中派单 → 服务队接单 → 群众评单.

Every page parses, authorizes (the selectors and services decide who may see
and do what), calls one service or selector and renders. A service error
(InvalidInput / Conflict) is shown on the page as a form error with its 400 /
409 status; Forbidden and NotFound become the 403 / 404 page
(core.middleware). After a successful POST: a message and a redirect.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST

from linli.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from linli.core.http import AuthedRequest
from linli.core.roles import Role
from linli.core.scoping import require_role
from linli.network.models import Center
from linli.orders import services
from linli.orders.forms import (
    CallbackForm,
    DispatchForm,
    LinkResidentForm,
    NoteForm,
    PhoneOrderForm,
    PlaceForm,
    QueueFilterForm,
    RateForm,
    ReasonForm,
    add_app_error,
)
from linli.orders.indicators import order_indicators
from linli.orders.models import (
    ORDER_OPEN_STATES,
    Channel,
    Order,
    OrderEvent,
    OrderStatus,
    PlacedAs,
    Rating,
    SlotStatus,
    Urgency,
)
from linli.orders.permissions import (
    is_beneficiary_side,
    manages_community,
    may_dispatch,
    may_order_on_behalf,
    membership,
    order_actions,
    task_for,
)
from linli.orders.selectors import catalog_for, dispatch_choices, order_get, order_list
from linli.people.models import Guardianship, Resident
from linli.people.selectors import MaskedResident, resident_get, resident_list
from linli.teams.models import Team

if TYPE_CHECKING:
    from django.core.exceptions import ValidationError
    from django_stubs_ext import StrOrPromise

    from linli.core.models import User

QUEUE_ROLES = (Role.DISPATCHER, Role.LEADER, Role.CITY)
DESK_ROLES = (Role.DISPATCHER, Role.CITY)
QUEUE_PAGE = 25
LIST_PAGE = 20
PHONE_RESULTS = 20
MEMBER_ACTIONS = ("accept", "decline", "start", "complete")
CLOSED_STATES = (
    OrderStatus.COMPLETED,
    OrderStatus.RATED,
    OrderStatus.CANCELLED,
    OrderStatus.REJECTED,
)
# A short line under the state, for the person who ordered.
STATUS_HINTS: dict[str, StrOrPromise] = {
    OrderStatus.SUBMITTED: gettext_lazy("社区正在为您安排服务队员。"),
    OrderStatus.DISPATCHED: gettext_lazy("已派给服务队员，等待队员接单。"),
    OrderStatus.ACCEPTED: gettext_lazy("队员已接单，会按约定时间上门。"),
    OrderStatus.IN_SERVICE: gettext_lazy("队员正在为您服务。"),
    OrderStatus.COMPLETED: gettext_lazy("服务已完成，请为这次服务打分。"),
    OrderStatus.REJECTED: gettext_lazy("社区驳回了这张订单，原因见下方记录。"),
    OrderStatus.CANCELLED: gettext_lazy("这张订单已取消。"),
}


class _Empty(forms.Form):
    """For actions without fields: a place to put the service's error."""


def _new_key() -> str:
    return secrets.token_urlsafe(16)


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


# --- the timeline, in words -------------------------------------------------------


@dataclass
class Entry:
    at: dt.datetime
    who: str
    role: str
    text: str
    note: str
    action: str


def _who(event: OrderEvent) -> tuple[str, str]:
    if event.actor is None:
        return _("系统"), ""
    return event.actor.display_name, event.actor.get_role_display()


def _dispatch_target(event: OrderEvent) -> str:
    """Whom a dispatch went to: a member, or the team of an open offer."""
    if event.member is not None:
        return event.member.name
    if event.team is not None:
        return event.team.name
    return ""


def timeline(order: Order) -> list[Entry]:
    """The order's events as sentences: who did what, when, with their note."""
    events = list(order.events.all())
    slots = {s.pk: s for s in order.slots.all()}
    several = len(slots) > 1
    rating: Rating | None = getattr(order, "rating", None)
    out: list[Entry] = []
    for e in events:
        if e.action in ("cancel", "reject") and e.slot_id is not None:
            continue  # the per-slot echo of closing the order
        slot = slots.get(e.slot_id) if e.slot_id else None
        note = e.note_text
        if e.action == "place":
            placed: dict[str, str] = {
                PlacedAs.SELF: pgettext("timeline", "下单"),
                PlacedAs.GUARDIAN: pgettext("timeline", "为家人下单"),
                PlacedAs.DISPATCHER: pgettext("timeline", "代居民下单"),
            }
            text = placed.get(order.placed_as, pgettext("timeline", "下单"))
            text += _("（%(channel)s）") % {"channel": order.get_channel_display()}
            note = order.description
        elif e.action == "dispatch":
            target = _dispatch_target(e)
            if e.slot_to == SlotStatus.OFFERED:
                text = _("发布抢单：%(team)s") % {"team": target} if target else _("发布抢单")
            else:
                text = (
                    _("派单给 %(name)s") % {"name": target}
                    if target
                    else pgettext("timeline", "派了单")
                )
        elif e.action == "rate":
            if rating is not None:
                text = _("评价：%(n)d 分（%(label)s），%(resolved)s") % {
                    "n": rating.satisfaction,
                    "label": rating.get_satisfaction_display(),
                    "resolved": _("问题已解决") if rating.resolved else _("问题未解决"),
                }
                if rating.source == Rating.Source.CALLBACK:
                    text = _("电话回访记录：%(rating)s") % {"rating": text}
                note = rating.comment
            else:
                text = pgettext("timeline", "评了价")
        else:
            text = {
                "accept": pgettext("timeline", "接了单"),
                "decline": pgettext("timeline", "拒绝了接单"),
                "start": pgettext("timeline", "开始了服务"),
                "complete": pgettext("timeline", "完成了服务"),
                "cancel": pgettext("timeline", "取消了订单"),
                "reject": pgettext("timeline", "驳回了订单"),
                "expire": _("超时未接单，岗位已收回待重新派单"),
                "overdue": _("超过接单时限"),
                "follow_up": pgettext("timeline", "完成了回访"),
                "link": pgettext("timeline", "核实了来电人，关联了居民"),
            }.get(e.action, e.action)
            if e.action in ("expire", "overdue"):
                note = ""
        if several and slot is not None:
            text = _("岗位 %(i)d:") % {"i": slot.index} + text
        who, role = _who(e)
        out.append(Entry(at=e.at, who=who, role=role, text=text, note=note, action=e.action))
    return out


# --- the member's side of one order -----------------------------------------------


# --- 群众点单: the resident ---------------------------------------------------------


def _own_resident(user: User) -> Resident:
    if user.role in DESK_ROLES:
        raise Forbidden(_("工作人员请用“电话代下单”为居民下单。"))
    own = Resident.objects.filter(account=user).select_related("community").first()
    if own is None:
        raise Forbidden(_("您的账号没有关联居民档案，请联系社区工作人员代为下单。"))
    return own


@login_required
def place_view(request: AuthedRequest, code: str) -> HttpResponse:
    """The short confirm page: address prefilled, urgency "normal", then 确认下单."""
    user = request.user
    own = _own_resident(user)
    wards = [
        g.ward
        for g in Guardianship.objects.filter(guardian=own)
        .select_related("ward")
        .order_by("ward__name")
    ]
    people = [own, *wards]
    wanted = request.POST.get("resident") or request.GET.get("for") or ""
    chosen = next((p for p in people if str(p.pk) == wanted), own)
    item = catalog_for(user, community_id=chosen.community_id).filter(code=code).first()
    if item is None:
        raise NotFound(_("没有这个服务项目，或您所在的社区不提供。"))
    form = PlaceForm(
        request.POST or None,
        initial={
            "resident": chosen.pk,
            "address": chosen.address,
            "urgency": Urgency.NORMAL,
        },
        asked=item.order_form,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                order = services.order_place(
                    actor=user,
                    item=item.code,
                    channel=Channel.APP,
                    idempotency_key=request.POST.get("idempotency_key", ""),
                    **form.service_kwargs(),
                )
            except (InvalidInput, Conflict) as exc:
                add_app_error(form, exc, form.aliases)
                status = exc.status
            else:
                if order.detail_held:  # made by this request, not a form sent again
                    messages.success(request, _("下单成功！社区会尽快为您安排服务队员。"))
                else:
                    messages.info(request, _("这张订单已经提交，不会重复下单。"))
                return redirect("orders:detail", pk=order.pk)
        else:
            status = 400
    return render(
        request,
        "orders/place.html",
        {
            "item": item,
            "form": form,
            "people": people if wards else [],
            "chosen": chosen,
            "own": own,
            "key": request.POST.get("idempotency_key") or _new_key(),
        },
        status=status,
    )


@login_required
def sent_view(request: AuthedRequest, key: str) -> HttpResponse:
    """The order this user placed from the form whose key is ``key``.

    An order form that the browser's Back shows again asks it (as JSON) and,
    when the form was sent, says so with a link to the order. A link follows
    it to the order page.
    """
    order = (
        Order.objects.filter(placed_by=request.user, idempotency_key=key).only("pk").first()
        if key
        else None
    )
    if request.headers.get("Accept", "").startswith("application/json"):
        if order is None:
            return JsonResponse({"order": None}, status=404)
        url = reverse("orders:detail", args=[order.pk])
        return JsonResponse({"order": order.pk, "url": url})
    if order is None:
        raise NotFound(_("这张订单还没有提交。"))
    return redirect("orders:detail", pk=order.pk)


@login_required
def my_orders_view(request: AuthedRequest) -> HttpResponse:
    """我的订单: what the user ordered for themself or their family."""
    user = request.user
    qs = order_list(user, for_family=True)
    page = Paginator(qs, LIST_PAGE).get_page(request.GET.get("page"))
    own = Resident.objects.filter(account=user).values_list("pk", flat=True).first()
    return render(
        request,
        "orders/mine.html",
        {"page": page, "own_id": own, "can_order": own is not None and user.role not in DESK_ROLES},
    )


# --- one order ------------------------------------------------------------------------


def _detail_context(
    request: AuthedRequest, order: Order, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    user = request.user
    bound = bound or {}
    own_side = is_beneficiary_side(user, order)
    contact = services.order_contact_shown(actor=user, order=order, request=request)
    allowed = order_actions(user, order)
    manager = manages_community(user, order.community_id)
    slots = list(order.slots.all())
    status = order.status
    follow_up = getattr(order, "follow_up", None)
    rating = getattr(order, "rating", None)
    task = task_for(user, order, membership(user))
    staff = manager or user.role in (Role.DISPATCHER, Role.LEADER)
    can_cancel, can_reject, can_rate = allowed.cancel, allowed.reject, allowed.rate
    can_record_callback = allowed.record_callback
    can_dispatch, can_close_follow_up = allowed.dispatch, allowed.close_follow_up
    # A failed form's errors go on top of the page; its field errors also sit at their
    # fields, unless the form is no longer shown (the state moved on).
    shown = {
        "cancel": can_cancel,
        "reject": can_reject,
        "rate": can_rate,
        "callback": can_record_callback,
        "dispatch": can_dispatch,
        "follow_up": can_close_follow_up,
        "link_resident": allowed.link_resident,
        "decline": task is not None and task.can_decline,
        "complete": task is not None and task.can_complete,
    }
    # Iterating an ErrorList gives its messages; the stubs also allow the errors themselves.
    top_errors: list[ValidationError | StrOrPromise] = []
    for key, form in bound.items():
        top_errors += form.non_field_errors()
        if not shown.get(key):
            top_errors += [
                m for name, msgs in form.errors.items() if name != "__all__" for m in msgs
            ]
    return {
        "order": order,
        "slots": slots,
        "timeline": timeline(order),
        "can_link_resident": allowed.link_resident,
        **(_link_context(request, order) if allowed.link_resident else {}),
        "hint": STATUS_HINTS.get(status, "") if own_side else "",
        "manager": manager,
        "staff": staff,
        "address": contact["address"],
        "phone": contact["phone"],
        "rating": rating,
        "follow_up": follow_up,
        "task": task,
        "can_cancel": can_cancel,
        "cancel_needs_reason": allowed.cancel_needs_reason,
        "can_reject": can_reject,
        "can_rate": can_rate,
        "can_record_callback": can_record_callback,
        "can_dispatch": can_dispatch,
        "choices": (
            dispatch_choices(
                user, order, None if allowed.led_teams is None else set(allowed.led_teams)
            )
            if can_dispatch
            else None
        ),
        "can_close_follow_up": can_close_follow_up,
        "led_only": allowed.led_teams is not None,
        "top_errors": top_errors,
        "forms": {
            "cancel": bound.get("cancel") or ReasonForm(),
            "reject": bound.get("reject") or ReasonForm(),
            "rate": bound.get("rate") or RateForm(),
            "callback": bound.get("callback") or CallbackForm(),
            "dispatch": bound.get("dispatch") or DispatchForm(),
            "follow_up": bound.get("follow_up") or NoteForm(),
            "link_resident": bound.get("link_resident") or LinkResidentForm(),
        },
        "task_forms": {k: v for k, v in bound.items() if k in MEMBER_ACTIONS},
    }


def _link_context(request: AuthedRequest, order: Order) -> dict[str, Any]:
    """待核实: residents of the order's community who may be the caller, found by
    the caller's phone, or by what the dispatcher types (masked, as on the phone page)."""
    who = (request.GET.get("who") or "").strip() or order.caller_phone
    found = resident_list(request.user, q=who, community=order.community_id)[:PHONE_RESULTS]
    return {"link_who": who, "link_candidates": [MaskedResident(r) for r in found]}


@login_required
def detail_view(request: AuthedRequest, pk: int) -> HttpResponse:
    order = order_get(request.user, pk)
    return render(request, "orders/detail.html", _detail_context(request, order))


FormT = TypeVar("FormT", bound=forms.Form)


def _act(
    request: AuthedRequest,
    pk: int,
    key: str,
    form_class: type[FormT],
    call: Callable[[FormT], str],
    default_next: str | None = None,
    error_page: Callable[[FormT, int], HttpResponse | None] | None = None,
) -> HttpResponse:
    """Run one service for a POST: success → message and redirect; error → the page, 400/409.

    ``call`` runs the service and returns the success message. Member actions
    sent by htmx answer with the task card instead (the error in it, or a notice).
    ``error_page(form, status)`` may answer an error on the page the form was sent
    from instead of the order page (None: the order page).
    """
    # What the user may not see answers 404 (another community's order), before any service.
    order = order_get(request.user, pk)
    form = form_class(request.POST)
    status = 400
    if form.is_valid():
        try:
            done = call(form)
        except (InvalidInput, Conflict) as exc:
            add_app_error(form, exc, getattr(form, "ALIASES", None))
            status = exc.status
        else:
            if request.htmx and key in MEMBER_ACTIONS:
                return _task_card(request, pk, notice=done)
            messages.success(request, done)
            return redirect(
                _safe_next(request) or default_next or reverse("orders:detail", args=[pk])
            )
    if request.htmx and key in MEMBER_ACTIONS:
        return _task_card(request, pk, bound={key: form}, status=status)
    if error_page is not None and (page := error_page(form, status)) is not None:
        return page
    return render(
        request, "orders/detail.html", _detail_context(request, order, {key: form}), status=status
    )


def _task_card(
    request: AuthedRequest,
    pk: int,
    *,
    notice: str = "",
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        order = order_get(request.user, pk)
    except NotFound:
        # A declined order is no longer the member's to see.
        return render(request, "orders/_task_gone.html", {"notice": notice, "pk": pk})
    task = task_for(request.user, order)
    return render(
        request,
        "orders/_task_card.html",
        {
            "t": task,
            "order": order,
            "notice": notice,
            "task_forms": bound or {},
            "partial": True,
            "next": _safe_next(request),
            # On the order page the facts are already there, above the card.
            "compact": not (request.htmx.current_url_abs_path or "").startswith(
                reverse("orders:tasks")
            ),
        },
        status=status,
    )


@login_required
@require_POST
def cancel_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: forms.Form) -> str:
        services.order_cancel(actor=request.user, order_id=pk, reason=form.cleaned_data["reason"])
        return _("订单已取消。")

    return _act(request, pk, "cancel", ReasonForm, call)


@login_required
@require_POST
def reject_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: forms.Form) -> str:
        services.order_reject(actor=request.user, order_id=pk, reason=form.cleaned_data["reason"])
        return _("订单已驳回。")

    return _act(request, pk, "reject", ReasonForm, call)


@login_required
@require_POST
def rate_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: forms.Form) -> str:
        data = form.cleaned_data
        services.order_rate(
            actor=request.user,
            order_id=pk,
            resolved=data["resolved"],
            satisfaction=data["satisfaction"],
            comment=data["comment"],
        )
        return _("感谢您的评价！")

    return _act(request, pk, "rate", RateForm, call)


@login_required
@require_POST
def callback_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """回访: the dispatcher records the rating the resident gave on the phone."""

    def call(form: forms.Form) -> str:
        data = form.cleaned_data
        services.order_rate(
            actor=request.user,
            order_id=pk,
            resolved=data["resolved"],
            satisfaction=data["satisfaction"],
            comment=data["comment"],
            callback=True,
        )
        return _("已记录居民的回访评价。")

    return _act(request, pk, "callback", CallbackForm, call)


@login_required
@require_POST
def dispatch_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: DispatchForm) -> str:
        slot = services.order_dispatch(actor=request.user, order_id=pk, **form.service_kwargs())
        if slot.member is not None:
            return _("已派单给 %(name)s。") % {"name": slot.member.name}
        return _("已发布抢单：%(team)s。") % {"team": slot.offered_team}

    return _act(request, pk, "dispatch", DispatchForm, call)


@login_required
@require_POST
def follow_up_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: forms.Form) -> str:
        services.follow_up_close(actor=request.user, order_id=pk, note=form.cleaned_data["note"])
        return _("回访已关闭。")

    def on_list(form: NoteForm, status: int) -> HttpResponse | None:
        # Sent from the follow-up list: stay there, the error next to this order's form.
        if _safe_next(request) != reverse("orders:follow_ups"):
            return None
        return _follow_ups_page(request, bound=(pk, form), status=status)

    return _act(request, pk, "follow_up", NoteForm, call, error_page=on_list)


@login_required
@require_POST
def link_resident_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """待核实: the dispatcher links the order to the resident who called."""

    def call(form: LinkResidentForm) -> str:
        order = services.order_link_resident(
            actor=request.user, order_id=pk, resident_id=form.cleaned_data["resident"]
        )
        return _("已关联居民 %(name)s，可以派单了。") % {"name": order.beneficiary_name}

    return _act(request, pk, "link_resident", LinkResidentForm, call)


@login_required
@require_POST
def accept_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: forms.Form) -> str:
        services.order_accept(actor=request.user, order_id=pk)
        return _("已接单，请按时上门服务。")

    return _act(request, pk, "accept", _Empty, call)


@login_required
@require_POST
def decline_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: forms.Form) -> str:
        services.order_decline(actor=request.user, order_id=pk, reason=form.cleaned_data["reason"])
        return _("已拒绝，订单退回派单员重新安排。")

    # Once declined the order is no longer the member's: back to their list.
    return _act(request, pk, "decline", ReasonForm, call, default_next=reverse("orders:tasks"))


@login_required
@require_POST
def start_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: forms.Form) -> str:
        services.order_start(actor=request.user, order_id=pk)
        return _("已开始服务。")

    return _act(request, pk, "start", _Empty, call)


@login_required
@require_POST
def complete_view(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(form: forms.Form) -> str:
        services.order_complete(actor=request.user, order_id=pk, note=form.cleaned_data["note"])
        return _("服务已完成，辛苦了！")

    return _act(request, pk, "complete", NoteForm, call)


# --- 服务队接单: the member ----------------------------------------------------------


@login_required
def tasks_view(request: AuthedRequest) -> HttpResponse:
    """我的派单: offered and assigned slots, those in progress, and the history."""
    user = request.user
    me = membership(user)
    if user.role not in (Role.VOLUNTEER, Role.LEADER) and not me.team_ids:
        raise Forbidden(_("只有服务队员可以查看派单。"))
    active = order_list(user, mine=True, status=",".join(ORDER_OPEN_STATES))
    tasks = [t for t in (task_for(user, o, me) for o in active) if t is not None]
    # To accept first, then the ones in hand. One list, so that a card swapped by htmx
    # never sits under a wrong heading.
    current = [t for t in tasks if t.can_accept] + [t for t in tasks if not t.can_accept]
    history = order_list(user, mine=True, status=",".join(CLOSED_STATES))
    page = Paginator(history, LIST_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/tasks.html",
        {
            "current": current,
            "page": page,
            "history": [task_for(user, o, me) for o in page.object_list],
        },
    )


# --- 集中派单: the dispatcher console --------------------------------------------------


def _counts(qs: Any) -> dict[str, int]:
    return qs.aggregate(
        total=Count("pk"),
        overdue=Count("pk", filter=Q(overdue=True, status__in=ORDER_OPEN_STATES)),
        follow_up=Count("pk", filter=Q(follow_up__isnull=False, follow_up__closed_at__isnull=True)),
        open=Count("pk", filter=Q(status__in=ORDER_OPEN_STATES)),
        **{s: Count("pk", filter=Q(status=s)) for s in OrderStatus.values},
    )


@login_required
def queue_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require_role(user, QUEUE_ROLES)
    items = list(catalog_for(user))
    communities = (
        list(Center.objects.filter(kind=Center.Kind.COMMUNITY).order_by("code"))
        if user.role == Role.CITY
        else []
    )
    statuses: list[tuple[str, StrOrPromise]] = [
        ("open", _("进行中（全部未完成）")),
        *OrderStatus.choices,
    ]
    form = QueueFilterForm(request.GET, statuses=statuses, items=items, communities=communities)
    form.is_valid()
    f = form.cleaned_data
    status = f.get("status") or ""
    community = f.get("community")
    qs = order_list(
        user,
        status=",".join(ORDER_OPEN_STATES) if status == "open" else status,
        item=f.get("item") or "",
        urgency=f.get("urgency") or "",
        overdue=True if f.get("overdue") else None,
        follow_up=True if f.get("follow_up") else None,
        community=community,
        resident=f.get("resident"),
    ).select_related("follow_up")
    page = Paginator(qs, QUEUE_PAGE).get_page(request.GET.get("page"))
    # The 派单 button where the dispatch predicate allows it (a leader: once for the page).
    led = (
        frozenset(Team.objects.filter(leader=user).values_list("pk", flat=True))
        if user.role == Role.LEADER
        else None
    )
    for o in page.object_list:
        o.can_dispatch = bool(may_dispatch(user, o, list(o.slots.all()), led))  # type: ignore[attr-defined]
    counts = _counts(order_list(user, community=community))
    chips: list[tuple[str, StrOrPromise, int]] = [
        ("", _("全部"), counts["total"]),
        ("open", _("进行中"), counts["open"]),
    ]
    chips += [(s, label, counts[s]) for s, label in OrderStatus.choices]
    # 响应率 / 解决率 / 满意率 of the last 30 days, for the community in view.
    today = timezone.localdate()
    indicators = order_indicators(
        community or (None if user.role == Role.CITY else user.community_id),
        today - dt.timedelta(days=29),
        today + dt.timedelta(days=1),
    )
    context = {
        "indicators": indicators,
        "form": form,
        "page": page,
        "counts": counts,
        "chips": chips,
        "status": status,
        "read_only": user.role == Role.LEADER,
        "show_community": user.role == Role.CITY,
    }
    template = "orders/_queue_results.html" if request.htmx else "orders/queue.html"
    return render(request, template, context)


@login_required
def phone_view(request: AuthedRequest) -> HttpResponse:
    """电话代下单: find the resident (name, pinyin initials, phone tail), then the order."""
    user = request.user
    if not may_order_on_behalf(user):
        raise Forbidden()
    q = (request.GET.get("q") or "").strip()
    results = [MaskedResident(r) for r in resident_list(user, q=q)[:PHONE_RESULTS]] if q else []
    if request.htmx and request.htmx.target == "phone-results":
        return render(request, "orders/_phone_results.html", {"results": results, "q": q})
    wanted = request.POST.get("resident") or request.GET.get("resident") or ""
    resident = resident_get(user, int(wanted)) if wanted.isdigit() else None
    items = list(catalog_for(user, community_id=resident.community_id)) if resident else []
    form = PhoneOrderForm(
        request.POST or None,
        items=items,
        initial={
            "resident": resident.pk if resident else None,
            "urgency": Urgency.NORMAL,
            "channel": Channel.PHONE,
        },
    )
    status = 200
    if request.method == "POST":
        if resident is None:
            raise InvalidInput(fields={"resident": _("请先查找并选择居民。")})
        if form.is_valid():
            try:
                order = services.order_place(
                    actor=user,
                    idempotency_key=request.POST.get("idempotency_key", ""),
                    **form.service_kwargs(),
                )
            except (InvalidInput, Conflict) as exc:
                add_app_error(form, exc, form.aliases)
                status = exc.status
            else:
                if order.detail_held:  # made by this request, not a form sent again
                    messages.success(
                        request, _("已为 %(name)s 下单。") % {"name": order.beneficiary_name}
                    )
                else:
                    messages.info(request, _("这张订单已经提交，不会重复下单。"))
                return redirect("orders:detail", pk=order.pk)
        else:
            status = 400
    return render(
        request,
        "orders/phone.html",
        {
            "q": q,
            "results": results,
            "resident": resident,
            "masked": MaskedResident(resident) if resident else None,
            "form": form,
            "items": items,
            "key": request.POST.get("idempotency_key") or _new_key(),
        },
        status=status,
    )


@login_required
def follow_ups_view(request: AuthedRequest) -> HttpResponse:
    """回访: low or unresolved ratings, each closed with a note."""
    return _follow_ups_page(request)


def _follow_ups_page(
    request: AuthedRequest, bound: tuple[int, NoteForm] | None = None, status: int = 200
) -> HttpResponse:
    """The follow-up list; ``bound`` is (order pk, its form that failed), shown at that order."""
    user = request.user
    require_role(user, DESK_ROLES)
    open_ = order_list(user, follow_up=True).select_related("follow_up", "rating")
    closed = (
        order_list(user)
        .filter(follow_up__closed_at__isnull=False)
        .select_related("follow_up__closed_by", "rating")
        .order_by("-follow_up__closed_at")[:LIST_PAGE]
    )
    return render(
        request,
        "orders/follow_ups.html",
        {
            "open": list(open_),
            "closed": list(closed),
            "bound_pk": bound[0] if bound else None,
            "bound": bound[1] if bound else None,
        },
        status=status,
    )


@login_required
@require_POST
def contact_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """The member who is to go there sees the address and phone; the view is audited."""
    contact = services.order_contact(actor=request.user, order_id=pk, request=request)
    return render(request, "orders/_contact.html", {"contact": contact, "pk": pk})
