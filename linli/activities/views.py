"""Activity pages: residents find and sign up, organisers put on and take attendance.

Every page parses, authorizes with ``activities.permissions`` (the buttons a
page shows are the ones its predicates allow), calls one service or
selector and renders. A service error (InvalidInput / Conflict) is shown on
the page with its 400 / 409 status, at its field where there is one;
Forbidden and NotFound become the 403 / 404 page (core.middleware). An
organiser's page of another community's activity answers 404, as if the
activity did not exist.

The sign-up's QR code encodes ``/activities/checkin/<code>/``: opened by
someone who may take the activity's attendance, it offers the person's
sessions of today (one button each, usually one), and checks them in with
a POST -- a GET never changes anything.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.activities import permissions as may
from linli.activities import selectors, services
from linli.activities.forms import (
    ALIASES,
    ActivityForm,
    CapacityForm,
    CodeForm,
    MarkForm,
    MoveForm,
    ReasonForm,
    SignupForm,
    TimesForm,
)
from linli.activities.kinds import BIRTHDAY
from linli.activities.models import Activity, Audience, Invitation, Kind, Session, Signup
from linli.core.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound
from linli.core.roles import Role
from linli.core.scoping import require_role
from linli.network.models import Center, Room
from linli.orders.forms import add_app_error
from linli.people import ages
from linli.people.selectors import resident_list
from linli.teams.models import Team

if TYPE_CHECKING:
    from django import forms

    from linli.core.http import AuthedRequest
    from linli.core.models import User

DESK_RESULTS = 20
# The audiences a resident filters by (each list also shows the activities for everyone).
AUDIENCE_FILTERS = [Audience.CHILDREN, Audience.ELDERS, Audience.AGED, Audience.FAMILIES]


def _safe_next(request: AuthedRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _day(value: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return timezone.localdate()


def _managed(user: User, activity: Activity) -> None:
    """Only the activity's organisers; another community's staff get 404 (nothing disclosed)."""
    may.may_manage(user, activity).check(lambda: may.management_visible(user, activity))


def _errors(exc: AppError) -> list[str]:
    out = [m for msgs in exc.fields.values() for m in msgs]
    if not out or exc.message != str(type(exc).default_message):
        out.insert(0, exc.message)
    return list(dict.fromkeys(out))


def _organiser_rooms(user: User) -> list[Room]:
    """The rooms ``user`` may put an activity in: their community's centers' (the city: all)."""
    q = Room.objects.select_related("center").filter(
        center__kind__in=[Center.Kind.COMMUNITY, Center.Kind.NEIGHBOURHOOD, Center.Kind.BUSINESS]
    )
    if user.role != Role.CITY:
        q = q.filter(Q(center_id=user.community_id) | Q(center__parent_id=user.community_id))
    return list(q.order_by("center__code", "name", "pk"))


# --- residents: the week's activities, one activity, my sign-ups ---------------------


@login_required
def index(request: AuthedRequest) -> HttpResponse:
    """This week's activities near me: my community's and the city center's."""
    user = request.user
    day = _day(request.GET.get("week"))
    start, end = selectors.week_of(day)
    audience = request.GET.get("audience") or ""
    if audience not in AUDIENCE_FILTERS:
        audience = ""
    kinds = list(Kind.objects.all())
    kind = request.GET.get("kind") or ""
    if kind not in {k.code for k in kinds}:
        kind = ""
    listed = selectors.sessions_between(
        start,
        end,
        community_id=selectors.home_community(user),
        audience=audience,
        kind=kind,
    )
    days: list[tuple[dt.date, list[selectors.Listed]]] = []
    for row in listed:
        d = row.session.date
        if not days or days[-1][0] != d:
            days.append((d, []))
        days[-1][1].append(row)
    monday = start.date()
    return render(
        request,
        "activities/index.html",
        {
            "days": days,
            "monday": monday,
            "sunday": monday + dt.timedelta(days=6),
            "prev": monday - dt.timedelta(days=7),
            "next": monday + dt.timedelta(days=7),
            "this_week": selectors.week_of(timezone.localdate())[0].date() == monday,
            "audience": audience,
            "audiences": [(a, Audience(a).label) for a in AUDIENCE_FILTERS],
            "kind": kind,
            "kinds": kinds,
            "can_organise": user.role in may.ORGANISER_ROLES,
        },
    )


def _places(activity: Activity) -> dict[int | None, int]:
    """Confirmed sign-ups by session (None: the whole activity)."""
    rows = (
        Signup.objects.filter(activity=activity, status=Signup.Status.CONFIRMED)
        .values("session_id")
        .annotate(n=Count("pk"))
    )
    return {r["session_id"]: r["n"] for r in rows}


def _detail_context(
    request: AuthedRequest, activity: Activity, errors: list[str] | None = None
) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    sessions = list(activity.sessions.all())
    coming = [s for s in sessions if s.scheduled and s.ends > now]
    chosen: Session | None = None
    if activity.per_session:
        wanted = request.GET.get("session") or request.POST.get("session") or ""
        chosen = next((s for s in coming if str(s.pk) == wanted), coming[0] if coming else None)
    judged_by = chosen if activity.per_session else services.first_session(activity)
    window = may.signup_window(activity, judged_by)
    standings = (
        selectors.standings(user, activity, chosen)
        if (chosen is not None or not activity.per_session)
        else []
    )
    places = _places(activity)
    taken = (
        places.get(chosen.pk if chosen else None, 0)
        if activity.per_session
        else places.get(None, 0)
    )
    manage = bool(may.may_manage(user, activity))
    desk = may.at_desk(user, activity)
    q = (request.GET.get("q") or "").strip()
    found = []
    if desk and q:
        found = list(resident_list(user, q=q, community=activity.community_id)[:DESK_RESULTS])
    signups: list[Signup] = []
    if may.may_see_signups(user, activity):
        signups = list(
            activity.signups.filter(selectors.LIVE)
            .select_related("person", "session")
            .order_by("session__starts", "status", "created_at", "pk")
        )
    return {
        "activity": activity,
        "sessions": sessions,
        "coming": coming,
        "chosen": chosen,
        "window": window,
        "standings": standings,
        "places_left": max(0, activity.capacity - taken),
        "manage": manage,
        "desk": desk,
        "q": q,
        "found": found,
        "today": ages.today(),
        "signups": signups,
        "rate": selectors.attendance_rate(activity=activity) if manage else None,
        "rooms": _organiser_rooms(user) if manage else [],
        "is_birthday": activity.kind.code == BIRTHDAY,
        "errors": errors or [],
        "back": _safe_next(request),
    }


@login_required
def detail(request: AuthedRequest, pk: int) -> HttpResponse:
    activity = selectors.activity_get(request.user, pk)
    template = "activities/_desk_results.html" if request.htmx and "q" in request.GET else None
    context = _detail_context(request, activity)
    return render(request, template or "activities/detail.html", context)


def _detail_error(request: AuthedRequest, pk: int, exc: AppError) -> HttpResponse:
    activity = selectors.activity_get(request.user, pk)
    return render(
        request,
        "activities/detail.html",
        _detail_context(request, activity, _errors(exc)),
        status=exc.status,
    )


def _back_to(request: AuthedRequest, pk: int, session: int | None = None) -> HttpResponse:
    target = _safe_next(request)
    if target:
        return redirect(target)
    url = reverse("activities:detail", args=[pk])
    return redirect(f"{url}?session={session}" if session else url)


@login_required
@require_POST
def signup(request: AuthedRequest, pk: int) -> HttpResponse:
    """Sign a person up: oneself, a ward, or (at the desk) a resident of the community."""
    form = SignupForm(request.POST)
    if not form.is_valid():
        return _detail_error(request, pk, InvalidInput(_("请选择要报名的人。")))
    session_id = form.cleaned_data.get("session")
    try:
        made = services.signup_create(
            actor=request.user,
            activity_id=pk,
            person_id=form.cleaned_data["person"],
            session_id=session_id,
        )
    except (InvalidInput, Conflict) as exc:
        return _detail_error(request, pk, exc)
    if made.status == Signup.Status.CONFIRMED:
        messages.success(request, _("%(name)s 报名成功。") % {"name": made.person.name})
    else:
        messages.info(
            request,
            _("名额已满，%(name)s 已进入候补，排第 %(n)d 位。有人取消时会自动递补并通知您。")
            % {"name": made.person.name, "n": services.waitlist_position(made) or 1},
        )
    return _back_to(request, pk, session_id)


@login_required
@require_POST
def signup_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    """Cancel a sign-up (``pk`` is the sign-up's)."""
    row = Signup.objects.filter(pk=pk).values_list("activity_id", "session_id").first()
    if row is None:
        raise NotFound()
    try:
        done = services.signup_cancel(actor=request.user, signup_id=pk)
    except (InvalidInput, Conflict) as exc:
        return _detail_error(request, row[0], exc)
    messages.success(request, _("已取消 %(name)s 的报名。") % {"name": done.person.name})
    return _back_to(request, row[0], row[1])


def _qr(url: str) -> str:
    # segno's inline SVG has no script nor style element: the page's CSP allows it.
    return segno.make(url, error="m").svg_inline(scale=5, border=2, dark="#1a1a1a", light="#fff")


@login_required
def mine(request: AuthedRequest) -> HttpResponse:
    """我的活动: my and my wards' sign-ups, each with its check-in code and QR code."""
    user = request.user
    now = timezone.now()
    rows = []
    for s in selectors.my_signups(user):
        coming = (
            [s.session]
            if s.session is not None
            else [x for x in s.activity.sessions.all() if x.ends > now]
        )
        url = request.build_absolute_uri(reverse("activities:checkin", args=[s.code]))
        rows.append(
            {
                "signup": s,
                "next": coming[0] if coming else None,
                "more": max(0, len(coming) - 1),
                "qr": mark_safe(_qr(url)) if s.status == Signup.Status.CONFIRMED else "",  # noqa: S308 - segno's own SVG
                "position": services.waitlist_position(s),
            }
        )
    return render(request, "activities/mine.html", {"rows": rows})


# --- organisers: the list, a new activity with its conflict feedback, changes ----------


@login_required
def manage(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require_role(user, may.ORGANISER_ROLES)
    return render(
        request,
        "activities/manage.html",
        {"activities": selectors.managed_activities(user)},
    )


def _new_form_args(user: User) -> dict[str, Any]:
    teams = Team.objects.order_by("name", "pk")
    if user.role != Role.CITY:
        teams = teams.filter(community_id=user.community_id)
    if user.role == Role.LEADER:
        teams = teams.filter(leader=user)
    return {
        "rooms": _organiser_rooms(user),
        "kinds": list(Kind.objects.all()),
        "teams": list(teams),
    }


@login_required
def new(request: AuthedRequest) -> HttpResponse:
    """Put on an activity; the room's calendar answers below the times as they change."""
    user = request.user
    require_role(user, may.ORGANISER_ROLES)
    args = _new_form_args(user)
    initial: dict[str, Any] = {"day": timezone.localdate() + dt.timedelta(days=7)}
    if user.role == Role.LEADER and args["teams"]:
        initial.update(organiser=Activity.Organiser.TEAM, team=args["teams"][0].pk)
    elif user.role == Role.SCHOOL:
        initial.update(organiser=Activity.Organiser.SCHOOL)
    form = ActivityForm(request.POST or None, initial=initial, **args)
    status = 200
    plan: list[services.PlannedSession] = []
    if request.method == "POST":
        valid = form.is_valid()
        data = form.service_input() if valid else None
        # The plan after the input is taken: an error put at a field takes it from cleaned_data.
        plan = _plan_of(form)
        if data is None:
            status = 400
        else:
            try:
                activity = services.activity_create(actor=user, data=data)
            except (InvalidInput, Conflict, Forbidden) as exc:
                _add_new_errors(form, exc)
                status = exc.status
            else:
                n = activity.sessions.count()
                messages.success(
                    request,
                    _("活动「%(title)s」已排进功能室，共 %(n)d 场。")
                    % {"title": activity.title, "n": n},
                )
                return redirect("activities:detail", pk=activity.pk)
    return render(request, "activities/new.html", {"form": form, "plan": plan}, status=status)


def _add_new_errors(form: TimesForm, exc: AppError) -> None:
    """``add_app_error``, less the messages the plan already put at their fields."""
    for name, msgs in exc.fields.items():
        field = ALIASES.get(name, name)
        target = field if field in form.fields else None
        have: list[str] = [str(m) for m in form.errors.get(target or "__all__", [])]
        fresh = [m for m in msgs if m not in have]
        if fresh:
            form.add_error(target, fresh)
    if not exc.fields or exc.message != str(type(exc).default_message):
        if exc.message not in [str(m) for m in form.errors.get("__all__", [])]:
            form.add_error(None, exc.message)


def _plan_of(form: TimesForm) -> list[services.PlannedSession]:
    """The sessions the times would give, each free or not (none while the times are unclear)."""
    if not all(k in form.cleaned_data for k in ("room", "day", "start", "end")):
        return []
    if form.cleaned_data["room"] not in form.rooms:
        return []
    starts, ends = form.times()
    try:
        return services.session_plan(form.room_obj(), starts, ends, form.rule())
    except InvalidInput as exc:
        for name, msgs in exc.fields.items():
            field = ALIASES.get(name, name)
            if not form.has_error(field):
                form.add_error(field if field in form.fields else None, list(msgs))
        return []


@login_required
def plan(request: AuthedRequest) -> HttpResponse:
    """htmx: each session the organiser's times would make, and whether the room is free then."""
    user = request.user
    require_role(user, may.ORGANISER_ROLES)
    form = TimesForm(request.GET, rooms=_organiser_rooms(user))
    form.is_valid()
    sessions = _plan_of(form)
    # Errors only once the four are given: a half-filled form is not wrong yet.
    complete = all(request.GET.get(k) for k in ("room", "day", "start", "end"))
    problems = (
        [m for msgs in form.errors.values() for m in msgs] if complete and not sessions else []
    )
    return render(
        request,
        "activities/_plan.html",
        {"plan": sessions, "problems": problems, "bad": sum(1 for p in sessions if not p.verdict)},
    )


def _act(request: AuthedRequest, activity_id: int, call: Any, form: forms.Form) -> HttpResponse:
    """Run a manager's action on ``activity_id``: a message and back, or the error on its page."""
    activity = selectors.activity_get(request.user, activity_id)
    _managed(request.user, activity)
    if not form.is_valid():
        exc = InvalidInput(fields={k: [str(m) for m in v] for k, v in form.errors.items()})
        return _detail_error(request, activity_id, exc)
    try:
        done = call(form.cleaned_data)
    except (InvalidInput, Conflict) as exc:
        return _detail_error(request, activity_id, exc)
    messages.success(request, done)
    return _back_to(request, activity_id)


def _session_activity(pk: int) -> int:
    activity_id = Session.objects.filter(pk=pk).values_list("activity_id", flat=True).first()
    if activity_id is None:
        raise NotFound()
    return activity_id


@login_required
@require_POST
def session_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(data: dict[str, Any]) -> str:
        services.session_cancel(actor=request.user, session_id=pk, reason=data["reason"])
        return _("这一场已取消，报了名的人会收到通知。")

    return _act(request, _session_activity(pk), call, ReasonForm(request.POST))


@login_required
@require_POST
def session_move(request: AuthedRequest, pk: int) -> HttpResponse:
    form = MoveForm(request.POST, rooms=_organiser_rooms(request.user))

    def call(data: dict[str, Any]) -> str:
        starts, ends = form.times()
        services.session_move(
            actor=request.user, session_id=pk, starts=starts, ends=ends, room_id=data.get("room")
        )
        return _("这一场已改期，报了名的人会收到通知。")

    return _act(request, _session_activity(pk), call, form)


@login_required
@require_POST
def activity_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(data: dict[str, Any]) -> str:
        services.activity_cancel(actor=request.user, activity_id=pk, reason=data["reason"])
        return _("活动已取消，报了名的人会收到通知。")

    return _act(request, pk, call, ReasonForm(request.POST))


@login_required
@require_POST
def capacity(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(data: dict[str, Any]) -> str:
        services.activity_capacity_change(
            actor=request.user, activity_id=pk, capacity=data["capacity"]
        )
        return _("名额已改为 %(n)d 个。") % {"n": data["capacity"]}

    return _act(request, pk, call, CapacityForm(request.POST))


# --- attendance: the sheet, the door, the QR code -------------------------------------


def _session_for_manager(user: User, pk: int) -> Session:
    session = (
        Session.objects.select_related("activity__kind", "activity__team", "room__center")
        .filter(pk=pk)
        .first()
    )
    if session is None:
        raise NotFound()
    _managed(user, session.activity)
    return session


def _sheet_context(
    session: Session, code_form: CodeForm | None = None, notice: str = ""
) -> dict[str, Any]:
    rows = selectors.sheet(session)
    return {
        "session": session,
        "activity": session.activity,
        "rows": rows,
        "present": sum(1 for _s, mark in rows if mark == "present"),
        "rate": selectors.attendance_rate(activity=session.activity),
        "code_form": code_form or CodeForm(),
        "notice": notice,
        "early": session.starts - timezone.now() > dt.timedelta(hours=2),
    }


@login_required
def sheet(request: AuthedRequest, pk: int) -> HttpResponse:
    """签到表: who is expected, a big 到 / 未到 per person, and the code at the door."""
    session = _session_for_manager(request.user, pk)
    return render(request, "activities/sheet.html", _sheet_context(session))


@login_required
@require_POST
def mark(request: AuthedRequest, pk: int) -> HttpResponse:
    """htmx (or a plain form): tick one person as come or not; answers with their row."""
    session = _session_for_manager(request.user, pk)
    form = MarkForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("请选择到或未到。"))
    error = ""
    status = 200
    try:
        services.attendance_record(
            actor=request.user,
            session_id=pk,
            signup_id=form.cleaned_data["signup"],
            present=form.cleaned_data["present"],
        )
    except (InvalidInput, Conflict) as exc:
        error, status = " ".join(_errors(exc)), exc.status
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("activities:sheet", pk=pk)
    row = next(
        (r for r in selectors.sheet(session) if r[0].pk == form.cleaned_data["signup"]), None
    )
    if row is None:
        raise NotFound()
    return render(
        request,
        "activities/_sheet_row.html",
        {"s": row[0], "mark": row[1], "session": session, "error": error},
        status=status,
    )


@login_required
@require_POST
def checkin(request: AuthedRequest, pk: int) -> HttpResponse:
    """Check in at the door by the sign-up's code (typed, or from the QR code's page)."""
    session = _session_for_manager(request.user, pk)
    form = CodeForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            done = services.checkin_by_code(
                actor=request.user, session_id=pk, code=form.cleaned_data["code"]
            )
        except (InvalidInput, Conflict) as exc:
            add_app_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("%(name)s 签到成功。") % {"name": done.signup.person.name})
            return redirect("activities:sheet", pk=pk)
    return render(request, "activities/sheet.html", _sheet_context(session, form), status=status)


@login_required
def checkin_code(request: AuthedRequest, code: str) -> HttpResponse:
    """Where a sign-up's QR code leads: for its organisers, today's sessions to check in at."""
    user = request.user
    signup = (
        Signup.objects.select_related("person", "activity__team", "activity__kind", "session")
        .filter(code=code.strip().upper(), status=Signup.Status.CONFIRMED)
        .first()
    )
    if user.role not in may.ORGANISER_ROLES:
        # A resident who opens their own code: it is for the staff at the door.
        return render(request, "activities/checkin.html", {"signup": None, "code": code})
    if signup is None:
        raise NotFound(_("没有这个签到码，或这个报名已取消。"))
    _managed(user, signup.activity)
    today = timezone.localdate()
    if signup.session is not None:
        candidates = [signup.session]
    else:
        candidates = list(signup.activity.sessions.filter(status=Session.Status.SCHEDULED))
    # Today's, and one about to start just after midnight: check-in opens two hours before.
    now = timezone.now()
    todays = [
        s
        for s in candidates
        if s.scheduled and (s.date == today or now <= s.starts <= now + dt.timedelta(hours=2))
    ]
    return render(
        request,
        "activities/checkin.html",
        {"signup": signup, "code": signup.code, "sessions": todays, "form": CodeForm()},
    )


# --- dispatchers: every room of the community, a week ---------------------------------


@login_required
def rooms(request: AuthedRequest) -> HttpResponse:
    """The week view of every room of the community (the city picks the community)."""
    user = request.user
    require_role(user, may.ORGANISER_ROLES)  # a 403 before anything is looked up
    communities: list[Center] = []
    if user.role == Role.CITY:
        communities = list(Center.objects.filter(kind=Center.Kind.COMMUNITY).order_by("code"))
        wanted = request.GET.get("community") or ""
        community = next((c for c in communities if str(c.pk) == wanted), None)
        community = community or (communities[0] if communities else None)
        community_id = community.pk if community else None
    else:
        community_id = user.community_id
    if community_id is None:
        raise NotFound()
    may.may_see_week(user, community_id).check()
    start, weeks = selectors.room_week(community_id, _day(request.GET.get("week")))
    monday = start.date()
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    return render(
        request,
        "activities/rooms.html",
        {
            "weeks": [
                (w.room, list(zip(days, w.days, strict=True)), not any(w.days)) for w in weeks
            ],
            "days": days,
            "monday": monday,
            "prev": monday - dt.timedelta(days=7),
            "next": monday + dt.timedelta(days=7),
            "communities": communities,
            "community_id": community_id,
            "today": timezone.localdate(),
        },
    )


# --- 长者生日会 ------------------------------------------------------------------


@login_required
def birthday(request: AuthedRequest, pk: int) -> HttpResponse:
    """The birthday party's guests: the month's 60+ (or 80+) elders, invited in one go."""
    user = request.user
    activity = selectors.activity_get(user, pk)
    _managed(user, activity)
    if activity.kind.code != BIRTHDAY:
        raise NotFound(_("这不是长者生日会。"))
    min_age = 80 if (request.POST.get("min_age") or request.GET.get("min_age")) == "80" else 60
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            result = services.birthday_invite(actor=user, activity_id=pk, min_age=min_age)
        except (InvalidInput, Conflict) as exc:
            errors, status = _errors(exc), exc.status
        else:
            messages.success(
                request,
                _("已发出 %(sent)d 份邀请；%(phone)d 位需要电话邀请。")
                % {
                    "sent": len(result.sent) - len(result.by_phone),
                    "phone": len(result.by_phone),
                },
            )
            return redirect(f"{reverse('activities:birthday', args=[pk])}?min_age={min_age}")
    first = services.first_session(activity)
    people = services.birthday_people(activity.community_id, first.date, min_age) if first else []
    invited = {
        i.person_id: i
        for i in Invitation.objects.filter(activity=activity).select_related("notified")
    }
    signed = set(activity.signups.filter(selectors.LIVE).values_list("person_id", flat=True))
    on = first.date if first else ages.today()
    rows: list[dict[str, Any]] = [
        {
            "person": p,
            "age": ages.age_on(p.birth_date, on),
            "invitation": invited.get(p.pk),
            "signed": p.pk in signed,
            "phone": p.pk in invited and invited[p.pk].notified_id is None,
        }
        for p in people
    ]
    return render(
        request,
        "activities/birthday.html",
        {
            "activity": activity,
            "first": first,
            "min_age": min_age,
            "rows": rows,
            "by_phone": [r for r in rows if r["phone"]],
            "to_invite": sum(1 for r in rows if r["invitation"] is None),
            "errors": errors,
            "can_view_people": user.role in (Role.DISPATCHER, Role.LEADER, Role.CITY),
        },
        status=status,
    )
