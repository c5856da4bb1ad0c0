"""Residents of the 19 communities, in households, with guardians and care tags.

The article's age mix is reproduced exactly, not just on average: the number
of children (0–14), adults, younger-old (60–79) and aged (80+) is fixed first
(a share of the population, apportioned over the communities by size), and the
households are then built out of those quotas, each person's age drawn so that
the family is plausible (a mother 21–34 years older than her eldest child, a
grandparent older than the parents). A sample of 7,000 people therefore shows
29.86 % children and 15.76 % elderly to the person, whatever the seed.

Ages are relative to an "as of" day, normally today, so that the 80-year-old
is 80 on the day the demo is used; the data is a function of (seed, fraction,
as-of day).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from linli.core.models import User
from linli.demo import geo, reference
from linli.demo.idnumbers import IdNumbers
from linli.demo.names import Names
from linli.demo.network import Community, Network
from linli.people.models import (
    CareTag,
    Guardianship,
    Household,
    Resident,
    name_initials,
    name_pinyin,
)

CHILD_SHARE = 0.2986  # aged 0–14, as the article has it
ELDERLY_SHARE = 0.1576  # aged 60 and over
AGED_SHARE = 0.025  # aged 80 and over, a part of the elderly (China's 2020 census: ~2.5 %)

# Write in slices of about this many people: memory stays flat at 720,000.
FLUSH_PEOPLE = 20_000
BATCH = 1000

# Relative numbers of people of each age, after China's 2020 census: of the
# 60–79, a third are 60–64 and a seventh 75–79; of the 80+, 57 % are 80–84.
ELDER_AGE_WEIGHTS = dict(
    zip(
        range(60, 80),
        [68, 67, 66, 65, 64, 64, 64, 63, 62, 61, 50, 45, 41, 38, 36, 32, 29, 27, 26, 24],
        strict=True,
    )
)
AGED_AGE_WEIGHTS = dict(
    zip(
        range(80, 101),
        [14, 13, 12, 11, 10, 8, 7, 6.5, 5.5, 5, 3.5, 3, 2.5, 1.5, 1, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
        strict=True,
    )
)


def _free_adult_weight(age: int) -> float:
    return 1.3 if age < 30 else 0.3 if age < 45 else 2.0


MOBILE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 177 180 181 182 183 184 185 186 187 188 189 191 198 199"
).split()
# 岑溪's fixed lines are 0774-82xxxxx; many older people keep one.
LANDLINE_PREFIX = "0774-82"

LIVING_ALONE = "living_alone"
EMPTY_NEST = "empty_nest"
DISABLED = "disabled"
LOW_INCOME = "low_income"
LEFT_BEHIND = "left_behind"
EXTREME_HARDSHIP = "extreme_hardship"
TAGS = (LIVING_ALONE, EMPTY_NEST, DISABLED, LOW_INCOME, LEFT_BEHIND, EXTREME_HARDSHIP)


@dataclass(slots=True)
class Quotas:
    child: int
    adult: int
    elder: int  # 60–79
    aged: int  # 80+


@dataclass(slots=True, eq=False)
class Person:
    name: str
    gender: str
    age: int
    birth_date: dt.date
    id_number: str
    phone: str
    tags: list[str] = field(default_factory=list)
    account: User | None = None
    resident: Resident | None = None  # once written

    @property
    def resident_id(self) -> int:
        """The written row's id (only after the bulk insert)."""
        assert self.resident is not None, "the person has not been written yet"
        return self.resident.pk


@dataclass(slots=True, eq=False)
class Home:
    code: str
    address: str
    lat: float
    lon: float
    people: list[Person] = field(default_factory=list)


@dataclass(slots=True)
class Cluster:
    """Households written together: guardian links may cross between them."""

    homes: list[Home] = field(default_factory=list)
    # (ward, guardian, relation of the guardian to the ward)
    links: list[tuple[Person, Person, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Pin:
    """A named person the demo needs (an account, someone from the article)."""

    key: str
    community: str
    name: str
    gender: str
    age: int
    household: str  # "alone" (with a grown-up child nearby) or "couple"
    exact_birthday: bool = False  # born exactly ``age`` years before the as-of day
    account: User | None = None


@dataclass
class PopulationStats:
    residents: int = 0
    households: int = 0
    guardianships: int = 0
    by_group: Counter[str] = field(default_factory=Counter)
    by_tag: Counter[str] = field(default_factory=Counter)


def population_quotas(fraction: float) -> Quotas:
    n = round(reference.cenxi()["population"] * fraction)
    child = round(n * CHILD_SHARE)
    elderly = round(n * ELDERLY_SHARE)
    aged = round(n * AGED_SHARE)
    return Quotas(child=child, adult=n - child - elderly, elder=elderly - aged, aged=aged)


def apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), summing exactly."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def population_build(
    *, seed: int, fraction: float, as_of: dt.date, network: Network, pins: list[Pin]
) -> tuple[PopulationStats, dict[str, Person]]:
    """Create households, residents, care tags and guardianships for every community."""
    quotas = population_quotas(fraction)
    weights = [c.weight for c in network.communities]
    shares = {
        name: apportion(getattr(quotas, name), weights)
        for name in ("child", "adult", "elder", "aged")
    }
    tag_ids = dict(CareTag.objects.values_list("code", "pk"))
    shared = _Shared(as_of=as_of, id_rng=random.Random(f"linli-demo:{seed}:ids"))
    writer = _Writer(tag_ids)
    pinned: dict[str, Person] = {}
    for i, comm in enumerate(network.communities):
        q = Quotas(*(shares[name][i] for name in ("child", "adult", "elder", "aged")))
        rng = random.Random(f"linli-demo:{seed}:people:{comm.center.code}")
        builder = _Builder(rng, shared, comm, q)
        for pin in pins:
            if pin.community == comm.center.code:
                cluster, person = builder.pinned(pin)
                pinned[pin.key] = person
                writer.add(comm, cluster)
        for cluster in builder.clusters():
            writer.add(comm, cluster)
    writer.flush()
    _search_keys.cache_clear()  # a full-scale run leaves 100,000 names in it
    return writer.stats, pinned


def years_before(on: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier (28 February for a 29th without one)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February in a year that has none
        return on.replace(year=on.year - years, day=28)


@lru_cache(maxsize=200_000)
def _search_keys(name: str) -> tuple[str, str]:
    # The same functions Resident.refresh_search_keys() uses, once per distinct
    # name: pypinyin is the slowest step of a 720,000-person run otherwise.
    return name_initials(name), name_pinyin(name)


class _Shared:
    """What must be unique or consistent across communities."""

    def __init__(self, as_of: dt.date, id_rng: random.Random) -> None:
        self.as_of = as_of
        self.ids = IdNumbers(id_rng)
        self.phones: set[str] = set()
        self._windows: dict[int, tuple[dt.date, int]] = {}

    def birth_window(self, age: int) -> tuple[dt.date, int]:
        """The latest birth date for ``age`` on the as-of day and how many days the year spans."""
        window = self._windows.get(age)
        if window is None:
            latest = years_before(self.as_of, age)
            window = (latest, (latest - years_before(self.as_of, age + 1)).days)
            self._windows[age] = window
        return window


class _Builder:
    """Makes one community's households out of its quotas."""

    def __init__(
        self, rng: random.Random, shared: _Shared, comm: Community, quotas: Quotas
    ) -> None:
        self.rng = rng
        self.shared = shared
        self.comm = comm
        self.q = quotas
        self.names = Names(rng)
        self.estates = [s for s in comm.sites if s.estate]
        self.home_numbers = itertools.count(1)
        self.elder_cum = list(itertools.accumulate(ELDER_AGE_WEIGHTS.values()))
        self.aged_cum = list(itertools.accumulate(AGED_AGE_WEIGHTS.values()))

    # -- households --------------------------------------------------------

    def clusters(self) -> Iterator[Cluster]:
        # Children first: they need parents and grandparents of fitting ages,
        # and adults and elders are plentiful enough to supply them.
        while self.q.child > 0:
            yield self.family()
        while self.q.elder + self.q.aged > 0:
            yield self.elders()
        while self.q.adult > 0:
            yield self.adults()

    def family(self) -> Cluster:
        rng, q = self.rng, self.q
        k = min(q.child, rng.choices((1, 2, 3), weights=(35, 47, 18))[0])
        q.child -= k
        kid_ages = sorted(rng.sample(range(15), k), reverse=True)
        home = self.home()
        cluster = Cluster(homes=[home])
        surname = self.names.surname()
        # 21–34 at her first child's birth, and not past 42 at her last.
        mother_age = min(59, kid_ages[0] + rng.randint(21, 34), kid_ages[-1] + 42)
        father_age = max(18, min(59, mother_age + rng.randint(-1, 5)))

        # Cenxi sends many parents to work in Guangdong; their children stay with grandparents.
        if rng.random() < 0.12 and q.elder + q.aged > 0:
            grandparents = self.grandparents(home, surname, father_age)
            for age in kid_ages:
                kid = self.add(home, self.child(age, surname, [LEFT_BEHIND]))
                cluster.links.append(
                    (kid, rng.choice(grandparents), Guardianship.Relation.GRANDPARENT)
                )
            return self.maybe_low_income(cluster)

        parents: list[Person] = []
        if rng.random() < 0.92:
            if self.take_adult():
                parents.append(self.add(home, self.person(father_age, "M", surname)))
            if self.take_adult():
                parents.append(self.add(home, self.person(mother_age, "F")))
        elif self.take_adult():
            single = rng.choice(("M", "F"))
            parents.append(
                self.add(
                    home, self.person(father_age if single == "M" else mother_age, single, surname)
                )
            )
        if kid_ages[0] >= 8 and rng.random() < 0.3 and self.take_adult():
            # An older brother or sister, 15–22, still living at home.
            self.add(
                home,
                self.person(
                    max(15, min(22, kid_ages[0] + rng.randint(2, 8))), rng.choice("MF"), surname
                ),
            )
        for age in kid_ages:
            kid = self.add(home, self.child(age, surname))
            if parents:
                cluster.links.append((kid, rng.choice(parents), Guardianship.Relation.PARENT))
        # 三代同堂: grandparents living with the family.
        if parents and rng.random() < 0.22 and q.elder + q.aged > 0:
            for grandparent in self.grandparents(home, surname, max(p.age for p in parents)):
                cluster.links.append((grandparent, parents[0], Guardianship.Relation.CHILD))
        return self.maybe_low_income(cluster)

    def elders(self) -> Cluster:
        rng = self.rng
        home = self.home()
        cluster = Cluster(homes=[home])
        first = self.add(
            home, self.elder(self.take_elder(), rng.choices("FM", weights=(55, 45))[0])
        )
        r = rng.random()
        if r < 0.33:
            first.tags.append(LIVING_ALONE)
            if rng.random() < 0.04:
                first.tags.append(EXTREME_HARDSHIP)
            if rng.random() < 0.55:
                self.child_nearby(cluster, [first])
        elif r < 0.78:
            second = self.spouse(home, first)
            if second is None:
                first.tags.append(LIVING_ALONE)
            else:
                for p in (first, second):
                    p.tags.append(EMPTY_NEST)
                for ward, carer in ((first, second), (second, first)):
                    if DISABLED in ward.tags and DISABLED not in carer.tags:
                        cluster.links.append((ward, carer, Guardianship.Relation.SPOUSE))
                if rng.random() < 0.45:
                    self.child_nearby(cluster, [first, second])
        else:
            # Living with a grown-up son or daughter (and perhaps their spouse).
            old = [first]
            if rng.random() < 0.4 and (second := self.spouse(home, first)) is not None:
                old.append(second)
            if self.take_adult():
                father = next((p for p in old if p.gender == "M"), None)
                surname = father.name[0] if father else None
                child = self.add(
                    home, self.person(self.child_age_of(first), rng.choice("MF"), surname)
                )
                if rng.random() < 0.6 and self.take_adult():
                    self.add(
                        home,
                        self.person(
                            max(18, min(59, child.age + rng.randint(-4, 4))),
                            "F" if child.gender == "M" else "M",
                        ),
                    )
                cluster.links.extend((p, child, Guardianship.Relation.CHILD) for p in old)
        return self.maybe_low_income(cluster)

    def adults(self) -> Cluster:
        rng = self.rng
        home = self.home()
        self.take_adult()
        r = rng.random()
        if r < 0.3:
            self.add(home, self.person(self.free_adult_age(18), rng.choice("MF")))
        elif r < 0.95:
            surname = self.names.surname()
            husband_age = self.free_adult_age(22) if r < 0.75 else rng.randint(42, 59)
            husband = self.add(home, self.person(husband_age, "M", surname))
            if self.take_adult():
                self.add(home, self.person(max(18, min(59, husband.age - rng.randint(-2, 5))), "F"))
            if r >= 0.75:
                # Parents with a grown child of 15–24 at home.
                for _ in range(rng.choice((1, 1, 2))):
                    if self.take_adult():
                        self.add(
                            home,
                            self.person(
                                max(15, min(24, husband.age - rng.randint(22, 32))),
                                rng.choice("MF"),
                                surname,
                            ),
                        )
        else:
            # Young people sharing a flat.
            self.add(home, self.person(rng.randint(18, 30), rng.choice("MF")))
            for _ in range(rng.randint(1, 2)):
                if self.take_adult():
                    self.add(home, self.person(rng.randint(18, 30), rng.choice("MF")))
        return self.maybe_low_income(Cluster(homes=[home]))

    def pinned(self, pin: Pin) -> tuple[Cluster, Person]:
        """The household of a named person, built like any other from the quotas."""
        home = self.home()
        cluster = Cluster(homes=[home])
        group = "aged" if pin.age >= 80 else "elder" if pin.age >= 60 else "adult"
        if group == "adult":
            self.take_adult()
        else:
            self.take_elder(prefer_aged=group == "aged")
        person = self.person(pin.age, pin.gender, exact=pin.exact_birthday)
        person.name = pin.name
        person.account = pin.account
        self.add(home, person)
        if pin.household == "alone":
            person.tags.append(LIVING_ALONE)
            self.child_nearby(cluster, [person], surname=pin.name[0] if pin.gender == "M" else None)
        else:
            spouse = self.spouse(home, person)
            if spouse is not None:
                for p in (person, spouse):
                    p.tags.append(EMPTY_NEST)
        return cluster, person

    # -- pieces ------------------------------------------------------------

    def grandparents(self, home: Home, surname: str, parent_age: int) -> list[Person]:
        rng = self.rng
        count = 2 if rng.random() < 0.6 else 1
        # A lone grandparent is more often the grandmother: women live longer.
        genders = ["M", "F"] if count == 2 else [rng.choices("FM", weights=(65, 35))[0]]
        out: list[Person] = []
        for gender in genders:
            lowest, highest = parent_age + 20, parent_age + 40
            group = self.take_elder(prefer_aged=None if lowest < 80 <= highest else lowest >= 80)
            if group is None:
                break
            age = self.elder_age(group, lowest, highest)
            out.append(
                self.add(
                    home, self.elder(group, gender, surname if gender == "M" else None, age=age)
                )
            )
        return out

    def spouse(self, home: Home, partner: Person) -> Person | None:
        rng = self.rng
        gender = "F" if partner.gender == "M" else "M"
        # Husbands are a few years older, on average.
        target = partner.age + (-rng.randint(-1, 5) if gender == "F" else rng.randint(-1, 5))
        # Only from the group the age falls in: when it has run out, the
        # partner is widowed rather than married to someone twenty years apart.
        group = self.take_elder(prefer_aged=target >= 80, strict=True)
        if group is None:
            return None
        age = min(target, 100) if group == "aged" else max(target, 60)
        return self.add(home, self.elder(group, gender, age=age))

    def child_nearby(
        self, cluster: Cluster, parents: list[Person], surname: str | None = None
    ) -> None:
        """A son or daughter with a home of their own in the community, who can act for them."""
        if not self.take_adult():
            return
        rng = self.rng
        home = self.home()
        cluster.homes.append(home)
        if surname is None:
            father = next((p for p in parents if p.gender == "M"), None)
            surname = father.name[0] if father else None
        oldest = max(parents, key=lambda p: p.age)
        child = self.add(home, self.person(self.child_age_of(oldest), rng.choice("MF"), surname))
        if rng.random() < 0.7 and self.take_adult():
            self.add(
                home,
                self.person(
                    max(18, min(59, child.age + rng.randint(-4, 4))),
                    "F" if child.gender == "M" else "M",
                ),
            )
        cluster.links.extend((p, child, Guardianship.Relation.CHILD) for p in parents)

    def child_age_of(self, parent: Person) -> int:
        return max(18, min(59, parent.age - self.rng.randint(24, 36)))

    def maybe_low_income(self, cluster: Cluster) -> Cluster:
        # 低保 is granted to a household, so every member carries the tag.
        if self.rng.random() < 0.025:
            for p in cluster.homes[0].people:
                p.tags.append(LOW_INCOME)
        return cluster

    def home(self) -> Home:
        rng = self.rng
        n = next(self.home_numbers)
        code = f"{self.comm.center.code.upper()[:3]}{n:06d}"
        if self.estates and rng.random() < 0.55:
            site = rng.choice(self.estates)
            lat, lon = geo.near(rng, *site.center.coords(), 0.08, 0.25)
            # The estate's own address (its N-center's), then building and flat.
            address = f"{site.center.address}{rng.randint(1, 24)}栋{rng.randint(1, 18)}{rng.randint(1, 4):02d}"
        else:
            center = self.comm.center
            lat, lon = geo.near(rng, *center.coords(), 0.4, 1.2)
            street = rng.choice(self.comm.streets)
            if rng.random() < 0.4:
                # Self-built family houses line the old streets.
                address = f"岑溪市岑城镇{street}{rng.randint(1, 400)}号"
            else:
                address = f"岑溪市岑城镇{street}{rng.randint(1, 400)}号{rng.randint(1, 9)}栋{rng.randint(1, 9)}{rng.randint(1, 4):02d}"
        return Home(code=code, address=address, lat=lat, lon=lon)

    def add(self, home: Home, person: Person) -> Person:
        home.people.append(person)
        return person

    def take_adult(self) -> bool:
        if self.q.adult > 0:
            self.q.adult -= 1
            return True
        return False

    def take_elder(self, prefer_aged: bool | None = None, strict: bool = False) -> str | None:
        """Use up one elderly place: "aged" (80+) or "elder" (60–79), None if none are left.

        With ``strict``, only the preferred group will do.
        """
        q = self.q
        left = q.elder + q.aged
        if left == 0:
            return None
        if prefer_aged is None:
            # Drawn without replacement, so the 80+ share comes out exact.
            aged = self.rng.randrange(left) < q.aged
        else:
            if (q.aged if prefer_aged else q.elder) > 0:
                aged = prefer_aged
            elif strict:
                return None
            else:
                aged = not prefer_aged
        if aged:
            q.aged -= 1
            return "aged"
        q.elder -= 1
        return "elder"

    def free_adult_age(self, lowest: int) -> int:
        """The age of an adult with no child at home.

        Parents of the many children take most adults of 30–44, so the rest
        lean to the young (before children) and to 45–59 (children grown up
        and gone): together the 15–59 span comes out about as the census has it.
        """
        ages = range(lowest, 60)
        return self.rng.choices(ages, weights=[_free_adult_weight(a) for a in ages])[0]

    def elder_age(self, group: str, lowest: int = 0, highest: int = 200) -> int:
        """An age in ``group``, as the census spreads them, within [lowest, highest] if it can be."""
        table, cum = (
            (AGED_AGE_WEIGHTS, self.aged_cum)
            if group == "aged"
            else (ELDER_AGE_WEIGHTS, self.elder_cum)
        )
        ages = list(table)
        if lowest <= ages[0] and highest >= ages[-1]:
            return self.rng.choices(ages, cum_weights=cum)[0]
        allowed = [a for a in ages if lowest <= a <= highest]
        if not allowed:
            return ages[-1] if lowest > ages[-1] else ages[0]
        return self.rng.choices(allowed, weights=[table[a] for a in allowed])[0]

    def elder(
        self, group: str | None, gender: str, surname: str | None = None, age: int | None = None
    ) -> Person:
        if age is None:
            age = self.elder_age(group or "elder")
        person = self.person(age, gender, surname)
        if self.rng.random() < (0.12 if age >= 80 else 0.02):
            person.tags.append(DISABLED)
        return person

    def child(self, age: int, surname: str, tags: list[str] | None = None) -> Person:
        person = self.person(age, self.rng.choice("MF"), surname)
        person.tags.extend(tags or ())
        return person

    def person(
        self, age: int, gender: str, surname: str | None = None, exact: bool = False
    ) -> Person:
        rng = self.rng
        latest, span = self.shared.birth_window(age)
        birth = latest if exact else latest - dt.timedelta(days=rng.randrange(span))
        return Person(
            name=self.names.full(gender, birth.year, surname),
            gender=gender,
            age=age,
            birth_date=birth,
            id_number=self.shared.ids.issue(birth, gender),
            phone=self.phone(age),
        )

    def phone(self, age: int) -> str:
        rng = self.rng
        r = rng.random()
        if age < 12:
            return ""
        if age < 15:
            kind = "mobile" if r < 0.3 else ""
        elif age < 60:
            kind = "mobile" if r < 0.97 else ""
        elif age < 80:
            kind = "mobile" if r < 0.8 else "landline" if r < 0.9 else ""
        else:
            # Many of the aged have no smartphone: the dispatcher orders for them.
            kind = "mobile" if r < 0.45 else "landline" if r < 0.7 else ""
        if not kind:
            return ""
        while True:
            if kind == "mobile":
                number = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
            else:
                number = f"{LANDLINE_PREFIX}{rng.randrange(10**5):05d}"
            if number not in self.shared.phones:
                self.shared.phones.add(number)
                return number


class _Writer:
    """Buffers clusters and writes them with bulk_create, a slice at a time."""

    def __init__(self, tag_ids: dict[str, int]) -> None:
        self.tag_ids = tag_ids
        self.pending: list[tuple[Community, Cluster]] = []
        self.people = 0
        self.stats = PopulationStats()
        self.tagged = Resident.care_tags.through

    def add(self, comm: Community, cluster: Cluster) -> None:
        self.pending.append((comm, cluster))
        self.people += sum(len(h.people) for h in cluster.homes)
        if self.people >= FLUSH_PEOPLE:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        stats = self.stats
        households: list[Household] = []
        for comm, cluster in self.pending:
            households.extend(
                Household(community=comm.center, code=h.code, address=h.address)
                for h in cluster.homes
            )
        Household.objects.bulk_create(households, batch_size=BATCH)
        residents: list[Resident] = []
        people: list[Person] = []
        hh = iter(households)
        for comm, cluster in self.pending:
            for home in cluster.homes:
                household = next(hh)
                for p in home.people:
                    initials, pinyin = _search_keys(p.name)
                    digits = "".join(c for c in p.phone if c.isdigit())
                    r = Resident(
                        name=p.name,
                        gender=p.gender,
                        birth_date=p.birth_date,
                        id_number=p.id_number,
                        phone=p.phone,
                        community=comm.center,
                        address=home.address,
                        lat=home.lat,
                        lon=home.lon,
                        household=household,
                        account=p.account,
                        name_initials=initials,
                        name_pinyin=pinyin,
                        phone_tail=digits[-4:] if len(digits) >= 4 else "",
                    )
                    p.resident = r
                    residents.append(r)
                    people.append(p)
                    stats.by_group[_group(p.age)] += 1
        Resident.objects.bulk_create(residents, batch_size=BATCH)
        tag_rows = []
        for p in people:
            for code in dict.fromkeys(p.tags):  # a tag once, in the order given
                tag_rows.append(
                    self.tagged(resident_id=p.resident_id, caretag_id=self.tag_ids[code])
                )
                stats.by_tag[code] += 1
        self.tagged.objects.bulk_create(tag_rows, batch_size=BATCH)
        links = [
            Guardianship(
                ward_id=ward.resident_id, guardian_id=guardian.resident_id, relation=relation
            )
            for _comm, cluster in self.pending
            for ward, guardian, relation in cluster.links
        ]
        Guardianship.objects.bulk_create(links, batch_size=BATCH)
        stats.residents += len(residents)
        stats.households += len(households)
        stats.guardianships += len(links)
        self.pending.clear()
        self.people = 0


def _group(age: int) -> str:
    if age <= 14:
        return "child"
    if age < 60:
        return "adult"
    return "aged" if age >= 80 else "elder"
