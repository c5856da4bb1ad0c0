"""iCalendar feeds (RFC 5545): a room's, an activity's, and a person's own behind a secret URL.

The room and activity feeds are public information -- titles, times, rooms,
never who signed up. The personal feed holds the sessions its owner and
their wards are signed up for and, for a team member, the order slots they
have accepted or are serving; its URL carries :attr:`Feed.secret`, and
:func:`feed_rotate` makes a new one, after which the old URL answers 404.

Times are written in Asia/Shanghai (``DTSTART;TZID=Asia/Shanghai``) with the
``VTIMEZONE`` icalendar derives from the zone database. UIDs are stable
(``session-<pk>@linli``), ``SEQUENCE`` is the session's, and a cancelled
session stays in the feed as ``STATUS:CANCELLED`` so calendars drop it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING

import icalendar
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from icalendar.enums import STATUS, TRANSP

from linli.activities import permissions as may
from linli.activities.models import Activity, Feed, Session, Signup
from linli.core.boundary import INT64_MAX
from linli.core.models import AuditLog
from linli.core.services import audit_record
from linli.network.models import Occupancy, Room

if TYPE_CHECKING:
    from linli.core.models import User
    from linli.orders.models import Slot

DOMAIN = "linli"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# How far back a feed reaches: calendars keep what they already have.
PAST = dt.timedelta(days=60)
# A feed stays a few hundred events long (a daily opera for a year is 365).
LIMIT = 1000
# An order slot without an end shows as an hour from its start.
SLOT_LENGTH = dt.timedelta(hours=1)


# --- building ---------------------------------------------------------------------


def _calendar(name: str, uid: str) -> icalendar.Calendar:
    cal = icalendar.Calendar.new(
        prodid="-//linli//activities//ZH", name=name, uid=f"{uid}@{DOMAIN}"
    )
    cal.add("X-WR-TIMEZONE", timezone.get_current_timezone_name())
    return cal


def _local(moment: dt.datetime) -> dt.datetime:
    # The current time zone is a ZoneInfo: icalendar writes its key as the TZID.
    return timezone.localtime(moment)


def _where(room: Room) -> str:
    return f"{room.name}，{room.center.name}"


def _session_event(session: Session, summary: str = "") -> icalendar.Event:
    activity = session.activity
    event = icalendar.Event.new(
        uid=f"session-{session.pk}@{DOMAIN}",
        summary=summary or activity.title,
        start=_local(session.starts),
        end=_local(session.ends),
        location=_where(session.room),
        sequence=session.sequence,
        stamp=timezone.now(),
        status=STATUS.CONFIRMED if session.scheduled else STATUS.CANCELLED,
        description=activity.description or None,
        categories=[activity.kind.label],
    )
    if not session.scheduled and session.cancel_reason:
        event.add("COMMENT", session.cancel_reason)
    return event


def _finish(cal: icalendar.Calendar) -> bytes:
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def _sessions() -> QuerySet[Session]:
    return Session.objects.select_related("activity__kind", "room__center").filter(
        ends__gte=timezone.now() - PAST
    )


def room_calendar(room: Room) -> bytes:
    """A room's calendar: every session held in it (cancelled ones marked) and its closures."""
    cal = _calendar(_("%(room)s 日程") % {"room": _where(room)}, f"room-{room.pk}")
    for s in _sessions().filter(room=room).order_by("starts", "pk")[:LIMIT]:
        cal.add_component(_session_event(s))
    closures = (
        Occupancy.objects.filter(
            room=room, kind=Occupancy.Kind.CLOSURE, ends__gte=timezone.now() - PAST
        )
        .select_related("closure")
        .order_by("starts", "pk")[:LIMIT]
    )
    for o in closures:
        cal.add_component(
            icalendar.Event.new(
                uid=f"closure-{o.closure_id or o.pk}-room-{room.pk}@{DOMAIN}",
                summary=_("闭馆：%(reason)s") % {"reason": o.title},
                start=_local(o.starts),
                end=_local(o.ends),
                location=_where(room),
                stamp=timezone.now(),
                status=STATUS.CONFIRMED if o.held else STATUS.CANCELLED,
                transparency=TRANSP.OPAQUE,
            )
        )
    return _finish(cal)


def activity_calendar(activity: Activity) -> bytes:
    """An activity's calendar: its sessions, cancelled ones marked."""
    cal = _calendar(activity.title, f"activity-{activity.uid}")
    for s in _sessions().filter(activity=activity).order_by("starts", "pk")[:LIMIT]:
        cal.add_component(_session_event(s))
    return _finish(cal)


def _slot_span(slot: Slot) -> tuple[dt.datetime, dt.datetime] | None:
    """When a slot happens: its order's wanted window, else from when it started; None if neither."""
    order = slot.order
    start, end = order.window_start, order.window_end
    if start is None and end is not None:
        start = end - SLOT_LENGTH
    if start is None:
        start = slot.started_at
    if start is None:
        return None
    if end is None or end <= start:
        end = start + SLOT_LENGTH
    return start, end


def _member_slots(user: User) -> list[Slot]:
    from linli.orders.models import Slot, SlotStatus

    return list(
        Slot.objects.filter(
            member__user=user, status__in=[SlotStatus.ACCEPTED, SlotStatus.IN_SERVICE]
        )
        .select_related("order__item", "order__community")
        .order_by("order__window_start", "pk")[:LIMIT]
    )


def _signed_up_sessions(user: User) -> list[tuple[Session, list[str]]]:
    """The sessions ``user`` and their wards are signed up (or in line) for, with who."""
    people = may.own_people(user)
    signups = list(
        Signup.objects.filter(person__in=people)
        .exclude(status=Signup.Status.CANCELLED)
        .select_related("person")
        .only("person__name", "activity_id", "session_id", "status")
    )
    whole = {s.activity_id for s in signups if s.session_id is None}
    single = {s.session_id for s in signups if s.session_id is not None}
    if not whole and not single:
        return []
    sessions = list(
        _sessions()
        .filter(Q(activity_id__in=whole) | Q(pk__in=single))
        .order_by("starts", "pk")[:LIMIT]
    )
    out = []
    for session in sessions:
        names = [
            s.person.name + ("" if s.status == Signup.Status.CONFIRMED else _("（候补）"))
            for s in signups
            if s.session_id == session.pk
            or (s.session_id is None and s.activity_id == session.activity_id)
        ]
        out.append((session, names))
    return out


def personal_calendar(user: User) -> bytes:
    """``user``'s own calendar: their (and their wards') sessions and their accepted order slots."""
    with translation.override(user.language or None):
        cal = _calendar(_("我的邻里日程"), f"feed-{user.pk}")
        for session, names in _signed_up_sessions(user):
            summary = f"{session.activity.title}（{'、'.join(names)}）"
            cal.add_component(_session_event(session, summary))
        for slot in _member_slots(user):
            span = _slot_span(slot)
            if span is None:
                continue
            order = slot.order
            cal.add_component(
                icalendar.Event.new(
                    uid=f"order-{order.pk}-slot-{slot.index}@{DOMAIN}",
                    summary=_("服务：%(item)s") % {"item": order.item.label},
                    start=_local(span[0]),
                    end=_local(span[1]),
                    location=order.community.name,
                    stamp=timezone.now(),
                    status=STATUS.CONFIRMED,
                    url=reverse("orders:detail", args=[order.pk]),
                )
            )
        return _finish(cal)


# --- the personal feed's secret -----------------------------------------------------


def feed_get(user: User) -> Feed:
    """``user``'s feed, made on first use."""
    feed, _created = Feed.objects.get_or_create(user=user)
    return feed


def feed_rotate(*, actor: User) -> Feed:
    """Give ``actor``'s feed a new secret: the old URL answers 404 from now on (audited)."""
    with transaction.atomic():
        feed, created = Feed.objects.select_for_update().get_or_create(user=actor)
        if not created:
            feed.secret = secrets.token_urlsafe()
            feed.created_at = timezone.now()
            feed.save(update_fields=["secret", "created_at"])
        audit_record(actor=actor, action=AuditLog.Action.CHANGE, target=feed, field="secret")
    return feed


def activity_path(activity: Activity) -> str:
    return reverse("activities:feed_activity", args=[activity.pk])


def room_path(room: Room) -> str:
    return reverse("activities:feed_room", args=[room.pk])


def feed_path(feed: Feed) -> str:
    return reverse("activities:feed_personal", args=[feed.secret])


def feed_url(user: User, request: HttpRequest | None = None) -> str:
    """The personal feed's URL for ``user`` (absolute when ``request`` is given)."""
    path = feed_path(feed_get(user))
    return request.build_absolute_uri(path) if request is not None else path


# --- views ------------------------------------------------------------------------


def _ics(body: bytes, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{name}.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_GET
def room_feed(request: HttpRequest, pk: int) -> HttpResponse:
    room = Room.objects.select_related("center").filter(pk=pk).first() if pk <= INT64_MAX else None
    if room is None:
        raise Http404
    return _ics(room_calendar(room), f"room-{room.pk}")


@require_GET
def activity_feed(request: HttpRequest, pk: int) -> HttpResponse:
    activity = Activity.objects.filter(pk=pk).first() if pk <= INT64_MAX else None
    if activity is None:
        raise Http404
    return _ics(activity_calendar(activity), f"activity-{activity.pk}")


@require_GET
def personal_feed(request: HttpRequest, secret: str) -> HttpResponse:
    feed = Feed.objects.select_related("user").filter(secret=secret).first()
    if feed is None or not feed.user.is_active:
        raise Http404
    return _ics(personal_calendar(feed.user), "linli")
