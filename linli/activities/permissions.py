"""Who may organise, see, sign up for and take attendance of an activity: one predicate each.

The services raise these verdicts; the pages show the buttons and the API
lists the ``actions`` whose verdicts are allowed, so they never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.roles import Role
from linli.core.rules import ALLOWED, Verdict, refuse
from linli.people import ages
from linli.people.models import Guardianship, Resident

if TYPE_CHECKING:
    from linli.activities.models import Activity, Session, Signup
    from linli.core.models import User
    from linli.teams.models import Team

# Staff roles that organise activities in their own community (the city: in all).
ORGANISER_ROLES = frozenset({Role.DISPATCHER, Role.LEADER, Role.SCHOOL, Role.CITY})


def may_organise(user: User, community_id: int, team: Team | None = None) -> Verdict:
    """May ``user`` put on an activity in ``community_id`` (for ``team``, when a team organises)?

    The city admin anywhere; a dispatcher or a school admin in their own
    community; a team leader for the team they lead."""
    if not user.is_authenticated or user.role not in ORGANISER_ROLES:
        return refuse(_("您的角色无权组织活动。"), "forbidden")
    if user.role == Role.CITY:
        return ALLOWED
    if user.community_id != community_id:
        return refuse(_("只能组织本社区的活动。"), "forbidden")
    if user.role == Role.LEADER and (team is None or team.leader_id != user.pk):
        return refuse(_("队长只能以自己带领的服务队组织活动。"), "forbidden", "team")
    return ALLOWED


def may_manage(user: User, activity: Activity) -> Verdict:
    """May ``user`` change, cancel and take attendance for ``activity``? Its organisers may."""
    if not user.is_authenticated or user.role not in ORGANISER_ROLES:
        return refuse(_("您的角色无权管理这个活动。"), "forbidden")
    if user.role == Role.CITY:
        return ALLOWED
    if user.community_id != activity.community_id:
        return refuse(_("只能管理本社区的活动。"), "forbidden")
    if user.role == Role.LEADER and (activity.team is None or activity.team.leader_id != user.pk):
        return refuse(_("只能管理自己服务队的活动。"), "forbidden")
    return ALLOWED


def management_visible(user: User, activity: Activity) -> bool:
    """Whether a refusal to manage ``activity`` may say so (a 403) rather than hide it (a 404).

    An activity is public, its management is not: to anyone outside its
    community (staff of another community above all) a manager's page or
    action answers as if there were none."""
    if not user.is_authenticated:
        return False
    if user.role == Role.CITY:
        return True
    return home_community(user) == activity.community_id


def home_community(user: User) -> int | None:
    """The community ``user`` belongs to: their account's, or their resident record's."""
    if not user.is_authenticated:
        return None
    if user.community_id:
        return user.community_id
    return Resident.objects.filter(account=user).values_list("community_id", flat=True).first()


def own_people(user: User) -> list[Resident]:
    """Whom ``user`` may sign up as a resident: themself, then their wards."""
    if not user.is_authenticated:
        return []
    mine = list(Resident.objects.filter(account=user))
    wards = list(
        Resident.objects.filter(guardian_links__guardian__in=mine).order_by("birth_date", "pk")
    )
    return [*mine, *[w for w in wards if w not in mine]]


def acting_for(user: User, person: Resident, activity: Activity) -> Verdict:
    """May ``user`` sign ``person`` up for (or off) ``activity``, whoever they are to them?

    The person themself, a guardian for their ward, or the desk: a dispatcher
    of the activity's community (or the city) for someone who cannot do it."""
    if not user.is_authenticated:
        return refuse(_("请先登录。"), "forbidden")
    if person.account_id == user.pk:
        return ALLOWED
    if Guardianship.objects.filter(ward=person, guardian__account=user).exists():
        return ALLOWED
    if at_desk(user, activity) and (
        user.role == Role.CITY or person.community_id == user.community_id
    ):
        return ALLOWED
    return refuse(_("只能为本人或家人报名。"), "forbidden", "person")


def at_desk(user: User, activity: Activity) -> bool:
    """Does ``user`` sign people up for ``activity`` at the desk (for an elder without a phone)?

    The city, or a dispatcher of the activity's community, while it is on."""
    return (
        user.is_authenticated
        and activity.status == activity.Status.OPEN
        and (
            user.role == Role.CITY
            or (user.role == Role.DISPATCHER and user.community_id == activity.community_id)
        )
    )


def may_see_week(user: User, community_id: int) -> Verdict:
    """The week of a community's rooms: its organisers (dispatcher, leaders, school), the city."""
    if not user.is_authenticated or user.role not in ORGANISER_ROLES:
        return refuse(_("您的角色无权查看功能室日程。"), "forbidden")
    if user.role != Role.CITY and user.community_id != community_id:
        return refuse(_("只能查看本社区的功能室。"), "forbidden")
    return ALLOWED


def channel_for(user: User, person: Resident) -> str:
    from linli.activities.models import Signup

    if person.account_id == user.pk:
        return Signup.Channel.SELF
    if user.role in (Role.DISPATCHER, Role.CITY):
        return Signup.Channel.DESK
    return Signup.Channel.GUARDIAN


def eligible(person: Resident, activity: Activity, on: dt.date) -> Verdict:
    """Is ``person`` in ``activity``'s audience, by their age on the day of the session?"""
    low, high = activity.age_band()
    age = ages.age_on(person.birth_date, on)
    if (low is not None and age < low) or (high is not None and age > high):
        return refuse(
            _("这个活动面向%(audience)s，%(name)s 在 %(date)s 是 %(age)d 岁。")
            % {
                "audience": activity.audience_label(),
                "name": person.name,
                "date": on.isoformat(),
                "age": age,
            },
            "invalid",
            "person",
        )
    return ALLOWED


def signup_window(
    activity: Activity, first: Session | None, now: dt.datetime | None = None
) -> Verdict:
    """Is sign-up open now for ``activity`` (for ``first``, its session or first session)?

    Open from ``signup_opens`` (or at once) until ``signup_closes`` (or the
    start of the session, or of the course's first session)."""
    now = now or timezone.now()
    if activity.status != activity.Status.OPEN:
        return refuse(_("这个活动已取消。"))
    if first is None:
        return refuse(_("这个活动没有待举行的场次。"))
    if not first.scheduled:
        return refuse(_("这一场已取消。"))
    if activity.signup_opens and now < activity.signup_opens:
        return refuse(
            _("报名 %(when)s 开始。")
            % {"when": timezone.localtime(activity.signup_opens).strftime("%Y-%m-%d %H:%M")}
        )
    closes = activity.signup_closes or first.starts
    if activity.per_session:
        closes = min(closes, first.starts)
    if now >= closes:
        return refuse(_("报名已截止。"))
    return ALLOWED


def may_cancel_signup(user: User, signup: Signup) -> Verdict:
    """May ``user`` cancel ``signup``? Whoever may sign the person up, or the organisers."""
    if not signup.live:
        return refuse(_("这个报名已经取消了。"))
    if may_manage(user, signup.activity):
        return ALLOWED
    return acting_for(user, signup.person, signup.activity)


def may_see_signups(user: User, activity: Activity) -> bool:
    """Who came and who is on the list (names, children among them): the organisers only."""
    return bool(may_manage(user, activity))
