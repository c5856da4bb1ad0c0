"""The permission matrix over pages and API: allowed, forbidden, other community."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from linli.core.services import token_issue
from linli.site.testing import client_for

ROLES = ["a.resident", "a.volunteer", "a.leader", "a.dispatcher", "a.school", "city"]


def api_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")


# page name → roles that may open it (others get 403)
PAGES = {
    "home": set(ROLES),
    "network:tree": set(ROLES),
    "people:list": {"a.leader", "a.dispatcher", "city"},
    "people:import": {"a.dispatcher", "city"},
    "teams:list": {"a.leader", "a.dispatcher", "city"},
}


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("who", ROLES)
def test_page_matrix(cast, page, who):
    response = client_for(cast.all_users()[who]).get(reverse(page))
    expected = 200 if who in PAGES[page] else 403
    assert response.status_code == expected


@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_need_login(cast, page):
    response = Client().get(reverse(page))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_center_page_for_everyone(cast):
    for who in ROLES:
        r = client_for(cast.all_users()[who]).get(reverse("network:center", args=["baihua"]))
        assert r.status_code == 200


# endpoint → roles allowed (others 403)
API = {
    "/api/v1/me": set(ROLES),
    "/api/v1/centers": set(ROLES),
    "/api/v1/residents": {"a.leader", "a.dispatcher", "city"},
    "/api/v1/members": {"a.leader", "a.dispatcher", "city"},
}


@pytest.mark.parametrize("url", sorted(API))
@pytest.mark.parametrize("who", ROLES)
def test_api_matrix(cast, url, who):
    r = api_client(cast.all_users()[who]).get(url)
    if who in API[url]:
        assert r.status_code == 200
    else:
        assert r.status_code == 403
        assert r.json()["code"] == "forbidden"


def test_resident_detail_other_community_is_404_page_and_api(cast):
    other = cast.b.person
    assert (
        client_for(cast.a.dispatcher).get(reverse("people:detail", args=[other.pk])).status_code
        == 404
    )
    r = api_client(cast.a.dispatcher).get(f"/api/v1/residents/{other.pk}")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    # …exactly like one that does not exist
    assert api_client(cast.a.dispatcher).get("/api/v1/residents/999999").json() == r.json()


def test_resident_detail_own_community_and_city(cast):
    mine = cast.a.person
    assert (
        client_for(cast.a.dispatcher).get(reverse("people:detail", args=[mine.pk])).status_code
        == 200
    )
    assert (
        client_for(cast.city).get(reverse("people:detail", args=[cast.b.person.pk])).status_code
        == 200
    )


def test_lists_are_scoped_to_the_community(cast):
    a_names = {
        r["name"] for r in api_client(cast.a.dispatcher).get("/api/v1/residents").json()["items"]
    }
    assert a_names == {cast.a.person.name}
    all_names = {r["name"] for r in api_client(cast.city).get("/api/v1/residents").json()["items"]}
    assert all_names == {cast.a.person.name, cast.b.person.name}
    members = api_client(cast.b.leader).get("/api/v1/members").json()["items"]
    assert [m["username"] for m in members] == [cast.b.volunteer.username]


def test_reveal_matrix(cast):
    url = f"/api/v1/residents/{cast.a.person.pk}/reveal"
    for who, expected in [
        ("a.leader", 403),
        ("a.volunteer", 403),
        ("a.dispatcher", 200),
        ("city", 200),
    ]:
        r = api_client(cast.all_users()[who]).post(
            url, {"field": "phone"}, content_type="application/json"
        )
        assert r.status_code == expected, who
    r = api_client(cast.b.dispatcher).post(url, {"field": "phone"}, content_type="application/json")
    assert r.status_code == 404
