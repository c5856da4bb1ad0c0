"""A resident's page for staff: their orders, and 代TA下单 for who may order for them."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone

from linli.orders import services
from linli.orders.models import Order
from linli.orders.permissions import may_order_on_behalf
from linli.people.models import Resident
from linli.site.testing import client_for


def page(user, resident: Resident) -> str:
    r = client_for(user).get(reverse("people:detail", args=[resident.pk]))
    assert r.status_code == 200
    return r.content.decode()


def orders_section(html: str) -> str:
    return html.split('id="orders"', 1)[1].split("</section>", 1)[0]


def place(cast, n: int = 1) -> list[Order]:
    return [
        services.order_place(actor=cast.a.resident, item="home_repair", description=f"第{i}单")
        for i in range(n)
    ]


def test_the_page_lists_the_residents_orders_newest_first(cast):
    old, new = place(cast, 2)
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    other = Resident.objects.create(
        name="黄阿婆",
        gender=Resident.Gender.FEMALE,
        birth_date=dt.date(1940, 1, 1),
        community=cast.a.center,
    )
    theirs = services.order_place(actor=cast.a.dispatcher, item="home_repair", resident_id=other.pk)
    section = orders_section(page(cast.a.dispatcher, cast.a.person))
    links = re.findall(r'href="/orders/(\d+)/"', section)
    assert links == [str(new.pk), str(old.pk)]
    assert str(theirs.pk) not in links
    assert new.item.label in section
    assert new.get_status_display() in section
    assert f"{reverse('orders:queue')}?resident={cast.a.person.pk}" in section


def test_only_the_last_20_with_a_link_to_all_in_the_console(cast):
    placed = place(cast, 22)
    section = orders_section(page(cast.a.dispatcher, cast.a.person))
    links = re.findall(r'href="/orders/(\d+)/"', section)
    assert len(links) == 20 and links[0] == str(placed[-1].pk)
    assert "查看全部订单" in section
    url = f"{reverse('orders:queue')}?resident={cast.a.person.pk}"
    other = Resident.objects.create(
        name="黄阿婆",
        gender=Resident.Gender.FEMALE,
        birth_date=dt.date(1940, 1, 1),
        community=cast.a.center,
    )
    theirs = services.order_place(actor=cast.a.dispatcher, item="home_repair", resident_id=other.pk)
    console = client_for(cast.a.dispatcher).get(url).content.decode()
    assert "共 22 张订单" in console
    assert f'href="/orders/{theirs.pk}/"' not in console
    assert f'name="resident" value="{cast.a.person.pk}"' in console  # kept by the filters


def test_no_orders_says_so(cast):
    section = orders_section(page(cast.a.dispatcher, cast.a.person))
    assert "还没有订单" in section


def test_order_on_their_behalf_only_for_who_may(cast):
    phone = f"{reverse('orders:phone')}?resident={cast.a.person.pk}"
    for user in (cast.a.dispatcher, cast.city):
        section = orders_section(page(user, cast.a.person))
        assert "代TA下单" in section and f'href="{phone}"' in section
        assert client_for(user).get(phone).status_code == 200
    section = orders_section(page(cast.a.leader, cast.a.person))
    assert "代TA下单" not in section and reverse("orders:phone") not in section
    # The phone page asks the same predicate.
    assert client_for(cast.a.leader).get(phone).status_code == 403
    assert client_for(cast.b.dispatcher).get(phone).status_code == 404


def test_the_predicate(cast):
    a, b = cast.a.center.pk, cast.b.center.pk
    assert may_order_on_behalf(cast.a.dispatcher, a)
    assert not may_order_on_behalf(cast.a.dispatcher, b)
    assert may_order_on_behalf(cast.city, b)
    assert may_order_on_behalf(cast.a.dispatcher)
    for user in (cast.a.leader, cast.a.volunteer, cast.a.resident, cast.a.school):
        assert not may_order_on_behalf(user)
        assert not may_order_on_behalf(user, a)


def test_english_page(cast):
    place(cast)
    r = client_for(cast.a.dispatcher).get(
        reverse("people:detail", args=[cast.a.person.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    section = orders_section(r.content.decode())
    assert "Order on their behalf" in section and "Orders" in section
