from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "linli.orders"
    label = "orders"
    verbose_name = _("点单服务")
