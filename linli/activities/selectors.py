"""Reads of activities: lists, a room's week, one's sign-ups; each in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from linli.activities import permissions as may
from linli.activities.models import Activity, Audience, Session, Signup
from linli.core.errors import NotFound
from linli.core.roles import Role
from linli.network.models import Center, Occupancy, Room
from linli.people import ages

if TYPE_CHECKING:
    from linli.core.models import User
    from linli.people.models import Resident

LIVE = ~Q(status=Signup.Status.CANCELLED)


def week_of(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 to the next Monday 00:00, local time, of ``day``'s week."""
    monday = day - dt.timedelta(days=day.weekday())
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(monday, dt.time(0), tz)
    return start, start + dt.timedelta(days=7)


# The community whose activities are "near" a user (permissions decides it once).
home_community = may.home_community


# Who looks for an audience looks for what they may join: an 80-year-old for the
# elders' activities too, anyone for what is open to everyone and to families.
_OPEN = [Audience.EVERYONE, Audience.FAMILIES]
AUDIENCES_FOR: dict[str, list[str]] = {
    Audience.CHILDREN: [Audience.CHILDREN, Audience.BAND, *_OPEN],
    Audience.ELDERS: [Audience.ELDERS, Audience.AGED, *_OPEN],
    Audience.AGED: [Audience.AGED, Audience.ELDERS, *_OPEN],
    Audience.FAMILIES: [Audience.FAMILIES, Audience.EVERYONE],
    Audience.EVERYONE: [Audience.EVERYONE, Audience.FAMILIES],
    Audience.BAND: [Audience.BAND, *_OPEN],
}


@dataclass
class Listed:
    session: Session
    activity: Activity
    confirmed: int
    waiting: int

    @property
    def places_left(self) -> int:
        return max(0, self.activity.capacity - self.confirmed)


def _counts(activity_ids: Sequence[int]) -> dict[tuple[int, int | None], tuple[int, int]]:
    rows = (
        Signup.objects.filter(activity_id__in=list(activity_ids))
        .filter(LIVE)
        .values("activity_id", "session_id")
        .annotate(
            confirmed=Count("pk", filter=Q(status=Signup.Status.CONFIRMED)),
            waiting=Count("pk", filter=Q(status=Signup.Status.WAITLISTED)),
        )
    )
    return {(r["activity_id"], r["session_id"]): (r["confirmed"], r["waiting"]) for r in rows}


def sessions_between(
    start: dt.datetime,
    end: dt.datetime,
    *,
    community_id: int | None = None,
    audience: str = "",
    kind: str = "",
) -> list[Listed]:
    """The scheduled sessions of open activities in [start, end), with their places (3 queries).

    ``community_id``: that community's activities and the city center's
    (which serve everyone); None: every community's."""
    q = Session.objects.filter(
        starts__gte=start,
        starts__lt=end,
        status=Session.Status.SCHEDULED,
        activity__status=Activity.Status.OPEN,
    )
    if community_id is not None:
        q = q.filter(
            Q(activity__community_id=community_id) | Q(room__center__kind=Center.Kind.CITY)
        )
    if audience:
        q = q.filter(activity__audience__in=AUDIENCES_FOR.get(audience, []))
    if kind:
        q = q.filter(activity__kind__code=kind)
    sessions = list(
        q.select_related("activity__kind", "room__center").order_by("starts", "pk")[:500]
    )
    counts = _counts(sorted({s.activity_id for s in sessions}))
    out = []
    for s in sessions:
        key = (s.activity_id, s.pk if s.activity.per_session else None)
        confirmed, waiting = counts.get(key, (0, 0))
        out.append(Listed(session=s, activity=s.activity, confirmed=confirmed, waiting=waiting))
    return out


@dataclass
class RoomWeek:
    room: Room
    days: list[list[Occupancy]] = field(default_factory=list)  # Monday first


def room_week(community_id: int, day: dt.date) -> tuple[dt.datetime, list[RoomWeek]]:
    """Every room of the community's centers and what occupies each, day by day (2 queries).

    Each interval carries ``session`` (the activity's session holding it) when it is one."""
    start, end = week_of(day)
    rooms = list(
        Room.objects.filter(Q(center_id=community_id) | Q(center__parent_id=community_id))
        .select_related("center")
        .order_by("center__kind", "center__code", "name", "pk")
    )
    held = (
        Occupancy.objects.filter(
            room__in=rooms, released_at__isnull=True, starts__lt=end, ends__gt=start
        )
        .select_related("session__activity")
        .order_by("starts", "pk")
    )
    weeks = {r.pk: RoomWeek(room=r, days=[[] for _ in range(7)]) for r in rooms}
    for o in held:
        first = max(timezone.localtime(o.starts).date(), start.date())
        last = min(
            timezone.localtime(o.ends - dt.timedelta(microseconds=1)).date(),
            (end - dt.timedelta(days=1)).date(),
        )
        d = first
        while d <= last:
            weeks[o.room_id].days[(d - start.date()).days].append(o)
            d += dt.timedelta(days=1)
    return start, list(weeks.values())


def activity_get(user: User, pk: int) -> Activity:
    """One activity with its sessions (upcoming first-class), for anyone signed in; 404 if none."""
    try:
        return (
            Activity.objects.select_related("kind", "room__center", "community", "team")
            .prefetch_related(
                Prefetch(
                    "sessions", Session.objects.select_related("room").order_by("starts", "pk")
                )
            )
            .get(pk=pk)
        )
    except (Activity.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


@dataclass
class Standing:
    """Where a person stands with an activity (or one of its sessions)."""

    person: Resident
    signup: Signup | None
    position: int | None  # in the waiting list
    eligible: bool
    reason: str


def standings(user: User, activity: Activity, session: Session | None) -> list[Standing]:
    """For each person ``user`` may sign up (themself, their wards): signed up, in line, or may."""
    from linli.activities.services import first_session, waitlist_position

    people = may.own_people(user)
    if not people:
        return []
    signups = {
        s.person_id: s
        for s in Signup.objects.filter(
            activity=activity, person__in=people, session=session if activity.per_session else None
        ).filter(LIVE)
    }
    judged_by = session if activity.per_session else first_session(activity)
    on = judged_by.date if judged_by is not None else ages.today()
    out = []
    for p in people:
        s = signups.get(p.pk)
        verdict = may.eligible(p, activity, on)
        out.append(
            Standing(
                person=p,
                signup=s,
                position=waitlist_position(s) if s is not None else None,
                eligible=bool(verdict),
                reason=verdict.reason,
            )
        )
    return out


def my_signups(user: User) -> list[Signup]:
    """The live sign-ups of ``user`` and their wards, soonest first (3 queries)."""
    people = may.own_people(user)
    signups = list(
        Signup.objects.filter(person__in=people)
        .filter(LIVE)
        .select_related(
            "person", "activity__kind", "activity__room__center", "session__room__center"
        )
        .prefetch_related(
            Prefetch(
                "activity__sessions",
                Session.objects.filter(status=Session.Status.SCHEDULED)
                .select_related("room__center")
                .order_by("starts"),
            )
        )
    )
    now = timezone.now()

    def next_start(s: Signup) -> dt.datetime:
        if s.session is not None:
            return s.session.starts
        coming = [x.starts for x in s.activity.sessions.all() if x.ends > now]
        return coming[0] if coming else dt.datetime.max.replace(tzinfo=dt.UTC)

    return sorted(signups, key=next_start)


def sheet(session: Session) -> list[tuple[Signup, str | None]]:
    """The attendance sheet: who is expected at ``session`` and what was recorded (2 queries)."""
    from linli.activities.models import Attendance

    activity = session.activity
    signups = list(
        Signup.objects.filter(activity=activity, status=Signup.Status.CONFIRMED)
        .filter(Q(session__isnull=True) | Q(session=session))
        .select_related("person")
        .order_by("person__name", "pk")
    )
    marks = dict(
        Attendance.objects.filter(session=session, signup__in=signups).values_list(
            "signup_id", "status"
        )
    )
    return [(s, marks.get(s.pk)) for s in signups]


@dataclass
class Rate:
    held: int  # sessions past with any attendance recorded
    present: int
    no_show: int

    @property
    def rate(self) -> float | None:
        total = self.present + self.no_show
        return self.present / total if total else None


def attendance_rate(*, activity: Activity | None = None, person: Resident | None = None) -> Rate:
    """Share of recorded attendances that were present: per activity, or per person."""
    from linli.activities.models import Attendance

    q = Attendance.objects.all()
    if activity is not None:
        q = q.filter(session__activity=activity)
    if person is not None:
        q = q.filter(signup__person=person)
    row = q.aggregate(
        held=Count("session", distinct=True),
        present=Count("pk", filter=Q(status=Attendance.Status.PRESENT)),
        no_show=Count("pk", filter=Q(status=Attendance.Status.NO_SHOW)),
    )
    return Rate(held=row["held"], present=row["present"], no_show=row["no_show"])


def managed_activities(user: User) -> list[Activity]:
    """The activities ``user`` organises (their community's; the city: all), newest first."""
    if not user.is_authenticated or user.role not in may.ORGANISER_ROLES:
        return []
    q = Activity.objects.select_related("kind", "room__center", "team").annotate(
        sessions_count=Count(
            "sessions", filter=Q(sessions__status=Session.Status.SCHEDULED), distinct=True
        )
    )
    if user.role != Role.CITY:
        q = q.filter(community_id=user.community_id)
    if user.role == Role.LEADER:
        q = q.filter(team__leader=user)
    return list(q.order_by("-created_at", "-pk")[:200])
