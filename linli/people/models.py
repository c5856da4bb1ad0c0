from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from pypinyin import lazy_pinyin

from linli.core.models import LocalizedName
from linli.people import ages
from linli.people.validators import (
    id_number_agreement,
    phone_validator,
    validate_birth_date,
    validate_id_number,
)

# Characters read differently as a surname than in ordinary words: 曾庆宝 is
# Zēng Qìngbǎo, not Céng. pypinyin reads words, so the surname is fixed here.
SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "区": "ou",
    "仇": "qiu",
    "朴": "piao",
    "查": "zha",
    "盖": "ge",
    "乐": "yue",
    "尉": "yu",
    "万": "wan",
    "沈": "shen",
    "翟": "zhai",
    "覃": "qin",
    "缪": "miao",
    "秘": "bi",
    "繁": "po",
    "员": "yun",
    "长": "chang",
    "重": "chong",
    "朝": "chao",
    "召": "shao",
    "种": "chong",
    "柏": "bai",
}


def _syllables(name: str) -> list[str]:
    name = name.strip()
    if not name:
        return []
    head = SURNAME_READINGS.get(name[0])
    if head is None:
        return [s.lower() for s in lazy_pinyin(name, errors="ignore")]
    return [head, *(s.lower() for s in lazy_pinyin(name[1:], errors="ignore"))]


def name_initials(name: str) -> str:
    """曾庆宝 → zqb."""
    return "".join(s[0] for s in _syllables(name) if s)


def name_pinyin(name: str) -> str:
    """曾庆宝 → zengqingbao."""
    return "".join(_syllables(name))


class CareTag(LocalizedName, models.Model):
    """独居, 空巢, 失能, 低保, 留守儿童 … configurable by the city."""

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=30)
    name_en = models.CharField(_("英文名称"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("关爱标签")
        verbose_name_plural = _("关爱标签")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label


class Household(models.Model):
    community = models.ForeignKey(
        "network.Center",
        verbose_name=_("社区"),
        on_delete=models.PROTECT,
        related_name="households",
    )
    code = models.CharField(_("户号"), max_length=32)
    address = models.CharField(_("地址"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("家庭户")
        verbose_name_plural = _("家庭户")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "code"], name="household_code_per_community"
            )
        ]

    def __str__(self) -> str:
        return self.code


class Resident(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"), validators=[validate_birth_date])
    id_number = models.CharField(
        _("身份证号"), max_length=18, blank=True, validators=[validate_id_number]
    )
    phone = models.CharField(_("电话"), max_length=20, blank=True, validators=[phone_validator])
    community = models.ForeignKey(
        "network.Center",
        verbose_name=_("社区"),
        on_delete=models.PROTECT,
        related_name="residents",
        limit_choices_to={"kind": "community"},
    )
    address = models.CharField(_("住址"), max_length=200, blank=True)
    lat = models.FloatField(
        _("纬度"), null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    lon = models.FloatField(
        _("经度"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    care_tags = models.ManyToManyField(CareTag, verbose_name=_("关爱标签"), blank=True)
    household = models.ForeignKey(
        Household,
        verbose_name=_("家庭户"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resident",
    )
    # Search keys kept in step with name and phone by save(): they let an index
    # answer "zqb" or "5678" instead of a scan.
    name_initials = models.CharField(max_length=50, editable=False, db_index=True, default="")
    name_pinyin = models.CharField(max_length=200, editable=False, default="")
    phone_tail = models.CharField(max_length=4, editable=False, db_index=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = pgettext_lazy("plural", "居民")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"],
                condition=~models.Q(id_number=""),
                name="resident_id_number_unique",
            )
        ]
        indexes = [models.Index(fields=["community", "birth_date"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.refresh_search_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "name_initials", "name_pinyin", "phone_tail"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        # A valid ID number carries the birth date and gender: they must agree.
        problems = id_number_agreement(self.id_number, self.birth_date, self.gender)
        if problems:
            raise ValidationError(problems)

    def refresh_search_keys(self) -> None:
        self.name_initials = name_initials(self.name)
        self.name_pinyin = name_pinyin(self.name)
        digits = "".join(c for c in self.phone if c.isdigit())
        self.phone_tail = digits[-4:] if len(digits) >= 4 else ""

    @property
    def age(self) -> int:
        return ages.age_on(self.birth_date, ages.today())

    def age_groups(self, on: dt.date | None = None) -> list[ages.AgeGroup]:
        return ages.groups_for(self.birth_date, on)


class Guardianship(models.Model):
    """A guardian (family member or carer) who may act for a ward."""

    class Relation(models.TextChoices):
        CHILD = "child", _("子女")
        PARENT = "parent", _("父母")
        SPOUSE = "spouse", _("配偶")
        GRANDPARENT = "grandparent", _("祖父母/外祖父母")
        RELATIVE = "relative", _("其他亲属")
        CARER = "carer", _("照护人")

    ward = models.ForeignKey(
        Resident,
        verbose_name=_("被监护人"),
        on_delete=models.CASCADE,
        related_name="guardian_links",
    )
    guardian = models.ForeignKey(
        Resident, verbose_name=_("监护人"), on_delete=models.CASCADE, related_name="ward_links"
    )
    relation = models.CharField(_("关系"), max_length=16, choices=Relation.choices)

    class Meta:
        verbose_name = _("监护关系")
        verbose_name_plural = _("监护关系")
        constraints = [
            models.UniqueConstraint(fields=["ward", "guardian"], name="guardianship_unique"),
            models.CheckConstraint(
                condition=~models.Q(ward=models.F("guardian")), name="guardian_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.ward} ({self.get_relation_display()})"


class Contact(models.Model):
    """Someone from the service met this resident in person: the record the safety net reads.

    Written only by ``people.services.contact_record``: an order served at
    home, an activity attended, a visit, a meal served. ``source`` names the
    record it came from ("activities.attendance:12"), so one meeting is
    recorded once however often its app reports it."""

    class Kind(models.TextChoices):
        ORDER = "order", _("上门服务")
        ACTIVITY = "activity", _("参加活动")
        VISIT = "visit", _("探访")
        MEAL = "meal", _("用餐")

    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), on_delete=models.CASCADE, related_name="contacts"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=64)

    class Meta:
        verbose_name = _("见面记录")
        verbose_name_plural = _("见面记录")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "source"], name="contact_once_per_source")
        ]
        indexes = [models.Index(fields=["resident", "-at"])]

    def __str__(self) -> str:
        return f"{self.resident} · {self.get_kind_display()} · {self.at:%Y-%m-%d}"
