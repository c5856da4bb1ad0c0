# No "from __future__ import annotations": django-ninja reads these annotations at run time.
"""Activities and classes over JSON: the week's sessions, organising, sign-up, attendance.

Every endpoint parses, calls ONE service or selector, and answers with what
the caller may see. The ``actions`` lists are built from the predicates in
``linli.activities.permissions`` -- the ones the services raise -- so they
say exactly what the endpoints accept. Status codes: 400 invalid input
(the field named), 401, 403 the caller's role may not, 404 absent (or
another community's staff data: the attendance sheet, the room week), 409
the state does not allow it, naming the conflict (the room calendar's
reason for a session that cannot be had).
"""

import datetime as dt
import re
from typing import Annotated, Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, BeforeValidator, StrictBool, StrictFloat, StrictInt

from linli.activities import feeds, selectors, services
from linli.activities import permissions as may
from linli.activities.models import Activity, Audience, Kind, Session, Signup
from linli.core.boundary import DATETIME_MAX, DATETIME_MIN
from linli.core.errors import Forbidden, InvalidInput, NotFound
from linli.core.http import AuthedRequest
from linli.core.models import User
from linli.core.roles import Role
from linli.core.rules import Verdict
from linli.core.schemas import (
    API_POST,
    CommunityRef,
    IsoDate,
    NotBlank,
    OneOf,
    SaneDateTime,
    errors,
)
from linli.network.models import Center, Room

router = Router(tags=["activities"])


def _sane_day(value: dt.date) -> dt.date:
    if not DATETIME_MIN.date() < value < DATETIME_MAX.date() - dt.timedelta(days=40):
        raise ValueError(_("日期必须在 1900 年到 2199 年之间。"))
    return value


def _iso_day(value: object) -> object:
    # Pydantic would read "0" as a timestamp (1970-01-01): only YYYY-MM-DD is a day.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(_("请输入 ISO 8601 格式的日期，例如 1944-03-05。"))
    return value


# A day as ISO 8601 text, within the years every datetime the API reads lies in.
Day = Annotated[IsoDate, BeforeValidator(_iso_day), AfterValidator(_sane_day)]

# A write: bad input, no token, a role that may not, no such thing, a state that does not allow it.
ERRORS = errors(*API_POST, 401, 403, 404, 409)
READ = errors(400, 401, 404)

ACTIVITY_ACTIONS = ("cancel", "capacity", "invite", "desk_signup", "sheet")
SESSION_ACTIONS = ("move", "cancel", "attendance")
STANDING_ACTIONS = ("signup", "cancel_signup")
# Attendance is taken from two hours before a session starts (services.attendance_record).
ATTENDANCE_LEAD = dt.timedelta(hours=2)


# --- what things look like -----------------------------------------------------------


class KindOut(Schema):
    code: str
    name: str
    name_en: str


class CenterRef(Schema):
    id: int
    code: str
    name: str


class RoomRef(Schema):
    id: int
    name: str
    kind: str
    capacity: int
    center: CenterRef


class PersonRef(Schema):
    id: int
    name: str


class ActivityRef(Schema):
    id: int
    title: str
    kind: KindOut
    community: int
    audience: str
    audience_label: str
    mode: str = Field(
        description="one_off, course (signed up as a whole) or drop_in (per session)."
    )
    capacity: int
    fee: str = Field(description="Yuan, two decimals; 0.00 is free.")
    status: str


class ListedSessionOut(Schema):
    id: int
    starts: dt.datetime
    ends: dt.datetime
    room: RoomRef
    activity: ActivityRef
    places_left: int = Field(description="Of the session (drop-in) or of the whole activity.")
    waiting: int


class SessionOut(Schema):
    id: int
    starts: dt.datetime
    ends: dt.datetime
    room: RoomRef
    status: str
    cancel_reason: str
    sequence: int = Field(description="Changes whenever the session does (iCalendar SEQUENCE).")
    confirmed: int | None = Field(
        description="Signed up for this session; null for a whole-activity sign-up."
    )
    waiting: int | None
    actions: list[str] = Field(description="Of " + ", ".join(SESSION_ACTIONS) + ".")


class SignupRef(Schema):
    id: int
    status: str
    session: int | None
    code: str = Field(description="The check-in code (its QR encodes the same).")
    position: int | None = Field(description="1 for the first in line; null when not waiting.")


class StandingOut(Schema):
    person: PersonRef
    session: int | None = Field(description="The session this standing is for (drop-in).")
    signup: SignupRef | None
    eligible: bool
    reason: str = Field(description="Why not eligible; empty when eligible.")
    actions: list[str] = Field(description="Of " + ", ".join(STANDING_ACTIONS) + ".")


class TeamRef(Schema):
    id: int
    name: str


class ActivityOut(Schema):
    id: int
    uid: str
    title: str
    description: str
    kind: KindOut
    community: CommunityRef
    organiser: str
    organiser_name: str
    team: TeamRef | None
    room: RoomRef
    audience: str
    audience_label: str
    min_age: int | None
    max_age: int | None
    capacity: int
    mode: str
    rrule: str
    signup_opens: dt.datetime | None
    signup_closes: dt.datetime | None
    fee: str
    status: str
    places_left: int | None = Field(description="For a whole-activity sign-up; null for drop-in.")
    waiting: int | None
    sessions: list[SessionOut]
    standing: list[StandingOut] = Field(
        description="The caller and their wards: signed up, in line, or whether they may."
    )
    actions: list[str] = Field(
        description="What the caller may do to the activity: of "
        + ", ".join(ACTIVITY_ACTIONS)
        + "."
    )
    feed: str = Field(description="The activity's public iCalendar feed.")


def _kind(k: Kind) -> dict[str, str]:
    return {"code": k.code, "name": k.name, "name_en": k.name_en}


def _center(c: Center) -> dict[str, object]:
    return {"id": c.pk, "code": c.code, "name": c.name}


def _room(r: Room) -> dict[str, object]:
    return {
        "id": r.pk,
        "name": r.name,
        "kind": r.kind,
        "capacity": r.capacity,
        "center": _center(r.center),
    }


def _activity_ref(a: Activity) -> dict[str, object]:
    return {
        "id": a.pk,
        "title": a.title,
        "kind": _kind(a.kind),
        "community": a.community_id,
        "audience": a.audience,
        "audience_label": a.audience_label(),
        "mode": a.mode,
        "capacity": a.capacity,
        "fee": f"{a.fee:.2f}",
        "status": a.status,
    }


def _listed(x: selectors.Listed) -> dict[str, object]:
    s = x.session
    return {
        "id": s.pk,
        "starts": s.starts,
        "ends": s.ends,
        "room": _room(s.room),
        "activity": _activity_ref(x.activity),
        "places_left": x.places_left,
        "waiting": x.waiting,
    }


def _counts(activity: Activity) -> dict[int | None, tuple[int, int]]:
    rows = (
        Signup.objects.filter(activity=activity)
        .exclude(status=Signup.Status.CANCELLED)
        .values("session_id")
        .annotate(
            confirmed=Count("pk", filter=Q(status=Signup.Status.CONFIRMED)),
            waiting=Count("pk", filter=Q(status=Signup.Status.WAITLISTED)),
        )
    )
    return {r["session_id"]: (r["confirmed"], r["waiting"]) for r in rows}


def _centers_of(rooms: list[Room]) -> None:
    """Give the rooms their centers, in one query (the selector brings the rooms only)."""
    missing = {r.center_id for r in rooms if not Room.center.is_cached(r)}
    centers = Center.objects.in_bulk(missing) if missing else {}
    for r in rooms:
        if r.center_id in centers:
            Room.center.field.set_cached_value(r, centers[r.center_id])


def _session_actions(user: User, manage: Verdict, s: Session) -> list[str]:
    if not manage or not s.scheduled:
        return []
    out = ["move", "cancel"]
    if s.starts - timezone.now() <= ATTENDANCE_LEAD:
        out.append("attendance")
    return out


def _standing_actions(
    user: User, activity: Activity, st: selectors.Standing, window: Verdict
) -> list[str]:
    if st.signup is not None:
        st.signup.activity, st.signup.person = activity, st.person
        return ["cancel_signup"] if may.may_cancel_signup(user, st.signup) else []
    if window and st.eligible and may.acting_for(user, st.person, activity):
        return ["signup"]
    return []


def _judged_by(activity: Activity, session_id: int | None) -> Session | None:
    """The session a standing is for: the one asked about (drop-in), else the next one."""
    sessions = list(activity.sessions.all())
    if not activity.per_session:
        return next((s for s in sessions if s.scheduled), None)
    if session_id is not None:
        found = next((s for s in sessions if s.pk == session_id), None)
        if found is None:
            raise NotFound(_("没有这一场。"))
        return found
    now = timezone.now()
    return next((s for s in sessions if s.scheduled and s.starts > now), None)


def activity_out(
    user: User, activity: Activity, session_id: int | None = None
) -> dict[str, object]:
    """An activity fetched by ``selectors.activity_get``, as ``user`` is to see it."""
    counts = _counts(activity)
    _centers_of([s.room for s in activity.sessions.all()])
    manage = may.may_manage(user, activity)
    judged_by = _judged_by(activity, session_id)
    window = may.signup_window(activity, judged_by)
    standing = (
        selectors.standings(user, activity, judged_by if activity.per_session else None)
        if judged_by is not None or not activity.per_session
        else []
    )
    actions = []
    if manage:
        if activity.status == Activity.Status.OPEN:
            actions.append("cancel")
        actions.append("capacity")
        if services.first_session(activity) is not None:
            actions.append("invite")
    if window and may.at_desk(user, activity):
        actions.append("desk_signup")
    if may.may_see_signups(user, activity):
        actions.append("sheet")
    whole = counts.get(None, (0, 0))
    return {
        "id": activity.pk,
        "uid": activity.uid,
        "title": activity.title,
        "description": activity.description,
        "kind": _kind(activity.kind),
        "community": activity.community,
        "organiser": activity.organiser,
        "organiser_name": activity.organiser_name,
        "team": None
        if activity.team is None
        else {"id": activity.team_id, "name": activity.team.name},
        "room": _room(activity.room),
        "audience": activity.audience,
        "audience_label": activity.audience_label(),
        "min_age": activity.min_age,
        "max_age": activity.max_age,
        "capacity": activity.capacity,
        "mode": activity.mode,
        "rrule": activity.rrule,
        "signup_opens": activity.signup_opens,
        "signup_closes": activity.signup_closes,
        "fee": f"{activity.fee:.2f}",
        "status": activity.status,
        "places_left": None if activity.per_session else max(0, activity.capacity - whole[0]),
        "waiting": None if activity.per_session else whole[1],
        "sessions": [
            {
                "id": s.pk,
                "starts": s.starts,
                "ends": s.ends,
                "room": _room(s.room),
                "status": s.status,
                "cancel_reason": s.cancel_reason,
                "sequence": s.sequence,
                "confirmed": counts.get(s.pk, (0, 0))[0] if activity.per_session else None,
                "waiting": counts.get(s.pk, (0, 0))[1] if activity.per_session else None,
                "actions": _session_actions(user, manage, s),
            }
            for s in activity.sessions.all()
        ],
        "standing": [
            {
                "person": {"id": st.person.pk, "name": st.person.name},
                "session": judged_by.pk if activity.per_session and judged_by else None,
                "signup": None if st.signup is None else _signup_ref(st.signup, st.position),
                "eligible": st.eligible,
                "reason": st.reason,
                "actions": _standing_actions(user, activity, st, window),
            }
            for st in standing
        ],
        "actions": actions,
        "feed": feeds.activity_path(activity),
    }


def _signup_ref(s: Signup, position: int | None) -> dict[str, object]:
    return {
        "id": s.pk,
        "status": s.status,
        "session": s.session_id,
        "code": s.code,
        "position": position,
    }


def _detail(
    request: AuthedRequest, activity_id: int, session_id: int | None = None
) -> dict[str, object]:
    return activity_out(request.user, selectors.activity_get(request.user, activity_id), session_id)


# --- the week's sessions ---------------------------------------------------------------


class SessionFilters(Schema):
    from_: Day | None = Field(None, alias="from", description="First day (default today).")
    days: int = Field(7, ge=1, le=31, description="How many days from ``from``.")
    community: int | None = Field(
        None,
        description="A community's id: its activities and the city center's. Default: the "
        "caller's community (the city: every community's).",
    )
    audience: Annotated[str, OneOf(Audience.values, blank=True)] = Field(
        "", description="Activities for this audience, and those for everyone and families."
    )
    kind: str = Field("", max_length=32, description="A kind's code.")


@router.get("/activities/sessions", response={200: list[ListedSessionOut], **errors(400, 401)})
def sessions(request: AuthedRequest, filters: Query[SessionFilters]) -> list[dict[str, object]]:
    """The scheduled sessions of open activities over a week (``days``) from ``from``, soonest first."""
    day = filters.from_ or timezone.localdate()
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(0), tz)
    community = (
        filters.community
        if filters.community is not None
        else selectors.home_community(request.user)
    )
    listed = selectors.sessions_between(
        start,
        start + dt.timedelta(days=filters.days),
        community_id=community,
        audience=filters.audience,
        kind=filters.kind,
    )
    return [_listed(x) for x in listed]


@router.get("/activities/kinds", response={200: list[KindOut], **errors(400, 401)})
def kinds(request: AuthedRequest) -> list[dict[str, str]]:
    """The kinds of activity (opera screening, calligraphy, …), for ``kind`` in a filter or a new activity."""
    return [_kind(k) for k in Kind.objects.order_by("order", "code")]


# --- organising ----------------------------------------------------------------------


ModeField = Annotated[str, OneOf(Activity.Mode.values)]
AudienceField = Annotated[str, OneOf(Audience.values)]
OrganiserField = Annotated[str, OneOf(Activity.Organiser.values)]


class ActivityIn(Schema):
    title: Annotated[str, NotBlank(gettext_lazy("请填写活动名称。"))] = Field(
        max_length=services.TITLE_MAX
    )
    kind: str = Field(max_length=32, description="A kind's code (GET /activities/kinds).")
    room: StrictInt
    starts: SaneDateTime = Field(description="The first session's start, with an offset.")
    ends: SaneDateTime = Field(description="The first session's end; every session is as long.")
    capacity: StrictInt = Field(ge=1, le=100000)
    mode: ModeField = Activity.Mode.ONE_OFF
    rrule: str = Field(
        "",
        max_length=300,
        description="An RFC 5545 RRULE ending by UNTIL or COUNT (at most 400 sessions), read in "
        "Asia/Shanghai time, e.g. FREQ=WEEKLY;BYDAY=SA;COUNT=8. Series only.",
    )
    audience: AudienceField = Audience.EVERYONE
    min_age: StrictInt | None = Field(None, ge=0, le=120, description="For audience band.")
    max_age: StrictInt | None = Field(None, ge=0, le=120)
    organiser: OrganiserField = Activity.Organiser.COMMUNITY
    organiser_name: str = Field(
        "", max_length=100, description="Default: the team's or center's name."
    )
    team: StrictInt | None = Field(None, description="Required when a team organises.")
    description: str = Field("", max_length=2000)
    signup_opens: SaneDateTime | None = None
    signup_closes: SaneDateTime | None = Field(
        None, description="Default: the (first) session's start."
    )
    fee: StrictInt | StrictFloat | str = Field(
        0, description='Yuan, 0 to 99999.99 (a number, or text such as "5.00"); 0 is free.'
    )


@router.post("/activities", response={201: ActivityOut, **ERRORS})
def activity_create(request: AuthedRequest, payload: ActivityIn) -> Status[dict[str, object]]:
    """Put on an activity (or a series by its RRULE) in a room: all its sessions, or none.

    A 409 names the sessions the room cannot have (taken, closed, or outside opening hours)."""
    activity = services.activity_create(
        actor=request.user,
        data=services.ActivityInput(**payload.model_dump()),
    )
    return Status(201, _detail(request, activity.pk))


class PlanIn(Schema):
    room: StrictInt
    starts: SaneDateTime
    ends: SaneDateTime
    rrule: str = Field("", max_length=300)
    team: StrictInt | None = Field(None, description="The organising team (a leader's own).")


class PlannedOut(Schema):
    starts: dt.datetime
    ends: dt.datetime
    free: bool
    reason: str = Field(description="Why the room cannot be had then; empty when free.")


def _may_organise_in(user: User, room_id: int, team_id: int | None) -> Room:
    room = Room.objects.select_related("center").filter(pk=room_id).first()
    if room is None:
        raise InvalidInput(fields={"room": _("没有这个功能室。")})
    community_id = room.center.community_id_for_scope
    if community_id is None:
        raise InvalidInput(fields={"room": _("请选择社区或小区中心的功能室。")})
    from linli.teams.models import Team

    team = Team.objects.filter(pk=team_id).first() if team_id is not None else None
    may.may_organise(user, community_id, team).check()
    return room


@router.post("/activities/plan", response={200: list[PlannedOut], **errors(*API_POST, 401, 403)})
def plan(request: AuthedRequest, payload: PlanIn) -> list[dict[str, object]]:
    """A dry run: each session a series would have, and whether the room is free then.

    Nothing is written. For whoever may organise activities in the room's community."""
    room = _may_organise_in(request.user, payload.room, payload.team)
    planned = services.session_plan(room, payload.starts, payload.ends, payload.rrule)
    return [
        {"starts": p.starts, "ends": p.ends, "free": bool(p.verdict), "reason": p.verdict.reason}
        for p in planned
    ]


class ReasonIn(Schema):
    reason: Annotated[str, NotBlank(gettext_lazy("请说明取消的原因。"))] = Field(
        max_length=services.REASON_MAX
    )


class CapacityIn(Schema):
    capacity: StrictInt = Field(ge=1, le=100000)


class MoveIn(Schema):
    starts: SaneDateTime | None = Field(None, description="Default: as it was.")
    ends: SaneDateTime | None = Field(None, description="Default: as long as it was.")
    room: StrictInt | None = Field(None, description="Another room of the community.")


@router.post("/activities/{activity_id}/cancel", response={200: ActivityOut, **ERRORS})
def activity_cancel(
    request: AuthedRequest, activity_id: int, payload: ReasonIn
) -> dict[str, object]:
    """Cancel the activity: every session not yet held, every sign-up; everyone is told."""
    services.activity_cancel(actor=request.user, activity_id=activity_id, reason=payload.reason)
    return _detail(request, activity_id)


@router.post("/activities/{activity_id}/capacity", response={200: ActivityOut, **ERRORS})
def activity_capacity(
    request: AuthedRequest, activity_id: int, payload: CapacityIn
) -> dict[str, object]:
    """More places promote the first in line, in order; fewer never unseat anyone."""
    services.activity_capacity_change(
        actor=request.user, activity_id=activity_id, capacity=payload.capacity
    )
    return _detail(request, activity_id)


def _session_activity(session_id: int) -> int:
    found = Session.objects.filter(pk=session_id).values_list("activity_id", flat=True).first()
    if found is None:
        raise NotFound(_("没有这一场。"))
    return found


@router.post("/activities/sessions/{session_id}/move", response={200: ActivityOut, **ERRORS})
def session_move(request: AuthedRequest, session_id: int, payload: MoveIn) -> dict[str, object]:
    """Move one session to another time or room; the others of its series stay.

    A 409 names what holds the room then."""
    services.session_move(
        actor=request.user,
        session_id=session_id,
        starts=payload.starts,
        ends=payload.ends,
        room_id=payload.room,
    )
    return _detail(request, _session_activity(session_id), session_id)


@router.post("/activities/sessions/{session_id}/cancel", response={200: ActivityOut, **ERRORS})
def session_cancel(request: AuthedRequest, session_id: int, payload: ReasonIn) -> dict[str, object]:
    """Cancel one session: its room is free again, its people are told, the series stays."""
    services.session_cancel(actor=request.user, session_id=session_id, reason=payload.reason)
    return _detail(request, _session_activity(session_id), session_id)


class InviteIn(Schema):
    min_age: StrictInt = Field(60, description="60, or 80 for the aged only.")


class InvitedOut(Schema):
    sent: list[PersonRef] = Field(description="Invited through their own or a guardian's account.")
    by_phone: list[PersonRef] = Field(description="No account to tell: the desk telephones them.")
    already: int = Field(description="Invited before.")


@router.post("/activities/{activity_id}/invitations", response={200: InvitedOut, **ERRORS})
def invitations(request: AuthedRequest, activity_id: int, payload: InviteIn) -> dict[str, object]:
    """长者生日会: invite the community's elders born in the month of its first session (once each)."""
    done = services.birthday_invite(
        actor=request.user, activity_id=activity_id, min_age=payload.min_age
    )
    return {
        "sent": [{"id": i.person.pk, "name": i.person.name} for i in done.sent if i.notified_id],
        "by_phone": [{"id": p.pk, "name": p.name} for p in done.by_phone],
        "already": done.already,
    }


# --- sign-up -----------------------------------------------------------------------


class SignupIn(Schema):
    person: StrictInt = Field(
        description="A resident's id: the caller's own, a ward's, or (at the desk) anyone's of the "
        "dispatcher's community."
    )
    session: StrictInt | None = Field(None, description="Required for a drop-in series; else none.")


class SessionRef(Schema):
    id: int
    starts: dt.datetime
    ends: dt.datetime
    room: RoomRef
    status: str


class SignupOut(Schema):
    id: int
    activity: ActivityRef
    session: SessionRef | None = Field(description="The one session of a drop-in sign-up.")
    next_session: SessionRef | None = Field(description="The next session not yet over, if any.")
    person: PersonRef
    status: str = Field(description="confirmed, waitlisted or cancelled.")
    position: int | None = Field(description="In the waiting list: 1 is first.")
    channel: str
    code: str = Field(description="The check-in code (its QR encodes the same).")
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    cancelled_at: dt.datetime | None


def _session_ref(s: Session) -> dict[str, object]:
    return {
        "id": s.pk,
        "starts": s.starts,
        "ends": s.ends,
        "room": _room(s.room),
        "status": s.status,
    }


def _signup_out(s: Signup, position: int | None, next_session: Session | None) -> dict[str, object]:
    return {
        "id": s.pk,
        "activity": _activity_ref(s.activity),
        "session": None if s.session is None else _session_ref(s.session),
        "next_session": None if next_session is None else _session_ref(next_session),
        "person": {"id": s.person.pk, "name": s.person.name},
        "status": s.status,
        "position": position,
        "channel": s.channel,
        "code": s.code,
        "created_at": s.created_at,
        "confirmed_at": s.confirmed_at,
        "cancelled_at": s.cancelled_at,
    }


def _signup_read(signup_id: int) -> dict[str, object]:
    s = Signup.objects.select_related("person", "activity__kind", "session__room__center").get(
        pk=signup_id
    )
    nxt = s.session if s.session is not None else _next_session(s.activity)
    return _signup_out(s, services.waitlist_position(s), nxt)


def _next_session(activity: Activity) -> Session | None:
    return (
        activity.sessions.filter(status=Session.Status.SCHEDULED, ends__gt=timezone.now())
        .select_related("room__center")
        .order_by("starts", "pk")
        .first()
    )


@router.post("/activities/{activity_id}/signups", response={201: SignupOut, **ERRORS})
def signup_create(
    request: AuthedRequest, activity_id: int, payload: SignupIn
) -> Status[dict[str, object]]:
    """Sign a person up: a place while there is one, else a place in line (``position``).

    The resident for themself, a guardian for a ward, a dispatcher at the desk for
    anyone. 409 when they are already signed up or in line; 400 naming ``person``
    when they are outside the audience on the session's date."""
    signup = services.signup_create(
        actor=request.user,
        activity_id=activity_id,
        person_id=payload.person,
        session_id=payload.session,
    )
    return Status(201, _signup_read(signup.pk))


@router.post("/activities/signups/{signup_id}/cancel", response={200: SignupOut, **ERRORS})
def signup_cancel(request: AuthedRequest, signup_id: int) -> dict[str, object]:
    """Cancel a sign-up; a place it frees goes to the first in line, who is told."""
    services.signup_cancel(actor=request.user, signup_id=signup_id)
    return _signup_read(signup_id)


@router.get("/activities/signups", response={200: list[SignupOut], **errors(400, 401)})
def my_signups(request: AuthedRequest) -> list[dict[str, object]]:
    """The live sign-ups of the caller and their wards, soonest first, with codes and places in line."""
    signups = selectors.my_signups(request.user)
    positions = _positions(signups)
    now = timezone.now()
    out = []
    for s in signups:
        nxt = s.session or next((x for x in s.activity.sessions.all() if x.ends > now), None)
        out.append(_signup_out(s, positions.get(s.pk), nxt))
    return out


def _positions(signups: list[Signup]) -> dict[int, int]:
    """Each waiting sign-up's place in its line, in one query for all of them."""
    waiting = [s for s in signups if s.status == Signup.Status.WAITLISTED]
    if not waiting:
        return {}
    lines = (
        Signup.objects.filter(
            activity_id__in={s.activity_id for s in waiting}, status=Signup.Status.WAITLISTED
        )
        .order_by("activity_id", "session_id", "created_at", "pk")
        .values_list("pk", "activity_id", "session_id")
    )
    places: dict[int, int] = {}
    counter: dict[tuple[int, int | None], int] = {}
    for pk, activity_id, session_id in lines:
        key = (activity_id, session_id)
        counter[key] = counter.get(key, 0) + 1
        places[pk] = counter[key]
    return {s.pk: places[s.pk] for s in waiting if s.pk in places}


# --- attendance --------------------------------------------------------------------


class SheetRowOut(Schema):
    signup: int
    person: PersonRef
    status: str | None = Field(description="present, no_show, or null when not yet recorded.")


class SheetOut(Schema):
    session: SessionRef
    activity: ActivityRef
    rows: list[SheetRowOut]


def _staff_visible(user: User, community_id: int) -> bool:
    """Staff data of a community (names on a sheet, a room's week): a 404 to other communities."""
    return user.role == Role.CITY or user.community_id == community_id


@router.get(
    "/activities/sessions/{session_id}/sheet",
    response={200: SheetOut, **errors(400, 401, 403, 404)},
)
def sheet(request: AuthedRequest, session_id: int) -> dict[str, object]:
    """Who is expected at a session and what was recorded: for the activity's organisers."""
    session = (
        Session.objects.select_related("activity__kind", "activity__team", "room__center")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise NotFound()
    activity = session.activity
    may.may_manage(request.user, activity).check(
        lambda: may.management_visible(request.user, activity)
    )
    rows = selectors.sheet(session)
    return {
        "session": _session_ref(session),
        "activity": _activity_ref(activity),
        "rows": [
            {"signup": s.pk, "person": {"id": s.person.pk, "name": s.person.name}, "status": mark}
            for s, mark in rows
        ],
    }


class AttendanceIn(Schema):
    signup: StrictInt
    present: StrictBool = True


class CheckinIn(Schema):
    code: Annotated[str, NotBlank(gettext_lazy("请输入签到码。"))] = Field(max_length=16)


class AttendanceOut(Schema):
    signup: int
    session: int
    person: PersonRef
    status: str = Field(description="present or no_show.")
    recorded_at: dt.datetime


def _attendance_out(a: Any) -> dict[str, object]:
    return {
        "signup": a.signup_id,
        "session": a.session_id,
        "person": {"id": a.signup.person.pk, "name": a.signup.person.name},
        "status": a.status,
        "recorded_at": a.recorded_at,
    }


@router.post(
    "/activities/sessions/{session_id}/attendance", response={200: AttendanceOut, **ERRORS}
)
def attendance(request: AuthedRequest, session_id: int, payload: AttendanceIn) -> dict[str, object]:
    """Tick a signed-up person as come (or, ``present: false``, not come); from two hours before."""
    done = services.attendance_record(
        actor=request.user, session_id=session_id, signup_id=payload.signup, present=payload.present
    )
    return _attendance_out(done)


@router.post("/activities/sessions/{session_id}/checkin", response={200: AttendanceOut, **ERRORS})
def checkin(request: AuthedRequest, session_id: int, payload: CheckinIn) -> dict[str, object]:
    """Check in at the door by the sign-up's code (scanned from its QR, or typed)."""
    done = services.checkin_by_code(actor=request.user, session_id=session_id, code=payload.code)
    return _attendance_out(done)


# --- a community's rooms over a week ------------------------------------------------


class HeldOut(Schema):
    id: int
    kind: str = Field(description="session, booking or closure.")
    title: str
    starts: dt.datetime
    ends: dt.datetime
    session: int | None
    activity: int | None


class RoomWeekOut(Schema):
    room: RoomRef
    days: list[list[HeldOut]] = Field(description="Monday first: what holds the room each day.")


class WeekOut(Schema):
    starts: dt.datetime = Field(description="Monday 00:00, Asia/Shanghai.")
    rooms: list[RoomWeekOut]


class WeekFilters(Schema):
    community: int | None = Field(None, description="Default: the caller's community.")
    day: Day | None = Field(None, description="Any day of the week (default today).")


@router.get("/activities/rooms/week", response={200: WeekOut, **errors(400, 401, 403, 404)})
def room_week(request: AuthedRequest, filters: Query[WeekFilters]) -> dict[str, object]:
    """Every room of a community's centers and what holds each, day by day, over a week."""
    user = request.user
    community_id = filters.community if filters.community is not None else user.community_id
    if community_id is None:
        if user.role in may.ORGANISER_ROLES:
            raise InvalidInput(fields={"community": _("请选择社区。")})
        raise Forbidden(_("您的角色无权查看功能室日程。"))
    if not Center.objects.filter(pk=community_id, kind=Center.Kind.COMMUNITY).exists():
        raise NotFound()
    may.may_see_week(user, community_id).check(lambda: _staff_visible(user, community_id))
    start, weeks = selectors.room_week(community_id, filters.day or timezone.localdate())
    return {
        "starts": start,
        "rooms": [
            {
                "room": _room(w.room),
                "days": [
                    [
                        {
                            "id": o.pk,
                            "kind": o.kind,
                            "title": o.title,
                            "starts": o.starts,
                            "ends": o.ends,
                            "session": getattr(_session_of(o), "pk", None),
                            "activity": getattr(_session_of(o), "activity_id", None),
                        }
                        for o in day
                    ]
                    for day in w.days
                ],
            }
            for w in weeks
        ],
    }


def _session_of(o: Any) -> Session | None:
    # A missing reverse one-to-one raises an AttributeError subclass.
    return getattr(o, "session", None)


# --- the personal feed --------------------------------------------------------------


class FeedOut(Schema):
    url: str = Field(description="The caller's personal iCalendar feed: keep it secret.")


@router.get("/activities/feed", response={200: FeedOut, **errors(400, 401)})
def feed(request: AuthedRequest) -> dict[str, str]:
    """The caller's personal feed: their and their wards' sessions, and a member's accepted orders."""
    return {"url": feeds.feed_url(request.user, request)}


@router.post("/activities/feed/rotate", response={200: FeedOut, **errors(*API_POST, 401)})
def feed_rotate(request: AuthedRequest) -> dict[str, str]:
    """A new secret for the caller's personal feed: the old URL answers 404 from now on."""
    done = feeds.feed_rotate(actor=request.user)
    return {"url": request.build_absolute_uri(feeds.feed_path(done))}


# --- one activity (last: its path takes an id) ---------------------------------------


class DetailFilters(Schema):
    session: int | None = Field(None, description="For a drop-in series: whose standing to show.")


@router.get("/activities/{activity_id}", response={200: ActivityOut, **READ})
def activity(
    request: AuthedRequest, activity_id: int, filters: Query[DetailFilters]
) -> dict[str, object]:
    """One activity: its sessions, places left, the waiting list's length, the caller's
    (and their wards') standing, and what the caller may do."""
    return _detail(request, activity_id, filters.session)
