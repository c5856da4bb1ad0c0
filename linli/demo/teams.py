"""Each community's service teams: 便民服务队, 健康服务队, 邻里帮帮团 and 银发先锋.

About 400 members in all, whatever the population fraction: the teams are
the city's volunteers, not a share of its residents. Members of the three
functional teams come from "双报到" units, "两新" organisations, community
party members and volunteers, and are often residents of the community
themselves; the silver-haired pioneers are younger-old residents (60–75)
who help the aged.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field

from linli.core.models import User
from linli.core.roles import Role
from linli.demo import geo
from linli.demo.accounts import DEMO_COMMUNITY
from linli.demo.names import Names
from linli.demo.network import Community, Network
from linli.demo.population import DISABLED, apportion, years_before
from linli.people.models import Resident
from linli.teams.models import Member, Skill, Team

FUNCTIONAL_MEMBERS = 315  # in the 57 functional teams
SILVER_MEMBERS = 85  # "全市有80多名低龄老年志愿者"
BATCH = 1000

KINDS = (Team.Kind.CONVENIENCE, Team.Kind.HEALTH, Team.Kind.NEIGHBOURLY, Team.Kind.SILVER)
TEAM_NAMES: dict[str, str] = {
    Team.Kind.CONVENIENCE: "便民服务队",
    Team.Kind.HEALTH: "健康服务队",
    Team.Kind.NEIGHBOURLY: "邻里帮帮团",
    Team.Kind.SILVER: "银发先锋志愿服务队",
}
# What each team does; a member's first skill goes round this list so that a
# team of any size covers its services.
TEAM_SKILLS: dict[str, tuple[str, ...]] = {
    Team.Kind.CONVENIENCE: ("home_repair", "daily_care", "haircut", "meals", "traffic"),
    Team.Kind.HEALTH: ("health_clinic", "escort", "counselling"),
    Team.Kind.NEIGHBOURLY: ("companionship", "daily_care", "home_repair", "tutoring", "traffic"),
    Team.Kind.SILVER: ("companionship", "daily_care", "escort"),
}
S = Member.Source
SOURCE_WEIGHTS: dict[str, dict[str, int]] = {
    Team.Kind.CONVENIENCE: {
        S.DUAL_REPORT: 30,
        S.NEW_ORGS: 15,
        S.PARTY: 25,
        S.VOLUNTEER: 28,
        S.TEACHER: 2,
    },
    # Doctors and nurses of the hospitals that report to the community (双报到).
    Team.Kind.HEALTH: {S.DUAL_REPORT: 40, S.NEW_ORGS: 10, S.PARTY: 20, S.VOLUNTEER: 30},
    Team.Kind.NEIGHBOURLY: {
        S.DUAL_REPORT: 20,
        S.NEW_ORGS: 15,
        S.PARTY: 25,
        S.VOLUNTEER: 35,
        S.TEACHER: 5,
    },
    # Retired cadres, owners' committee members and building heads (楼栋长).
    Team.Kind.SILVER: {S.PARTY: 55, S.VOLUNTEER: 45},
}
# How likely a member of each source lives in the community (and so has a
# resident record): unit staff mostly live elsewhere.
RESIDENT_SHARE: dict[str, float] = {
    S.DUAL_REPORT: 0.3,
    S.NEW_ORGS: 0.35,
    S.PARTY: 0.85,
    S.VOLUNTEER: 0.8,
    S.TEACHER: 0.5,
}


@dataclass(frozen=True)
class Featured:
    """A resident the article names who leads off a community's silver team."""

    community: str
    resident: Resident


@dataclass
class TeamStats:
    teams: int = 0
    members: int = 0
    with_resident: int = 0
    leaders: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class _Slot:
    team: Team
    user: User
    member: Member
    skills: list[str]


def teams_build(
    *,
    seed: int,
    as_of: dt.date,
    network: Network,
    demo_users: dict[str, User],
    featured: list[Featured],
) -> TeamStats:
    """Create the four teams of every community, their leaders and members."""
    weights = [c.weight for c in network.communities]
    functional = apportion(FUNCTIONAL_MEMBERS, weights)
    silver = apportion(SILVER_MEMBERS, weights)
    skills = dict(Skill.objects.values_list("code", "pk"))
    stats = TeamStats()
    slots: list[_Slot] = []
    leaders: list[tuple[Team, User]] = []
    for i, comm in enumerate(network.communities):
        rng = random.Random(f"linli-demo:{seed}:teams:{comm.center.code}")
        builder = _TeamBuilder(
            rng,
            as_of,
            comm,
            demo_users,
            [f.resident for f in featured if f.community == comm.center.code],
        )
        sizes = dict(zip(KINDS[:3], apportion(functional[i], [1, 1, 1]), strict=True))
        sizes[Team.Kind.SILVER] = silver[i]
        for kind in KINDS:
            team, leader = builder.team(kind)
            leaders.append((team, leader))
            slots.extend(builder.member(team, index) for index in range(sizes[kind]))

    new_users = [u for _t, u in leaders if u.pk is None] + [
        s.user for s in slots if s.user.pk is None
    ]
    User.objects.bulk_create(new_users, batch_size=BATCH)
    teams = [t for t, _u in leaders]
    for team, leader in leaders:
        team.leader = leader
    Team.objects.bulk_create(teams, batch_size=BATCH)
    for slot in slots:
        slot.member.team = slot.team
        slot.member.user = slot.user
    Member.objects.bulk_create([s.member for s in slots], batch_size=BATCH)
    through = Member.skills.through
    through.objects.bulk_create(
        [through(member_id=s.member.pk, skill_id=skills[code]) for s in slots for code in s.skills],
        batch_size=BATCH,
    )

    stats.teams = len(teams)
    stats.leaders = len({u.username for _t, u in leaders})
    stats.members = len(slots)
    stats.with_resident = sum(1 for s in slots if s.member.resident_id)
    for s in slots:
        stats.by_kind[s.team.kind] = stats.by_kind.get(s.team.kind, 0) + 1
    return stats


class _TeamBuilder:
    def __init__(
        self,
        rng: random.Random,
        as_of: dt.date,
        comm: Community,
        demo_users: dict[str, User],
        featured: list[Resident],
    ) -> None:
        self.rng = rng
        self.as_of = as_of
        self.comm = comm
        self.demo_users = demo_users if comm.center.code == DEMO_COMMUNITY else {}
        self.names = Names(rng)
        self.numbers = itertools.count(1)
        self.featured = list(featured)
        taken = {r.pk for r in featured}
        self.adults = self._candidates(20, 59, taken)
        self.young_old = self._candidates(60, 75, taken)

    def _candidates(self, youngest: int, oldest: int, taken: set[int]) -> list[int]:
        """Residents of the community of an age to volunteer (never the disabled), by ID number."""
        born_after = years_before(self.as_of, oldest + 1)
        born_by = years_before(self.as_of, youngest)
        pks = (
            Resident.objects.filter(
                community=self.comm.center, birth_date__gt=born_after, birth_date__lte=born_by
            )
            .exclude(care_tags__code=DISABLED)
            .order_by("id_number")
            .values_list("pk", flat=True)
        )
        return [pk for pk in pks if pk not in taken]

    def _pick(self, pool: list[int]) -> Resident | None:
        if not pool:
            return None
        # Swap-remove: O(1), and still a uniform draw.
        i = self.rng.randrange(len(pool))
        pool[i], pool[-1] = pool[-1], pool[i]
        return Resident.objects.only("pk", "name", "gender", "lat", "lon").get(pk=pool.pop())

    def team(self, kind: str) -> tuple[Team, User]:
        code = self.comm.center.code
        if kind == Team.Kind.CONVENIENCE and "demo-leader" in self.demo_users:
            leader = self.demo_users["demo-leader"]
        else:
            gender = self.rng.choice("MF")
            leader = _user(
                f"l-{code}-{str(kind)}",
                Role.LEADER,
                self.comm,
                self.names.full(gender, self.as_of.year - self.rng.randint(35, 58)),
            )
        team = Team(
            name=f"{self.comm.center.name}{TEAM_NAMES[kind]}", kind=kind, community=self.comm.center
        )
        return team, leader

    def member(self, team: Team, index: int) -> _Slot:
        rng, kind = self.rng, team.kind
        team_skills = TEAM_SKILLS[kind]
        skills = [team_skills[index % len(team_skills)]]
        skills += [s for s in team_skills if s not in skills and rng.random() < 0.3][:2]
        resident: Resident | None = None
        user: User | None = None
        source: str
        if kind == Team.Kind.CONVENIENCE and index == 0 and "demo-volunteer" in self.demo_users:
            # The demo volunteer fixes things: orders for home repair reach them.
            user = self.demo_users["demo-volunteer"]
            source = S.PARTY
            skills = ["home_repair", "daily_care"]
        elif kind == Team.Kind.SILVER and index == 0 and self.featured:
            resident = self.featured.pop(0)
            source = S.PARTY
        else:
            weights = SOURCE_WEIGHTS[kind]
            source = rng.choices(list(weights), weights=list(weights.values()))[0]
            if kind == Team.Kind.SILVER:
                resident = self._pick(self.young_old)
            elif rng.random() < RESIDENT_SHARE[source]:
                resident = self._pick(self.adults)
        if resident is not None:
            lat, lon = resident.lat, resident.lon
            name = resident.name
        else:
            # Staff of a reporting unit may live across town.
            lat, lon = geo.near(rng, *self.comm.center.coords(), 0.8, 2.5)
            age = rng.randint(62, 72) if kind == Team.Kind.SILVER else rng.randint(25, 55)
            name = self.names.full(rng.choice("MF"), self.as_of.year - age)
        if user is None:
            user = _user(
                f"m-{self.comm.center.code}-{next(self.numbers)}", Role.VOLUNTEER, self.comm, name
            )
        member = Member(
            resident=resident,
            source=source,
            lat=lat,
            lon=lon,
            availability=_availability(
                rng, "retired" if kind == Team.Kind.SILVER else _profile(source, rng)
            ),
            max_concurrent=rng.randint(2, 4),
            active=rng.random() < 0.95,
            joined_on=self.as_of - dt.timedelta(days=rng.randint(30, 900)),
        )
        return _Slot(team=team, user=user, member=member, skills=skills)


def _user(username: str, role: str, comm: Community, name: str) -> User:
    user = User(username=username, role=role, community=comm.center, first_name=name)
    # They sign in once an administrator gives them a password.
    user.set_unusable_password()
    return user


def _profile(source: str, rng: random.Random) -> str:
    if source in (S.DUAL_REPORT, S.NEW_ORGS, S.TEACHER):
        return "working"
    return rng.choice(("working", "flexible", "flexible"))


def _availability(rng: random.Random, profile: str) -> list[list[int | str]]:
    """Weekly free time as [weekday (0 = Monday), "HH:MM", "HH:MM"] entries."""
    slots: list[list[int | str]] = []
    if profile == "retired":
        for day in sorted(rng.sample(range(7), rng.randint(3, 5))):
            if rng.random() < 0.8:
                slots.append([day, "08:30", "11:30"])
            if rng.random() < 0.6:
                slots.append([day, "15:00", "17:30"])
    elif profile == "working":
        for day in sorted(rng.sample(range(5), rng.randint(1, 3))):
            slots.append([day, "19:00", "21:00"])
        if rng.random() < 0.7:
            slots.append([rng.choice((5, 6)), "09:00", "17:00"])
    else:
        options = (("09:00", "12:00"), ("14:30", "17:30"), ("19:00", "21:00"))
        for day in sorted(rng.sample(range(7), rng.randint(3, 4))):
            start, end = rng.choice(options)
            slots.append([day, start, end])
    if not slots:
        slots.append([5, "09:00", "12:00"])
    return sorted(slots)
