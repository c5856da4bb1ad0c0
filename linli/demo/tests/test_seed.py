"""``linli seed --scale cenxi``: the demo city, its people, teams and accounts."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError
from django.db import transaction
from django.db.models import Count, F, Sum

from linli.activities.models import Activity, Attendance, Session, Signup
from linli.core.models import User
from linli.core.roles import Role
from linli.demo.accounts import DEMO_PASSWORD
from linli.demo.season import parse_hours
from linli.demo.teams import TEAM_SKILLS
from linli.demo.tests.helpers import fingerprint, seed
from linli.network.models import Center, Occupancy, OpeningHours, Room
from linli.people import ages
from linli.people.models import Contact, Guardianship, Resident
from linli.site.testing import ensure_reference_data
from linli.teams.models import Member, Team, validate_availability


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker: object) -> Iterator[str]:
    """One default demo (1 %, ~7,200 people, ages as of today) for the module, rolled back after."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        with transaction.atomic():
            # A transactional test on this worker may have flushed the migrations' rows.
            ensure_reference_data()
            yield seed()
            transaction.set_rollback(True)


# -- the network ---------------------------------------------------------------


@pytest.mark.django_db
def test_network_is_one_city_nineteen_communities_and_n(seeded: str) -> None:
    city = Center.objects.get(kind=Center.Kind.CITY)
    assert city.code == "cenxi" and city.parent is None
    communities = Center.objects.filter(kind=Center.Kind.COMMUNITY)
    assert communities.count() == 19
    assert set(communities.values_list("parent__code", flat=True)) == {"cenxi"}
    names = dict(communities.values_list("code", "name"))
    assert (
        names["baihua"] == "百花社区"
        and names["xingye"] == "兴业社区"
        and names["longjing"] == "龙井社区"
    )
    for community in communities.annotate(n=Count("children")):
        assert 2 <= community.n <= 5, community.code
    subs = Center.objects.filter(kind__in=[Center.Kind.NEIGHBOURHOOD, Center.Kind.BUSINESS])
    assert subs.count() + 20 == Center.objects.count()
    assert not subs.exclude(parent__kind=Center.Kind.COMMUNITY).exists()


@pytest.mark.django_db
def test_centers_are_in_cenxi_and_complete(seeded: str) -> None:
    provisions = set(Center.Provision.values)
    for center in Center.objects.select_related("parent"):
        center.full_clean()
        assert center.address.startswith("岑溪市岑城镇"), center.address
        assert re.search(r"[路街道].*\d+号", center.address), center.address
        assert _km(center.lat, center.lon) < 8, center.code
        assert center.floor_area and center.floor_area > 0
        assert center.provision in provisions
        assert center.opening_hours
    assert not Center.objects.filter(functions__fixed=True).exists()  # "X" only; the 8 are implied
    assert Center.objects.filter(functions__isnull=False).distinct().count() > 40


@pytest.mark.django_db
def test_rooms_add_up_to_over_ten_thousand_square_metres(seeded: str) -> None:
    assert Room.objects.aggregate(s=Sum("floor_area"))["s"] > 10_000
    kinds = set(Room.objects.values_list("kind", flat=True))
    assert {
        Room.Kind.CALLIGRAPHY,
        Room.Kind.CHILDREN,
        Room.Kind.CANTEEN,
        Room.Kind.ELDER_UNIVERSITY,
        Room.Kind.READING,
    } <= kinds
    # Every community center runs an elder canteen and a children's home.
    for kind in (Room.Kind.CANTEEN, Room.Kind.CHILDREN):
        assert Room.objects.filter(center__kind=Center.Kind.COMMUNITY, kind=kind).count() == 19
    for room in Room.objects.all()[:200]:
        room.full_clean()
        assert room.capacity >= 1


# -- residents -----------------------------------------------------------------


@pytest.mark.django_db
def test_age_mix_is_the_articles(seeded: str) -> None:
    total = Resident.objects.count()
    assert 7_000 < total < 7_500  # 1 % of 723,000
    share = {
        g.code: Resident.objects.filter(ages.birth_date_q(g)).count() / total * 100
        for g in (ages.CHILD, ages.ELDERLY, ages.AGED, ages.SMALL_CHILD)
    }
    assert share["child"] == pytest.approx(29.86, abs=1)
    assert share["elderly"] == pytest.approx(15.76, abs=1)
    assert share["aged"] == pytest.approx(2.5, abs=0.5)
    # "幼儿约为10万人": about 100,000 of the 216,000 children are 0–6.
    assert share["small_child"] == pytest.approx(100 / 723 * 100, abs=1.5)


@pytest.mark.django_db
def test_id_numbers_are_valid_unique_and_match_the_person(seeded: str) -> None:
    rows = list(Resident.objects.values_list("id_number", "birth_date", "gender"))
    numbers = [r[0] for r in rows]
    assert len(set(numbers)) == len(numbers)
    weights = [
        2 ** (17 - i) % 11 for i in range(17)
    ]  # ISO 7064 MOD 11-2, computed rather than copied
    for number, birth_date, gender in rows:
        assert number.startswith("450481"), number
        assert number[6:14] == birth_date.strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if gender == "M" else 0)
        check = (12 - sum(int(d) * w for d, w in zip(number[:17], weights, strict=True)) % 11) % 11
        assert number[17] == ("X" if check == 10 else str(check)), number


@pytest.mark.django_db
def test_contacts_names_and_search_keys(seeded: str) -> None:
    phones = [p for p in Resident.objects.exclude(phone="").values_list("phone", flat=True)]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"1[3-9]\d{9}|0774-\d{7}", p) for p in phones)
    # Most small children have no phone of their own.
    small = Resident.objects.filter(ages.birth_date_q(ages.SMALL_CHILD))
    assert not small.exclude(phone="").exists()
    names = list(Resident.objects.values_list("name", flat=True))
    assert all(2 <= len(n) <= 3 and all("\u4e00" <= c <= "\u9fff" for c in n) for n in names)
    surnames = Counter(n[0] for n in names)
    assert {"陈", "黄", "李", "梁"} <= {s for s, _ in surnames.most_common(8)}
    for resident in Resident.objects.order_by("id_number")[::97]:
        stored = (resident.name_initials, resident.name_pinyin, resident.phone_tail)
        resident.refresh_search_keys()
        assert stored == (resident.name_initials, resident.name_pinyin, resident.phone_tail)
        resident.full_clean(validate_unique=False)
        assert _km(resident.lat, resident.lon) < 8


@pytest.mark.django_db
def test_households_guardians_and_care_tags(seeded: str) -> None:
    assert not Resident.objects.filter(household__isnull=True).exists()
    assert not Resident.objects.exclude(household__community=F("community")).exists()
    children = Resident.objects.filter(ages.birth_date_q(ages.CHILD))
    with_guardian = children.filter(guardian_links__isnull=False).distinct().count()
    assert with_guardian > 0.95 * children.count()
    links = Guardianship.objects.select_related("ward", "guardian")
    relations = Counter(links.values_list("relation", flat=True))
    assert relations[Guardianship.Relation.PARENT] > 1000
    assert relations[Guardianship.Relation.CHILD] > 100  # aged parents and their grown-up children
    today = ages.today()
    for link in links:
        gap = ages.age_on(link.ward.birth_date, today) - ages.age_on(
            link.guardian.birth_date, today
        )
        if link.relation == Guardianship.Relation.PARENT:
            assert 18 <= -gap <= 55
        elif link.relation == Guardianship.Relation.CHILD:
            assert 18 <= gap <= 60
        elif link.relation == Guardianship.Relation.GRANDPARENT:
            assert -gap >= 40
    tagged = {
        code: Resident.objects.filter(care_tags__code=code)
        for code in ("living_alone", "empty_nest", "disabled", "low_income", "left_behind")
    }
    assert all(qs.exists() for qs in tagged.values())
    elderly = Resident.objects.filter(ages.birth_date_q(ages.ELDERLY))
    for code in ("living_alone", "empty_nest", "disabled"):
        assert not tagged[code].exclude(pk__in=elderly).exists(), code
    assert not tagged["left_behind"].exclude(pk__in=children).exists()
    assert tagged["disabled"].count() < 0.05 * elderly.count()
    assert tagged["low_income"].count() < 0.06 * Resident.objects.count()
    for resident in tagged["living_alone"].annotate(n=Count("household__members")):
        assert resident.n == 1
    for child in tagged["left_behind"].prefetch_related("guardian_links")[:50]:
        assert {g.relation for g in child.guardian_links.all()} == {
            Guardianship.Relation.GRANDPARENT
        }


# -- teams ---------------------------------------------------------------------


@pytest.mark.django_db
def test_every_community_has_its_four_teams_with_a_leader(seeded: str) -> None:
    for community in Center.objects.filter(kind=Center.Kind.COMMUNITY):
        teams = Team.objects.filter(community=community).select_related("leader")
        assert sorted(t.kind for t in teams) == sorted(
            ["convenience", "health", "neighbourly", "silver"]
        )
        for team in teams:
            assert team.name.startswith(community.name)
            assert team.leader.role == Role.LEADER and team.leader.community_id == community.pk
            assert team.members.count() >= 3


@pytest.mark.django_db
def test_members_are_about_four_hundred_and_fit_their_team(seeded: str) -> None:
    members = Member.objects.select_related("user", "team", "resident").prefetch_related("skills")
    assert 360 <= members.count() <= 440
    assert set(members.values_list("source", flat=True)) == set(Member.Source.values)
    today = ages.today()
    for m in members:
        assert m.user.role == Role.VOLUNTEER and m.user.community_id == m.team.community_id
        assert m.user.first_name
        if m.user.username != "demo-volunteer":
            assert re.fullmatch(rf"m-{m.team.community.code}-\d+", m.user.username)
            assert not m.user.has_usable_password()
        skills = {s.code for s in m.skills.all()}
        assert skills and skills <= set(TEAM_SKILLS[m.team.kind]), (m.team.kind, skills)
        validate_availability(m.availability)
        assert m.availability
        assert 2 <= m.max_concurrent <= 4
        assert _km(m.lat, m.lon) < 8
        if m.resident:
            assert m.resident.community_id == m.team.community_id
            assert m.user.first_name == m.resident.name
        if m.team.kind == Team.Kind.SILVER:
            assert m.resident is not None
            assert 60 <= ages.age_on(m.resident.birth_date, today) <= 75
    assert members.filter(resident__isnull=False).count() > members.count() / 2
    assert members.filter(team__kind=Team.Kind.SILVER).count() >= 80  # "80多名低龄老年志愿者"
    # A team covers each service it exists for.
    for team in Team.objects.prefetch_related("members__skills"):
        covered = {s.code for m in team.members.all() for s in m.skills.all()}
        if team.members.count() >= len(TEAM_SKILLS[team.kind]):
            assert covered == set(TEAM_SKILLS[team.kind]), team.name


# -- demo accounts -------------------------------------------------------------


@pytest.mark.django_db
def test_demo_accounts_sign_in_with_the_published_password(seeded: str) -> None:
    expected = {
        "demo-resident": Role.RESIDENT,
        "demo-volunteer": Role.VOLUNTEER,
        "demo-leader": Role.LEADER,
        "demo-dispatcher": Role.DISPATCHER,
        "demo-school": Role.SCHOOL,
        "demo-city": Role.CITY,
    }
    for username, role in expected.items():
        user = User.objects.select_related("community").get(username=username)
        assert user.role == role
        assert check_password(DEMO_PASSWORD, user.password)
        assert user.first_name and not user.first_name.isascii()
        if role == Role.CITY:
            assert user.community is None
        else:
            assert user.community.code == "baihua"
        user.full_clean()


@pytest.mark.django_db
def test_demo_resident_is_eighty_and_lives_alone(seeded: str) -> None:
    resident = Resident.objects.get(account__username="demo-resident")
    assert resident.community.code == "baihua"
    assert ages.age_on(resident.birth_date, ages.today()) == 80
    assert "living_alone" in set(resident.care_tags.values_list("code", flat=True))
    assert resident.household.members.count() == 1
    # A grown-up child in the community can order for them.
    assert resident.guardian_links.filter(relation=Guardianship.Relation.CHILD).exists()


@pytest.mark.django_db
def test_demo_volunteer_and_leader_run_baihuas_convenience_team(seeded: str) -> None:
    team = Team.objects.get(community__code="baihua", kind=Team.Kind.CONVENIENCE)
    assert team.name == "百花社区便民服务队"
    assert team.leader.username == "demo-leader"
    member = Member.objects.get(user__username="demo-volunteer")
    assert member.team == team and member.active
    assert "home_repair" in set(member.skills.values_list("code", flat=True))


@pytest.mark.django_db
def test_output_counts_and_lists_the_accounts(seeded: str) -> None:
    children, elderly, aged = (float(x) for x in re.findall(r"(\d+\.\d+)%", seeded)[:3])
    assert children == pytest.approx(29.86, abs=0.02) and elderly == pytest.approx(15.76, abs=0.02)
    assert aged == pytest.approx(2.5, abs=0.02)
    for username in (
        "demo-resident",
        "demo-volunteer",
        "demo-leader",
        "demo-dispatcher",
        "demo-school",
        "demo-city",
    ):
        assert username in seeded
    assert DEMO_PASSWORD in seeded


# -- re-running --------------------------------------------------------------


@pytest.mark.django_db
def test_if_empty_leaves_a_seeded_database_unchanged(seeded: str) -> None:
    before = fingerprint()
    out = seed("--if-empty")
    assert fingerprint() == before
    assert "demo-resident" in out and DEMO_PASSWORD in out


@pytest.mark.django_db
def test_seeding_a_non_empty_database_is_refused(seeded: str) -> None:
    residents = Resident.objects.count()
    with pytest.raises(CommandError, match="--if-empty"):
        seed()
    assert Resident.objects.count() == residents


def _km(lat: float | None, lon: float | None) -> float:
    """Distance from the city center at 22.918 N, 110.994 E."""
    assert lat is not None and lon is not None
    return math.hypot(
        (lat - 22.918) * 111.32, (lon - 110.994) * 111.32 * math.cos(math.radians(22.918))
    )


# -- orders ----------------------------------------------------------------------


@pytest.mark.django_db
def test_baihua_has_order_activity_through_the_services(seeded: str) -> None:
    from linli.orders.models import Order
    from linli.orders.services import replay

    orders = list(
        Order.objects.filter(community__code="baihua").prefetch_related("events", "slots")
    )
    assert len(orders) == 30
    states = Counter(o.status for o in orders)
    assert {"submitted", "dispatched", "rated"} <= set(states)
    for o in orders:
        status, slots = replay(sorted(o.events.all(), key=lambda e: e.pk))
        assert status == o.status
        # A slot no event touched is still open.
        assert {s.pk: slots.get(s.pk, "open") for s in o.slots.all()} == {
            s.pk: s.status for s in o.slots.all()
        }
    assert not Order.objects.exclude(community__code="baihua").exists()


@pytest.mark.django_db
def test_the_seed_rates_only_as_residents_do(seeded: str) -> None:
    """In the app by the resident's own account, or their answer on a phone
    callback recorded (and marked) by the dispatcher; never by who served it."""
    from linli.core.roles import Role
    from linli.orders.models import Rating

    ratings = list(Rating.objects.select_related("by", "order__resident"))
    assert ratings
    for r in ratings:
        served = {s.member.user_id for s in r.order.slots.all() if s.member is not None}
        assert r.by_id not in served
        if r.source == Rating.Source.CALLBACK:
            assert r.by.role == Role.DISPATCHER
        else:
            assert r.by_id == r.order.resident.account_id
    assert {r.source for r in ratings} == {Rating.Source.RESIDENT, Rating.Source.CALLBACK}


@pytest.mark.django_db
def test_baihua_orders_have_weeks_of_history_in_order(seeded: str) -> None:
    """Finished orders spread over the last four weeks with minutes between
    their steps; open ones came in within hours and are not overdue."""
    import datetime as dt

    from django.utils import timezone

    from linli.orders.indicators import order_indicators
    from linli.orders.models import ORDER_OPEN_STATES, Order, OrderStatus

    now = timezone.now()
    orders = list(Order.objects.filter(community__code="baihua").prefetch_related("events"))
    done = [o for o in orders if o.status == OrderStatus.RATED]
    assert min(o.created_at for o in done) < now - dt.timedelta(days=7)
    for o in orders:
        times = [e.at for e in sorted(o.events.all(), key=lambda e: e.pk)]
        assert times == sorted(times) and times[-1] <= now
        assert times[0] == o.created_at
        if o.status in ORDER_OPEN_STATES:
            assert o.created_at > now - dt.timedelta(hours=4) and not o.overdue
    baihua = orders[0].community_id
    seen = order_indicators(baihua, now - dt.timedelta(days=30), now)
    assert seen.mean_minutes_to_accept and seen.mean_minutes_to_accept > 1
    assert seen.mean_minutes_to_complete and seen.mean_minutes_to_complete > 30


# -- the season of activities ----------------------------------------------------


def test_opening_hours_are_read_from_the_notices() -> None:
    rows = parse_hours("周一至周五 08:00–12:00, 14:30–17:30；周末 09:00–17:00")
    assert len(rows) == 5 * 2 + 2
    assert (5, *map(str, rows[-2][1:])) == (5, "09:00:00", "17:00:00")
    assert parse_hours("周二至周日 08:30–20:30")[0][0] == 1


def test_the_season_is_on_the_room_calendar_without_overlaps(seeded: str) -> None:
    assert OpeningHours.objects.count() > 500
    sessions = Session.objects.count()
    assert Activity.objects.count() > 150 and sessions > 500
    assert Occupancy.objects.filter(kind="session").count() == sessions
    held = list(Occupancy.objects.filter(released_at__isnull=True).order_by("room_id", "starts"))
    for a, b in zip(held, held[1:], strict=False):
        assert a.room_id != b.room_id or a.ends <= b.starts, (a, b)
    assert {
        "opera",
        "singing",
        "music",
        "birthday",
        "parent_child",
        "drowning",
        "fire_safety",
    } <= set(Activity.objects.values_list("kind__code", flat=True))
    assert Activity.objects.filter(title__startswith="暑期", mode="course").count() == 14


def test_past_sessions_have_sign_ups_and_attendance_as_contacts(seeded: str) -> None:
    assert Signup.objects.filter(status="confirmed").count() > 300
    present = Attendance.objects.filter(status="present")
    assert present.count() > 200
    assert Contact.objects.filter(kind="activity").count() == present.count()
    # every sign-up fits its activity's audience on the day (the services judged it)
    children = Signup.objects.filter(activity__audience="children").select_related(
        "person", "activity"
    )
    for s in children[:200]:
        first = s.activity.sessions.order_by("starts").first()
        assert first is not None
        age = first.starts.year - s.person.birth_date.year
        assert age <= 15


def test_the_demo_resident_has_this_week_s_opera(seeded: str) -> None:
    mine = Signup.objects.filter(
        person__account__username="demo-resident", activity__kind__code="opera"
    )
    assert mine.exists()
