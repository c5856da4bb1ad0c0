"""Activities and classes (活动与课堂): what happens in the centers' rooms.

An :class:`Activity` is held in :class:`Session`\\ s, each of which holds an
interval on its room's calendar (``network.Occupancy``). People sign up for a
whole course (a summer class, a term) or, for a drop-in series, one session;
places are counted from the active sign-ups, never stored.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.models import LocalizedName
from linli.people import ages


def _uid() -> str:
    return secrets.token_hex(16)


class Kind(LocalizedName, models.Model):
    """What sort of activity: 戏曲放映, 红歌大家唱, 书法, 防溺水 …; kept in the admin."""

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("活动类型")
        verbose_name_plural = _("活动类型")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.label


class Audience(models.TextChoices):
    EVERYONE = "everyone", _("所有人")
    CHILDREN = "children", _("儿童（0–14岁）")
    ELDERS = "elders", _("老年人（60岁及以上）")
    AGED = "aged", _("高龄老人（80岁及以上）")
    FAMILIES = "families", _("亲子家庭")
    BAND = "band", _("指定年龄段")


# The age band each audience means; a family event is for every age (a
# grandmother and her grandson sign up together), a band gives its own.
AUDIENCE_AGES: dict[str, tuple[int | None, int | None]] = {
    Audience.EVERYONE: (None, None),
    Audience.CHILDREN: (ages.CHILD.min_age, ages.CHILD.max_age),
    Audience.ELDERS: (ages.ELDERLY.min_age, None),
    Audience.AGED: (ages.AGED.min_age, None),
    Audience.FAMILIES: (None, None),
}


class Activity(models.Model):
    class Organiser(models.TextChoices):
        COMMUNITY = "community", _("社区")
        TEAM = "team", _("服务队")
        SCHOOL = "school", _("学校")
        ELDER_UNIVERSITY = "elder_university", _("老年大学分校")

    class Mode(models.TextChoices):
        ONE_OFF = "one_off", _("单次活动")
        COURSE = "course", _("课程（整期报名）")
        DROP_IN = "drop_in", _("系列活动（按场报名）")

    class Status(models.TextChoices):
        OPEN = "open", _("进行中")
        CANCELLED = "cancelled", _("已取消")

    title = models.CharField(_("名称"), max_length=100)
    kind = models.ForeignKey(Kind, verbose_name=_("类型"), on_delete=models.PROTECT)
    description = models.TextField(_("介绍"), max_length=2000, blank=True)
    community = models.ForeignKey(
        "network.Center",
        verbose_name=_("社区"),
        on_delete=models.PROTECT,
        related_name="activities",
        limit_choices_to={"kind": "community"},
    )
    organiser = models.CharField(_("主办方"), max_length=20, choices=Organiser.choices)
    organiser_name = models.CharField(_("主办方名称"), max_length=100)
    team = models.ForeignKey(
        "teams.Team",
        verbose_name=_("主办服务队"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    room = models.ForeignKey(
        "network.Room",
        verbose_name=_("功能室"),
        on_delete=models.PROTECT,
        related_name="activities",
    )
    audience = models.CharField(
        _("面向"), max_length=16, choices=Audience.choices, default=Audience.EVERYONE
    )
    min_age = models.PositiveSmallIntegerField(
        _("最小年龄"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    max_age = models.PositiveSmallIntegerField(
        _("最大年龄"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    capacity = models.PositiveIntegerField(_("名额"), validators=[MinValueValidator(1)])
    mode = models.CharField(_("报名方式"), max_length=16, choices=Mode.choices)
    rrule = models.CharField(
        _("重复规则"),
        max_length=300,
        blank=True,
        help_text=_("RFC 5545 规则，例如 FREQ=WEEKLY;BYDAY=SA"),
    )
    signup_opens = models.DateTimeField(_("报名开始"), null=True, blank=True)
    signup_closes = models.DateTimeField(_("报名截止"), null=True, blank=True)
    fee = models.DecimalField(
        _("费用（元）"),
        max_digits=8,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Stable across edits: the iCalendar UIDs and the feed's secret-free links use it.
    uid = models.CharField(max_length=32, unique=True, editable=False, default=_uid)

    class Meta:
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        ordering = ["-created_at", "pk"]
        indexes = [models.Index(fields=["community", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_age__isnull=True)
                | models.Q(max_age__isnull=True)
                | models.Q(max_age__gte=models.F("min_age")),
                name="activity_age_band",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def per_session(self) -> bool:
        """Whether people sign up for each session (a drop-in series) or for the whole."""
        return self.mode == self.Mode.DROP_IN

    @property
    def free(self) -> bool:
        return self.fee == 0

    def age_band(self) -> tuple[int | None, int | None]:
        if self.audience == Audience.BAND:
            return self.min_age, self.max_age
        return AUDIENCE_AGES.get(self.audience, (None, None))

    def audience_label(self) -> str:
        if self.audience != Audience.BAND:
            return str(self.get_audience_display())
        low, high = self.age_band()
        if high is None:
            return str(_("%(low)d岁及以上") % {"low": low or 0})
        return str(_("%(low)d–%(high)d岁") % {"low": low or 0, "high": high})


class Session(models.Model):
    """One meeting of an activity, holding its room's interval while it is scheduled."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("已安排")
        CANCELLED = "cancelled", _("已取消")

    activity = models.ForeignKey(
        Activity, verbose_name=_("活动"), on_delete=models.CASCADE, related_name="sessions"
    )
    room = models.ForeignKey(
        "network.Room", verbose_name=_("功能室"), on_delete=models.PROTECT, related_name="sessions"
    )
    starts = models.DateTimeField(_("开始"))
    ends = models.DateTimeField(_("结束"))
    occupancy = models.OneToOneField(
        "network.Occupancy",
        verbose_name=_("占用"),
        on_delete=models.PROTECT,
        related_name="session",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.SCHEDULED
    )
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)
    # Changed whenever the session is: the iCalendar SEQUENCE.
    sequence = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("场次")
        verbose_name_plural = _("场次")
        ordering = ["starts", "pk"]
        indexes = [
            models.Index(fields=["activity", "starts"]),
            models.Index(fields=["room", "starts"]),
            models.Index(fields=["status", "starts"]),
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts)
        return f"{self.activity} · {local:%Y-%m-%d %H:%M}"

    @property
    def scheduled(self) -> bool:
        return self.status == self.Status.SCHEDULED

    @property
    def date(self) -> dt.date:
        return timezone.localtime(self.starts).date()


def _code() -> str:
    # No 0/O, 1/I/L: read aloud at the door or typed by an organiser.
    return "".join(secrets.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(6))


class Signup(models.Model):
    """A person's place (or place in line) for a whole activity or, per session, one session."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("已报名")
        WAITLISTED = "waitlisted", _("候补中")
        CANCELLED = "cancelled", _("已取消")

    class Channel(models.TextChoices):
        SELF = "self", _("本人报名")
        GUARDIAN = "guardian", _("家属代报")
        DESK = "desk", _("工作人员代报")
        INVITATION = "invitation", _("邀请报名")

    activity = models.ForeignKey(
        Activity, verbose_name=_("活动"), on_delete=models.CASCADE, related_name="signups"
    )
    session = models.ForeignKey(
        Session,
        verbose_name=_("场次"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="signups",
        help_text=_("按场报名的系列活动才有；课程和单次活动整体报名。"),
    )
    person = models.ForeignKey(
        "people.Resident",
        verbose_name=_("报名人"),
        on_delete=models.CASCADE,
        related_name="activity_signups",
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices)
    channel = models.CharField(_("报名渠道"), max_length=16, choices=Channel.choices)
    signed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    code = models.CharField(_("签到码"), max_length=8, unique=True, default=_code)
    created_at = models.DateTimeField(_("报名时间"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        ordering = ["created_at", "pk"]
        constraints = [
            # A person holds at most one live sign-up per activity (and session).
            models.UniqueConstraint(
                "person",
                "activity",
                Coalesce("session", 0),
                condition=~models.Q(status="cancelled"),
                name="signup_once_per_person",
            )
        ]
        indexes = [
            models.Index(fields=["activity", "session", "status", "created_at"]),
            models.Index(fields=["person", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.activity}"

    @property
    def live(self) -> bool:
        return self.status != self.Status.CANCELLED


class Attendance(models.Model):
    """Whether a signed-up person came to one session: ticked on the sheet or at the door."""

    class Status(models.TextChoices):
        PRESENT = "present", _("已到")
        NO_SHOW = "no_show", _("未到")

    signup = models.ForeignKey(
        Signup, verbose_name=_("报名"), on_delete=models.CASCADE, related_name="attendance"
    )
    session = models.ForeignKey(
        Session, verbose_name=_("场次"), on_delete=models.CASCADE, related_name="attendance"
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("签到")
        verbose_name_plural = _("签到")
        constraints = [
            models.UniqueConstraint(fields=["signup", "session"], name="attendance_once")
        ]
        indexes = [models.Index(fields=["session", "status"])]

    def __str__(self) -> str:
        return f"{self.signup.person} · {self.session} · {self.get_status_display()}"


class Invitation(models.Model):
    """An invitation to a 长者生日会 (or any activity), sent once to an elder or their guardian."""

    activity = models.ForeignKey(
        Activity, verbose_name=_("活动"), on_delete=models.CASCADE, related_name="invitations"
    )
    person = models.ForeignKey(
        "people.Resident", verbose_name=_("受邀人"), on_delete=models.CASCADE, related_name="+"
    )
    notified = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("通知给"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("本人或家属的账号；都没有的由工作人员电话邀请。"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("邀请")
        verbose_name_plural = _("邀请")
        constraints = [
            models.UniqueConstraint(fields=["activity", "person"], name="invitation_once")
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.activity}"


class Feed(models.Model):
    """A personal iCalendar feed behind a secret URL; a new secret revokes the old."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activity_feed"
    )
    secret = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("日历订阅")
        verbose_name_plural = _("日历订阅")

    def __str__(self) -> str:
        return str(self.user)
