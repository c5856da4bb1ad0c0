"""Who works in the admin: the city role as staff with the city group's
permissions (never a superuser), IT operations as superuser; what is audited."""

from __future__ import annotations

import pytest

from linli.core.models import AuditLog, User
from linli.core.roles import CITY_GROUP, staff_access_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(client, cast):
    staff_access_sync(cast.city)
    client.force_login(cast.city)
    return client


def test_the_city_account_is_staff_in_the_city_group_not_superuser(cast):
    staff_access_sync(cast.city)
    cast.city.refresh_from_db()
    assert cast.city.is_staff and not cast.city.is_superuser
    assert cast.city.groups.filter(name=CITY_GROUP).exists()
    assert cast.city.has_perm("people.change_resident")
    assert cast.city.has_perm("dispatch.change_dispatchpolicy")
    assert not cast.city.has_perm("core.change_auditlog")
    assert not cast.city.has_perm("auth.change_group")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/network/center/",
        "/admin/network/room/",
        "/admin/network/function/",
        "/admin/teams/team/",
        "/admin/teams/skill/",
        "/admin/people/caretag/",
        "/admin/people/resident/",
        "/admin/orders/serviceitem/",
        "/admin/dispatch/dispatchpolicy/",
        "/admin/core/user/",
        "/admin/people/caretag/add/",
        "/admin/teams/skill/add/",
        "/admin/core/auditlog/",
    ],
)
def test_the_city_manages_master_data(city, url):
    assert city.get(url).status_code == 200


def test_the_city_cannot_manage_groups_or_write_the_audit_log(city):
    assert city.get("/admin/auth/group/").status_code == 403
    assert city.get("/admin/core/auditlog/add/").status_code == 403


def test_other_roles_have_no_admin(client, cast):
    for user in (cast.a.dispatcher, cast.a.resident):
        staff_access_sync(user)
        client.force_login(user)
        assert client.get("/admin/people/resident/").status_code == 302  # to the login


def test_a_superuser_still_works(client, cast):
    it = User.objects.create_superuser("it-ops", password="s3cure-pass-9")
    client.force_login(it)
    assert client.get("/admin/auth/group/").status_code == 200
    assert client.get("/admin/people/resident/").status_code == 200


def test_the_city_cannot_make_itself_superuser(city, cast):
    page = city.get(f"/admin/core/user/{cast.city.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page
    it = User.objects.create_superuser("it-ops", password="s3cure-pass-9")
    assert city.get(f"/admin/core/user/{it.pk}/change/").status_code == 200  # view only
    r = city.post(f"/admin/core/user/{it.pk}/change/", {"username": "x"})
    assert r.status_code == 403


def test_an_account_change_is_audited_by_field(city, cast):
    import re

    user = cast.a.dispatcher
    page = city.get(f"/admin/core/user/{user.pk}/change/").content.decode()

    def rendered(name: str) -> str:
        return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)

    data = {
        "username": user.username,
        "first_name": "新名字",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "role": user.role,
        "community": user.community_id,
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": rendered("date_joined_0"),
        "date_joined_1": rendered("date_joined_1"),
        # date_joined has a callable default: the admin sends its initial value along.
        "initial-date_joined_0": rendered("initial-date_joined_0"),
        "initial-date_joined_1": rendered("initial-date_joined_1"),
        "_save": "1",
    }
    r = city.post(f"/admin/core/user/{user.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    entry = AuditLog.objects.get(action=AuditLog.Action.CHANGE, target_type="core.user")
    assert entry.target_id == user.pk and entry.detail == "fields: first_name"


def test_a_role_change_to_city_grants_staff_through_the_group(client, cast):
    it = User.objects.create_superuser("it-ops", password="s3cure-pass-9")
    client.force_login(it)
    user = cast.a.dispatcher
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": "", "email": "",
        "is_active": "on", "role": "city", "community": "",
        "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00", "_save": "1",
    }  # fmt: skip
    r = client.post(f"/admin/core/user/{user.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    user.refresh_from_db()
    assert user.is_staff and not user.is_superuser and user.groups.filter(name=CITY_GROUP).exists()
    assert "role" in AuditLog.objects.get(target_type="core.user").detail


def test_a_dispatch_policy_change_is_audited(city, cast):
    from linli.dispatch.models import DispatchPolicy

    policy, _ = DispatchPolicy.objects.get_or_create(community=cast.a.center)
    r = city.post(
        f"/admin/dispatch/dispatchpolicy/{policy.pk}/change/",
        {"community": cast.a.center.pk, "mode": "automatic", "_save": "1"},
    )
    assert r.status_code == 302
    entry = AuditLog.objects.get(action=AuditLog.Action.CHANGE)
    assert (entry.target_type, entry.target_id, entry.field) == (
        "dispatch.dispatchpolicy", policy.pk, "mode",
    )  # fmt: skip


def test_the_audit_log_is_read_only(city, cast):
    from linli.core.services import audit_record

    entry = audit_record(actor=cast.city, action=AuditLog.Action.REVEAL, target=cast.city)
    assert city.get(f"/admin/core/auditlog/{entry.pk}/change/").status_code == 200
    assert (
        'name="_save"' not in city.get(f"/admin/core/auditlog/{entry.pk}/change/").content.decode()
    )
    assert city.post(f"/admin/core/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_the_order_admin_masks_the_address(city, cast):
    from linli.orders.services import order_place

    order = order_place(
        actor=cast.a.resident, item="home_repair", address="岑溪市岑城镇百花路18号3栋201"
    )
    for url in ("/admin/orders/order/", f"/admin/orders/order/{order.pk}/change/"):
        page = city.get(url).content.decode()
        assert order.address not in page and "岑溪市岑城镇百花路***" in page, url
    r = city.post(f"/admin/orders/order/{order.pk}/reveal/address/")
    assert order.address in r.content.decode()
    assert AuditLog.objects.filter(
        action=AuditLog.Action.REVEAL, target_type="orders.order", field="address"
    ).exists()
