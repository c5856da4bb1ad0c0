"""notify(): the outbox rows, the two call forms, rendering in the reader's language."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext_noop

from linli.notify import services
from linli.notify.models import Delivery, Notification
from linli.notify.services import each_language, notify
from linli.orders.models import ServiceItem
from linli.site.testing import Cast

pytestmark = pytest.mark.django_db

ORDER_PLACED = gettext_noop("新订单 #%(id)s：%(item)s（%(name)s）")


def test_one_row_per_distinct_recipient_and_a_delivery_per_sending_channel(
    cast: Cast, settings: Any
) -> None:
    settings.LINLI_NOTIFY_CHANNELS = [
        "linli.notify.channels.InboxChannel",
        "linli.notify.channels.ConsoleChannel",
        "linli.notify.channels.WebhookChannel",
    ]
    notify([cast.a.dispatcher, cast.a.dispatcher, cast.a.leader], "k", gettext_noop("通知"))
    rows = Notification.objects.order_by("recipient__username")
    assert [n.recipient for n in rows] == [cast.a.dispatcher, cast.a.leader]
    assert sorted(Delivery.objects.values_list("notification__recipient__username", "channel")) == [
        ("baihua-dispatcher", "console"),
        ("baihua-dispatcher", "webhook"),
        ("baihua-leader", "console"),
        ("baihua-leader", "webhook"),
    ]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}


def test_inbox_only_needs_no_delivery_and_no_job(
    cast: Cast, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.LINLI_NOTIFY_CHANNELS = ["linli.notify.channels.InboxChannel"]
    with django_capture_on_commit_callbacks() as callbacks:
        notify([cast.a.resident], "k", gettext_noop("通知"))
    assert Notification.objects.count() == 1
    assert not Delivery.objects.exists()
    assert callbacks == []


def test_no_recipients_writes_nothing(cast: Cast) -> None:
    notify([], "k", gettext_noop("通知"))
    assert not Notification.objects.exists()


def test_same_notification_in_each_readers_language(cast: Cast) -> None:
    """One notification, two readers: each gets it in their own language, data names too."""
    zh, en = cast.a.dispatcher, cast.a.leader
    en.language = "en"
    en.save(update_fields=["language"])
    item = ServiceItem.objects.get(code="home_repair")
    # Written while English is active (as an English-speaking actor would):
    # nothing of the writer's language may stick.
    with translation.override("en"):
        notify(
            [zh, en],
            "order_placed",
            ORDER_PLACED,
            {"id": 7, "item": each_language(lambda: item.label), "name": "曾庆宝"},
            "/orders/7/",
        )
    texts = {n.recipient.username: n.text for n in Notification.objects.select_related("recipient")}
    assert texts == {
        zh.username: "新订单 #7：家政维修（曾庆宝）",
        en.username: "New order #7: Home repairs (曾庆宝)",
    }
    # Delivered in the recipient's language as well.
    outgoing = {
        n.recipient.username: services.outgoing(n).text
        for n in Notification.objects.select_related("recipient")
    }
    assert outgoing == texts


def test_each_language_gives_every_site_language(cast: Cast) -> None:
    item = ServiceItem.objects.get(code="home_repair")
    assert each_language(lambda: item.label) == {"zh-hans": "家政维修", "en": "Home repairs"}


def test_a_rendered_text_is_refused(cast: Cast) -> None:
    """One form: a msgid and its params, never a text rendered in the writer's language."""
    with pytest.raises(TypeError):
        notify([cast.a.dispatcher], "k", "新订单 #9", "/orders/9/")  # type: ignore[arg-type]
    assert not Notification.objects.exists()


def test_order_notifications_reach_each_reader_in_their_language(cast: Cast) -> None:
    from linli.orders import services as orders

    cast.a.dispatcher.language = "en"
    cast.a.dispatcher.save(update_fields=["language"])
    order = orders.order_place(actor=cast.a.resident, item="home_repair")
    n = Notification.objects.get(recipient=cast.a.dispatcher)
    assert n.render("en") == f"New order #{order.pk}: Home repairs ({cast.a.person.name})"
    assert n.render("zh-hans") == f"新订单 #{order.pk}：家政维修（{cast.a.person.name}）"


def test_new_form_with_no_params_is_translated(cast: Cast) -> None:
    notify([cast.a.dispatcher], "k", gettext_noop("没有未读通知。"), link="/x/")
    n = Notification.objects.get()
    assert n.params == {} and n.link == "/x/"
    assert n.render("en") == "No unread notifications."
    assert n.render("zh-hans") == "没有未读通知。"


def test_a_language_missing_from_a_param_falls_back_to_chinese() -> None:
    text = services.render(ORDER_PLACED, {"id": 1, "item": {"zh-hans": "理发"}, "name": "x"}, "en")
    assert text == "New order #1: 理发 (x)"


def test_a_translation_that_does_not_fit_its_params_keeps_the_message() -> None:
    assert services.render("订单 %(id)s", {"other": 1}, "en") == "订单 %(id)s"
