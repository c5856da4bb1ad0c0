"""Running the seed command and fingerprinting what it wrote."""

from __future__ import annotations

import hashlib
from io import StringIO

from django.core.management import call_command

from linli.core.models import User
from linli.network.models import Center, Room
from linli.people.models import Guardianship, Household, Resident
from linli.teams.models import Member, Team


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed", "--scale", "cenxi", *args, stdout=out)
    return out.getvalue()


def fingerprint() -> str:
    """A hash over every seeded row, in a fixed order and by natural keys.

    Primary keys, created/updated stamps, date_joined and password salts are
    left out: the database and Django choose those, not the seed.
    """
    h = hashlib.sha256()

    def feed(rows: object) -> None:
        for row in rows:  # type: ignore[attr-defined]
            h.update(repr(row).encode())

    feed(
        (
            c.code,
            c.name,
            c.kind,
            c.parent.code if c.parent else None,
            c.address,
            c.lat,
            c.lon,
            str(c.floor_area),
            c.provision,
            c.opening_hours,
            sorted(f.code for f in c.functions.all()),
        )
        for c in Center.objects.select_related("parent")
        .prefetch_related("functions")
        .order_by("code")
    )
    feed(
        Room.objects.order_by("center__code", "name", "kind", "pk").values_list(
            "center__code", "name", "kind", "capacity", "floor_area"
        )
    )
    feed(
        Household.objects.order_by("community__code", "code").values_list(
            "community__code", "code", "address"
        )
    )
    feed(
        (
            r.id_number,
            r.name,
            r.gender,
            r.birth_date,
            r.phone,
            r.community.code,
            r.address,
            r.lat,
            r.lon,
            r.household.code if r.household else None,
            sorted(t.code for t in r.care_tags.all()),
            r.name_initials,
            r.name_pinyin,
            r.phone_tail,
            r.account.username if r.account else None,
        )
        for r in Resident.objects.select_related("community", "household", "account")
        .prefetch_related("care_tags")
        .order_by("id_number")
    )
    feed(
        Guardianship.objects.order_by("ward__id_number", "guardian__id_number").values_list(
            "ward__id_number", "guardian__id_number", "relation"
        )
    )
    feed(
        User.objects.order_by("username").values_list(
            "username",
            "role",
            "community__code",
            "first_name",
            "last_name",
            "is_staff",
            "is_active",
        )
    )
    feed(
        Team.objects.order_by("community__code", "kind").values_list(
            "community__code", "kind", "name", "leader__username"
        )
    )
    feed(
        (
            m.user.username,
            m.team.community.code,
            m.team.kind,
            m.resident.id_number if m.resident else None,
            m.source,
            sorted(s.code for s in m.skills.all()),
            m.lat,
            m.lon,
            m.availability,
            m.max_concurrent,
            m.active,
            m.joined_on,
        )
        for m in Member.objects.select_related("user", "team__community", "resident")
        .prefetch_related("skills")
        .order_by("user__username")
    )
    return h.hexdigest()
