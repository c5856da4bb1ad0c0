"""``{% resident_orders user resident as ro %}``: a resident's orders, for the people
pages, which sit below orders and may not import it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from linli.orders.permissions import may_order_on_behalf
from linli.orders.selectors import order_list

if TYPE_CHECKING:
    from linli.core.models import User
    from linli.orders.models import Order
    from linli.people.models import Resident

register = template.Library()

# How many of a resident's orders their page lists; the console has them all.
RECENT = 20


@dataclass
class ResidentOrders:
    orders: list[Order]
    more: bool
    all_url: str
    order_url: str | None  # 代TA下单, for staff who may order on their behalf


@register.simple_tag
def resident_orders(user: User, resident: Resident) -> ResidentOrders:
    """The last orders of ``resident`` that ``user`` may see, newest first."""
    rows = list(order_list(user, resident=resident.pk)[: RECENT + 1])
    query = urlencode({"resident": resident.pk})
    return ResidentOrders(
        orders=rows[:RECENT],
        more=len(rows) > RECENT,
        all_url=f"{reverse('orders:queue')}?{query}",
        order_url=(
            f"{reverse('orders:phone')}?{query}"
            if may_order_on_behalf(user, resident.community_id)
            else None
        ),
    )
