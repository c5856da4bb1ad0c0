from __future__ import annotations

from django.urls import reverse

from linli.core.services import token_issue
from linli.site.testing import client_for
from linli.teams.models import Member, Skill, validate_availability


def api(user, url, **params):
    return client_for(user).get(url, params, HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")


def test_members_filter_by_skill_team_and_name(cast):
    r = api(cast.a.dispatcher, "/api/v1/members", skill="home_repair")
    [m] = r.json()["items"]
    assert m["username"] == cast.a.volunteer.username
    assert m["team"]["name"] == "百花社区便民服务队"
    assert m["skills"] == ["home_repair"]
    assert api(cast.a.dispatcher, "/api/v1/members", skill="haircut").json()["items"] == []
    assert api(cast.a.dispatcher, "/api/v1/members", team=cast.b.team.pk).json()["items"] == []
    assert (
        len(
            api(cast.a.dispatcher, "/api/v1/members", q=cast.a.volunteer.first_name).json()["items"]
        )
        == 1
    )


def test_city_sees_members_of_all_communities(cast):
    assert api(cast.city, "/api/v1/members").json()["count"] == 2


def test_bad_team_filter_is_400(cast):
    r = api(cast.a.dispatcher, "/api/v1/members", team="abc")
    assert r.status_code == 400
    assert "team" in r.json()["fields"]


def test_team_page(cast, django_assert_max_num_queries):
    for i in range(10):
        u = type(cast.a.volunteer).objects.create(
            username=f"v{i}", role="volunteer", community=cast.a.center
        )
        m = Member.objects.create(team=cast.a.team, user=u, source="volunteer")
        m.skills.add(Skill.objects.get(code="haircut"))
    client = client_for(cast.a.leader)
    with django_assert_max_num_queries(12):
        html = client.get(reverse("teams:list")).content.decode()
    assert "百花社区便民服务队" in html and "兴业社区便民服务队" not in html


def test_availability_validation():
    import pytest
    from django.core.exceptions import ValidationError

    validate_availability([[0, "08:00", "12:00"], [6, "18:00", "24:00"]])
    for bad in ([[7, "08:00", "12:00"]], [[0, "12:00", "08:00"]], [[0, "8:00", "12:00"]], "x"):
        with pytest.raises(ValidationError):
            validate_availability(bad)
