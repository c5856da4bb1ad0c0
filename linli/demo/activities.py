"""A season of activities at Cenxi's centers, put on and attended through the services.

Opening hours for every center (read from the hours its text gives), the
rooms the programme needs, and then, around the seed's "today":

* 百花社区 (the demo community), in full: the daily opera screening
  (牛娘戏日播剧场, a drop-in series, one sign-up a session), 红歌大家唱 and
  周末音乐课堂 every week at the 老年大学分校 (term courses), the seven courses
  of last summer's class (past, with attendance) and of the coming holiday's
  (sign-up open, one course already full with a waiting list), a monthly
  长者生日会 with invitations, 亲子有约, a fire-safety talk at 幸福城小区's
  消防志愿服务超市 and a health talk by the health team;
* every other community: its monthly 长者生日会, songs at its 老年大学分校
  when it has one, 龙井's 防溺水 talk last summer, 李立昌's calligraphy class
  at 城中社区.

Every session is put on the room calendar by ``activities.services`` (so no
room is ever double-occupied and every session lies in its center's opening
hours); every sign-up is checked for age on the session's date, the window
and the places; every attendance is a ``people.Contact``. The services read
the time from ``timezone.now``: the seed runs each step on a clock of its own
(:class:`_Clock`), so sign-ups come before their sessions and attendance at
them. Children are signed up by a guardian: the parent's own account (made
here, an app user) or, for a grandparent without a smartphone, at the desk.

What it costs is the sign-ups and the ticks (a few milliseconds each through
the services); :data:`DEFAULT_VOLUME` keeps the demo's part to a few seconds.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from django.apps import apps
from django.test.utils import override_settings
from django.utils import timezone

from linli.activities import permissions as may
from linli.activities import services
from linli.activities.models import Activity, Audience, Session, Signup
from linli.core.models import User
from linli.core.roles import Role
from linli.network import services as calendar
from linli.network.models import Center, OpeningHours, Room
from linli.people import ages
from linli.people.models import Guardianship, Resident

_WALL_CLOCK = timezone.now

WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6}
SPAN = re.compile(r"(\d{1,2}):(\d{2})\s*[–-]\s*(\d{1,2}):(\d{2})")

# (kind code, title, room kind, weekday, start) of the holiday class's seven courses.
COURSES: list[tuple[str, str, str, int, dt.time]] = [
    ("painting", "画画", Room.Kind.CALLIGRAPHY, 0, dt.time(9)),
    ("reading", "阅读", Room.Kind.READING, 0, dt.time(15)),
    ("martial_arts", "武术", Room.Kind.HALL, 1, dt.time(9)),
    ("calligraphy", "书法", Room.Kind.CALLIGRAPHY, 2, dt.time(9)),
    ("safety", "安全教育", Room.Kind.HALL, 3, dt.time(9)),
    ("chess", "棋艺", Room.Kind.CHILDREN, 4, dt.time(9)),
    ("cooking", "烹饪", Room.Kind.CANTEEN, 4, dt.time(15)),
]
SUMMER = ((7, 7), (8, 29))  # 7 July to 29 August
WINTER = ((1, 19), (2, 13))
LENGTH = dt.timedelta(minutes=90)


@dataclass(frozen=True)
class Volume:
    """How many people come; the calendar's programme is the same at any volume."""

    opera_weeks_past: int = 4
    opera_per_session: tuple[int, int] = (3, 7)
    elder_course: int = 10  # enrolled in a 老年大学 course at 百花
    elder_course_elsewhere: int = 5
    summer_course: int = 6  # children in each summer course
    winter_course: tuple[int, int] = (3, 6)
    birthday_months_past: int = 4  # at 百花; elsewhere two
    birthday_guests: int = 8
    present: float = 0.85


DEFAULT_VOLUME = Volume()


@dataclass
class ActivityStats:
    hours: int = 0
    rooms: int = 0
    activities: int = 0
    sessions: int = 0
    held: int = 0  # sessions past, not cancelled
    signups: int = 0
    waitlisted: int = 0
    attendance: int = 0
    present: int = 0
    accounts: int = 0  # guardians' app accounts
    by_kind: dict[str, int] = field(default_factory=dict)


# --- opening hours ------------------------------------------------------------------


def hours_from_text(text: str) -> list[tuple[int, dt.time, dt.time]]:
    """(weekday, opens, closes) of hours written as the centers write them.

    "周一至周五 08:00–12:00, 14:30–17:30;周末 09:00–17:00" gives two spans on
    each weekday and one on Saturday and Sunday."""
    out: list[tuple[int, dt.time, dt.time]] = []
    for part in re.split(r"[;；]", text):
        part = part.strip()
        if not part:
            continue
        days = _days(part)
        spans = [
            (dt.time(int(a), int(b)), dt.time(int(c), int(d))) for a, b, c, d in SPAN.findall(part)
        ]
        out.extend((day, o, c) for day in days for o, c in spans if c > o)
    return sorted(set(out))


def _days(part: str) -> list[int]:
    if part.startswith("周末"):
        return [5, 6]
    m = re.match(r"周([一二三四五六日])至周([一二三四五六日])", part)
    if m:
        return list(range(WEEKDAYS[m.group(1)], WEEKDAYS[m.group(2)] + 1))
    m = re.match(r"周([一二三四五六日])", part)
    if m:
        return [WEEKDAYS[m.group(1)]]
    return list(range(7))


def hours_build() -> int:
    """Opening hours for every center that has none yet, from its ``opening_hours`` text."""
    have = set(OpeningHours.objects.values_list("center_id", flat=True))
    rows = [
        OpeningHours(center_id=c.pk, weekday=day, opens=o, closes=cl)
        for c in Center.objects.exclude(opening_hours="").order_by("code")
        if c.pk not in have
        for day, o, cl in hours_from_text(c.opening_hours)
    ]
    OpeningHours.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


# --- the clock ----------------------------------------------------------------------


class _Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@contextmanager
def _clock(at: dt.datetime) -> Iterator[_Clock]:
    """``timezone.now`` (and every field defaulting to it) reads ``clock.at``."""
    clock = _Clock(at)
    with ExitStack() as stack:
        stack.enter_context(mock.patch("django.utils.timezone.now", clock))
        for model in apps.get_models():
            for f in model._meta.concrete_fields:
                if f.default is _WALL_CLOCK:
                    stack.enter_context(mock.patch.object(f, "_get_default", clock))
        # The seed's notifications are history: into the inbox, sent nowhere.
        stack.enter_context(
            override_settings(LINLI_NOTIFY_CHANNELS=["linli.notify.channels.InboxChannel"])
        )
        yield clock


# --- the season ---------------------------------------------------------------------


def _local(day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, timezone.get_current_timezone())


def _until(day: dt.date) -> str:
    return f"{day:%Y%m%d}T235959"


def _on_or_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    return _on_or_after(dt.date(year, month, 1), weekday) + dt.timedelta(weeks=n - 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, 1)


def holidays(as_of: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(last summer, the next holiday): the summer begun by ``as_of``, the first holiday after."""
    year = as_of.year if as_of >= dt.date(as_of.year, *SUMMER[0]) else as_of.year - 1
    last = (dt.date(year, *SUMMER[0]), dt.date(year, *SUMMER[1]))
    options = []
    for y in (as_of.year, as_of.year + 1):
        options.append((dt.date(y, *WINTER[0]), dt.date(y, *WINTER[1])))
        options.append((dt.date(y, *SUMMER[0]), dt.date(y, *SUMMER[1])))
    coming = min(o for o in options if o[0] > as_of + dt.timedelta(days=6))
    return last, coming


@dataclass
class _Pool:
    """A community's people the seed draws from, by ID number (so the draw is stable)."""

    residents: list[Resident]

    def aged(self, on: dt.date, low: int, high: int | None = None) -> list[Resident]:
        return [
            r
            for r in self.residents
            if ages.age_on(r.birth_date, on) >= low
            and (high is None or ages.age_on(r.birth_date, on) <= high)
        ]


class _Season:
    def __init__(
        self, rng: random.Random, as_of: dt.date, volume: Volume, clock: _Clock, now: dt.datetime
    ) -> None:
        self.rng = rng
        self.as_of = as_of
        self.volume = volume
        self.clock = clock
        self.now = now
        self.stats = ActivityStats()
        self.city = User.objects.get(username="demo-city")
        self.dispatcher = User.objects.get(username="demo-dispatcher")
        self.week0 = as_of - dt.timedelta(days=as_of.weekday())
        self.rooms: dict[tuple[str, str], Room] = {}
        for room in Room.objects.select_related("center").order_by("pk"):
            self.rooms.setdefault((room.center.code, room.kind), room)
            self.rooms.setdefault((room.center.code, room.name), room)
        self.pools: dict[int, _Pool] = {}
        self.guardians: dict[int, list[Resident]] = {}
        self.account_numbers: dict[str, int] = {}

    # -- pieces --------------------------------------------------------------

    def pool(self, center: Center) -> _Pool:
        if center.pk not in self.pools:
            self.pools[center.pk] = _Pool(
                list(
                    Resident.objects.filter(community=center)
                    .select_related("account")
                    .order_by("id_number")
                )
            )
            by_pk = {r.pk: r for r in self.pools[center.pk].residents}
            for ward_id, guardian_id in (
                Guardianship.objects.filter(ward__community=center)
                .order_by("ward_id", "guardian__id_number")
                .values_list("ward_id", "guardian_id")
            ):
                if guardian_id in by_pk:
                    self.guardians.setdefault(ward_id, []).append(by_pk[guardian_id])
        return self.pools[center.pk]

    def create(self, actor: User, at: dt.datetime, **kw: Any) -> Activity:
        self.clock.at = min(at, self.now)
        activity = services.activity_create(actor=actor, data=services.ActivityInput(**kw))
        self.stats.activities += 1
        self.stats.by_kind[kw["kind"]] = self.stats.by_kind.get(kw["kind"], 0) + 1
        return activity

    def sessions(self, activity: Activity) -> list[Session]:
        return list(activity.sessions.filter(status=Session.Status.SCHEDULED).order_by("starts"))

    def past(self, session: Session) -> bool:
        return session.starts + dt.timedelta(minutes=10) <= self.now

    def sign(
        self,
        activity: Activity,
        people: list[Resident],
        at: dt.datetime,
        desk: User,
        session: Session | None = None,
        channel: str | None = None,
    ) -> list[Signup]:
        """Sign each eligible person up at ``at``: themself or a guardian with an app, or the desk."""
        judged = session or services.first_session(activity)
        assert judged is not None
        out = []
        for person in people:
            if not may.eligible(person, activity, judged.date):
                continue
            self.clock.at = min(at, self.now, judged.starts - dt.timedelta(minutes=1))
            actor = self.acting(person, desk)
            signup = services.signup_create(
                actor=actor,
                activity_id=activity.pk,
                person_id=person.pk,
                session_id=session.pk if session is not None else None,
                channel=channel if actor == desk else None,
            )
            out.append(signup)
            self.stats.signups += 1
            if signup.status == Signup.Status.WAITLISTED:
                self.stats.waitlisted += 1
            at += dt.timedelta(minutes=self.rng.randint(3, 90))
        return out

    def acting(self, person: Resident, desk: User) -> User:
        if person.account is not None:
            return person.account
        for guardian in self.guardians.get(person.pk, []):
            if guardian.account is not None:
                return guardian.account
        return desk

    def app_user(self, parent: Resident) -> None:
        """A parent signs their child up in the app: give them the resident account they use."""
        if parent.account is not None:
            return
        code = Center.objects.filter(pk=parent.community_id).values_list("code", flat=True)[0]
        n = self.account_numbers.get(code, 0) + 1
        self.account_numbers[code] = n
        user = User(
            username=f"r-{code}-{n:03d}",
            role=Role.RESIDENT,
            community_id=parent.community_id,
            first_name=parent.name,
        )
        user.set_unusable_password()
        user.save()
        parent.account = user
        parent.save(update_fields=["account"])
        self.stats.accounts += 1

    def attend(
        self, activity: Activity, session: Session, signups: list[Signup], actor: User
    ) -> None:
        """Tick the sheet of a past session: most came."""
        self.clock.at = session.starts + dt.timedelta(minutes=self.rng.randint(0, 15))
        for signup in signups:
            if signup.status != Signup.Status.CONFIRMED:
                continue
            present = self.rng.random() < self.volume.present
            services.attendance_record(
                actor=actor, session_id=session.pk, signup_id=signup.pk, present=present
            )
            self.stats.attendance += 1
            self.stats.present += present

    def course(
        self, activity: Activity, people: list[Resident], desk: User, lead: dt.timedelta
    ) -> None:
        """Enrol ``people`` in a course ``lead`` before it starts; take attendance of what is past."""
        sessions = self.sessions(activity)
        first = sessions[0].starts
        at = min(first - lead, self.now - dt.timedelta(hours=2))
        if first <= at:
            return
        signups = self.sign(activity, people, at, desk)
        for s in sessions:
            if self.past(s):
                self.attend(activity, s, signups, desk)

    def some(self, people: list[Resident], n: int) -> list[Resident]:
        return self.rng.sample(people, min(n, len(people)))

    def children(
        self, center: Center, on: dt.date, n: int, low: int = 6, high: int = 12
    ) -> list[Resident]:
        """``n`` children of the community of an age for a class on ``on``; their parents use the app."""
        picked = self.some(self.pool(center).aged(on, low, high), n)
        for kid in picked:
            for g in self.guardians.get(kid.pk, [])[:1]:
                if ages.age_on(g.birth_date, self.as_of) < 60:
                    self.app_user(g)
        return picked

    # -- the programme -------------------------------------------------------

    def opera(self, center: Center) -> None:
        room = self.rooms[(center.code, Room.Kind.THEATRE)]
        first = self.week0 - dt.timedelta(weeks=self.volume.opera_weeks_past)
        last = self.week0 + dt.timedelta(days=20)
        activity = self.create(
            self.dispatcher,
            _local(first, dt.time(9)) - dt.timedelta(days=7),
            title="牛娘戏日播剧场",
            kind="opera",
            room=room.pk,
            starts=_local(first, dt.time(15)),
            ends=_local(first, dt.time(15)) + LENGTH,
            capacity=min(60, room.capacity),
            mode=Activity.Mode.DROP_IN,
            rrule=f"FREQ=DAILY;UNTIL={_until(last)}",
            audience=Audience.EVERYONE,
            organiser_name="百花社区党支部",
            description="每天下午播放老年人爱看爱听的牛娘戏，有空调，有茶喝。",
        )
        # The projector was serviced for two days: the closure cancels those screenings.
        off = self.week0 - dt.timedelta(days=10)
        self.clock.at = min(_local(off, dt.time(9)) - dt.timedelta(days=3), self.now)
        calendar.closure_create(
            actor=self.dispatcher,
            center_id=center.pk,
            room_id=room.pk,
            starts=_local(off, dt.time(0)),
            ends=_local(off + dt.timedelta(days=2), dt.time(0)),
            reason="放映设备检修",
        )
        regulars = self.pool(center).aged(self.as_of, 60)
        regulars = self.some(regulars, 30)
        me = Resident.objects.filter(account__username="demo-resident").first()
        low, high = self.volume.opera_per_session
        for s in self.sessions(activity):
            upcoming = s.starts > self.now
            if upcoming and s.date > self.week0 + dt.timedelta(days=13):
                continue
            n = self.rng.randint(1, 4) if upcoming else self.rng.randint(low, high)
            people = self.some(regulars, n)
            # 曾庆宝 watches most days, and has this week's screenings booked.
            if me is not None and me not in people and (upcoming or self.rng.random() < 0.6):
                if not upcoming or s.date <= self.week0 + dt.timedelta(days=6):
                    people.insert(0, me)
            if upcoming:
                at = self.now - dt.timedelta(hours=self.rng.randint(1, 30))
            elif self.past(s):
                at = s.starts - dt.timedelta(hours=self.rng.randint(3, 48))
            else:
                continue
            signups = self.sign(activity, people, at, self.dispatcher, session=s)
            if not upcoming:
                self.attend(activity, s, signups, self.dispatcher)

    def elder_university(self, center: Center, short: str, full: bool) -> None:
        room = self.rooms.get((center.code, Room.Kind.ELDER_UNIVERSITY))
        if room is None:
            return
        desk = self.dispatcher if full else self.city
        term = self.week0 - dt.timedelta(weeks=6)
        end = self.week0 + dt.timedelta(weeks=5, days=6)
        n = self.volume.elder_course if full else self.volume.elder_course_elsewhere
        elders = self.pool(center).aged(self.as_of, 60, 85)
        programme = [("singing", "红歌大家唱", 1, dt.time(9), "每周二上午一起唱红歌。")]
        if full:
            programme.append(
                ("music", "周末音乐课堂", 5, dt.time(9, 30), "每周六上午，学唱歌、识简谱、学乐器。")
            )
        for kind, title, weekday, start, text in programme:
            day = _on_or_after(term, weekday)
            activity = self.create(
                desk,
                _local(day, dt.time(9)) - dt.timedelta(days=21),
                title=title,
                kind=kind,
                room=room.pk,
                starts=_local(day, start),
                ends=_local(day, start) + LENGTH,
                capacity=min(40, room.capacity),
                mode=Activity.Mode.COURSE,
                rrule=f"FREQ=WEEKLY;UNTIL={_until(end)}",
                audience=Audience.ELDERS,
                organiser=Activity.Organiser.ELDER_UNIVERSITY,
                organiser_name=f"岑溪市老年大学{short}分校",
                description=text,
            )
            people = self.some(elders, n)
            self.course(activity, people, desk, dt.timedelta(days=self.rng.randint(5, 14)))

    def holiday_class(
        self, center: Center, short: str, span: tuple[dt.date, dt.date], past: bool
    ) -> None:
        """The seven courses of a holiday class, each once a week through the holiday."""
        start, end = span
        season = "暑期" if start.month == 7 else "寒假"
        for i, (kind, name, room_kind, weekday, at) in enumerate(COURSES):
            room = self.rooms[(center.code, room_kind)]
            day = _on_or_after(start, weekday)
            full = not past and kind == "cooking"
            capacity = min(8 if full else 20, room.capacity)
            opens = _local(day, dt.time(9)) - dt.timedelta(days=60)
            activity = self.create(
                self.dispatcher,
                opens - dt.timedelta(days=1),
                title=f"{start.year}年{season}课堂·{name}",
                kind=kind,
                room=room.pk,
                starts=_local(day, at),
                ends=_local(day, at) + LENGTH,
                capacity=capacity,
                mode=Activity.Mode.COURSE,
                rrule=f"FREQ=WEEKLY;UNTIL={_until(end)}",
                audience=Audience.CHILDREN,
                organiser_name=f"{short}社区{season}课堂",
                signup_opens=opens,
                description=f"面向儿童的{season}{name}课，整期报名，每周一次。",
            )
            first = _local(day, at)
            if past:
                n = self.volume.summer_course
            else:
                low, high = self.volume.winter_course
                n = capacity + 2 if full else self.rng.randint(low, high)
            kids = self.children(center, day, n)
            if past:
                self.course(activity, kids, self.dispatcher, dt.timedelta(days=14 + i))
            elif opens < self.now < first:
                at_ = max(opens, self.now - dt.timedelta(days=6)) + dt.timedelta(minutes=5)
                self.sign(activity, kids, at_, self.dispatcher)

    def birthdays(self, center: Center, short: str, months_past: int, desk: User) -> None:
        """One party a month, on the third Friday afternoon; the month's elders are invited."""
        room = self.rooms[(center.code, Room.Kind.HALL)]
        this = self.as_of.replace(day=1)
        for k in range(-months_past, 2):
            month = _add_months(this, k)
            day = _nth_weekday(month.year, month.month, 4, 3)
            starts = _local(day, dt.time(15))
            activity = self.create(
                desk,
                starts - dt.timedelta(days=20),
                title=f"{short}社区{month.month}月长者生日会",
                kind="birthday",
                room=room.pk,
                starts=starts,
                ends=starts + LENGTH,
                capacity=min(40, room.capacity),
                audience=Audience.ELDERS,
                description="为本月过生日的老人一起庆生：长寿面、蛋糕和节目。",
            )
            at = min(starts - dt.timedelta(days=14), self.now - dt.timedelta(hours=1))
            if at >= starts:
                continue
            self.clock.at = at
            invited = services.birthday_invite(actor=desk, activity_id=activity.pk)
            guests = [i.person for i in invited.sent][: self.volume.birthday_guests]
            coming = [p for p in guests if self.rng.random() < 0.75]
            signups = self.sign(
                activity,
                coming,
                at + dt.timedelta(hours=2),
                desk,
                channel=Signup.Channel.INVITATION,
            )
            for s in self.sessions(activity):
                if self.past(s):
                    self.attend(activity, s, signups, desk)

    def one_off(
        self,
        actor: User,
        room: Room,
        day: dt.date,
        start: dt.time,
        people: list[Resident],
        **kw: Any,
    ) -> None:
        starts = _local(day, start)
        activity = self.create(
            actor,
            starts - dt.timedelta(days=14),
            room=room.pk,
            starts=starts,
            ends=starts + LENGTH,
            capacity=min(kw.pop("capacity", 30), room.capacity),
            **kw,
        )
        at = min(starts - dt.timedelta(days=5), self.now - dt.timedelta(hours=3))
        if at >= starts:
            return
        signups = self.sign(activity, people, at, self.city)
        [session] = self.sessions(activity)
        if self.past(session):
            self.attend(activity, session, signups, actor)

    def families(self, center: Center, short: str) -> None:
        """亲子有约 on the second Sunday of the month: a parent and their child."""
        room = self.rooms[(center.code, Room.Kind.CHILDREN)]
        this = self.as_of.replace(day=1)
        for k in range(-3, 2):
            month = _add_months(this, k)
            day = _nth_weekday(month.year, month.month, 6, 2)
            kids = self.children(center, day, 3, 3, 10)
            people: list[Resident] = []
            for kid in kids:
                parent = next(iter(self.guardians.get(kid.pk, [])), None)
                if parent is not None and parent.account is not None:
                    people += [parent, kid]
            self.one_off(
                self.dispatcher,
                room,
                day,
                dt.time(9, 30),
                people,
                title=f"亲子有约·{month.month}月亲子手工",
                kind="parent_child",
                audience=Audience.FAMILIES,
                capacity=20,
                description="家长带孩子一起做手工、讲故事。",
            )

    def build(self) -> ActivityStats:
        centers = {
            c.code: c for c in Center.objects.filter(kind=Center.Kind.COMMUNITY).order_by("code")
        }
        last_summer, coming = holidays(self.as_of)
        baihua = centers["baihua"]
        self.opera(baihua)
        self.elder_university(baihua, "百花", full=True)
        self.holiday_class(baihua, "百花", last_summer, past=True)
        self.holiday_class(baihua, "百花", coming, past=False)
        self.birthdays(baihua, "百花", self.volume.birthday_months_past, self.dispatcher)
        self.families(baihua, "百花")
        fire_room = self.rooms.get(("baihua-xingfucheng", "消防志愿服务超市"))
        if fire_room is not None:
            summer_day = _on_or_after(last_summer[0] + dt.timedelta(days=14), 5)
            self.one_off(
                self.city,
                fire_room,
                summer_day,
                dt.time(9, 30),
                self.children(baihua, summer_day, 10),
                title="暑期消防安全宣传",
                kind="fire_safety",
                audience=Audience.CHILDREN,
                capacity=20,
                organiser_name="幸福城小区消防志愿服务超市",
            )
            day = _on_or_after(self.as_of + dt.timedelta(days=1), 5)
            self.one_off(
                self.city,
                fire_room,
                day,
                dt.time(15),
                self.some(self.pool(baihua).aged(day, 60), 4),
                title="冬季用火用电安全讲座",
                kind="fire_safety",
                audience=Audience.EVERYONE,
                capacity=20,
                organiser_name="幸福城小区消防志愿服务超市",
            )
        self.health_talk(baihua)
        for code, center in centers.items():
            short = center.name.removesuffix("社区")
            if code != "baihua":
                self.birthdays(center, short, 2, self.city)
                self.elder_university(center, short, full=False)
        longjing = centers.get("longjing")
        if longjing is not None:
            day = _on_or_after(last_summer[0], 2)
            self.one_off(
                self.city,
                self.rooms[("longjing", Room.Kind.HALL)],
                day,
                dt.time(15),
                self.children(longjing, day, 12),
                title="防溺水安全教育宣讲",
                kind="drowning",
                audience=Audience.CHILDREN,
                capacity=40,
                organiser_name="龙井社区",
                description="观看防溺水宣传片，朗读防溺水“六不准”。",
            )
        self.calligraphy(centers.get("chengzhong"))
        self._count()
        return self.stats

    def health_talk(self, center: Center) -> None:
        from linli.teams.models import Team

        team = Team.objects.filter(community=center, kind=Team.Kind.HEALTH).first()
        if team is None or team.leader is None:
            return
        room = self.rooms[(center.code, Room.Kind.HALL)]
        for day in (self.week0 - dt.timedelta(days=12), self.week0 + dt.timedelta(days=8)):
            day = _on_or_after(day, 2)
            self.one_off(
                team.leader,
                room,
                day,
                dt.time(9),
                self.some(self.pool(center).aged(day, 60), 6),
                title="健康讲座：秋冬季高血压防治",
                kind="health_talk",
                audience=Audience.ELDERS,
                organiser=Activity.Organiser.TEAM,
                team=team.pk,
                capacity=50,
            )

    def calligraphy(self, center: Center | None) -> None:
        """李立昌 teaches calligraphy every Thursday afternoon (the article's calligrapher)."""
        if center is None:
            return
        room = self.rooms[(center.code, Room.Kind.CALLIGRAPHY)]
        term = _on_or_after(self.week0 - dt.timedelta(weeks=6), 3)
        activity = self.create(
            self.city,
            _local(term, dt.time(9)) - dt.timedelta(days=21),
            title="李立昌书法班",
            kind="calligraphy",
            room=room.pk,
            starts=_local(term, dt.time(15)),
            ends=_local(term, dt.time(15)) + LENGTH,
            capacity=min(20, room.capacity),
            mode=Activity.Mode.COURSE,
            rrule=f"FREQ=WEEKLY;UNTIL={_until(self.week0 + dt.timedelta(weeks=6))}",
            audience=Audience.EVERYONE,
            organiser_name="李立昌（书法志愿者）",
            description="退休书法家李立昌义务教授毛笔书法。",
        )
        people = self.some(self.pool(center).aged(self.as_of, 40, 80), 5)
        self.course(activity, people, self.city, dt.timedelta(days=7))

    def _count(self) -> None:
        q = Session.objects.filter(status=Session.Status.SCHEDULED)
        self.stats.sessions = q.count()
        self.stats.held = q.filter(ends__lte=self.now).count()


def rooms_build() -> int:
    """The rooms the programme needs that the network did not draw: 百花's 老年大学分校."""
    made = 0
    baihua = Center.objects.filter(code="baihua").first()
    if baihua is not None and not baihua.rooms.filter(kind=Room.Kind.ELDER_UNIVERSITY).exists():
        Room.objects.create(
            center=baihua,
            name="老年大学分校",
            kind=Room.Kind.ELDER_UNIVERSITY,
            capacity=50,
            floor_area=70,
        )
        made += 1
    return made


def seed_now(as_of: dt.date) -> dt.datetime:
    """The seed's "now": the wall clock on today's date, else 10:00 on the as-of day."""
    wall = _WALL_CLOCK()
    if timezone.localtime(wall).date() == as_of:
        return wall.replace(second=0, microsecond=0)
    return _local(as_of, dt.time(10))


def demo_activities_build(
    rng: random.Random, as_of: dt.date, volume: Volume = DEFAULT_VOLUME
) -> ActivityStats:
    """Opening hours, the rooms needed and a season of activities around ``as_of``."""
    hours = hours_build()
    rooms = rooms_build()
    now = seed_now(as_of)
    with _clock(now) as clock:
        season = _Season(rng, as_of, volume, clock, now)
        stats = season.build()
    stats.hours, stats.rooms = hours, rooms
    return stats


__all__ = ["DEFAULT_VOLUME", "ActivityStats", "Volume", "demo_activities_build", "hours_from_text"]
