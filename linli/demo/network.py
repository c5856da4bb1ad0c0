"""Cenxi's "1+19+N" service network: centers, rooms and optional functions."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pypinyin import lazy_pinyin

from linli.demo import geo, reference
from linli.network.models import Center, Function, Room

BATCH = 1000


@dataclass
class Site:
    """A community or N-center as the population generator needs to know it."""

    center: Center
    estate: str = (
        ""  # the housing estate a neighbourhood center serves; its address is the estate's
    )


@dataclass
class Community:
    center: Center
    short: str  # 百花社区 → 百花
    weight: float
    streets: list[str]
    sites: list[Site] = field(default_factory=list)  # its neighbourhood centers


@dataclass
class Network:
    city: Center
    communities: list[Community]
    centers: int = 0
    rooms: int = 0
    rooms_area: Decimal = Decimal(0)
    floor_area: Decimal = Decimal(0)

    def community(self, code: str) -> Community:
        return next(c for c in self.communities if c.center.code == code)


def network_build(rng: random.Random) -> Network:
    """Create the city center, the 19 communities and their 2–5 N-centers each."""
    data = reference.cenxi()
    optional = {f.code: f for f in Function.objects.filter(fixed=False)}
    rooms: list[Room] = []
    center_functions: list[tuple[Center, set[str]]] = []

    city_spec = data["city"]
    city = Center(
        code=city_spec["code"],
        name=city_spec["name"],
        kind=Center.Kind.CITY,
        address=city_spec["address"],
        lat=city_spec["lat"],
        lon=city_spec["lon"],
        floor_area=Decimal(city_spec["floor_area"]),
        provision=city_spec["provision"],
        opening_hours=city_spec["opening_hours"],
    )
    city.save()
    for name, kind, capacity, area in city_spec["rooms"]:
        rooms.append(
            Room(center=city, name=name, kind=kind, capacity=capacity, floor_area=Decimal(area))
        )
    center_functions.append((city, set(city_spec["functions"])))

    communities: list[Community] = []
    for spec in data["communities"]:
        lat, lon = geo.offset(*city.coords(), *spec["offset_km"])
        street = spec["streets"][0]
        center = Center(
            code=spec["code"],
            name=spec["name"],
            kind=Center.Kind.COMMUNITY,
            parent=city,
            address=f"岑溪市岑城镇{street}{rng.randint(1, 120)}号",
            lat=lat,
            lon=lon,
            provision=_weighted(rng, data["provision_weights"]["community"]),
            opening_hours=rng.choice(data["opening_hours"]["community"]),
        )
        communities.append(
            Community(
                center=center,
                short=spec["name"].removesuffix("社区"),
                weight=spec["weight"],
                streets=spec["streets"],
            )
        )
    Center.objects.bulk_create([c.center for c in communities])

    subs: list[Center] = []
    namer = _SiteNamer(rng, data, [c.short for c in communities])
    for comm in communities:
        for index in range(rng.randint(2, 5)):
            # The first is always a housing estate: business districts come on top.
            kind = (
                Center.Kind.NEIGHBOURHOOD
                if index == 0 or rng.random() < 0.7
                else Center.Kind.BUSINESS
            )
            site = _sub_center(rng, data, comm, *namer.take(comm, kind))
            comm.sites.append(site)
            subs.append(site.center)
    Center.objects.bulk_create(subs, batch_size=BATCH)

    pinned_rooms = data["pinned_rooms"]
    for center in [c.center for c in communities] + subs:
        kind_key = str(center.kind)
        pinned = pinned_rooms.get(center.code, [])
        pinned_kinds = {p[1] for p in pinned}
        area = Decimal(0)
        kinds: set[str] = set()
        for name, kind, capacity, room_area in pinned:
            rooms.append(
                Room(
                    center=center,
                    name=name,
                    kind=kind,
                    capacity=capacity,
                    floor_area=Decimal(room_area),
                )
            )
            area += Decimal(room_area)
            kinds.add(kind)
        for name, kind, p, (cap_lo, cap_hi), (area_lo, area_hi) in data["rooms"][kind_key]:
            if rng.random() >= p or kind in pinned_kinds:
                continue
            room_area = Decimal(rng.randint(area_lo, area_hi))
            # No fewer than 1.2 m² a person, however the two ranges happen to fall.
            capacity = max(1, min(rng.randint(cap_lo, cap_hi), int(room_area / Decimal("1.2"))))
            rooms.append(
                Room(center=center, name=name, kind=kind, capacity=capacity, floor_area=room_area)
            )
            area += room_area
            kinds.add(kind)
        # Corridors, toilets and the desk: a center is a tenth to a quarter bigger than its rooms.
        center.floor_area = Decimal(f"{float(area) * rng.uniform(1.1, 1.25):.1f}")
        functions = {data["room_functions"][k] for k in kinds if k in data["room_functions"]}
        functions |= {f for f in data["extra_functions"] if rng.random() < 0.25}
        center_functions.append((center, functions))
    Center.objects.bulk_update(
        [c.center for c in communities] + subs, ["floor_area"], batch_size=BATCH
    )
    Room.objects.bulk_create(rooms, batch_size=BATCH)

    through = Center.functions.through
    links = [
        through(center_id=center.pk, function_id=optional[code].pk)
        for center, codes in center_functions
        for code in sorted(codes)
        if code in optional
    ]
    through.objects.bulk_create(links, batch_size=BATCH)

    all_centers = [city, *(c.center for c in communities), *subs]
    return Network(
        city=city,
        communities=communities,
        centers=len(all_centers),
        rooms=len(rooms),
        rooms_area=sum((r.floor_area or Decimal(0) for r in rooms), Decimal(0)),
        floor_area=sum((c.floor_area or Decimal(0) for c in all_centers), Decimal(0)),
    )


class _SiteNamer:
    """Names N-centers after housing estates and business districts.

    An estate named after a community (龙井新村) goes to that community; the
    others are shared out at random, each used once.
    """

    def __init__(self, rng: random.Random, data: dict[str, Any], shorts: list[str]) -> None:
        self._pinned: dict[str, list[str]] = {
            k: list(v) for k, v in data["pinned_neighbourhoods"].items()
        }
        self._pools: dict[str, list[str]] = {}
        for kind, key in (
            (Center.Kind.NEIGHBOURHOOD, "estates"),
            (Center.Kind.BUSINESS, "business_districts"),
        ):
            pool = list(data[key])
            rng.shuffle(pool)
            self._pools[kind] = pool
        self._shorts = shorts
        self._fallback = 0
        self._codes: set[str] = set()

    def take(self, community: Community, kind: str) -> tuple[str, str, str]:
        """(kind, place name, code) of the community's next N-center.

        When no business district is left for it, the center serves an estate.
        """
        kind, place = self._place(community, kind)
        return kind, place, self._code(community, place)

    def _place(self, community: Community, kind: str) -> tuple[str, str]:
        if kind == Center.Kind.NEIGHBOURHOOD and self._pinned.get(community.center.code):
            return kind, self._pinned[community.center.code].pop(0)
        for pool_kind in dict.fromkeys((kind, Center.Kind.NEIGHBOURHOOD)):
            pool = self._pools[pool_kind]
            own = [n for n in pool if n.startswith(community.short)]
            generic = [n for n in pool if not any(n.startswith(s) for s in self._shorts)]
            for candidates in (own, generic):
                if candidates:
                    pool.remove(candidates[0])
                    return pool_kind, candidates[0]
        # The pools are sized for the usual draw; a seed that asks for more gets numbered estates.
        self._fallback += 1
        return Center.Kind.NEIGHBOURHOOD, f"{community.streets[-1]}{self._fallback}号院"

    def _code(self, community: Community, place: str) -> str:
        """A unique slug: the community's code and the place in pinyin (digits kept)."""
        slug = re.sub(r"[^a-z0-9]", "", "".join(lazy_pinyin(place)).lower())
        base = f"{community.center.code}-{slug}"[:29]
        code, n = base, 1
        while code in self._codes:
            n += 1
            code = f"{base}-{n}"
        self._codes.add(code)
        return code


def _sub_center(
    rng: random.Random, data: dict[str, Any], comm: Community, kind: str, place: str, code: str
) -> Site:
    if kind == Center.Kind.BUSINESS:
        name = f"{place}商圈党群服务中心"
    else:
        # 幸福城 → 幸福城小区党群服务中心, but 园丁小区 and 教师村 keep their names.
        name = f"{place}{'' if place.endswith(('小区', '村', '院')) else '小区'}党群服务中心"
    street = rng.choice(comm.streets)
    angle, dist = rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 1.0)
    lat, lon = geo.offset(*comm.center.coords(), dist * math.sin(angle), dist * math.cos(angle))
    center = Center(
        code=code,
        name=name,
        kind=kind,
        parent=comm.center,
        address=f"岑溪市岑城镇{street}{rng.randint(1, 300)}号{place}",
        lat=lat,
        lon=lon,
        provision=_weighted(rng, data["provision_weights"][str(kind)]),
        opening_hours=rng.choice(data["opening_hours"][str(kind)]),
    )
    return Site(center=center, estate=place if kind == Center.Kind.NEIGHBOURHOOD else "")


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]
