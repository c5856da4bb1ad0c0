"""Every write of activities: organise, reschedule, cancel, sign up, take attendance, invite.

Sessions occupy rooms only through ``network.services`` (the one room
calendar). Places are counted from the live sign-ups under the activity's
row lock (``_lock_activity``): a sign-up, a cancellation and a promotion from
the waiting list for one activity run one after another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from dateutil import rrule as du_rrule
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.activities import permissions as may
from linli.activities.models import (
    Activity,
    Attendance,
    Audience,
    Invitation,
    Kind,
    Session,
    Signup,
)
from linli.core.boundary import DATETIME_MAX, clean_text
from linli.core.errors import Conflict, InvalidInput, NotFound
from linli.core.rules import Verdict
from linli.network import services as calendar
from linli.network.models import Closure, Occupancy, Room
from linli.notify.services import notify
from linli.people import ages
from linli.people.models import Contact, Resident
from linli.people.services import contact_record, contact_withdraw
from linli.teams.models import Team

if TYPE_CHECKING:
    from linli.core.models import User

# A series is materialised: at most this many sessions, and it must end.
MAX_SESSIONS = 400
# No session starts this late (the input boundary's bound, which every read handles).
LATEST = DATETIME_MAX - dt.timedelta(days=1)
TITLE_MAX = Activity._meta.get_field("title").max_length or 100
REASON_MAX = 200


# --- recurrence -----------------------------------------------------------------


def series_starts(rule: str, first: dt.datetime) -> list[dt.datetime]:
    """The starts of a series: ``first`` and what the RFC 5545 rule repeats it at.

    The rule is read in local time (Asia/Shanghai), so "every Saturday 15:00"
    stays 15:00. It must end (``UNTIL`` or ``COUNT``) within ``MAX_SESSIONS``."""
    rule = (rule or "").strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[6:]
    if not rule:
        return [first]
    local = timezone.localtime(first)
    naive = local.replace(tzinfo=None)
    try:
        parsed = du_rrule.rrulestr(rule, dtstart=naive, forceset=False, ignoretz=True)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput(fields={"rrule": _("重复规则看不懂：%(why)s") % {"why": exc}}) from exc
    if not isinstance(parsed, du_rrule.rrule):
        raise InvalidInput(fields={"rrule": _("只支持一条 RRULE 规则。")})
    if parsed._count is None and parsed._until is None:  # noqa: SLF001 - dateutil keeps them there
        raise InvalidInput(fields={"rrule": _("重复规则要有结束日期（UNTIL）或次数（COUNT）。")})
    out: list[dt.datetime] = []
    for i, start in enumerate(parsed):
        if i >= MAX_SESSIONS:
            raise InvalidInput(fields={"rrule": _("一个系列最多 %(n)d 场。") % {"n": MAX_SESSIONS}})
        aware = timezone.make_aware(start, local.tzinfo)
        if aware >= LATEST:
            # Not stored: a session in the year 3026 is a typo, and past 9999 a crash.
            raise InvalidInput(fields={"rrule": _("重复规则排到了 2200 年以后。")})
        out.append(aware)
    if not out:
        raise InvalidInput(fields={"rrule": _("这个规则一场也排不出来。")})
    return out


@dataclass(frozen=True)
class PlannedSession:
    starts: dt.datetime
    ends: dt.datetime
    verdict: Verdict


def session_plan(
    room: Room, starts: dt.datetime, ends: dt.datetime, rule: str = "", exclude: Iterable[int] = ()
) -> list[PlannedSession]:
    """Each session a series would have, and whether its room is free then (the feedback)."""
    length = ends - starts
    if length <= dt.timedelta(0):
        raise InvalidInput(fields={"ends": _("结束时间要晚于开始时间。")})
    if length > dt.timedelta(hours=12):
        raise InvalidInput(fields={"ends": _("一场活动最长 12 小时。")})
    spans = [(s, s + length) for s in series_starts(rule, starts)]
    verdicts = calendar.room_free_many(room, spans, exclude=exclude)
    return [PlannedSession(a, b, v) for (a, b), v in zip(spans, verdicts, strict=True)]


# --- organising -----------------------------------------------------------------


def _aware(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        raise InvalidInput(fields={name: _("时间需要带时区。")})
    return value


@dataclass
class ActivityInput:
    """What an organiser gives to put on an activity (the page's form and the API's body)."""

    title: str
    kind: str  # Kind.code
    room: int
    starts: dt.datetime
    ends: dt.datetime
    capacity: int
    mode: str = Activity.Mode.ONE_OFF
    rrule: str = ""
    audience: str = Audience.EVERYONE
    min_age: int | None = None
    max_age: int | None = None
    organiser: str = Activity.Organiser.COMMUNITY
    organiser_name: str = ""
    team: int | None = None
    description: str = ""
    signup_opens: dt.datetime | None = None
    signup_closes: dt.datetime | None = None
    fee: Decimal | str | int = Decimal("0")


def _resolve(actor: User, data: ActivityInput) -> dict[str, Any]:
    """Check the input (every field, with its reason) and return the activity's fields."""
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    fields["title"] = clean_text(data.title, TITLE_MAX, "title", required=_("请填写活动名称。"))
    fields["description"] = clean_text(data.description, 2000, "description")
    fields["organiser_name"] = clean_text(data.organiser_name, 100, "organiser_name")
    fields["rrule"] = clean_text(data.rrule, 300, "rrule")
    kind = Kind.objects.filter(code=data.kind).first()
    if kind is None:
        errors["kind"] = _("没有这个活动类型。")
    room = Room.objects.select_related("center").filter(pk=data.room).first()
    if room is None:
        errors["room"] = _("没有这个功能室。")
    if data.mode not in Activity.Mode.values:
        errors["mode"] = _("请选择报名方式。")
    if data.audience not in Audience.values:
        errors["audience"] = _("请选择面向的人群。")
    if data.organiser not in Activity.Organiser.values:
        errors["organiser"] = _("请选择主办方。")
    if not isinstance(data.capacity, int) or isinstance(data.capacity, bool) or data.capacity < 1:
        errors["capacity"] = _("名额至少 1 个。")
    elif room is not None and data.capacity > room.capacity:
        errors["capacity"] = _("名额不能超过功能室的容纳人数（%(n)d 人）。") % {"n": room.capacity}
    for name, age in (("min_age", data.min_age), ("max_age", data.max_age)):
        if age is not None and (not isinstance(age, int) or not 0 <= age <= 120):
            errors[name] = _("年龄在 0 到 120 之间。")
    if data.audience == Audience.BAND:
        if data.min_age is None and data.max_age is None:
            errors["min_age"] = _("指定年龄段时请填写最小或最大年龄。")
        elif (
            data.min_age is not None
            and data.max_age is not None
            and "max_age" not in errors
            and data.max_age < data.min_age
        ):
            errors["max_age"] = _("最大年龄不能小于最小年龄。")
    try:
        fee = Decimal(str(data.fee))
        if not fee.is_finite() or fee < 0 or fee > Decimal("99999.99"):
            raise InvalidOperation
        fields["fee"] = fee.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        errors["fee"] = _("费用是 0 到 99999.99 元之间的金额。")
    team = None
    if data.team is not None:
        team = Team.objects.filter(pk=data.team).first()
        if team is None or (room is not None and team.community_id != _community_of(room)):
            errors["team"] = _("没有这个服务队，或它不属于功能室所在的社区。")
    elif data.organiser == Activity.Organiser.TEAM:
        errors["team"] = _("请选择主办的服务队。")
    for name in ("starts", "ends", "signup_opens", "signup_closes"):
        value = getattr(data, name)
        if value is not None and (not isinstance(value, dt.datetime) or timezone.is_naive(value)):
            errors[name] = _("时间需要带时区。")
    if "starts" not in errors and "ends" not in errors and data.ends <= data.starts:
        errors["ends"] = _("结束时间要晚于开始时间。")
    if (
        data.signup_opens
        and data.signup_closes
        and "signup_opens" not in errors
        and "signup_closes" not in errors
        and data.signup_closes <= data.signup_opens
    ):
        errors["signup_closes"] = _("报名截止要晚于报名开始。")
    if data.mode == Activity.Mode.ONE_OFF and fields.get("rrule"):
        errors["rrule"] = _("单次活动没有重复规则；按期或按场报名的系列才有。")
    if errors:
        raise InvalidInput(fields=errors)
    assert room is not None and kind is not None
    community_id = _community_of(room)
    if community_id is None:
        raise InvalidInput(fields={"room": _("请选择社区或小区中心的功能室。")})
    may.may_organise(actor, community_id, team).check()
    low, high = (data.min_age, data.max_age) if data.audience == Audience.BAND else (None, None)
    name = fields["organiser_name"] or (team.name if team else room.center.name)
    return {
        **fields,
        "organiser_name": name,
        "kind": kind,
        "room": room,
        "community_id": community_id,
        "team": team,
        "audience": data.audience,
        "min_age": low,
        "max_age": high,
        "capacity": data.capacity,
        "mode": data.mode,
        "organiser": data.organiser,
        "signup_opens": data.signup_opens,
        "signup_closes": data.signup_closes,
    }


def _community_of(room: Room) -> int | None:
    return room.center.community_id_for_scope


def activity_create(*, actor: User, data: ActivityInput) -> Activity:
    """Put on an activity and put its sessions on the room's calendar: all of them or none.

    Raises a 409 naming the conflicting sessions (at most five, and how many
    more) when the room is not free for every one of them."""
    fields = _resolve(actor, data)
    with transaction.atomic():
        room: Room = fields["room"]
        calendar.room_lock(room.pk)
        plan = session_plan(room, data.starts, data.ends, fields["rrule"])
        if len(plan) > 1 and data.mode == Activity.Mode.ONE_OFF:
            raise InvalidInput(fields={"rrule": _("单次活动只有一场。")})
        if not all(p.verdict for p in plan):
            raise calendar.conflicts_error([p.verdict for p in plan])
        activity = Activity.objects.create(created_by=actor, **fields)
        held = calendar.room_occupy_many(
            room_id=room.pk,
            spans=[(p.starts, p.ends) for p in plan],
            kind=Occupancy.Kind.SESSION,
            title=activity.title,
        )
        Session.objects.bulk_create(
            Session(activity=activity, room=room, starts=o.starts, ends=o.ends, occupancy=o)
            for o in held
        )
    return activity


def _lock_activity(activity_id: int) -> Activity:
    try:
        return (
            Activity.objects.select_for_update(of=("self",))
            .select_related("kind", "team", "room__center", "community")
            .get(pk=activity_id)
        )
    except (Activity.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


def _session_of(activity: Activity, session_id: int | None) -> Session:
    if session_id is None:
        raise NotFound(_("没有这一场。"))
    try:
        return Session.objects.select_related("room").get(pk=session_id, activity=activity)
    except (Session.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("没有这一场。")) from exc


def _visible(actor: User, activity: Activity) -> bool:
    return may.management_visible(actor, activity)


def session_move(
    *,
    actor: User,
    session_id: int,
    starts: dt.datetime | None = None,
    ends: dt.datetime | None = None,
    room_id: int | None = None,
) -> Session:
    """Move one session (another time, another room); the rest of its series stays."""
    _aware(starts, "starts")
    _aware(ends, "ends")
    with transaction.atomic():
        try:
            activity_id, old_room = Session.objects.values_list("activity_id", "room_id").get(
                pk=session_id
            )
        except (Session.DoesNotExist, ValueError, TypeError) as exc:
            raise NotFound() from exc
        # Rooms before the activity, as a closure locks them (rooms, then the activities
        # whose sessions it cancels): two writers never wait for each other in a circle.
        calendar.rooms_lock([old_room, *([room_id] if isinstance(room_id, int) else [])])
        activity = _lock_activity(activity_id)
        may.may_manage(actor, activity).check(lambda: _visible(actor, activity))
        session = _session_of(activity, session_id)
        if not session.scheduled:
            raise Conflict(_("这一场已取消。"))
        if session.room_id != old_room:
            raise Conflict(_("这一场刚刚改过，请刷新后再试。"))
        new_starts = starts or session.starts
        new_ends = ends or (new_starts + (session.ends - session.starts))
        if new_ends <= new_starts:
            raise InvalidInput(fields={"ends": _("结束时间要晚于开始时间。")})
        room = session.room
        if room_id is not None and room_id != session.room_id:
            other = Room.objects.select_related("center").filter(pk=room_id).first()
            if other is None or _community_of(other) != activity.community_id:
                raise InvalidInput(fields={"room": _("只能换到本社区的功能室。")})
            room = other
        count = _confirmed_count(activity, session if activity.per_session else None)
        if count > room.capacity:
            raise InvalidInput(
                fields={
                    "room": _("这个功能室只能容纳 %(n)d 人，已有 %(m)d 人报名。")
                    % {"n": room.capacity, "m": count}
                }
            )
        occupancy = Occupancy.objects.get(pk=session.occupancy_id)
        calendar.room_move(occupancy, room_id=room.pk, starts=new_starts, ends=new_ends)
        was = timezone.localtime(session.starts)
        session.starts, session.ends, session.room = new_starts, new_ends, room
        session.sequence += 1
        session.save(update_fields=["starts", "ends", "room", "sequence"])
        notify(
            _reachable(_people_of(activity, session)),
            "activity_moved",
            gettext_noop("活动「%(title)s」%(was)s 的一场改到 %(now)s，地点 %(room)s。"),
            {
                "title": activity.title,
                "was": f"{was:%m-%d %H:%M}",
                "now": f"{timezone.localtime(new_starts):%m-%d %H:%M}",
                "room": str(room),
            },
            _link(activity),
        )
    return session


def _cancel_sessions(
    activity: Activity, sessions: Sequence[Session], reason: str, *, tell: bool = True
) -> None:
    """Cancel these sessions, free their rooms, cancel their per-session sign-ups, tell the people."""
    if not sessions:
        return
    calendar.room_release(Occupancy.objects.filter(pk__in=[s.occupancy_id for s in sessions]))
    Session.objects.filter(pk__in=[s.pk for s in sessions]).update(
        status=Session.Status.CANCELLED,
        cancel_reason=reason[:REASON_MAX],
        sequence=F("sequence") + 1,
    )
    people: list[Resident] = []
    for s in sessions:
        people.extend(_people_of(activity, s))
        s.status = Session.Status.CANCELLED
    if activity.per_session:
        Signup.objects.filter(session__in=sessions).exclude(status=Signup.Status.CANCELLED).update(
            status=Signup.Status.CANCELLED, cancelled_at=timezone.now()
        )
    if tell:
        when = "、".join(f"{timezone.localtime(s.starts):%m-%d %H:%M}" for s in sessions[:3])
        if len(sessions) > 3:
            when += " …"
        notify(
            _reachable(people),
            "activity_cancelled",
            gettext_noop("活动「%(title)s」%(when)s 取消了：%(reason)s"),
            {"title": activity.title, "when": when, "reason": reason},
            _link(activity),
        )


def session_cancel(*, actor: User, session_id: int, reason: str) -> Session:
    """Cancel one session: its room is free again, the others of its series stay."""
    reason = clean_text(reason, REASON_MAX, "reason", required=_("请说明取消的原因。"))
    with transaction.atomic():
        try:
            activity_id = Session.objects.values_list("activity_id", flat=True).get(pk=session_id)
        except (Session.DoesNotExist, ValueError, TypeError) as exc:
            raise NotFound() from exc
        activity = _lock_activity(activity_id)
        may.may_manage(actor, activity).check(lambda: _visible(actor, activity))
        session = _session_of(activity, session_id)
        if not session.scheduled:
            raise Conflict(_("这一场已取消。"))
        _cancel_sessions(activity, [session], reason)
        session.refresh_from_db()
    return session


def activity_cancel(*, actor: User, activity_id: int, reason: str) -> Activity:
    """Cancel the activity: every session not yet held, and every sign-up."""
    reason = clean_text(reason, REASON_MAX, "reason", required=_("请说明取消的原因。"))
    with transaction.atomic():
        activity = _lock_activity(activity_id)
        may.may_manage(actor, activity).check(lambda: _visible(actor, activity))
        if activity.status == Activity.Status.CANCELLED:
            raise Conflict(_("这个活动已取消。"))
        coming = list(
            activity.sessions.filter(status=Session.Status.SCHEDULED, ends__gt=timezone.now())
        )
        _cancel_sessions(activity, coming, reason, tell=False)
        people = [
            s.person
            for s in activity.signups.filter(~Q(status=Signup.Status.CANCELLED)).select_related(
                "person"
            )
        ]
        activity.signups.exclude(status=Signup.Status.CANCELLED).update(
            status=Signup.Status.CANCELLED, cancelled_at=timezone.now()
        )
        activity.status = Activity.Status.CANCELLED
        activity.save(update_fields=["status"])
        notify(
            _reachable(people),
            "activity_cancelled",
            gettext_noop("活动「%(title)s」取消了：%(reason)s"),
            {"title": activity.title, "reason": reason},
            _link(activity),
        )
    return activity


@calendar.on_closure(Occupancy.Kind.SESSION)
def _closed(occupancies: list[Occupancy], closure: Closure, actor: User | None) -> None:
    """A closure cancels the sessions it covers, telling everyone signed up."""
    sessions = list(
        Session.objects.filter(occupancy__in=occupancies, status=Session.Status.SCHEDULED)
        .select_related("activity")
        .order_by("activity_id", "starts")
    )
    by_activity: dict[int, list[Session]] = {}
    for s in sessions:
        by_activity.setdefault(s.activity_id, []).append(s)
    for activity_id, group in sorted(by_activity.items()):
        activity = _lock_activity(activity_id)
        _cancel_sessions(activity, group, _("闭馆：%(reason)s") % {"reason": closure.reason})


# --- sign-up --------------------------------------------------------------------


def _confirmed_count(activity: Activity, session: Session | None) -> int:
    return Signup.objects.filter(
        activity=activity, session=session, status=Signup.Status.CONFIRMED
    ).count()


def first_session(activity: Activity) -> Session | None:
    """The session a whole-activity sign-up is judged by: the first one not cancelled."""
    return activity.sessions.filter(status=Session.Status.SCHEDULED).order_by("starts").first()


def _person(person_id: int) -> Resident:
    try:
        return Resident.objects.get(pk=person_id)
    except (Resident.DoesNotExist, ValueError, TypeError) as exc:
        raise InvalidInput(fields={"person": _("没有这位居民。")}) from exc


def signup_create(
    *,
    actor: User,
    activity_id: int,
    person_id: int,
    session_id: int | None = None,
    channel: str | None = None,
) -> Signup:
    """Sign ``person_id`` up: a place while there is one, else a place in line.

    The activity's row is locked while the places are counted and the row is
    written, so concurrent sign-ups for the last places never oversell. A
    person already signed up (or in line) gets a 409; someone outside the
    audience on the session's date, or outside the window, a clear reason."""
    with transaction.atomic():
        activity = _lock_activity(activity_id)
        person = _person(person_id)
        may.acting_for(actor, person, activity).check()
        if activity.per_session:
            if session_id is None:
                raise InvalidInput(fields={"session": _("请选择要参加的场次。")})
            session: Session | None = _session_of(activity, session_id)
            judged_by = session
        else:
            if session_id is not None:
                raise InvalidInput(fields={"session": _("这个活动整期报名，不用选场次。")})
            session = None
            judged_by = first_session(activity)
        may.signup_window(activity, judged_by).check()
        assert judged_by is not None
        may.eligible(person, activity, judged_by.date).check()
        if (
            Signup.objects.filter(activity=activity, session=session, person=person)
            .exclude(status=Signup.Status.CANCELLED)
            .exists()
        ):
            raise Conflict(_("%(name)s 已经报过名了。") % {"name": person.name})
        full = _confirmed_count(activity, session) >= activity.capacity
        now = timezone.now()
        signup = Signup(
            activity=activity,
            session=session,
            person=person,
            status=Signup.Status.WAITLISTED if full else Signup.Status.CONFIRMED,
            channel=channel or may.channel_for(actor, person),
            signed_up_by=actor,
            created_at=now,
            confirmed_at=None if full else now,
        )
        try:
            with transaction.atomic():
                signup.save()
        except IntegrityError as exc:
            raise Conflict(_("%(name)s 已经报过名了。") % {"name": person.name}) from exc
    return signup


def waitlist_position(signup: Signup) -> int | None:
    """1 for the first in line; None for a sign-up not waiting."""
    if signup.status != Signup.Status.WAITLISTED:
        return None
    ahead = Signup.objects.filter(
        activity_id=signup.activity_id,
        session=signup.session_id,
        status=Signup.Status.WAITLISTED,
    ).filter(
        Q(created_at__lt=signup.created_at) | Q(created_at=signup.created_at, pk__lt=signup.pk)
    )
    return ahead.count() + 1


def _promote(activity: Activity, session: Session | None) -> Signup | None:
    """Give a free place to the first in line (called with the activity locked)."""
    if _confirmed_count(activity, session) >= activity.capacity:
        return None
    first = (
        Signup.objects.filter(activity=activity, session=session, status=Signup.Status.WAITLISTED)
        .select_related("person")
        .order_by("created_at", "pk")
        .first()
    )
    if first is None:
        return None
    first.status = Signup.Status.CONFIRMED
    first.confirmed_at = timezone.now()
    first.save(update_fields=["status", "confirmed_at"])
    notify(
        _reachable([first.person]),
        "activity_promoted",
        gettext_noop("候补成功：%(name)s 已报上活动「%(title)s」。"),
        {"name": first.person.name, "title": activity.title},
        _link(activity),
    )
    return first


def signup_cancel(*, actor: User, signup_id: int) -> Signup:
    """Cancel a sign-up; a place it frees goes to the first in line, who is told."""
    with transaction.atomic():
        try:
            activity_id = Signup.objects.values_list("activity_id", flat=True).get(pk=signup_id)
        except (Signup.DoesNotExist, ValueError, TypeError) as exc:
            raise NotFound() from exc
        activity = _lock_activity(activity_id)
        signup = Signup.objects.select_related("person", "session").get(pk=signup_id)
        signup.activity = activity
        verdict = may.may_cancel_signup(actor, signup)
        verdict.check(
            lambda: (
                bool(may.acting_for(actor, signup.person, activity))
                or bool(may.may_manage(actor, activity))
            )
        )
        was = signup.status
        signup.status = Signup.Status.CANCELLED
        signup.cancelled_at = timezone.now()
        signup.save(update_fields=["status", "cancelled_at"])
        if was == Signup.Status.CONFIRMED:
            _promote(activity, signup.session)
    return signup


def activity_capacity_change(*, actor: User, activity_id: int, capacity: int) -> Activity:
    """More (or fewer) places: more promote from the line in order; fewer never unseat anyone."""
    with transaction.atomic():
        activity = _lock_activity(activity_id)
        may.may_manage(actor, activity).check(lambda: _visible(actor, activity))
        if not isinstance(capacity, int) or capacity < 1:
            raise InvalidInput(fields={"capacity": _("名额至少 1 个。")})
        if capacity > activity.room.capacity:
            raise InvalidInput(
                fields={
                    "capacity": _("名额不能超过功能室的容纳人数（%(n)d 人）。")
                    % {"n": activity.room.capacity}
                }
            )
        activity.capacity = capacity
        activity.save(update_fields=["capacity"])
        units: list[Session | None] = (
            list(activity.sessions.filter(status=Session.Status.SCHEDULED))
            if activity.per_session
            else [None]
        )
        for unit in units:
            while _promote(activity, unit) is not None:
                pass
    return activity


# --- attendance -----------------------------------------------------------------


def _attendance_source(signup: Signup, session: Session) -> str:
    return f"activities.attendance:{signup.pk}:{session.pk}"


def attendance_record(*, actor: User, session_id: int, signup_id: int, present: bool) -> Attendance:
    """Tick a signed-up person as come (or not come) to one session.

    Coming is a meeting in person: it is recorded through the people app's
    contact function, and taken back if the tick is undone."""
    with transaction.atomic():
        try:
            session = Session.objects.select_related("activity__team").get(pk=session_id)
        except (Session.DoesNotExist, ValueError, TypeError) as exc:
            raise NotFound() from exc
        activity = session.activity
        may.may_manage(actor, activity).check(lambda: _visible(actor, activity))
        if not session.scheduled:
            raise Conflict(_("这一场已取消。"))
        if session.starts - timezone.now() > dt.timedelta(hours=2):
            raise Conflict(_("活动开始前两小时内才能签到。"))
        signup = (
            Signup.objects.select_related("person")
            .filter(pk=signup_id, activity=activity, status=Signup.Status.CONFIRMED)
            .filter(Q(session__isnull=True) | Q(session=session))
            .first()
        )
        if signup is None:
            raise InvalidInput(fields={"signup": _("这一场的报名名单里没有这个人。")})
        status = Attendance.Status.PRESENT if present else Attendance.Status.NO_SHOW
        attendance, _created = Attendance.objects.select_for_update().get_or_create(
            signup=signup,
            session=session,
            defaults={"status": status, "recorded_by": actor},
        )
        if not _created and attendance.status != status:
            attendance.status = status
            attendance.recorded_by = actor
            attendance.recorded_at = timezone.now()
            attendance.save(update_fields=["status", "recorded_by", "recorded_at"])
        source = _attendance_source(signup, session)
        if present:
            contact_record(
                resident_id=signup.person_id,
                kind=Contact.Kind.ACTIVITY,
                at=session.starts,
                source=source,
                by=actor,
                note=activity.title[:200],
            )
        else:
            contact_withdraw(resident_id=signup.person_id, source=source)
    return attendance


def checkin_by_code(*, actor: User, session_id: int, code: str) -> Attendance:
    """Check in at the door by the sign-up's code (scanned from its QR, or typed)."""
    code = (code or "").strip().upper().replace(" ", "")
    if not code:
        raise InvalidInput(fields={"code": _("请输入签到码。")})
    try:
        session = Session.objects.get(pk=session_id)
    except (Session.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc
    signup = (
        Signup.objects.filter(
            code=code, activity_id=session.activity_id, status=Signup.Status.CONFIRMED
        )
        .filter(Q(session__isnull=True) | Q(session=session))
        .first()
    )
    if signup is None:
        raise InvalidInput(fields={"code": _("签到码不对，或不是这一场的。")})
    return attendance_record(actor=actor, session_id=session_id, signup_id=signup.pk, present=True)


# --- 长者生日会 -----------------------------------------------------------------


@dataclass
class Invited:
    sent: list[Invitation]
    by_phone: list[Resident]  # no account of their own nor a guardian's: the desk calls them
    already: int


def birthday_people(community_id: int, month: dt.date, min_age: int = 60) -> list[Resident]:
    """The elders of a community whose birthday falls in ``month`` (aged ``min_age``+ then)."""
    first = month.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    born_by = ages._years_before(last, min_age)  # noqa: SLF001 - the ages module's own arithmetic
    return list(
        Resident.objects.filter(
            community_id=community_id, birth_date__month=first.month, birth_date__lte=born_by
        ).order_by("birth_date__day", "name", "pk")
    )


def birthday_invite(*, actor: User, activity_id: int, min_age: int = 60) -> Invited:
    """Invite to a birthday party the community's elders born in its month (once each).

    Each invitation goes through the notification outbox to the elder's own
    account or, without one, to their guardians'; those with neither are
    returned for the desk to telephone. The invitation links to the
    activity's page, where they (or their family) sign up."""
    if min_age not in (60, 80):
        raise InvalidInput(fields={"min_age": _("请选择 60 岁或 80 岁以上。")})
    with transaction.atomic():
        activity = _lock_activity(activity_id)
        may.may_manage(actor, activity).check(lambda: _visible(actor, activity))
        first = first_session(activity)
        if first is None:
            raise Conflict(_("这个活动没有待举行的场次。"))
        people = birthday_people(activity.community_id, first.date, min_age)
        done = set(Invitation.objects.filter(activity=activity).values_list("person_id", flat=True))
        fresh = [p for p in people if p.pk not in done]
        reach = _reach_map(fresh)
        sent: list[Invitation] = []
        by_phone: list[Resident] = []
        for p in fresh:
            users = reach.get(p.pk, [])
            sent.append(
                Invitation(activity=activity, person=p, notified=users[0] if users else None)
            )
            if users:
                notify(
                    users,
                    "activity_invitation",
                    gettext_noop(
                        "%(name)s 生日快乐！邀请参加「%(title)s」（%(when)s，%(room)s），点这里报名。"
                    ),
                    {
                        "name": p.name,
                        "title": activity.title,
                        "when": f"{timezone.localtime(first.starts):%m-%d %H:%M}",
                        "room": str(first.room),
                    },
                    _link(activity),
                )
            else:
                by_phone.append(p)
        Invitation.objects.bulk_create(sent)
    return Invited(sent=sent, by_phone=by_phone, already=len(people) - len(fresh))


# --- whom to tell ---------------------------------------------------------------


def _reach_map(people: Iterable[Resident]) -> dict[int, list[User]]:
    """Each person's own account, or else their guardians' accounts."""
    from linli.core.models import User
    from linli.people.models import Guardianship

    people = list(people)
    out: dict[int, list[User]] = {}
    own_ids = {p.pk: p.account_id for p in people if p.account_id}
    accounts = User.objects.in_bulk({*own_ids.values()})
    for pk, uid in own_ids.items():
        if uid in accounts and accounts[uid].is_active:
            out[pk] = [accounts[uid]]
    rest = [p.pk for p in people if p.pk not in out]
    if rest:
        links = Guardianship.objects.filter(
            ward_id__in=rest, guardian__account__isnull=False, guardian__account__is_active=True
        ).select_related("guardian__account")
        for link in links:
            out.setdefault(link.ward_id, []).append(link.guardian.account)  # type: ignore[arg-type]
    return out


def _reachable(people: Iterable[Resident]) -> list[User]:
    return [u for users in _reach_map(people).values() for u in users]


def _people_of(activity: Activity, session: Session | None) -> list[Resident]:
    """Who is signed up (or in line) for ``session`` -- a course's people for any of its sessions."""
    q = Signup.objects.filter(activity=activity).exclude(status=Signup.Status.CANCELLED)
    if activity.per_session:
        q = q.filter(session=session)
    return [s.person for s in q.select_related("person")]


def _link(activity: Activity) -> str:
    return reverse("activities:detail", args=[activity.pk])
