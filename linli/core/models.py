from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from linli.core.roles import COMMUNITY_ROLES, Role


class LocalizedName:
    """For vocabulary kept as data (catalog items, skills, care tags, center
    functions): ``name`` is Chinese, ``name_en`` its optional English form.
    ``label`` gives the one for the active language, falling back to Chinese
    (each model's ``__str__`` returns it)."""

    name: str
    name_en: str

    @property
    def label(self) -> str:
        return self.localized(self.name, self.name_en)

    @staticmethod
    def localized(zh: str, en: str) -> str:
        """``en`` on English pages when there is one, else ``zh``."""
        if en and (translation.get_language() or "").lower().startswith("en"):
            return en
        return zh


class User(AbstractUser):
    """An account. Its role decides what it may do; its community, where."""

    role = models.CharField(_("角色"), max_length=16, choices=Role.choices, default=Role.RESIDENT)
    community = models.ForeignKey(
        "network.Center",
        verbose_name=_("社区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        limit_choices_to={"kind": "community"},
    )
    # The language this person reads: what they last chose on a page. Texts
    # sent to them later (notifications) are rendered in it.
    language = models.CharField(
        _("语言"), max_length=16, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )

    class Meta(AbstractUser.Meta):
        # (django-stubs types the inherited Meta's names as plain str.)
        verbose_name = _("账号")  # type: ignore[assignment]
        verbose_name_plural = _("账号")  # type: ignore[assignment]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        super().clean()
        if self.role in COMMUNITY_ROLES and self.community_id is None:
            raise ValidationError({"community": _("该角色必须属于一个社区。")})

    @property
    def is_city(self) -> bool:
        return self.role == Role.CITY

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


def _hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("前缀"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash(key: str) -> str:
        return _hash_token(key)

    @staticmethod
    def generate() -> str:
        return secrets.token_urlsafe(32)


class AuditLog(models.Model):
    """Who looked at or changed what. Append-only."""

    class Action(models.TextChoices):
        REVEAL = "reveal", _("查看明文")
        IMPORT = "import", _("导入")
        CREATE = "create", _("新增")
        CHANGE = "change", _("修改")
        DELETE = "delete", _("删除")
        PASSWORD_RESET = "password_reset", _("重置密码")

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    action = models.CharField(_("动作"), max_length=16, choices=Action.choices)
    target_type = models.CharField(_("对象类型"), max_length=32)
    target_id = models.BigIntegerField(_("对象编号"))
    field = models.CharField(_("字段"), max_length=32, blank=True)
    detail = models.CharField(_("说明"), max_length=255, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-at"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_type}#{self.target_id}"


class PasswordResetCode(models.Model):
    """A six-digit code sent by SMS so that a resident can set a new password.

    One per account: a new request replaces the code (and its attempts). Only
    a keyed hash of the code is stored. Each check of a guess first spends an
    attempt with a conditional UPDATE, so however many guesses race, no more
    than ``attempts_left`` of them are ever compared; the one right guess then
    marks it used with another, which only one request can win.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.CASCADE,
        related_name="password_reset_code",
    )
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("发送时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("失效时间"))
    attempts_left = models.PositiveSmallIntegerField(_("剩余尝试次数"))
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("重置密码验证码")
        verbose_name_plural = _("重置密码验证码")

    def __str__(self) -> str:
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def hash(user_id: int, code: str) -> str:
        """Keyed with SECRET_KEY: a copy of the table does not give the codes away."""
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "linli.core.PasswordResetCode", f"{user_id}:{code}", algorithm="sha256"
        ).hexdigest()

    @staticmethod
    def generate() -> str:
        return f"{secrets.randbelow(10**6):06d}"
