"""The cast every test can use: each role, in two communities.

``make_cast()`` builds a small city with two communities (百花 and 兴业) and in
each one account per role, a resident record, a team and a member, so that a
test checks the permission matrix: allowed, forbidden, other community.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from linli.core.models import User
from linli.core.roles import Role
from linli.network.models import Center, Room
from linli.people.models import CareTag, Resident
from linli.teams.models import Member, Skill, Team


@dataclass
class Community:
    center: Center
    users: dict[str, User] = field(default_factory=dict)
    person: Resident | None = None  # the resident record of the `resident` account
    team: Team | None = None
    member: Member | None = None

    def __getattr__(self, name: str) -> Any:
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


@dataclass
class Cast:
    city_center: Center
    city: User
    a: Community
    b: Community

    def all_users(self) -> dict[str, User]:
        out = {"city": self.city}
        for key, comm in (("a", self.a), ("b", self.b)):
            out.update({f"{key}.{role}": u for role, u in comm.users.items()})
        return out


def make_user(username: str, role: str, community: Center | None, name: str = "") -> User:
    user = User(username=username, role=role, community=community, first_name=name or username)
    user.set_unusable_password()
    user.save()
    return user


def _community(
    city: Center, code: str, name: str, lat: float, lon: float, phone_seed: int
) -> Community:
    center = Center.objects.create(
        code=code,
        name=name,
        kind=Center.Kind.COMMUNITY,
        parent=city,
        lat=lat,
        lon=lon,
        address=f"岑溪市岑城镇{name}",
        floor_area=800,
    )
    Room.objects.create(center=center, name="长者食堂", kind=Room.Kind.CANTEEN, capacity=40)
    comm = Community(center=center)
    for role in (Role.RESIDENT, Role.VOLUNTEER, Role.LEADER, Role.DISPATCHER, Role.SCHOOL):
        comm.users[str(role)] = make_user(f"{code}-{role}", role, center)
    comm.person = Resident.objects.create(
        name="曾庆宝" if code == "baihua" else "甘爱华",
        gender=Resident.Gender.MALE,
        birth_date=dt.date(1944, 3, 5),
        id_number=f"45048119440305{phone_seed:04d}",
        phone=f"1380771{phone_seed:04d}",
        community=center,
        address=f"岑溪市岑城镇{name}百花路12号3栋201",
        lat=lat,
        lon=lon,
        account=comm.users[Role.RESIDENT],
    )
    comm.person.care_tags.add(CareTag.objects.get(code="living_alone"))
    comm.team = Team.objects.create(
        name=f"{name}便民服务队",
        kind=Team.Kind.CONVENIENCE,
        community=center,
        leader=comm.users[Role.LEADER],
    )
    comm.member = Member.objects.create(
        team=comm.team,
        user=comm.users[Role.VOLUNTEER],
        source=Member.Source.VOLUNTEER,
        lat=lat,
        lon=lon,
        availability=[[d, "08:00", "20:00"] for d in range(7)],
    )
    comm.member.skills.add(Skill.objects.get(code="home_repair"))
    return comm


REFERENCE_MIGRATIONS = [
    "linli.network.migrations.0002_functions",
    "linli.people.migrations.0002_care_tags",
    "linli.teams.migrations.0002_skills",
    "linli.orders.migrations.0002_fixed_items",
    "linli.activities.migrations.0002_kinds",
]


def ensure_reference_data() -> None:
    """Re-install what the data migrations install.

    A transactional test flushes every table when it ends, the migrations'
    rows included; tests that follow one must not depend on luck.
    """
    import importlib

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for module in REFERENCE_MIGRATIONS:
        importlib.import_module(module).forwards(apps, None)
    # The flush also took the permissions post_migrate made: the city's staff
    # group (core.roles.staff_access_sync) is built from them.
    for config in apps.get_app_configs():
        create_contenttypes(config, verbosity=0)
        create_permissions(config, verbosity=0)


def make_cast() -> Cast:
    ensure_reference_data()
    city_center = Center.objects.create(
        code="cenxi", name="岑溪市党群服务中心", kind=Center.Kind.CITY, lat=22.918, lon=110.994
    )
    a = _community(city_center, "baihua", "百花社区", 22.920, 110.990, 1234)
    b = _community(city_center, "xingye", "兴业社区", 22.930, 111.010, 5678)
    city = make_user("city-admin", Role.CITY, None, "市级管理员")
    return Cast(city_center=city_center, city=city, a=a, b=b)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- races against PostgreSQL ----------------------------------------------------

ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]

# Real threads need real commits: a transactional test, whose flush must give
# back what the data migrations wrote. The mark is conditional because
# pytest-django serializes the database up front for any collected
# serialized_rollback test, skipped or not.
RACE_MARKS = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True)
    if ON_POSTGRES
    else pytest.mark.skip(reason="needs PostgreSQL: SQLite has no row locks"),
]


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; their results (or errors) in order.

    Each thread uses its own database connection and closes it at the end.
    """
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - the caller's assertions look at it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def browser_log_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in through the login form, as a person would, and land on the home page."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    # "main": the header holds the language switch, a submit button too.
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")
