"""Open311 GeoReport v2 clients: a hotline gateway, a kiosk, another city system.

Each client holds one api_key (only its SHA-256 is stored, as for
``core.ApiToken``) and a jurisdiction: the city, or one community. Its orders
are placed by a service account of its own (``account``), which can never
sign in and receives no notifications.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.models import ApiToken
from linli.orders.models import Channel


class ClientQuerySet(models.QuerySet["Client"]):
    def active(self) -> ClientQuerySet:
        return self.filter(revoked_at__isnull=True)


class Client(models.Model):
    name = models.CharField(_("名称"), max_length=100, help_text=_("例如：12345 热线、中心自助机"))
    jurisdiction = models.ForeignKey(
        "network.Center",
        verbose_name=_("辖区"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind__in": ("city", "community")},
        help_text=_("全市，或一个社区：它就是 jurisdiction_id。"),
    )
    channel = models.CharField(
        _("下单渠道"), max_length=8, choices=Channel.choices, default=Channel.PHONE
    )
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("下单账号"),
        on_delete=models.PROTECT,
        related_name="open311_client",
        editable=False,
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("密钥前缀"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True, editable=False)

    objects = ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("Open311 客户端")
        verbose_name_plural = _("Open311 客户端")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    # Keys are made and stored as the API's tokens are.
    hash = staticmethod(ApiToken.hash)
    generate = staticmethod(ApiToken.generate)
