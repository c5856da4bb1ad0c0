from __future__ import annotations

from django.urls import reverse

from linli.core.services import token_issue
from linli.network.models import Center, Function, Room
from linli.site.testing import client_for


def test_tree_page_shows_counts(cast, django_assert_max_num_queries):
    Center.objects.create(
        code="baihua-1", name="百花小区", kind="neighbourhood", parent=cast.a.center
    )
    client = client_for(cast.a.dispatcher)
    client.get(reverse("network:tree"))
    with django_assert_max_num_queries(8):
        html = client.get(reverse("network:tree")).content.decode()
    assert "百花社区" in html and "百花小区" in html and "兴业社区" in html


def test_center_page_lists_fixed_and_optional_functions_and_rooms(cast):
    cast.a.center.functions.add(Function.objects.get(code="fitness"))
    html = (
        client_for(cast.a.resident).get(reverse("network:center", args=["baihua"])).content.decode()
    )
    assert "党员教育" in html  # one of the eight fixed
    assert "康乐健身" in html  # this center's optional
    assert "长者食堂" in html  # a room
    assert Function.objects.filter(fixed=True).count() == 8


def test_unknown_center_is_404(cast):
    assert (
        client_for(cast.a.resident).get(reverse("network:center", args=["nowhere"])).status_code
        == 404
    )


def test_centers_api_is_a_tree(cast):
    Room.objects.create(center=cast.b.center, name="书画室", kind="calligraphy", capacity=20)
    r = client_for(cast.a.resident).get(
        "/api/v1/centers", HTTP_AUTHORIZATION=f"Bearer {token_issue(user=cast.a.resident)}"
    )
    [city] = r.json()
    assert city["code"] == "cenxi"
    assert [c["code"] for c in city["children"]] == ["baihua", "xingye"]
    assert city["children"][1]["rooms"] == 2
    assert city["residents"] == 2


def test_parent_kind_is_validated(cast):
    import pytest
    from django.core.exceptions import ValidationError

    bad = Center(code="x", name="x", kind="neighbourhood", parent=cast.city_center)
    with pytest.raises(ValidationError):
        bad.full_clean()
