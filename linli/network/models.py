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


class OpeningHours(models.Model):
    """When a center is open on one day of the week: sessions in its rooms fall inside.

    A day may have several rows (a morning and an afternoon); a center with
    no rows at all has not said, and its rooms may be used at any hour."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("星期一")
        TUESDAY = 1, _("星期二")
        WEDNESDAY = 2, _("星期三")
        THURSDAY = 3, _("星期四")
        FRIDAY = 4, _("星期五")
        SATURDAY = 5, _("星期六")
        SUNDAY = 6, _("星期日")

    center = models.ForeignKey(
        Center, verbose_name=_("所属中心"), on_delete=models.CASCADE, related_name="hours"
    )
    weekday = models.PositiveSmallIntegerField(_("星期"), choices=Weekday.choices)
    opens = models.TimeField(_("开门"))
    closes = models.TimeField(_("关门"))

    class Meta:
        verbose_name = _("开放时间")
        verbose_name_plural = _("开放时间")
        ordering = ["center", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="hours_close_after_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """A time a center (every room) or one room is shut: a holiday, repairs.

    It is on the room calendar like anything else that occupies a room; made
    through ``network.services.closure_create``, which cancels what it covers."""

    center = models.ForeignKey(
        Center, verbose_name=_("所属中心"), on_delete=models.CASCADE, related_name="closures"
    )
    room = models.ForeignKey(
        Room,
        verbose_name=_("功能室"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closures",
        help_text=_("不选则整个中心的功能室都闭馆。"),
    )
    starts = models.DateTimeField(_("开始"))
    ends = models.DateTimeField(_("结束"))
    reason = models.CharField(_("原因"), max_length=200)
    created_by = models.ForeignKey(
        "core.User", verbose_name=_("登记人"), on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("闭馆")
        verbose_name_plural = _("闭馆")
        ordering = ["-starts"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")), name="closure_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.room or self.center} · {self.reason}"


class Occupancy(models.Model):
    """One interval on a room's calendar: the only record that says a room is taken.

    An activity's session, a booking of a shared venue and a closure each hold
    one. ``network.services`` alone writes them; a released interval stays
    for the record and no longer occupies the room. On PostgreSQL an
    exclusion constraint (migration 0005_occupancy_no_overlap) keeps two held intervals of one
    room from overlapping even if a caller skipped the service."""

    class Kind(models.TextChoices):
        SESSION = "session", _("活动")
        BOOKING = "booking", _("预约")
        CLOSURE = "closure", _("闭馆")

    room = models.ForeignKey(
        Room, verbose_name=_("功能室"), on_delete=models.CASCADE, related_name="occupancies"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("名称"), max_length=200)
    starts = models.DateTimeField(_("开始"))
    ends = models.DateTimeField(_("结束"))
    closure = models.ForeignKey(
        Closure,
        verbose_name=_("闭馆"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="occupancies",
    )
    released_at = models.DateTimeField(_("释放时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("占用")
        verbose_name_plural = _("占用")
        ordering = ["room", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")), name="occupancy_ends_after_start"
            )
        ]
        indexes = [
            models.Index(
                fields=["room", "starts"],
                condition=models.Q(released_at__isnull=True),
                name="occupancy_held_by_room",
            )
        ]

    def __str__(self) -> str:
        return f"{self.room} · {self.title}"

    @property
    def held(self) -> bool:
        return self.released_at is None
