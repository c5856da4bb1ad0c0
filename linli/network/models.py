"""The service network: "1+19+N" centers in a tree, "8+X" functions, rooms."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import LocalizedName


class Center(models.Model):
    class Kind(models.TextChoices):
        CITY = "city", _("市级中心")
        COMMUNITY = "community", _("社区中心")
        NEIGHBOURHOOD = "neighbourhood", _("小区中心")
        BUSINESS = "business", _("商圈中心")

    class Provision(models.TextChoices):
        STATE_ASSETS = "state_assets", _("盘活国有资产型")
        CO_BUILT = "co_built", _("社企共建型")
        SHARED = "shared", _("共享共用型")
        NEW_BUILD = "new_build", _("新建改建型")

    # Which kind may sit under which: the tree is city → community → N.
    PARENT_KIND: ClassVar[dict[str, str | None]] = {
        Kind.CITY: None,
        Kind.COMMUNITY: Kind.CITY,
        Kind.NEIGHBOURHOOD: Kind.COMMUNITY,
        Kind.BUSINESS: Kind.COMMUNITY,
    }

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("层级"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级中心"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(
        _("纬度"), null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    lon = models.FloatField(
        _("经度"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    floor_area = models.DecimalField(
        _("面积（平方米）"),
        max_digits=9,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    provision = models.CharField(
        _("建设模式"), max_length=16, choices=Provision.choices, blank=True
    )
    opening_hours = models.CharField(_("开放时间"), max_length=100, blank=True)
    functions: models.ManyToManyField[Function, Any] = models.ManyToManyField(
        "Function",
        verbose_name=_("自选功能"),
        blank=True,
        related_name="centers",
        limit_choices_to={"fixed": False},
    )

    class Meta:
        verbose_name = _("党群服务中心")
        verbose_name_plural = _("党群服务中心")
        ordering = ["code"]
        indexes = [models.Index(fields=["kind", "parent"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        expected = self.PARENT_KIND.get(self.kind)
        actual = self.parent.kind if self.parent is not None else None
        if expected != actual:
            raise ValidationError({"parent": _("该层级的上级中心不正确。")})

    def coords(self) -> tuple[float, float]:
        """(lat, lon), for code that needs a located center (the seed, distances)."""
        if self.lat is None or self.lon is None:
            raise ValueError(f"center {self.code} has no coordinates")
        return self.lat, self.lon

    @property
    def community_id_for_scope(self) -> int | None:
        """The community this center belongs to (itself for a community)."""
        if self.kind == self.Kind.COMMUNITY:
            return self.pk
        if self.kind in (self.Kind.NEIGHBOURHOOD, self.Kind.BUSINESS):
            return self.parent_id
        return None


class Function(LocalizedName, models.Model):
    """A center function: one of the eight every center has, or an optional "X"."""

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    fixed = models.BooleanField(_("固定功能"), default=False)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("功能")
        verbose_name_plural = _("功能")
        ordering = ["-fixed", "order", "code"]

    def __str__(self) -> str:
        return self.label


class Room(models.Model):
    class Kind(models.TextChoices):
        CALLIGRAPHY = "calligraphy", _("书画室")
        CHILDREN = "children", _("儿童之家")
        CANTEEN = "canteen", _("长者食堂")
        ELDER_UNIVERSITY = "elder_university", _("老年大学分校")
        READING = "reading", _("阅览室")
        HALL = "hall", _("多功能厅")
        FITNESS = "fitness", _("康乐健身室")
        THEATRE = "theatre", _("戏曲放映室")
        MEETING = "meeting", _("议事室")
        OTHER = "other", _("其他")

    center = models.ForeignKey(
        Center, verbose_name=_("所属中心"), on_delete=models.CASCADE, related_name="rooms"
    )
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    capacity = models.PositiveIntegerField(_("容纳人数"), validators=[MinValueValidator(1)])
    floor_area = models.DecimalField(
        _("面积（平方米）"),
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )

    class Meta:
        verbose_name = _("功能室")
        verbose_name_plural = _("功能室")
        ordering = ["center", "name"]

    def __str__(self) -> str:
        return f"{self.center} · {self.name}"
