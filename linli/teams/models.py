from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import LocalizedName

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def validate_availability(value: object) -> None:
    """Weekly availability: a list of [weekday 0–6 (Mon–Sun), "HH:MM", "HH:MM"]."""
    if not isinstance(value, list):
        raise ValidationError(_("空闲时间必须是列表。"))
    for item in value:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 3
            or not isinstance(item[0], int)
            or not 0 <= item[0] <= 6
            or not all(isinstance(t, str) and HHMM.match(t) for t in item[1:])
            or item[1] >= item[2]
        ):
            raise ValidationError(
                _('空闲时段 %(item)s 无效：应为 [星期（0–6）， "HH:MM", "HH:MM"] 且开始早于结束。'),
                params={"item": item},
            )


class Skill(LocalizedName, models.Model):
    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=30)
    name_en = models.CharField(_("英文名称"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("技能")
        verbose_name_plural = _("技能")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label


class Team(models.Model):
    class Kind(models.TextChoices):
        CONVENIENCE = "convenience", _("便民服务队")
        HEALTH = "health", _("健康服务队")
        NEIGHBOURLY = "neighbourly", _("邻里帮帮团")
        SILVER = "silver", _("银发先锋")
        TEACHERS = "teachers", _("教师服务队")

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    community = models.ForeignKey(
        "network.Center",
        verbose_name=_("社区"),
        on_delete=models.PROTECT,
        related_name="teams",
        limit_choices_to={"kind": "community"},
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("队长"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_teams",
    )

    class Meta:
        verbose_name = _("服务队")
        verbose_name_plural = _("服务队")
        ordering = ["community", "kind", "name"]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    class Source(models.TextChoices):
        DUAL_REPORT = "dual_report", _("双报到单位")
        NEW_ORGS = "new_orgs", _("两新组织")
        PARTY = "party", _("社区党员")
        VOLUNTEER = "volunteer", _("志愿者")
        TEACHER = "teacher", _("教师")

    team = models.ForeignKey(
        Team, verbose_name=_("服务队"), on_delete=models.CASCADE, related_name="members"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("居民档案"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="memberships",
    )
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    skills = models.ManyToManyField(
        Skill, verbose_name=_("技能"), blank=True, related_name="members"
    )
    lat = models.FloatField(
        _("纬度"), null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    lon = models.FloatField(
        _("经度"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    availability = models.JSONField(
        _("每周空闲时间"), default=list, blank=True, validators=[validate_availability]
    )
    max_concurrent = models.PositiveSmallIntegerField(
        _("同时接单上限"), default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    active = models.BooleanField(_("在岗"), default=True)
    joined_on = models.DateField(_("加入日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("队员")
        verbose_name_plural = _("队员")
        ordering = ["team", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="member_once_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.team})"

    @property
    def name(self) -> str:
        return self.user.get_full_name() or self.user.username
