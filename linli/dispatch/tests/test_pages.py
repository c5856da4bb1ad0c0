from __future__ import annotations

from django.urls import reverse

from linli.dispatch.models import DispatchPolicy
from linli.orders import services as orders
from linli.orders.models import OrderEvent, OrderStatus
from linli.site.testing import client_for


def place(cast):
    return orders.order_place(actor=cast.a.resident, item="home_repair")


def test_suggestions_fragment_explains_and_offers_dispatch(cast):
    order = place(cast)
    html = (
        client_for(cast.a.dispatcher)
        .get(reverse("dispatch:suggestions", args=[order.pk]))
        .content.decode()
    )
    assert cast.a.member.name in html
    assert "有家政维修技能" in html and "当前 0/3 单" in html and "公里" in html
    assert f'value="m{cast.a.member.pk}"' in html
    detail = (
        client_for(cast.a.dispatcher)
        .get(reverse("orders:detail", args=[order.pk]))
        .content.decode()
    )
    assert reverse("dispatch:suggestions", args=[order.pk]) in detail


def test_suggestions_fragment_permissions(cast):
    order = place(cast)
    url = reverse("dispatch:suggestions", args=[order.pk])
    assert client_for(cast.b.dispatcher).get(url).status_code == 404
    assert client_for(cast.a.resident).get(url).status_code == 403
    assert client_for(cast.city).get(url).status_code == 200


def test_suggestions_fragment_says_why_nobody(cast):
    order = orders.order_place(actor=cast.a.resident, item="health_clinic")
    html = (
        client_for(cast.a.dispatcher)
        .get(reverse("dispatch:suggestions", args=[order.pk]))
        .content.decode()
    )
    assert "没有队员具备所需技能" in html


def test_batch_page_plans_then_applies(cast):
    order = place(cast)
    client = client_for(cast.a.dispatcher)
    events = OrderEvent.objects.count()
    html = client.get(reverse("dispatch:batch")).content.decode()
    assert cast.a.member.name in html and "确认并派出" in html
    assert OrderEvent.objects.count() == events  # the plan changes nothing
    response = client.post(reverse("dispatch:batch"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPATCHED


def test_batch_page_says_when_there_is_nothing_to_dispatch(cast):
    client = client_for(cast.a.dispatcher)
    html = client.get(reverse("dispatch:batch")).content.decode()
    assert "没有待派的岗位" in html
    assert "可派" not in html and "确认并派出" not in html
    # waiting slots that nobody can take are not "nothing to dispatch"
    orders.order_place(actor=cast.a.resident, item="health_clinic")
    html = client.get(reverse("dispatch:batch")).content.decode()
    assert "暂时派不出岗位" in html and "1 个暂无合适队员" in html
    assert "没有待派的岗位" not in html and "确认并派出" not in html
    english = client.get(reverse("dispatch:batch"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No slot can be dispatched for now" in english


def test_batch_page_sets_mode(cast):
    client = client_for(cast.a.dispatcher)
    client.post(reverse("dispatch:batch"), {"mode": "automatic"})
    assert DispatchPolicy.objects.get(community=cast.a.center).mode == "automatic"
    assert client.post(reverse("dispatch:batch"), {"mode": "sometimes"}).status_code == 400
    assert client_for(cast.a.volunteer).get(reverse("dispatch:batch")).status_code == 403


def test_city_batch_by_community(cast):
    place(cast)
    client = client_for(cast.city)
    html = client.get(reverse("dispatch:batch"), {"community": "xingye"}).content.decode()
    assert "确认并派出" not in html
    html = client.get(reverse("dispatch:batch"), {"community": "baihua"}).content.decode()
    assert "确认并派出" in html
    assert client.get(reverse("dispatch:batch"), {"community": "nowhere"}).status_code == 400


def test_manual_mode_hides_suggestions(cast):
    order = place(cast)
    DispatchPolicy.objects.create(community=cast.a.center, mode="manual")
    detail = (
        client_for(cast.a.dispatcher)
        .get(reverse("orders:detail", args=[order.pk]))
        .content.decode()
    )
    assert reverse("dispatch:suggestions", args=[order.pk]) not in detail


def test_batch_plan_rows_are_labelled_and_count_the_load_after_the_plan(cast):
    """On a phone each cell says what it is; a member planned twice shows 1/2 then 2/2."""
    import re

    from linli.teams.models import Member

    member = cast.a.member
    Member.objects.exclude(pk=member.pk).update(active=False)
    member.max_concurrent = 2
    member.save(update_fields=["max_concurrent"])
    place(cast), place(cast)
    html = client_for(cast.a.dispatcher).get(reverse("dispatch:batch")).content.decode()
    table = html.split('<table class="stack">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    assert len(rows) == 2
    for row in rows:
        cells = re.findall(r"<td([^>]*)>", row)
        assert len(cells) == 4 and all("data-label=" in c for c in cells), cells
        assert 'data-label="派给"' in row and 'data-label="服务对象"' in row
    assert "计划后 1/2 单" in rows[0] and "计划后 2/2 单" in rows[1]
    assert "当前 0/2 单" not in table
