"""A season of activities at Cenxi's centers, made through the activities services.

The centers' opening hours from their notices; then, around the seed's day:
the daily opera screening (牛娘戏日播剧场) at 百花社区, 红歌大家唱 and 周末音乐课堂
at the communities' 老年大学分校, last summer's class of seven courses for
children (阅读, 棋艺, 安全教育, 画画, 书法, 武术, 烹饪) and the coming winter
class, a 长者生日会 and a 亲子有约 every month in every community, 防溺水 and 消防
talks. Past sessions have their sign-ups and attendance, each made on a clock
set before (or at) the session, as a resident, a guardian or the desk would
have made it; nothing writes the room calendar but its service.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field

from django.test import override_settings
from django.utils import timezone

from linli.activities import services
from linli.activities.models import Activity, Session, Signup
from linli.core.errors import AppError
from linli.core.models import User
from linli.demo.orders import _clock
from linli.network.models import Center, OpeningHours, Room
from linli.people import ages
from linli.people.models import Resident

WEEKDAYS = "一二三四五六日"
# "周一至周五" or "周六": written with escapes, the pattern's ASCII stays ASCII.
_DAYS = re.compile("\u5468([" + WEEKDAYS + "])(?:\u81f3\u5468([" + WEEKDAYS + "]))?")
_SPAN = re.compile(r"(\d{1,2}):(\d{2})\s*[–-]\s*(\d{1,2}):(\d{2})")


def parse_hours(text: str) -> list[tuple[int, dt.time, dt.time]]:
    """ "周一至周五 08:00–12:00, 14:30–17:30;周末 09:00–17:00" as (weekday, opens, closes)."""
    out: list[tuple[int, dt.time, dt.time]] = []
    for part in re.split(r"[;；]", text or ""):
        part = part.strip()
        if not part:
            continue
        if part.startswith("周末"):
            days = [5, 6]
        else:
            m = _DAYS.match(part)
            if m is None:
                continue
            a = WEEKDAYS.index(m.group(1))
            b = WEEKDAYS.index(m.group(2)) if m.group(2) else a
            days = list(range(a, b + 1))
        for h1, m1, h2, m2 in _SPAN.findall(part):
            opens, closes = dt.time(int(h1), int(m1)), dt.time(int(h2), int(m2))
            out += [(d, opens, closes) for d in days]
    return out


def hours_install() -> int:
    rows = [
        OpeningHours(center=c, weekday=d, opens=o, closes=e)
        for c in Center.objects.exclude(opening_hours="")
        for d, o, e in parse_hours(c.opening_hours)
    ]
    OpeningHours.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


@dataclass
class SeasonStats:
    hours: int = 0
    activities: int = 0
    sessions: int = 0
    held: int = 0
    signups: int = 0
    attended: int = 0
    refused: int = 0  # a room taken or outside its hours: the seed skips that one
    by_kind: dict[str, int] = field(default_factory=dict)


def _at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=timezone.get_current_timezone())


class _Season:
    def __init__(self, rng: random.Random, today: dt.date, city: User) -> None:
        self.rng = rng
        self.today = today
        self.city = city
        self.stats = SeasonStats()

    def put_on(
        self, room: Room | None, when: tuple[dt.datetime, dt.datetime], **kw: object
    ) -> Activity | None:
        if room is None:
            return None
        starts, ends = when
        data = services.ActivityInput(room=room.pk, starts=starts, ends=ends, **kw)  # type: ignore[arg-type]
        data.capacity = min(data.capacity, room.capacity)
        made_at = min(starts, timezone.now()) - dt.timedelta(days=14)
        try:
            with _clock(made_at):
                activity = services.activity_create(actor=self.city, data=data)
        except AppError:
            self.stats.refused += 1
            return None
        n = activity.sessions.count()
        self.stats.activities += 1
        self.stats.sessions += n
        self.stats.by_kind[data.kind] = self.stats.by_kind.get(data.kind, 0) + 1
        return activity

    def sign_and_attend(
        self, activity: Activity | None, people: list[Resident], *, attend_last: int = 0
    ) -> None:
        """Sign ``people`` up (a few days before) and tick the last ``attend_last`` held sessions."""
        if activity is None or not people:
            return
        sessions = list(
            activity.sessions.filter(status=Session.Status.SCHEDULED).order_by("starts")
        )
        now = timezone.now()
        units: list[Session | None] = list(sessions) if activity.per_session else [None]
        made: list[tuple[Signup, Session | None]] = []
        for unit in units:
            first = unit or sessions[0]
            if unit is not None and unit.starts > now + dt.timedelta(days=7):
                continue  # a drop-in session weeks away: nobody has signed up yet
            when = min(first.starts - dt.timedelta(days=self.rng.randint(1, 4)), now)
            chosen = (
                people
                if unit is None
                else self.rng.sample(people, min(len(people), self.rng.randint(3, 9)))
            )
            with _clock(when):
                for p in chosen:
                    try:
                        s = services.signup_create(
                            actor=self.city,
                            activity_id=activity.pk,
                            person_id=p.pk,
                            session_id=unit.pk if unit else None,
                        )
                    except AppError:
                        continue
                    made.append((s, unit))
                    self.stats.signups += 1
        held = [s for s in sessions if s.ends <= now]
        for session in held[-attend_last:] if attend_last else []:
            for signup, unit in made:
                if signup.status != Signup.Status.CONFIRMED or (
                    unit is not None and unit.pk != session.pk
                ):
                    continue
                with _clock(session.starts + dt.timedelta(minutes=5)):
                    services.attendance_record(
                        actor=self.city,
                        session_id=session.pk,
                        signup_id=signup.pk,
                        present=self.rng.random() < 0.85,
                    )
                self.stats.attended += 1


def _nobody(activity: Activity | None, people: list[Resident], *, attend_last: int = 0) -> None:
    """Where the demo keeps no sign-ups: the sessions alone."""


def _room(rooms: dict[str, Room], *kinds: str) -> Room | None:
    return next((rooms[k] for k in kinds if k in rooms), None)


def _people(
    community: Center,
    group: ages.AgeGroup,
    on: dt.date,
    n: int,
    rng: random.Random,
    max_age: int | None = None,
) -> list[Resident]:
    q = Resident.objects.filter(ages.birth_date_q(group, on), community=community)
    if max_age is not None:
        q = q.filter(
            ages.birth_date_q(ages.AgeGroup("band", group.label, group.min_age, max_age), on)
        )
    pool = list(q.order_by("pk").values_list("pk", flat=True)[:400])
    picked = rng.sample(pool, min(n, len(pool)))
    return list(Resident.objects.filter(pk__in=picked).order_by("pk"))


def season_build(
    rng: random.Random,
    today: dt.date | None = None,
    summer_in: tuple[str, ...] = ("baihua", "xingye"),
) -> SeasonStats:
    """Opening hours for every center, then the season's activities (see the module)."""
    today = today or timezone.localdate()
    city = User.objects.get(username="demo-city")
    season = _Season(rng, today, city)
    season.stats.hours = hours_install()
    communities = list(Center.objects.filter(kind=Center.Kind.COMMUNITY).order_by("code"))
    rooms_of: dict[int, dict[str, Room]] = {}
    for room in Room.objects.filter(center__in=communities).order_by("pk"):
        rooms_of.setdefault(room.center_id, {}).setdefault(room.kind, room)

    first_of_month = today.replace(day=1)
    months = []
    for back in range(-2, 2):
        y, m = divmod(first_of_month.month - 1 + back, 12)
        months.append(dt.date(first_of_month.year + y, m + 1, 1))

    with override_settings(LINLI_NOTIFY_CHANNELS=["linli.notify.channels.InboxChannel"]):
        for c in communities:
            rooms = rooms_of.get(c.pk, {})
            short = c.name.removesuffix("社区")
            # Sign-ups and attendance where the demo accounts live; elsewhere the sessions held.
            crowd = season.sign_and_attend if c.code in summer_in else _nobody
            hall = _room(rooms, "hall", "children")
            for month in months:
                day = month.replace(day=15)
                party = season.put_on(
                    hall,
                    (_at(day, 15), _at(day, 16, 30)),
                    title=f"{month.month}月长者生日会",
                    kind="birthday",
                    capacity=40,
                    audience="elders",
                    mode=Activity.Mode.ONE_OFF,
                    organiser_name=c.name,
                )
                if party is not None and month <= first_of_month:
                    born = [
                        p
                        for p in _people(c, ages.ELDERLY, day, 200, rng)
                        if p.birth_date.month == month.month
                    ]
                    crowd(party, born[:12], attend_last=1)
                family = month.replace(day=8 if month.replace(day=8).weekday() >= 5 else 9)
                while family.weekday() != 5:
                    family += dt.timedelta(days=1)
                outing = season.put_on(
                    _room(rooms, "children", "hall"),
                    (_at(family, 10), _at(family, 11, 30)),
                    title=f"亲子有约·{month.month}月",
                    kind="parent_child",
                    capacity=30,
                    audience="families",
                    mode=Activity.Mode.ONE_OFF,
                    organiser_name=c.name,
                )
                if outing is not None and month < first_of_month:
                    crowd(outing, _people(c, ages.CHILD, family, 10, rng), attend_last=1)
            # Safety talks: drowning before last summer, fire safety next month.
            drowning = dt.date(today.year if today.month > 7 else today.year - 1, 6, 20)
            while drowning.weekday() != 5:
                drowning += dt.timedelta(days=1)
            talk = season.put_on(
                hall,
                (_at(drowning, 9, 30), _at(drowning, 10, 30)),
                title="防溺水安全讲座",
                kind="drowning",
                capacity=60,
                audience="children",
                mode=Activity.Mode.ONE_OFF,
                organiser_name=c.name,
            )
            crowd(talk, _people(c, ages.CHILD, drowning, 20, rng), attend_last=1)
            fire = months[3].replace(day=10)
            while fire.weekday() != 5:
                fire += dt.timedelta(days=1)
            season.put_on(
                hall,
                (_at(fire, 9, 30), _at(fire, 10, 30)),
                title="消防安全进社区",
                kind="fire_safety",
                capacity=60,
                audience="everyone",
                mode=Activity.Mode.ONE_OFF,
                organiser_name=c.name,
            )
            # The 老年大学分校: songs on Tuesdays, the music class on Saturdays, eight weeks each way.
            school = rooms.get("elder_university")
            if school is not None:
                start = today - dt.timedelta(weeks=8)
                for title, kind, weekday, hh in (
                    ("红歌大家唱", "singing", 1, 9),
                    ("周末音乐课堂", "music", 5, 10),
                ):
                    d = start
                    while d.weekday() != weekday:
                        d += dt.timedelta(days=1)
                    series = season.put_on(
                        school,
                        (_at(d, hh), _at(d, hh, 0) + dt.timedelta(minutes=90)),
                        title=title,
                        kind=kind,
                        capacity=40,
                        audience="elders",
                        mode=Activity.Mode.DROP_IN,
                        rrule="FREQ=WEEKLY;COUNT=16",
                        organiser="elder_university",
                        organiser_name=f"老年大学{short}分校",
                    )
                    crowd(series, _people(c, ages.ELDERLY, today, 30, rng), attend_last=3)

        # 百花社区's daily opera, sixty days back and thirty ahead.
        baihua = next((c for c in communities if c.code == "baihua"), None)
        theatre = _room(rooms_of.get(baihua.pk, {}), "theatre") if baihua else None
        if baihua is not None:
            first = today - dt.timedelta(days=60)
            opera = season.put_on(
                theatre,
                (_at(first, 15), _at(first, 16, 30)),
                title="牛娘戏日播剧场",
                kind="opera",
                capacity=80,
                audience="everyone",
                mode=Activity.Mode.DROP_IN,
                rrule="FREQ=DAILY;COUNT=91",
                organiser_name=baihua.name,
                description="每天下午放映经典牛娘戏，欢迎街坊邻里来看。",
            )
            season.sign_and_attend(
                opera, _people(baihua, ages.ELDERLY, today, 40, rng), attend_last=6
            )
            # The demo resident (80, living alone) has this week's screenings in his list.
            me = Resident.objects.filter(account__username="demo-resident").first()
            demo = User.objects.filter(username="demo-resident").first()
            if opera is not None and me is not None and demo is not None:
                week = opera.sessions.filter(
                    starts__gte=timezone.now(), starts__lt=timezone.now() + dt.timedelta(days=7)
                ).order_by("starts")
                for session in list(week)[::2]:
                    try:
                        services.signup_create(
                            actor=demo, activity_id=opera.pk, person_id=me.pk, session_id=session.pk
                        )
                        season.stats.signups += 1
                    except AppError:
                        pass

        # Last summer's class (7 July – 29 August) and the coming winter class.
        summer = today.year if today.month > 8 else today.year - 1
        courses = (
            ("阅读", "reading", ("reading",), "MO,WE,FR", 9),
            ("棋艺", "chess", ("children",), "TU,TH", 9),
            ("安全教育", "safety", ("hall",), "FR", 15),
            ("画画", "painting", ("calligraphy",), "TU,TH", 9),
            ("书法", "calligraphy", ("calligraphy",), "MO,WE", 10),
            ("武术", "martial_arts", ("hall",), "MO,WE", 9),
            ("烹饪", "cooking", ("canteen",), "TH", 15),
        )
        winter = dt.date(today.year + (1 if today.month >= 2 else 0), 1, 19)
        for c in [c for c in communities if c.code in summer_in]:
            rooms = rooms_of.get(c.pk, {})
            for name, kind, kinds, days, hh in courses:
                begin = dt.date(summer, 7, 7)
                course = season.put_on(
                    _room(rooms, *kinds),
                    (_at(begin, hh), _at(begin, hh, 30) + dt.timedelta(hours=1)),
                    title=f"暑期{name}班",
                    kind=kind,
                    capacity=20,
                    audience="children",
                    mode=Activity.Mode.COURSE,
                    rrule=f"FREQ=WEEKLY;BYDAY={days};UNTIL={summer}0829T235959",
                    organiser_name=c.name,
                )
                season.sign_and_attend(
                    course, _people(c, ages.CHILD, begin, 8, rng, max_age=12), attend_last=3
                )
            for name, kind, kinds, hh in (
                ("书法", "calligraphy", ("calligraphy",), 10),
                ("阅读", "reading", ("reading",), 9),
            ):
                season.put_on(
                    _room(rooms, *kinds),
                    (_at(winter, hh), _at(winter, hh) + dt.timedelta(minutes=90)),
                    title=f"寒假{name}班",
                    kind=kind,
                    capacity=20,
                    audience="children",
                    mode=Activity.Mode.COURSE,
                    rrule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=10",
                    organiser_name=c.name,
                    signup_closes=_at(winter, 0),
                )
    season.stats.held = Session.objects.filter(
        status=Session.Status.SCHEDULED, ends__lte=timezone.now()
    ).count()
    return season.stats
